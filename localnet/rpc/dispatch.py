"""JSON-RPC 2.0 envelope handling: parse, batch, route, serialize. Nothing a client sends escapes as an exception."""
from __future__ import annotations

import json
import logging

from .errors import CheatCodesDisabled, InternalError, InvalidRequest, MethodNotFound, ParseError, RpcError
from .params import Params
from .registry import METHODS, Ctx

log = logging.getLogger("localnet.rpc")
MAX_BATCH = 1000
_dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode


class Dispatcher:
    def __init__(self, ctx: Ctx) -> None:
        self.ctx = ctx

    def handle(self, body: bytes) -> bytes:
        """One HTTP body in, one HTTP body out (empty for a batch of notifications only)."""
        try:
            req = json.loads(body)
        except (ValueError, UnicodeDecodeError, RecursionError):  # RecursionError: absurdly nested JSON
            return _dumps(_error(None, ParseError())).encode()
        if isinstance(req, list):
            if not req:
                return _dumps(_error(None, InvalidRequest())).encode()
            if len(req) > MAX_BATCH:
                return _dumps(_error(None, InvalidRequest(f"Batch too large; max {MAX_BATCH}"))).encode()
            out = [r for r in (self.call(item) for item in req) if r is not None]
            return _dumps(out).encode() if out else b""
        resp = self.call(req)
        return b"" if resp is None else _dumps(resp).encode()

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


def _valid_id(rid) -> bool:
    return rid is None or isinstance(rid, (str, int, float)) and not isinstance(rid, bool)


def _error(rid, err: RpcError) -> dict:
    return {"jsonrpc": "2.0", "error": err.to_json(), "id": rid}
