"""How the engine recognises the program's StaleConfigVersion refusal of a post_batch, in each form a failed
transaction reports it (the end-to-end race is in test_config_version_settlement.py)."""
from __future__ import annotations

from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError

from contracts.client.errors import error_code
from ledger.engine.jobs import _is_stale_refusal

CODE = error_code("StaleConfigVersion")


def test_the_refusal_is_recognised_as_preflight_text_landed_error_or_log_name():
    assert CODE == 6055
    # Given the three ways a refusal surfaces: the preflight's log line, a landed transaction's status error,
    # and the program's own log of the error name
    preflight = ("Transaction simulation failed: Error processing Instruction 0: custom program error: 0x17a7 | "
                 "Program 4yCv... failed: custom program error: 0x17a7")
    landed = str(TransactionErrorInstructionError(0, InstructionErrorCustom(CODE)))
    logged = "rejected | Program log: StaleConfigVersion"
    # Then each is a stale refusal
    assert all(_is_stale_refusal(e) for e in (preflight, landed, logged))


def test_other_failures_are_not_taken_for_a_stale_refusal():
    # Given neighbouring codes and other errors, then none releases a batch's receipts
    others = [f"custom program error: {error_code('EscrowUnderfunded'):#x}",
              "custom program error: 0x17a70", str(TransactionErrorInstructionError(0, InstructionErrorCustom(6054))),
              "Custom(60550)", "transaction expired without landing", "post_batch transaction too large", ""]
    assert not any(_is_stale_refusal(e) for e in others)
