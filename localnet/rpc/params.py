"""Pure parsing of JSON-RPC params: every failure is an InvalidParams that names the parameter."""
from __future__ import annotations

from typing import Any, Optional

from solders.pubkey import Pubkey
from solders.signature import Signature

from .errors import InvalidParams, MinContextSlotNotReached

COMMITMENTS = {"processed", "confirmed", "finalized", "recent", "single", "singleGossip", "root", "max"}
ACCOUNT_ENCODINGS = {"base58", "base64", "base64+zstd", "jsonParsed", "binary"}
TX_ENCODINGS = {"json", "jsonParsed", "base64", "base58", "binary"}


class Params:
    """Positional params of one call, with typed accessors. `name` is the method, for messages."""

    def __init__(self, method: str, raw: Any) -> None:
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise InvalidParams(f"Invalid params for {method}: `params` must be an array")
        self.method = method
        self.raw = raw

    def __len__(self) -> int:
        return len(self.raw)

    def max(self, n: int) -> None:
        if len(self.raw) > n:
            raise InvalidParams(f"Invalid params for {self.method}: expected at most {n} parameters, got {len(self.raw)}")

    def get(self, i: int, name: str, default: Any = ..., *, allow_none: bool = False) -> Any:
        if i >= len(self.raw) or (self.raw[i] is None and allow_none):
            if default is ...:
                raise InvalidParams(f"Invalid params for {self.method}: missing required parameter `{name}` (params[{i}])")
            return default
        return self.raw[i]

    def pubkey(self, i: int, name: str) -> Pubkey:
        return parse_pubkey(self.get(i, name), f"{name} (params[{i}])")

    def string(self, i: int, name: str) -> str:
        v = self.get(i, name)
        if not isinstance(v, str):
            raise InvalidParams(f"Invalid params for {self.method}: `{name}` (params[{i}]) must be a string")
        return v

    def uint(self, i: int, name: str, default: Any = ...) -> Any:
        v = self.get(i, name, default, allow_none=True)
        if v is default and default is not ...:
            return v
        if not isinstance(v, int) or isinstance(v, bool) or v < 0 or v >= 2**64:
            raise InvalidParams(f"Invalid params for {self.method}: `{name}` (params[{i}]) must be a u64")
        return v

    def config(self, i: int, allowed: set[str]) -> dict:
        """The optional config object at position i. Unknown keys are ignored, as the validator's serde structs
        ignore them (clients send fields newer or older validators know); `allowed` documents the known ones."""
        v = self.get(i, "config", None, allow_none=True)
        if v is None:
            return {}
        if not isinstance(v, dict):
            raise InvalidParams(f"Invalid params for {self.method}: config (params[{i}]) must be an object")
        return {k: x for k, x in v.items() if x is not None}  # explicit null means "default", as in serde


def parse_pubkey(v: Any, what: str) -> Pubkey:
    if not isinstance(v, str) or not 32 <= len(v) <= 44:
        raise InvalidParams(f"Invalid param: {what} is not a base58 public key")
    try:
        return Pubkey.from_string(v)
    except ValueError:
        raise InvalidParams(f"Invalid param: {what} is not a base58 public key") from None


def parse_signature(v: Any, what: str) -> Signature:
    if not isinstance(v, str) or len(v) > 88:
        raise InvalidParams(f"Invalid param: {what} is not a base58 signature")
    try:
        return Signature.from_string(v)
    except ValueError:
        raise InvalidParams(f"Invalid param: {what} is not a base58 signature") from None


def check_common(method: str, cfg: dict, bank) -> int:
    """Validates commitment and minContextSlot; returns the slot the level answers at (the bank's
    commitment_slot) and records it as the request's context slot."""
    c = cfg.get("commitment")
    if c is not None and c not in COMMITMENTS:
        raise InvalidParams(f"Invalid params for {method}: unknown commitment `{c}` (processed, confirmed, finalized)")
    slot = bank.context_slot = bank.commitment_slot(c)
    m = cfg.get("minContextSlot")
    if m is not None:
        if not isinstance(m, int) or m < 0:
            raise InvalidParams(f"Invalid params for {method}: `minContextSlot` must be a u64")
        if m > slot:
            raise MinContextSlotNotReached(data={"contextSlot": slot})
    return slot


def account_encoding(method: str, cfg: dict, default: str = "base64") -> str:
    enc = cfg.get("encoding", default)
    if enc not in ACCOUNT_ENCODINGS:
        raise InvalidParams(f"Invalid params for {method}: unknown `encoding` {enc!r} (base58, base64, base64+zstd, jsonParsed)")
    return enc


def data_slice(method: str, cfg: dict) -> Optional[tuple[int, int]]:
    ds = cfg.get("dataSlice")
    if ds is None:
        return None
    if (not isinstance(ds, dict) or set(ds) != {"offset", "length"}
            or not all(isinstance(ds[k], int) and not isinstance(ds[k], bool) and ds[k] >= 0 for k in ds)):
        raise InvalidParams(f"Invalid params for {method}: `dataSlice` must be {{offset: usize, length: usize}}")
    return ds["offset"], ds["length"]


def tx_encoding(method: str, cfg: dict, default: str = "json") -> str:
    enc = cfg.get("encoding", default)
    if enc not in TX_ENCODINGS:
        raise InvalidParams(f"Invalid params for {method}: unknown `encoding` {enc!r} (json, jsonParsed, base64, base58)")
    return enc


def max_version(method: str, cfg: dict) -> Optional[int]:
    v = cfg.get("maxSupportedTransactionVersion")
    if v is not None and (not isinstance(v, int) or isinstance(v, bool) or v < 0 or v > 255):
        raise InvalidParams(f"Invalid params for {method}: `maxSupportedTransactionVersion` must be a u8")
    return v
