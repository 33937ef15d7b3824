"""What kind of failure an intent or a job run met, as pure functions of the error text the executor stored.

    transient   the RPC is down or behind, the blockhash expired, an account or the block is busy: nothing
                is wrong with the transaction; it is resent (same bytes while they can land) or rebuilt,
                and the job backs off
    permanent   the program or the runtime refused it (a program error, a key without SOL): sending it again
                changes nothing until the cause is gone; the job that needs it stops there, says why once,
                and retries it when the cause has gone (`retry_after_ms` / `Engine._cause_gone`)

The texts are the executor's (`chain.tx_errors.describe`: error names in words, never hex codes).
"""
from __future__ import annotations

import enum
import re

from ledger.ops.program_deploy import sol  # noqa: F401  (re-exported: the engine's sentences use it)

from .backoff import backoff_ms

# A transaction refused at preflight for one of these can land if sent again later.
_TRANSIENT = ("BlockhashNotFound", "Blockhash not found", "AccountInUse", "WouldExceedMaxBlockCostLimit",
              "WouldExceedMaxAccountCostLimit", "WouldExceedAccountDataBlockLimit", "ClusterMaintenance",
              "transaction expired without landing", "Node is behind", "node is unhealthy")
# A key without enough SOL: for a fee (fee payer) or for an account's rent (a system transfer in a CPI).
_LACKS_SOL = ("ResultWithNegativeLamports", "insufficient lamports", "InsufficientFundsForFee",
              "InsufficientFundsForRent", "AccountNotFound: the fee payer")
# Refusals that resending can never fix, whatever happens on-chain: never retried automatically.
_NEVER = ("transaction too large", "stale config version")
# A permanent failure of another kind is retried after this back-off on its attempts: the program's view
# may change (a customer deposits, an admin unpauses) without the engine knowing which change it waits for.
RETRY_BASE_MS = 30_000
RETRY_CAP_MS = 600_000


class Kind(str, enum.Enum):
    TRANSIENT = "transient"
    LACKS_SOL = "lacks_sol"     # permanent until a key is funded
    NEVER = "never"             # permanent for good (an operator decides: `operator intents retry`)
    PROGRAM = "program"         # permanent until the chain state changes


def classify(error: str) -> Kind:
    if any(t in error for t in _NEVER):
        return Kind.NEVER
    if any(t in error for t in _LACKS_SOL):
        return Kind.LACKS_SOL
    if any(t in error for t in _TRANSIENT):
        return Kind.TRANSIENT
    return Kind.PROGRAM


def is_transient(error: str) -> bool:
    return classify(error) is Kind.TRANSIENT


def retry_after_ms(updated_ms: int, attempts: int) -> int:
    """When a failed intent of kind PROGRAM is tried again: back-off on how often it was sent."""
    return updated_ms + backoff_ms(max(1, attempts), base_ms=RETRY_BASE_MS, cap_ms=RETRY_CAP_MS)


_ERROR_NAME = re.compile(r"\b([A-Z][A-Za-z]+)(?: \(\d+\))?: ")


def error_name(error: str) -> str:
    """The error's name as `describe` wrote it (e.g. `WrongTokenAccount`), or the text's first words."""
    m = _ERROR_NAME.search(error)
    return m.group(1) if m else error.split(":")[0][:60]


def short_key(key: str) -> str:
    """A public key as an operator recognises it in a log line: 9xQe…3kP."""
    return key if len(key) <= 12 else f"{key[:4]}…{key[-4:]}"
