"""PubSub over WebSocket: account, signature, logs, program, slot, slotsUpdates and root subscriptions, and
behind solana-test-validator's flags block and vote subscriptions.

Account, program, logs, signature and block notifications wait until their commitment level (finalized by
default, as the validator's) reaches the slot of the change; a processed subscription hears it at once.

The bank calls the Listener methods in the event-loop thread; each connection has its own outgoing queue and
sender task, so a slow client never blocks the bank.
"""
from __future__ import annotations

import asyncio
import bisect
import dataclasses
import itertools
import json
import logging
import time
from dataclasses import dataclass, field
from typing import Callable, Optional

from solders.account import Account
from solders.hash import Hash
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from .bank import COMMITMENT_ALIASES, Bank, Listener, TxRecord
from .rpc import encode
from .rpc.accounts import matches, parse_filters
from .rpc.errors import InvalidParams, InvalidRequest, MethodNotFound, ParseError, RpcError
from .rpc.params import COMMITMENTS, account_encoding, max_version, parse_pubkey, parse_signature, tx_encoding

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
    level: str = "finalized"  # commitment, for signature and block subscriptions
    details: str = "full"  # blockSubscribe: transactionDetails
    rewards: bool = True
    max_version: Optional[int] = None
    last_sent: int = -1  # blockSubscribe: the newest slot already notified


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
    def __init__(self, bank: Bank, defer: Optional[Callable[[Callable[[], None]], None]] = None, *,
                 block_subscription: bool = False, vote_subscription: bool = False,
                 voter: Optional[Keypair] = None) -> None:
        """defer(fn) runs fn once the bank's latest change is durable (the node passes its ledger gate), so a
        notification never announces state that a crash could still lose. block_subscription /
        vote_subscription: solana-test-validator's --rpc-pubsub-enable-block-subscription / -vote-subscription;
        voter: the validator identity that signs the votes voteSubscribe reports."""
        self.bank = bank
        self.block_subscription = block_subscription
        self.vote_subscription = vote_subscription
        self.voter = voter
        self.awaiting: dict[int, TxRecord] = {}  # signature subs whose transaction landed below their level
        self.slot_updates: set[int] = set()
        self.held: list[tuple[int, int, str, object]] = []  # (slot, sub id, method, result) below their level
        self.block_subs: set[int] = set()
        self.votes: set[int] = set()
        self._root = bank.commitment_slot("finalized")
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
                    conn.push(reply)  # a batch's answers come as one array, then any notifications
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
        out, after_all = [], []
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
                    after_all.append(after)
            except RpcError as e:
                out.append(_err(rid, e))
            except Exception as e:
                log.exception("pubsub internal error")
                out.append(_err(rid, RpcError(f"Internal error: {e}")))
        # A JSON-RPC batch is answered with one array, as the validator's pubsub (jsonrpc-core) does.
        return ([out] if isinstance(req, list) else out) + after_all

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
            sub = self._add(conn, "account", key=key, encoding=account_encoding(meth, cfg, "binary"), level=_level(c))
            self.by_account.setdefault(key, set()).add(sub.id)
        elif meth == "programSubscribe":
            key = str(parse_pubkey(params[0] if params else None, "programId (params[0])"))
            sub = self._add(conn, "program", key=key, encoding=account_encoding(meth, cfg, "binary"), level=_level(c),
                            filters=parse_filters(meth, cfg.get("filters")))
            self.by_program.setdefault(key, set()).add(sub.id)
        elif meth == "signatureSubscribe":
            sig = str(parse_signature(params[0] if params else None, "signature (params[0])"))
            sub = self._add(conn, "signature", key=sig, received=bool(cfg.get("enableReceivedNotification")),
                            level=_level(c))
            rec = self.bank.history.get(sig)
            if rec is not None:  # already landed: answer once it is at the level (at once if it is)
                if self._reached(rec.slot, sub.level):
                    self._remove(sub.id)
                    return sub.id, self._signature_msg(sub, rec)
                self.awaiting[sub.id] = rec
            else:
                self.by_signature.setdefault(sig, set()).add(sub.id)
        elif meth == "logsSubscribe":
            f = params[0] if params else None
            if f in ("all", "allWithVotes"):
                sub = self._add(conn, "logs", include_votes=f == "allWithVotes", level=_level(c))
            elif isinstance(f, dict) and isinstance(f.get("mentions"), list) and len(f["mentions"]) == 1:
                key = str(parse_pubkey(f["mentions"][0], "mentions[0]"))
                sub = self._add(conn, "logs", mentions=key, level=_level(c))
            else:
                raise InvalidParams('Invalid params for logsSubscribe: filter must be "all", "allWithVotes" or {"mentions": [pubkey]}')
            self.logs.add(sub.id)
        elif meth == "slotSubscribe":
            sub = self._add(conn, "slot")
            self.slots.add(sub.id)
        elif meth == "rootSubscribe":
            sub = self._add(conn, "root")
            self.roots.add(sub.id)
        elif meth == "slotsUpdatesSubscribe":
            sub = self._add(conn, "slotsUpdates")
            self.slot_updates.add(sub.id)
        elif meth == "blockSubscribe" and self.block_subscription:
            sub = self._block_subscribe(conn, meth, params, cfg)
        elif meth == "voteSubscribe" and self.vote_subscription:
            sub = self._add(conn, "vote")
            self.votes.add(sub.id)
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
        for s in (self.logs, self.slots, self.roots, self.slot_updates, self.block_subs, self.votes):
            s.discard(sid)
        self.awaiting.pop(sid, None)

    # ----- notifications (Listener) --------------------------------------------------------------------------

    def _notify_at(self, sub: Sub, slot: Optional[int], method: str, result) -> None:
        """A change made in `slot` reaches a subscriber once its level does (None: outside any slot, e.g. a
        cheat code: at once); until then it is held, in order."""
        if slot is None or sub.level == "processed" or self._reached(slot, sub.level):
            self._notify(sub, method, result)
        else:
            self.held.append((slot, sub.id, method, result))

    def _release_held(self) -> None:
        keep = []
        for item in self.held:
            sub = self.subs.get(item[1])
            if sub is None:
                continue
            if self._reached(item[0], sub.level):
                self._notify(sub, item[2], item[3])
            else:
                keep.append(item)
        self.held = keep

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
            if sub is None:
                continue
            if sub.level == "processed":
                msg = self._signature_msg(sub, record)
                self._defer(lambda c=sub.conn, m=msg: c.push(m))
                self._remove(sid)
            else:
                self.awaiting[sid] = record
        if self.logs:
            value = {"signature": record.signature, "err": record.err, "logs": record.logs}
            keys = set(record.account_keys)
            for sid in list(self.logs):
                sub = self.subs[sid]
                if sub.mentions is None or sub.mentions in keys:
                    self._notify_at(sub, record.slot, "logsNotification",
                                    {"context": {"slot": record.slot}, "value": value})
        for key, acct in accounts.items():
            self.on_account(key, acct, record.slot)

    def on_account(self, pubkey: str, account: Optional[Account], in_slot: Optional[int] = None) -> None:
        slot = self.bank.slot if in_slot is None else in_slot
        subs = self.by_account.get(pubkey)
        if subs:
            for sid in list(subs):
                sub = self.subs[sid]
                value = self._ui(account, sub.encoding)
                self._notify_at(sub, in_slot, "accountNotification", {"context": {"slot": slot}, "value": value})
        if account is not None:
            psubs = self.by_program.get(str(account.owner))
            if psubs:
                data = bytes(account.data)
                for sid in list(psubs):
                    sub = self.subs[sid]
                    if matches(sub.filters, data):
                        self._notify_at(sub, in_slot, "programNotification", {"context": {"slot": slot}, "value": {
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
        """A block was sealed at `slot`; `root` is the finalized slot after it."""
        for sid in list(self.slots):
            self._notify(self.subs[sid], "slotNotification", {"parent": parent, "root": root, "slot": slot})
        new_root = root if root != self._root else None
        self._root = root
        if new_root is not None:
            for sid in list(self.roots):
                self._notify(self.subs[sid], "rootNotification", root)
        if self.slot_updates:
            self._slot_updates(slot, parent, new_root)
        if self.held:
            self._release_held()
        for sid, rec in list(self.awaiting.items()):
            sub = self.subs.get(sid)
            if sub is not None and self._reached(rec.slot, sub.level):
                msg = self._signature_msg(sub, rec)
                self._defer(lambda c=sub.conn, m=msg: c.push(m))
                self._remove(sid)
        if self.block_subs:
            self._blocks()
        if self.votes:
            self._vote(slot)

    def _reached(self, slot: int, level: str) -> bool:
        return slot <= self.bank.commitment_slot(level)

    def _slot_updates(self, slot: int, parent: int, new_root: Optional[int]) -> None:
        """The validator's SlotUpdate sequence for a sealed slot: completed, frozen (with its transaction
        counts), optimisticConfirmation, and root when the finalized slot moved. (No createdBank or
        firstShredReceived: there are no shreds, and the next slot's bank is not known yet when one is sealed.)"""
        now = int(time.time() * 1000)
        block = self.bank.blocks[slot]
        failed = sum(1 for s in block.signatures if self.bank.history[s].err is not None)
        n = len(block.signatures)
        updates = [
            {"type": "completed", "slot": slot, "timestamp": now},
            {"type": "frozen", "slot": slot, "timestamp": now, "stats": {
                "numTransactionEntries": 1 if n else 0, "numSuccessfulTransactions": n - failed,
                "numFailedTransactions": failed, "maxTransactionsPerEntry": n}},
            {"type": "optimisticConfirmation", "slot": slot, "timestamp": now},
        ]
        if new_root is not None:
            updates.append({"type": "root", "slot": new_root, "timestamp": now})
        for sid in list(self.slot_updates):
            for u in updates:
                self._notify(self.subs[sid], "slotsUpdatesNotification", u)

    def _block_subscribe(self, conn: Conn, meth: str, params: list, cfg: dict) -> Sub:
        f = params[0] if params else None
        if f == "all":
            mentions = None
        elif isinstance(f, dict) and isinstance(f.get("mentionsAccountOrProgram"), str):
            mentions = str(parse_pubkey(f["mentionsAccountOrProgram"], "mentionsAccountOrProgram"))
        else:
            raise InvalidParams('Invalid params for blockSubscribe: filter must be "all" or {"mentionsAccountOrProgram": pubkey}')
        level = _level(cfg.get("commitment"))
        if level == "processed":
            raise InvalidParams("Method does not support commitment below `confirmed`")
        enc = tx_encoding(meth, cfg)
        details = cfg.get("transactionDetails", "full")
        if details not in ("full", "signatures", "none", "accounts"):
            raise InvalidParams(f"Invalid params for blockSubscribe: unknown `transactionDetails` {details!r}")
        sub = self._add(conn, "block", mentions=mentions, encoding=enc, level=level, details=details,
                        rewards=bool(cfg.get("showRewards", True)), max_version=max_version(meth, cfg),
                        last_sent=self.bank.commitment_slot(level))
        self.block_subs.add(sub.id)
        return sub

    def _blocks(self) -> None:
        bank = self.bank
        for sid in list(self.block_subs):
            sub = self.subs[sid]
            target = bank.commitment_slot(sub.level)
            if target <= sub.last_sent:
                continue
            lo = bisect.bisect_right(bank.block_slots, sub.last_sent)
            slots = bank.block_slots[lo : bisect.bisect_right(bank.block_slots, target)]
            sub.last_sent = target
            for s in slots:
                block = bank.blocks[s]
                if sub.mentions is not None:
                    sigs = [x for x in block.signatures if sub.mentions in bank.history[x].account_keys]
                    if not sigs:
                        continue
                    block = dataclasses.replace(block, signatures=sigs)
                value = encode.block(bank, block, encoding=sub.encoding, details=sub.details, rewards=sub.rewards,
                                     max_version=sub.max_version)
                self._notify(sub, "blockNotification", {"context": {"slot": s},
                                                        "value": {"slot": s, "err": None, "block": value}})

    def _vote(self, slot: int) -> None:
        """The validator votes for each block it seals (its vote is not replayed as a transaction: the
        signature is the identity's over the vote account, slot and hash)."""
        block = self.bank.blocks[slot]
        vote = self.bank.vote_pubkey
        sig = self.voter.sign_message(bytes(Pubkey.from_string(vote)) + slot.to_bytes(8, "little")
                                      + bytes(Hash.from_string(block.blockhash)))
        for sid in list(self.votes):
            self._notify(self.subs[sid], "voteNotification", {
                "votePubkey": vote, "slots": [slot], "hash": block.blockhash, "timestamp": block.block_time,
                "signature": str(sig)})


def _level(commitment: Optional[str]) -> str:
    return COMMITMENT_ALIASES.get(commitment, commitment) if commitment else "finalized"


def _err(rid, e: RpcError) -> dict:
    return {"jsonrpc": "2.0", "error": e.to_json(), "id": rid}
