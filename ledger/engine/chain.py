"""The engine's view of the chain: a small interface, its errors, and the adapter over JSON-RPC.

Everything the engine decides is a function of what this interface returns, so the decision logic can be
exercised against any implementation; the one used in production and in the end-to-end tests is RpcChain
(solana-py's Client against the localnet or any RPC URL).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Protocol, Sequence

import httpx
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature


class ChainError(Exception):
    """Base of the engine's chain errors."""


class ChainUnavailable(ChainError):
    """The RPC could not be reached or answered with a server error: back off and try again later."""


class TxRejected(ChainError):
    """The cluster refused the transaction (preflight simulation or program error): it will never land."""

    def __init__(self, message: str, logs: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.logs = list(logs)


@dataclass(frozen=True)
class SigStatus:
    slot: int
    err: Optional[str]  # None: the transaction succeeded
    confirmation: str   # processed | confirmed | finalized


@dataclass(frozen=True)
class TxInfo:
    signature: str
    slot: int
    block_time: Optional[int]
    err: Optional[str]
    logs: tuple[str, ...]
    account_keys: tuple[str, ...] = ()  # static keys; [0] is the fee payer


class Chain(Protocol):
    def latest_blockhash(self) -> tuple[Hash, int]: ...            # (blockhash, last valid block height)
    def block_height(self) -> int: ...
    def signature_statuses(self, signatures: Sequence[str]) -> list[Optional[SigStatus]]: ...
    def send_raw(self, tx: bytes) -> str: ...                      # raises TxRejected / ChainUnavailable
    def account_data(self, pubkey: Pubkey) -> Optional[bytes]: ...
    def token_balance(self, token_account: Pubkey) -> Optional[int]: ...
    def program_signatures(self, address: Pubkey, *, until: Optional[str], before: Optional[str],
                           limit: int) -> list[tuple[str, int, bool]]: ...  # newest first: (sig, slot, failed)
    def transaction(self, signature: str) -> Optional[TxInfo]: ...
    def transactions(self, signatures: Sequence[str]) -> list[Optional[TxInfo]]: ...


def _err_text(err) -> Optional[str]:
    return None if err is None else str(err)


class RpcChain:
    """Chain over JSON-RPC with solana-py. Transport failures and 5xx become ChainUnavailable."""

    def __init__(self, url: str, *, commitment: str = "confirmed", timeout: float = 10.0) -> None:
        from solana.rpc.api import Client
        from solana.rpc.commitment import Commitment

        self.url = url
        self._commitment = Commitment(commitment)
        self._client = Client(url, commitment=self._commitment, timeout=timeout)

    def _call(self, fn, *args, **kw):
        from solana.exceptions import SolanaRpcException
        from solana.rpc.core import RPCException

        try:
            return fn(*args, **kw)
        except (httpx.TransportError, SolanaRpcException, ConnectionError, OSError) as e:
            raise ChainUnavailable(f"RPC {self.url} unreachable: {type(e).__name__}: {e}") from e
        except httpx.HTTPStatusError as e:
            raise ChainUnavailable(f"RPC {self.url} answered HTTP {e.response.status_code}") from e
        except RPCException as e:
            raise ChainError(f"RPC {self.url}: {e}") from e

    def latest_blockhash(self) -> tuple[Hash, int]:
        v = self._call(self._client.get_latest_blockhash).value
        return v.blockhash, v.last_valid_block_height

    def block_height(self) -> int:
        return self._call(self._client.get_block_height).value

    def signature_statuses(self, signatures: Sequence[str]) -> list[Optional[SigStatus]]:
        out: list[Optional[SigStatus]] = []
        sigs = [Signature.from_string(s) for s in signatures]
        for i in range(0, len(sigs), 256):
            resp = self._call(self._client.get_signature_statuses, sigs[i:i + 256], True)
            for st in resp.value:
                if st is None:
                    out.append(None)
                else:
                    conf = str(st.confirmation_status).rsplit(".", 1)[-1].lower() if st.confirmation_status else "processed"
                    out.append(SigStatus(st.slot, _err_text(st.err), conf))
        return out

    def send_raw(self, tx: bytes) -> str:
        from solana.rpc.core import RPCException
        from solana.rpc.types import TxOpts

        try:
            return str(self._call(self._client.send_raw_transaction, tx,
                                  TxOpts(skip_preflight=False, preflight_commitment=self._commitment)).value)
        except ChainError as e:
            cause = e.__cause__
            if isinstance(cause, RPCException):
                data = getattr(cause.args[0], "data", None) if cause.args else None
                logs = list(getattr(data, "logs", None) or [])
                raise TxRejected(_rpc_message(cause), logs) from cause
            raise

    def account_data(self, pubkey: Pubkey) -> Optional[bytes]:
        v = self._call(self._client.get_account_info, pubkey).value
        return None if v is None else bytes(v.data)

    def rent_exempt(self, size: int) -> int:
        return self._call(self._client.get_minimum_balance_for_rent_exemption, size).value

    def lamports(self, pubkey: Pubkey) -> int:
        return self._call(self._client.get_balance, pubkey).value

    def airdrop(self, pubkey: Pubkey, lamports: int) -> str:
        return str(self._call(self._client.request_airdrop, pubkey, lamports).value)

    def unix_time(self) -> int:
        """The cluster's Clock: unix_timestamp of the Clock sysvar (what the program sees)."""
        data = self.account_data(Pubkey.from_string("SysvarC1ock11111111111111111111111111111111"))
        return int.from_bytes(data[32:40], "little", signed=True)

    def token_balance(self, token_account: Pubkey) -> Optional[int]:
        v = self._call(self._client.get_account_info, token_account).value
        if v is None or len(v.data) < 72:
            return None
        return int.from_bytes(bytes(v.data)[64:72], "little")  # SPL token account layout: amount at 64

    def program_signatures(self, address: Pubkey, *, until: Optional[str] = None, before: Optional[str] = None,
                           limit: int = 1000) -> list[tuple[str, int, bool]]:
        resp = self._call(self._client.get_signatures_for_address, address,
                          Signature.from_string(before) if before else None,
                          Signature.from_string(until) if until else None, limit)
        return [(str(r.signature), r.slot, r.err is not None) for r in resp.value]

    def transactions(self, signatures: Sequence[str]) -> list[Optional[TxInfo]]:
        """Several getTransaction calls in one JSON-RPC batch request (one per signature when the
        endpoint refuses batches)."""
        import json as _json

        from solders.rpc.responses import GetTransactionResp

        if len(signatures) <= 1:
            return [self.transaction(s) for s in signatures]
        body = [{"jsonrpc": "2.0", "id": i, "method": "getTransaction",
                 "params": [s, {"encoding": "json", "commitment": str(self._commitment),
                                "maxSupportedTransactionVersion": 0}]} for i, s in enumerate(signatures)]
        try:
            r = httpx.post(self.url, json=body, timeout=30)
            r.raise_for_status()
            items = r.json()
            if not isinstance(items, list):
                raise ValueError("not a batch answer")
        except (httpx.HTTPError, ValueError):
            return [self.transaction(s) for s in signatures]
        by_id = {it.get("id"): it for it in items}
        out: list[Optional[TxInfo]] = []
        for i, s in enumerate(signatures):
            it = by_id.get(i)
            if it is None or "error" in it:
                out.append(self.transaction(s))
                continue
            out.append(self._tx_info(s, GetTransactionResp.from_json(_json.dumps(it)).value))
        return out

    def transaction(self, signature: str) -> Optional[TxInfo]:
        resp = self._call(self._client.get_transaction, Signature.from_string(signature), "json",
                          None, 0)
        return self._tx_info(signature, resp.value)

    def _tx_info(self, signature: str, v) -> Optional[TxInfo]:
        if v is None:
            return None
        meta = v.transaction.meta
        keys: tuple[str, ...] = ()
        msg = getattr(v.transaction.transaction, "message", None)
        if msg is not None and hasattr(msg, "account_keys"):
            keys = tuple(str(k) for k in msg.account_keys)
        return TxInfo(signature, v.slot, v.block_time, _err_text(meta.err if meta else None),
                      tuple(meta.log_messages or []) if meta else (), keys)


def _rpc_message(e: Exception) -> str:
    arg = e.args[0] if e.args else e
    msg = getattr(arg, "message", None) or str(arg)
    return str(msg)
