"""`--cross-check-url`: every read the auditor makes goes to two RPC nodes and the answers must agree.

The auditor otherwise trusts its RPC node for what the chain holds; a node can serve an older account, leave
an account out of a listing, drop a signature from a history or edit a transaction. With a second node of
another operator, any such difference stops the audit (CrossCheckError, naming the read), so a lie must be
told identically by both nodes. Compared: account info (owner, lamports, executable, data), program-account
listings (as sets), signature lists (signature, slot, error), transactions and blocks (their whole answer).
Two honest nodes at different heights differ at the tip: audit at `finalized` commitment (`--commitment`)
when the nodes are not the same cluster view.
"""
from __future__ import annotations

from typing import Any, Callable

from chain import RpcClient

from .errors import CrossCheckError


def _account(a: Any) -> Any:
    return None if a is None else (str(a.owner), a.lamports, a.executable, bytes(a.data))


def _listing(items: Any) -> Any:
    return sorted((str(k), _account(a)) for k, a in items)


def _signatures(page: Any) -> Any:
    return [(str(s.signature), s.slot, s.err is None) for s in page]


def _whole(x: Any) -> Any:
    return None if x is None else x.to_json()


def _value(x: Any) -> Any:
    return _whole(getattr(x, "value", x))


class CrossCheckedClient:
    """The reads ChainReader makes, each answered by `primary` and compared with `second`'s answer."""

    def __init__(self, primary: RpcClient, second: RpcClient):
        self.primary, self.second = primary, second
        self.commitment = primary.commitment

    def _both(self, what: str, norm: Callable[[Any], Any], name: str, *args, **kw) -> Any:
        a = getattr(self.primary, name)(*args, **kw)
        b = getattr(self.second, name)(*args, **kw)
        na, nb = norm(a), norm(b)
        if na != nb:
            raise CrossCheckError(f"cross-check: {what} differs between {self.primary.url} and {self.second.url}"
                                  f"{_difference(na, nb)}")
        return a

    def get_account_info(self, pubkey):
        return self._both(f"getAccountInfo {pubkey}", _account, "get_account_info", pubkey)

    def get_program_accounts(self, program_id, **kw):
        return self._both(f"getProgramAccounts {program_id}", _listing, "get_program_accounts", program_id, **kw)

    def get_signatures_for_address(self, address, **kw):
        return self._both(f"getSignaturesForAddress {address}", _signatures, "get_signatures_for_address", address,
                          **kw)

    def get_transaction(self, signature):
        return self._both(f"getTransaction {signature}", _whole, "get_transaction", signature)

    def call(self, request):
        return self._both(request.method, _value, "call", request)


def _difference(a: Any, b: Any) -> str:
    """A short account of what differs (which entries one side has and the other lacks, for listings)."""
    if isinstance(a, list) and isinstance(b, list):
        only_a = [x[0] if isinstance(x, tuple) else x for x in a if x not in b]
        only_b = [x[0] if isinstance(x, tuple) else x for x in b if x not in a]
        parts = [f"only the first has {only_a[:3]}" if only_a else "", f"only the second has {only_b[:3]}"
                 if only_b else ""]
        return ": " + "; ".join(p for p in parts if p) if any(parts) else ": the order differs"
    if a is None or b is None:
        return ": " + ("the first has nothing" if a is None else "the second has nothing")
    if isinstance(a, tuple) and isinstance(b, tuple):
        fields = ("owner", "lamports", "executable", "data")
        return ": " + ", ".join(f for f, x, y in zip(fields, a, b) if x != y) + " differ"
    return ""
