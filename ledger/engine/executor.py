"""Drives intents to the chain, crash-safely.

The rule: an intent's signed transaction (and so its signature) is written to the database BEFORE the
transaction is handed to the RPC. After any crash, an intent in state `sent` is resolved by asking the
chain, never by sending something new:

    signature landed and succeeded  -> confirmed
    signature landed and failed     -> confirmed if the chain state shows the action done anyway, else failed
    signature unknown, blockhash still valid -> send the SAME bytes again (same signature: it cannot land twice)
    signature unknown, blockhash expired     -> it can never land; if the chain state shows the action done
                                               (another replica or a manual run did it) -> confirmed, else
                                               back to pending, and only then is a new transaction built

`decide` is that table as a pure function; `Executor` does the I/O around it.
"""
from __future__ import annotations

import enum
import json
import time
from dataclasses import dataclass
from typing import Callable, Optional, Protocol, Sequence

from solders.instruction import Instruction
from solders.keypair import Keypair
from solders.message import Message
from solders.transaction import Transaction
from sqlalchemy.orm import Session, sessionmaker

from .chain import Chain, SigStatus, TxRejected
from .intents import IntentStore
from .models import Intent


class Action(Protocol):
    """How one kind of intent becomes instructions, and how the chain shows it is done."""

    kind: str

    def instructions(self, payload: dict) -> tuple[list[Instruction], list[Keypair]]: ...

    def done(self, chain: Chain, payload: dict) -> bool: ...

    def on_confirmed(self, session: Session, intent: Intent, signature: Optional[str]) -> None: ...


class Step(str, enum.Enum):
    CONFIRM = "confirm"
    FAIL = "fail"
    RESEND_SAME = "resend_same"
    REBUILD = "rebuild"
    WAIT = "wait"


def decide(status: Optional[SigStatus], *, expired: bool, done_on_chain: Optional[bool]) -> Step:
    """What to do with an intent in state `sent`. done_on_chain=None means it was not (or could not be)
    checked yet; the caller checks it only when the answer matters."""
    if status is not None:
        if status.err is None:
            return Step.CONFIRM
        return Step.CONFIRM if done_on_chain else Step.FAIL
    if not expired:
        return Step.RESEND_SAME
    return Step.CONFIRM if done_on_chain else Step.REBUILD


Fault = Callable[[str], None]
PACKET_DATA_SIZE = 1232  # the largest serialized transaction a Solana cluster accepts


def _no_fault(_point: str) -> None:
    return None


@dataclass
class Outcome:
    state: str
    signature: Optional[str] = None
    error: str = ""


