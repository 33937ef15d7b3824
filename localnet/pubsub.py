"""PubSub over WebSocket: account, signature, logs, program, slot and root subscriptions.

The bank calls the Listener methods in the event-loop thread; each connection has its own outgoing queue and
sender task, so a slow client never blocks the bank.
"""
from __future__ import annotations

import asyncio
import itertools
import json
import logging
from dataclasses import dataclass, field
from typing import Callable, Optional

from solders.account import Account

from .bank import Bank, Listener, TxRecord
from .rpc import encode
from .rpc.accounts import matches, parse_filters
from .rpc.errors import InvalidParams, InvalidRequest, MethodNotFound, ParseError, RpcError
from .rpc.params import account_encoding, parse_pubkey, parse_signature, COMMITMENTS

log = logging.getLogger("localnet.pubsub")
_dumps = json.JSONEncoder(separators=(",", ":")).encode
MAX_QUEUE = 10_000


@dataclass
class Sub:
    id: int
    kind: str  # account | signature | logs | program | slot | root
    conn: "Conn"
    key: Optional[str] = None
    encoding: str = "base64"
    filters: list = field(default_factory=list)
    mentions: Optional[str] = None
    include_votes: bool = False
    received: bool = False  # signatureSubscribe with enableReceivedNotification


class Conn:
    def __init__(self, ws) -> None:
        self.ws = ws
        self.queue: asyncio.Queue[str] = asyncio.Queue(MAX_QUEUE)
        self.subs: set[int] = set()

    def push(self, msg: dict) -> None:
        try:
            self.queue.put_nowait(_dumps(msg))
        except asyncio.QueueFull:
            log.warning("dropping notification for a client that does not read")


