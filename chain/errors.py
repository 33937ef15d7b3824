"""The chain layer's errors: one small hierarchy for every caller.

    ChainError
    ├── ChainUnavailable   the endpoint could not be reached, timed out, or answered HTTP 429/5xx: retry later
    └── RpcError           the endpoint answered with a JSON-RPC error (code, message)
        └── TxRejected     the cluster refused a transaction (preflight simulation): it will never land

A refused transaction names the program error by name and message (from the program's generated error
table), never as a hex code."""
from __future__ import annotations

from typing import Optional, Sequence

from contracts.client.errors import ProgramError, error_from_logs, error_from_tx_error


class ChainError(Exception):
    """Base of every error of the chain layer."""


class ChainUnavailable(ChainError):
    """The RPC could not be reached or answered with a server error: back off and try again later."""


class RpcError(ChainError):
    """A JSON-RPC error answer."""

    def __init__(self, message: str, code: Optional[int] = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class TxRejected(RpcError):
    """The cluster refused the transaction (preflight simulation or program error): it will never land.
    `logs`, `err` (the TransactionError, when the node sent one) and `units` are what the simulation reported;
    `program_error` is the billing program's error when it was one of its own."""

    def __init__(self, message: str, logs: Sequence[str] = (), *, err: object = None, units: Optional[int] = None,
                 code: Optional[int] = None) -> None:
        self.logs = list(logs)
        self.err = err
        self.units = units
        self.program_error: Optional[ProgramError] = (
            error_from_logs(self.logs) or (error_from_tx_error(err) if err is not None else None))
        if self.program_error is not None:
            message = f"{message.split(':')[0]}: {self.program_error}"
        super().__init__(message, code)
