"""The project's one JSON-RPC client: synchronous, over one pooled httpx connection, solders types in and out.

Requests are built by chain/requests.py (pure) and parsed by chain/responses.py (the only parser); this module
only moves bytes and maps transport failures to ChainUnavailable. Why not solana-py's AsyncClient behind a
sync facade: see ARCHITECTURE.md ("One RPC client layer")."""
from __future__ import annotations

import time
from typing import Any, Callable, Optional, Sequence

import httpx
from solders.account import Account
from solders.hash import Hash
from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction

from . import requests as Q
from .errors import ChainError, ChainUnavailable, RpcError
from .responses import parse, parse_batch


class RpcClient:
    """One endpoint, one default commitment. Every method blocks; none retries (callers own their retry policy)."""

    def __init__(self, url: str, *, commitment: str = "confirmed", timeout: float = 10.0,
                 http: Optional[httpx.Client] = None) -> None:
        self.url = url
        self.commitment = Q.commitment_level(commitment)
        self.commitment_name = str(self.commitment).rsplit(".", 1)[-1].lower()
        self._http = http or httpx.Client(timeout=timeout, headers={"content-type": "application/json"})

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> "RpcClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ----- transport -------------------------------------------------------------------------------------------

    def _post(self, body: str, what: str) -> str:
        try:
            r = self._http.post(self.url, content=body)
        except httpx.HTTPError as e:  # connect errors, timeouts, protocol errors
            raise ChainUnavailable(f"RPC {self.url} unreachable ({what}): {type(e).__name__}: {e}".rstrip(": ")) from e
        if r.status_code == 429 or r.status_code >= 500:
            raise ChainUnavailable(f"RPC {self.url} answered HTTP {r.status_code} to {what}")
        if r.status_code >= 400 and not r.content.startswith(b"{"):
            raise RpcError(f"RPC {self.url} answered HTTP {r.status_code} to {what}: {r.text[:200]}", r.status_code)
        return r.text

    # Called after every request as observer(method, seconds, error or None): how a service measures its RPC
    # calls (the engine's /metrics) without this module knowing about metrics.
    observer: Optional[Callable[[str, float, Optional[BaseException]], None]] = None

    def _observed(self, method: str, fn: Callable[[], Any]) -> Any:
        if self.observer is None:
            return fn()
        t0 = time.perf_counter()
        try:
            out = fn()
        except ChainError as e:
            self.observer(method, time.perf_counter() - t0, e)
            raise
        self.observer(method, time.perf_counter() - t0, None)
        return out

    def call(self, request: Q.Request) -> Any:
        """Send one request; its parsed answer (solders type), or a chain error."""
        return self._observed(request.method, lambda: parse(self._post(request.body.to_json(), request.method),
                                                            request.parser))

    def batch(self, requests: Sequence[Q.Request]) -> list[Any]:
        """Several requests in one JSON-RPC batch; answers in order, a failed entry as its ChainError."""
        if not requests:
            return []
        return self._observed("batch", lambda: parse_batch(
            self._post(Q.batch_json(requests), f"a batch of {len(requests)}"), requests))

    # ----- accounts --------------------------------------------------------------------------------------------

    def get_account_info(self, pubkey: Pubkey) -> Optional[Account]:
        return self.call(Q.get_account_info(pubkey, self.commitment)).value

    def get_multiple_accounts(self, pubkeys: Sequence[Pubkey]) -> list[Optional[Account]]:
        out: list[Optional[Account]] = []
        for i in range(0, len(pubkeys), Q.MAX_MULTIPLE_ACCOUNTS):
            chunk = pubkeys[i:i + Q.MAX_MULTIPLE_ACCOUNTS]
            out += list(self.call(Q.get_multiple_accounts(chunk, self.commitment)).value)
        return out

    def get_program_accounts(self, program_id: Pubkey, *, memcmp: Sequence[tuple[int, bytes]] = (),
                             data_size: Optional[int] = None) -> list[tuple[Pubkey, Account]]:
        resp = self.call(Q.get_program_accounts(program_id, self.commitment, memcmp=memcmp, data_size=data_size))
        return [(a.pubkey, a.account) for a in resp.value]

    def get_balance(self, pubkey: Pubkey) -> int:
        return self.call(Q.get_balance(pubkey, self.commitment)).value

    def get_minimum_balance_for_rent_exemption(self, size: int) -> int:
        return self.call(Q.get_minimum_balance_for_rent_exemption(size, self.commitment)).value

    # ----- cluster state ---------------------------------------------------------------------------------------

    def get_latest_blockhash(self) -> tuple[Hash, int]:
        """(blockhash, last valid block height)."""
        v = self.call(Q.get_latest_blockhash(self.commitment)).value
        return v.blockhash, v.last_valid_block_height

    def get_block_height(self) -> int:
        return self.call(Q.get_block_height(self.commitment)).value

    def get_slot(self) -> int:
        return self.call(Q.get_slot(self.commitment)).value

    def get_genesis_hash(self) -> Hash:
        """The cluster's identity: devnet, testnet and mainnet-beta each have their own."""
        return self.call(Q.get_genesis_hash()).value

    # ----- transactions ----------------------------------------------------------------------------------------

    def send_raw_transaction(self, tx: bytes, *, skip_preflight: bool = False) -> Signature:
        """Send wire bytes (legacy or v0). Preflight runs at this client's commitment; a refusal is TxRejected."""
        return self.call(Q.send_raw_transaction(tx, self.commitment, skip_preflight=skip_preflight)).value

    def send_transaction(self, tx: Transaction | VersionedTransaction, *, skip_preflight: bool = False) -> Signature:
        return self.send_raw_transaction(bytes(tx), skip_preflight=skip_preflight)

    def simulate_transaction(self, tx: Transaction | VersionedTransaction) -> Any:
        """RpcSimulateTransactionResult (err, logs, units_consumed) of an unsigned or signed transaction."""
        return self.call(Q.simulate_transaction(tx, self.commitment)).value

    def request_airdrop(self, pubkey: Pubkey, lamports: int) -> Signature:
        return self.call(Q.request_airdrop(pubkey, lamports, self.commitment)).value

    def get_signature_statuses(self, signatures: Sequence[Signature | str]) -> list[Any]:
        """TransactionStatus (or None when unknown) of each signature, in order."""
        sigs = [s if isinstance(s, Signature) else Signature.from_string(s) for s in signatures]
        out: list[Any] = []
        for i in range(0, len(sigs), Q.MAX_SIGNATURE_STATUSES):
            out += list(self.call(Q.get_signature_statuses(sigs[i:i + Q.MAX_SIGNATURE_STATUSES])).value)
        return out

    def confirm(self, signature: Signature | str, *, timeout_s: float = 30.0, poll_s: float = 0.05) -> Any:
        """Wait until the signature reaches this client's commitment; its TransactionStatus (err may be set)."""
        want = LEVEL_NAMES.index(self.commitment_name)
        deadline = time.monotonic() + timeout_s
        while True:
            st = self.get_signature_statuses([signature])[0]
            if st is not None and (st.err is not None or confirmation_level(st) >= want):
                return st
            if time.monotonic() >= deadline:
                raise ChainError(f"{signature} not {self.commitment_name} within {timeout_s:.0f} s")
            time.sleep(poll_s)

    def get_signatures_for_address(self, address: Pubkey, *, before: Optional[Signature | str] = None,
                                   until: Optional[Signature | str] = None, limit: int = 1000) -> list[Any]:
        """Newest first: RpcConfirmedTransactionStatusWithSignature (signature, slot, err, block_time)."""
        req = Q.get_signatures_for_address(address, self.commitment, before=_sig(before), until=_sig(until),
                                           limit=limit)
        return list(self.call(req).value)

    def get_transaction(self, signature: Signature | str) -> Any:
        """EncodedConfirmedTransactionWithStatusMeta (json encoding), or None when the node does not have it."""
        return self.call(Q.get_transaction(_sig(signature), self.commitment)).value

    def get_transactions(self, signatures: Sequence[Signature | str]) -> list[Any]:
        """Several getTransaction in one batch request; one by one when the endpoint refuses batches."""
        if len(signatures) <= 1:
            return [self.get_transaction(s) for s in signatures]
        reqs = [Q.get_transaction(_sig(s), self.commitment, id=i) for i, s in enumerate(signatures)]
        try:
            answers = self.batch(reqs)
        except RpcError:
            return [self.get_transaction(s) for s in signatures]
        return [self.get_transaction(s) if isinstance(a, ChainError) else a.value
                for s, a in zip(signatures, answers)]


def _sig(s: Optional[Signature | str]) -> Optional[Signature]:
    if s is None or isinstance(s, Signature):
        return s
    return Signature.from_string(s)


LEVEL_NAMES = ("processed", "confirmed", "finalized")


def confirmation_level(status: Any) -> int:
    """0 processed, 1 confirmed, 2 finalized. Without a confirmationStatus (older nodes), `confirmations` null
    means rooted (finalized); a count means processed at least."""
    c = status.confirmation_status
    if c is None:
        return 2 if status.confirmations is None else 0
    return LEVEL_NAMES.index(str(c).rsplit(".", 1)[-1].lower())
