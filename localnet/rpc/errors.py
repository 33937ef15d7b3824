"""The JSON-RPC errors the validator answers with: one small hierarchy, codes as the Solana validator uses them."""
from __future__ import annotations

from typing import Any, Optional


class RpcError(Exception):
    code = -32603
    default_message = "Internal error"

    def __init__(self, message: Optional[str] = None, data: Any = None) -> None:
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.data = data

    def to_json(self) -> dict:
        err: dict = {"code": self.code, "message": self.message}
        if self.data is not None:
            err["data"] = self.data
        return err


class ParseError(RpcError):
    code = -32700
    default_message = "Parse error"


class InvalidRequest(RpcError):
    code = -32600
    default_message = "Invalid request"


class MethodNotFound(RpcError):
    code = -32601
    default_message = "Method not found"


class InvalidParams(RpcError):
    code = -32602
    default_message = "Invalid params"


class InternalError(RpcError):
    code = -32603


class BlockCleanedUp(RpcError):
    code = -32001


class PreflightFailure(RpcError):
    """sendTransaction's simulation failed; data carries err, logs, accounts, unitsConsumed, returnData."""

    code = -32002


class SignatureVerificationFailure(RpcError):
    code = -32003
    default_message = "Transaction signature verification failure"


class BlockNotAvailable(RpcError):
    code = -32004


class SlotSkipped(RpcError):
    code = -32007


class SanitizeFailure(RpcError):
    code = -32602  # the validator reports unsanitary transactions as invalid params


class TransactionHistoryNotAvailable(RpcError):
    code = -32011
    default_message = "Transaction history is not available from this node"


class MinContextSlotNotReached(RpcError):
    code = -32016
    default_message = "Minimum context slot has not been reached"


class CheatCodesDisabled(RpcError):
    code = -32601
    default_message = "Method not found (surfnet_* cheat codes are disabled; start with --cheats)"


class UnsupportedTransactionVersion(RpcError):
    code = -32015