class PubSub(Listener):
    def __init__(self, bank: Bank, defer: Optional[Callable[[Callable[[], None]], None]] = None) -> None:
        """defer(fn) runs fn once the bank's latest change is durable (the node passes its ledger gate), so a
        notification never announces state that a crash could still lose."""
        self.bank = bank
        self._defer = defer or (lambda fn: fn())
        self._ids = itertools.count(1)
        self.subs: dict[int, Sub] = {}
        self.by_account: dict[str, set[int]] = {}
        self.by_program: dict[str, set[int]] = {}
        self.by_signature: dict[str, set[int]] = {}
        self.logs: set[int] = set()
        self.slots: set[int] = set()
        self.roots: set[int] = set()
        bank.listeners.append(self)

    # ----- connection handling -------------------------------------------------------------------------------

    async def serve(self, ws) -> None:
        conn = Conn(ws)
        sender = asyncio.create_task(self._sender(conn))
        try:
            async for raw in ws:
                for reply in self.handle_text(conn, raw):
                    conn.push(reply)
        except Exception as e:  # a broken connection ends that client only
            log.debug("pubsub connection closed: %r", e)
        finally:
            for sid in list(conn.subs):
                self._remove(sid)
            sender.cancel()

    async def _sender(self, conn: Conn) -> None:
        while True:
            msg = await conn.queue.get()
            await conn.ws.send(msg)

    def handle_text(self, conn: Conn, raw) -> list[dict]:
        try:
            req = json.loads(raw)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return [_err(None, ParseError())]
        reqs = req if isinstance(req, list) else [req]
        if not reqs:
            return [_err(None, InvalidRequest())]
        out = []
        for r in reqs:
            if not isinstance(r, dict) or r.get("jsonrpc") != "2.0" or not isinstance(r.get("method"), str):
                out.append(_err(r.get("id") if isinstance(r, dict) else None, InvalidRequest()))
                continue
            rid = r.get("id")
            try:
                params = r.get("params") or []
                if not isinstance(params, list):
                    raise InvalidParams(f"Invalid params for {r['method']}: `params` must be an array")
                result, after = self.call(conn, r["method"], params)
                out.append({"jsonrpc": "2.0", "result": result, "id": rid})
                if after is not None:
                    out.append(after)
            except RpcError as e:
                out.append(_err(rid, e))
            except Exception as e:
                log.exception("pubsub internal error")
                out.append(_err(rid, RpcError(f"Internal error: {e}")))
        return out

    def call(self, conn: Conn, meth: str, params: list):
        if meth.endswith("Unsubscribe"):
            if len(params) != 1 or not isinstance(params[0], int):
                raise InvalidParams(f"Invalid params for {meth}: expected [subscriptionId]")
            sub = self.subs.get(params[0])
            kind = meth[: -len("Unsubscribe")]
            if sub is None or sub.conn is not conn or sub.kind != kind:
                raise InvalidParams("Invalid subscription id.")
            self._remove(sub.id)
            return True, None
        cfg = params[1] if len(params) > 1 and isinstance(params[1], dict) else {}
        cfg = {k: v for k, v in cfg.items() if v is not None}  # explicit null means "default"
        c = cfg.get("commitment")
        if c is not None and c not in COMMITMENTS:
            raise InvalidParams(f"Invalid params for {meth}: unknown commitment `{c}`")
        if meth == "accountSubscribe":
            key = str(parse_pubkey(params[0] if params else None, "pubkey (params[0])"))
            sub = self._add(conn, "account", key=key, encoding=account_encoding(meth, cfg, "binary"))
            self.by_account.setdefault(key, set()).add(sub.id)
        elif meth == "programSubscribe":
            key = str(parse_pubkey(params[0] if params else None, "programId (params[0])"))
            sub = self._add(conn, "program", key=key, encoding=account_encoding(meth, cfg, "binary"),
                            filters=parse_filters(meth, cfg.get("filters")))
            self.by_program.setdefault(key, set()).add(sub.id)
        elif meth == "signatureSubscribe":
            sig = str(parse_signature(params[0] if params else None, "signature (params[0])"))
            sub = self._add(conn, "signature", key=sig, received=bool(cfg.get("enableReceivedNotification")))
            rec = self.bank.history.get(sig)
            if rec is not None:  # already landed: answer at once rather than never
                self._remove(sub.id)
                return sub.id, self._signature_msg(sub, rec)
            self.by_signature.setdefault(sig, set()).add(sub.id)
        elif meth == "logsSubscribe":
            f = params[0] if params else None
            if f in ("all", "allWithVotes"):
                sub = self._add(conn, "logs", include_votes=f == "allWithVotes")
            elif isinstance(f, dict) and isinstance(f.get("mentions"), list) and len(f["mentions"]) == 1:
                key = str(parse_pubkey(f["mentions"][0], "mentions[0]"))
                sub = self._add(conn, "logs", mentions=key)
            else:
                raise InvalidParams('Invalid params for logsSubscribe: filter must be "all", "allWithVotes" or {"mentions": [pubkey]}')
            self.logs.add(sub.id)
        elif meth == "slotSubscribe":
            sub = self._add(conn, "slot")
            self.slots.add(sub.id)
        elif meth == "rootSubscribe":
            sub = self._add(conn, "root")
            self.roots.add(sub.id)
        else:
            raise MethodNotFound()
        return sub.id, None

    def _add(self, conn: Conn, kind: str, **kw) -> Sub:
        sub = Sub(next(self._ids), kind, conn, **kw)
        self.subs[sub.id] = sub
        conn.subs.add(sub.id)
        return sub

    def _remove(self, sid: int) -> None:
        sub = self.subs.pop(sid, None)
        if sub is None:
            return
        sub.conn.subs.discard(sid)
        for index in (self.by_account, self.by_program, self.by_signature):
            if sub.key in index:
                index[sub.key].discard(sid)
                if not index[sub.key]:
                    del index[sub.key]
        for s in (self.logs, self.slots, self.roots):
            s.discard(sid)

    # ----- notifications (Listener) --------------------------------------------------------------------------

    def _notify(self, sub: Sub, method: str, result) -> None:
        msg = {"jsonrpc": "2.0", "method": method, "params": {"result": result, "subscription": sub.id}}
        self._defer(lambda: sub.conn.push(msg))

    def _signature_msg(self, sub: Sub, rec: TxRecord) -> dict:
        return {"jsonrpc": "2.0", "method": "signatureNotification",
                "params": {"result": {"context": {"slot": rec.slot}, "value": {"err": rec.err}},
                           "subscription": sub.id}}

    def on_transaction(self, record: TxRecord, accounts: dict[str, Optional[Account]]) -> None:
        if not self.subs:
            return
        for sid in list(self.by_signature.pop(record.signature, ())):
            sub = self.subs.get(sid)
            if sub is not None:
                msg = self._signature_msg(sub, record)
                self._defer(lambda c=sub.conn, m=msg: c.push(m))
                self._remove(sid)
        if self.logs:
            value = {"signature": record.signature, "err": record.err, "logs": record.logs}
            keys = set(record.account_keys)
            for sid in list(self.logs):
                sub = self.subs[sid]
                if sub.mentions is None or sub.mentions in keys:
                    self._notify(sub, "logsNotification", {"context": {"slot": record.slot}, "value": value})
        for key, acct in accounts.items():
            self.on_account(key, acct)

    def on_account(self, pubkey: str, account: Optional[Account]) -> None:
        slot = self.bank.slot
        subs = self.by_account.get(pubkey)
        if subs:
            for sid in list(subs):
                sub = self.subs[sid]
                value = self._ui(account, sub.encoding)
                self._notify(sub, "accountNotification", {"context": {"slot": slot}, "value": value})
        if account is not None:
            psubs = self.by_program.get(str(account.owner))
            if psubs:
                data = bytes(account.data)
                for sid in list(psubs):
                    sub = self.subs[sid]
                    if matches(sub.filters, data):
                        self._notify(sub, "programNotification", {"context": {"slot": slot}, "value": {
                            "pubkey": pubkey, "account": self._ui(account, sub.encoding)}})

    def _ui(self, account: Optional[Account], encoding: str) -> dict:
        if account is None:  # a closed account is reported as an empty system account, as the validator does
            return {"lamports": 0, "data": encode.encode_data(b"", "base64" if encoding == "jsonParsed" else encoding),
                    "owner": "11111111111111111111111111111111", "executable": False, "rentEpoch": 0, "space": 0}
        try:
            return encode.ui_account(self.bank, account, encoding)
        except InvalidParams:  # base58 of a large account: fall back like the validator's base64 default
            return encode.ui_account(self.bank, account, "base64")

    def on_slot(self, slot: int, parent: int, root: int) -> None:
        for sid in list(self.slots):
            self._notify(self.subs[sid], "slotNotification", {"parent": parent, "root": root, "slot": slot})
        for sid in list(self.roots):
            self._notify(self.subs[sid], "rootNotification", root)


def _err(rid, e: RpcError) -> dict:
    return {"jsonrpc": "2.0", "error": e.to_json(), "id": rid}
