"""JSON-RPC 2.0 envelope handling: parse, batch, route, serialize. Nothing a client sends escapes as an exception."""
from __future__ import annotations

import json
import logging

import msgspec

from .errors import CheatCodesDisabled, InternalError, InvalidRequest, MethodNotFound, ParseError, RpcError
from .params import Params
from .registry import METHODS, Ctx

log = logging.getLogger("localnet.rpc")
MAX_BATCH = 1000
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
# msgspec parses and writes JSON several times faster than the stdlib. It is strict RFC 8259 where json is
# lenient (NaN, Infinity, lone surrogates, a BOM): a body msgspec refuses is parsed again by json, and that
# request's answer is written by json too, so what a client receives is the same as with json alone (the
# output bytes are the same for every value a standard body can produce).
_fast_loads = msgspec.json.decode
_fast_dumps = msgspec.json.encode
_FAST_ERRORS = (msgspec.DecodeError, msgspec.ValidationError, RecursionError)


class Dispatcher:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def handle(self, body: bytes) -> bytes:
        """One HTTP body in, one HTTP body out (empty for a batch of notifications only)."""
        try:
            req = _fast_loads(body)
            dumps = _fast_dumps
        except _FAST_ERRORS:
            dumps = _slow_dumps
            try:
                req = json.loads(body)
            except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly nested JSON
                return _slow_dumps(_error(None, ParseError()))
        if isinstance(req, list):
            if not req:
                return dumps(_error(None, InvalidRequest()))
            if len(req) > MAX_BATCH:
                return dumps(_error(None, InvalidRequest(f"Batch too large; max {MAX_BATCH}")))
            out = [r for r in (self.call(item) for item in req) if r is not None]
            return _encode(dumps, out) if out else b""
        resp = self.call(req)
        return b"" if resp is None else _encode(dumps, resp)

    def call(self, req) -> dict | None:
        if not isinstance(req, dict):
            return _error(None, InvalidRequest())
        rid = req.get("id")
        if not _valid_id(rid):
            return _error(None, InvalidRequest("Invalid request: `id` must be a string, number or null"))
        meth = req.get("method")
        if req.get("jsonrpc") != "2.0" or not isinstance(meth, str):
            return _error(rid, InvalidRequest())
        is_notification = "id" not in req
        try:
            handler = METHODS.get(meth)
            if handler is None:
                raise MethodNotFound()
            if getattr(handler, "cheat", False) and not self.ctx.cheats:
                raise CheatCodesDisabled()
            self.ctx.bank.context_slot = None  # each request names its own commitment level
            result = handler(self.ctx, Params(meth, req.get("params")))
        except RpcError as e:
            return None if is_notification else _error(rid, e)
        except Exception as e:  # a bug here must not take the node down; the client learns it was ours
            log.exception("internal error in %s", meth)
            return None if is_notification else _error(rid, InternalError(f"Internal error: {type(e).__name__}: {e}"))
        if is_notification:
            return None
        return {"jsonrpc": "2.0", "result": result, "id": rid}


def _slow_dumps(obj) -> bytes:
    return _dumps(obj).encode()


def _encode(dumps, obj) -> bytes:
    try:
        return dumps(obj)
    except (TypeError, OverflowError, msgspec.EncodeError):  # a value msgspec cannot write: json's answer
        return _slow_dumps(obj)


def _valid_id(rid) -> bool:
    return rid is None or isinstance(rid, (str, int, float)) and not isinstance(rid, bool)


def _error(rid, err: RpcError) -> dict:
    return {"jsonrpc": "2.0", "error": err.to_json(), "id": rid}