class Executor:
    def __init__(self, session_factory: sessionmaker, chain: Chain, payer: Keypair,
                 actions: Sequence[Action], *, fault: Fault = _no_fault, confirm_polls: int = 20,
                 poll_interval_s: float = 0.1, blockhash_ttl_s: float = 1.0) -> None:
        self._sf = session_factory
        self.chain = chain
        self.payer = payer
        self.actions = {a.kind: a for a in actions}
        self.intents = IntentStore(session_factory)
        self.fault = fault
        self.confirm_polls = confirm_polls
        self.poll_interval_s = poll_interval_s
        self.blockhash_ttl_s = blockhash_ttl_s
        self._bh = None

    # -- the public step ---------------------------------------------------------------------------------

    def _blockhash(self):
        # One recent blockhash serves many transactions for a moment (each stores its own
        # last_valid_block_height); fetching one per transaction would double the RPC round trips.
        now = time.monotonic()
        if self._bh is None or now - self._bh[2] > self.blockhash_ttl_s:
            bh, lvbh = self.chain.latest_blockhash()
            self._bh = (bh, lvbh, now)
        return self._bh[0], self._bh[1]

    def drive(self, intent_id: int, *, wait: bool = True, fresh: bool = False) -> Outcome:
        """Take one intent as far as it can go now (wait=False: stop once it is sent). fresh=True: the
        caller has just read the chain state and knows the action is not done, so the check is skipped
        for a never-sent intent. Raises ChainUnavailable (the caller backs off)."""
        intent = self.intents.get(intent_id)
        action = self.actions[intent.kind]
        payload = json.loads(intent.payload)
        if intent.state in ("confirmed", "failed"):
            return Outcome(intent.state, intent.signature, intent.error)
        if intent.state == "sent":
            step = self._resolve_sent(intent, action, payload)
            if step is Step.RESEND_SAME:
                self._send(intent.tx, intent, action, payload)
                return self._await(intent.id, intent.signature, action, payload) if wait else Outcome("sent", intent.signature)
            if step is not Step.REBUILD:
                return Outcome(self.intents.get(intent_id).state, intent.signature)
            intent = self.intents.get(intent_id)  # back to pending
            self._bh = None  # its blockhash expired: never reuse a cached one for the rebuild
        # pending
        if not (fresh and intent.attempts == 0) and action.done(self.chain, payload):
            self._finish(intent, action, "confirmed", None, "already done on chain")
            return Outcome("confirmed", None)
        ixs, signers = action.instructions(payload)
        blockhash, last_valid = self._blockhash()
        msg = Message.new_with_blockhash(ixs, self.payer.pubkey(), blockhash)
        tx = Transaction([self.payer, *signers], msg, blockhash)
        sig = str(tx.signatures[0])
        raw = bytes(tx)
        if len(raw) > PACKET_DATA_SIZE:
            # It could never be sent: say why instead of letting the RPC refuse it forever.
            hint = (" (a settle proof of more than 11 hashes: batches must stay at or below 2,048 receipts)"
                    if intent.kind == "settle" else "")
            self._finish(intent, action, "failed", None,
                         f"{intent.kind} transaction too large: {len(raw)} bytes > {PACKET_DATA_SIZE}{hint}")
            return Outcome("failed", None, "transaction too large")
        if not self.intents.mark_sent(intent.id, from_state="pending", signature=sig, tx=raw,
                                      last_valid_block_height=last_valid):
            return Outcome(self.intents.get(intent.id).state, None)  # another replica took it
        self.fault("after_record_signature")
        self._send(raw, self.intents.get(intent.id), action, payload)
        self.fault("after_send")
        if not wait:
            st = self.intents.get(intent.id)
            return Outcome(st.state, sig, st.error)
        return self._await(intent.id, sig, action, payload)

    def drive_many(self, intent_ids: Sequence[int], *, fresh: bool = False) -> dict[int, Outcome]:
        """Send every intent first, then wait for all of them together (one status query per round)."""
        out: dict[int, Outcome] = {}
        for i in intent_ids:
            out[i] = self.drive(i, wait=False, fresh=fresh)
        for _ in range(self.confirm_polls):
            waiting = [i for i, o in out.items() if o.state == "sent"]
            if not waiting:
                break
            sigs = [out[i].signature for i in waiting]
            statuses = self.chain.signature_statuses(sigs)
            for i, st in zip(waiting, statuses):
                if st is not None:
                    intent = self.intents.get(i)
                    if intent.state == "sent":
                        self._resolve_sent(intent, self.actions[intent.kind], json.loads(intent.payload), st)
                    intent = self.intents.get(i)
                    out[i] = Outcome(intent.state, intent.signature, intent.error)
            if any(o.state == "sent" for o in out.values()):
                time.sleep(self.poll_interval_s)
        return out

    # -- internals ---------------------------------------------------------------------------------------

    def _resolve_sent(self, intent: Intent, action: Action, payload: dict, status: Optional[SigStatus] = None) -> Step:
        if status is None:
            status = self.chain.signature_statuses([intent.signature])[0]
        expired = False
        if status is None:
            expired = self.chain.block_height() > (intent.last_valid_block_height or 0)
        done = None
        if (status is not None and status.err is not None) or (status is None and expired):
            done = action.done(self.chain, payload)
        step = decide(status, expired=expired, done_on_chain=done)
        if step is Step.CONFIRM:
            self._finish(intent, action, "confirmed", intent.signature if status and status.err is None else None,
                         "" if status and status.err is None else "done on chain by another transaction")
        elif step is Step.FAIL:
            self._finish(intent, action, "failed", intent.signature, status.err or "failed")
        elif step is Step.REBUILD:
            self.intents.reopen(intent.id, "transaction expired without landing")
        return step

    def _send(self, raw: bytes, intent: Intent, action: Action, payload: dict) -> None:
        try:
            self.chain.send_raw(raw)
        except TxRejected as e:
            text = str(e)
            if "already been processed" in text or "AlreadyProcessed" in text:
                return  # the same bytes landed before: the status poll will confirm it
            done = action.done(self.chain, payload)
            self._finish(intent, action, "confirmed" if done else "failed", None,
                         "done on chain by another transaction" if done else _one_line(text, e.logs))

    def _await(self, intent_id: int, sig: str, action: Action, payload: dict) -> Outcome:
        for _ in range(self.confirm_polls):
            intent = self.intents.get(intent_id)
            if intent.state != "sent":
                return Outcome(intent.state, intent.signature, intent.error)
            status = self.chain.signature_statuses([sig])[0]
            if status is not None:
                self._resolve_sent(intent, action, payload, status)
                intent = self.intents.get(intent_id)
                return Outcome(intent.state, intent.signature, intent.error)
            time.sleep(self.poll_interval_s)
        return Outcome("sent", sig)  # still in flight: the next run resolves it from the chain

    def _finish(self, intent: Intent, action: Action, state: str, signature: Optional[str], error: str) -> None:
        with self._sf.begin() as s:
            self.intents.finish_in(s, intent.id, state, "" if state == "confirmed" and not error else error)
            if state == "confirmed":
                action.on_confirmed(s, intent, signature or intent.signature)
        self.fault(f"after_{state}")


def _one_line(text: str, logs: Sequence[str]) -> str:
    # Program errors surface in the logs ("custom program error: 0x1771" or an anchor "Error Code: ..."); keep
    # the most telling line so an operator sees the cause in one line.
    for line in reversed(list(logs)):
        if "Error" in line or "error" in line or "failed" in line:
            return f"{text.splitlines()[0] if text else 'rejected'} | {line.strip()}"
    return text.splitlines()[0] if text else "rejected"
