"""The one place JSON-RPC answers are parsed: solders' typed responses, and JSON-RPC errors turned into the
chain layer's errors (chain/errors.py)."""
from __future__ import annotations

import json
from typing import Any, Sequence, get_args

from solders.rpc import responses as R
from solders.rpc.errors import (NodeUnhealthyMessage, SendTransactionPreflightFailureMessage,
                                TransactionPrecompileVerificationFailureMessage)

from .errors import ChainUnavailable, RpcError, TxRejected
from .requests import Request

_RPC_ERRORS = get_args(R.RPCError)
# JSON-RPC error codes of a node that is up but cannot answer now (behind, unhealthy): retry later
_RETRYABLE_CODES = {-32004, -32005, -32014, -32016}


def _raise_for(err: Any, raw: dict | None) -> None:
    """Raise the chain error for a parsed solders RPC error (raw: the JSON `error` object, for its code)."""
    code = raw.get("code") if raw else None
    message = getattr(err, "message", None) or (raw.get("message") if raw else None) or repr(err)
    if isinstance(err, SendTransactionPreflightFailureMessage):
        sim = err.data
        raise TxRejected(message, sim.logs or (), err=sim.err, units=sim.units_consumed, code=code)
    if isinstance(err, TransactionPrecompileVerificationFailureMessage):
        raise TxRejected(message, (), err=err.data, code=code)
    if isinstance(err, NodeUnhealthyMessage) or code in _RETRYABLE_CODES:
        raise ChainUnavailable(f"the node cannot answer now: {message}")
    raise RpcError(message, code)


def parse(raw: str, parser: type) -> Any:
    """The typed answer of one request (its `.value` for context-wrapped answers is left to the caller)."""
    try:
        parsed = parser.from_json(raw)
    except Exception as e:  # solders raises its own SerdeJSONError (a ValueError subclass on some versions)
        raise RpcError(f"malformed answer to {parser.__name__[:-4]}: {e}") from None
    if isinstance(parsed, _RPC_ERRORS):
        _raise_for(parsed, _error_object(raw))
    return parsed


def parse_batch(raw: str, requests: Sequence[Request]) -> list[Any]:
    """Answers of a batch, in the order of `requests` (matched by id). An entry that is a JSON-RPC error is
    returned as the chain error it maps to (not raised), so one refused entry does not lose the others."""
    try:
        items = json.loads(raw)
    except ValueError as e:
        raise RpcError(f"malformed batch answer: {e}") from None
    if not isinstance(items, list):
        err = items.get("error") if isinstance(items, dict) else None
        raise RpcError(f"the endpoint refused the batch: {err.get('message') if err else items!r}",
                       err.get("code") if err else None)
    by_id = {it.get("id"): it for it in items if isinstance(it, dict)}
    out: list[Any] = []
    for r in requests:
        item = by_id.get(r.body.id)
        if item is None:
            out.append(RpcError(f"no answer to {r.method} (id {r.body.id}) in the batch"))
            continue
        try:
            out.append(parse(json.dumps(item), r.parser))
        except RpcError as e:
            out.append(e)
    return out


def _error_object(raw: str) -> dict | None:
    try:
        obj = json.loads(raw)
    except ValueError:
        return None
    err = obj.get("error") if isinstance(obj, dict) else None
    return err if isinstance(err, dict) else None
