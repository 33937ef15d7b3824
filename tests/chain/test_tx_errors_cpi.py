"""A numbered error raised inside a CPI is named from the program that raised it: the billing program's
post_batch creating a Batch with a meter key without SOL fails with the system program's error 1
(ResultWithNegativeLamports, "insufficient lamports"), not as the billing program's own number 1; a settle's
token transfer with the SPL Token program's error 1 (InsufficientFunds)."""
from __future__ import annotations

from solders.transaction_status import InstructionErrorCustom, TransactionErrorInstructionError

import contracts
from chain.tx_errors import SYSTEM_PROGRAM, TOKEN_PROGRAM, describe
from contracts.client import error_code

BILLING = contracts.DEFAULT_PROGRAM_ID


def _cpi_logs(inner: str, inner_words: str, code: int) -> list[str]:
    return [f"Program {BILLING} invoke [1]", "Program log: Instruction: PostBatch",
            f"Program {inner} invoke [2]", inner_words,
            f"Program {inner} failed: custom program error: {code:#x}",
            f"Program {BILLING} consumed 4000 of 200000 compute units",
            f"Program {BILLING} failed: custom program error: {code:#x}"]


def test_a_cpi_error_is_named_from_the_program_that_raised_it():
    err = TransactionErrorInstructionError(0, InstructionErrorCustom(1))
    sys_text = describe(err, _cpi_logs(SYSTEM_PROGRAM, "Transfer: insufficient lamports 0, need 1677360", 1), [BILLING])
    assert sys_text == (f"instruction 0 ({BILLING} -> system program): ResultWithNegativeLamports: the payer has too "
                        "few lamports (SOL) for this transfer or account [Transfer: insufficient lamports 0, need "
                        "1677360]")
    tok = describe(err, _cpi_logs(TOKEN_PROGRAM, "Program log: Error: insufficient funds", 1), [BILLING])
    assert tok.startswith(f"instruction 0 ({BILLING} -> SPL Token): InsufficientFunds: the token account holds too few")


def test_the_programs_own_error_is_not_taken_for_a_cpis():
    """The billing program failing by itself after a CPI that succeeded keeps its own table."""
    code = error_code("EscrowUnderfunded")
    logs = [f"Program {BILLING} invoke [1]", f"Program {TOKEN_PROGRAM} invoke [2]", f"Program {TOKEN_PROGRAM} success",
            "Program log: Error: EscrowUnderfunded", f"Program {BILLING} failed: custom program error: {code:#x}"]
    text = describe(TransactionErrorInstructionError(0, InstructionErrorCustom(code)), logs, [BILLING])
    assert text.startswith(f"instruction 0 ({BILLING}): EscrowUnderfunded ({code}):") and "0x" not in text
