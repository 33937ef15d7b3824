"""Recording intents and moving them through their states, each change one short DB transaction."""
from __future__ import annotations

import json
import time
from typing import Iterable

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, sessionmaker

from ledger.accounting.store import _insert

from .failures import Kind, classify
from .models import Intent


def now_ms() -> int:
    return time.time_ns() // 1_000_000


def canonical(payload: dict) -> str:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"))


def record_in(session: Session, key: str, kind: str, subject: str, payload: dict) -> Intent:
    """Record an intent unless its key exists; returns the (new or existing) row."""
    t = now_ms()
    session.execute(_insert(session, Intent)
                    .values(key=key, kind=kind, subject=subject, payload=canonical(payload), state="pending",
                            attempts=0, error="", created_ms=t, updated_ms=t)
                    .on_conflict_do_nothing(index_elements=["key"]))
    return session.execute(select(Intent).where(Intent.key == key)).scalar_one()


class RetryRefused(ValueError):
    """An intent that cannot be reopened (not failed, or failed for a reason resending can never fix)."""


class IntentStore:
    def __init__(self, session_factory: sessionmaker) -> None:
        self._sf = session_factory

    def record(self, key: str, kind: str, subject: str, payload: dict) -> Intent:
        with self._sf.begin() as s:
            return record_in(s, key, kind, subject, payload)

    def get(self, intent_id: int) -> Intent:
        with self._sf() as s:
            return s.get(Intent, intent_id)

    def by_key(self, key: str) -> Intent | None:
        with self._sf() as s:
            return s.execute(select(Intent).where(Intent.key == key)).scalar_one_or_none()

    def open(self, kinds: Iterable[str] | None = None) -> list[Intent]:
        """Intents not yet confirmed or failed, oldest first (what a restart must look at first)."""
        q = select(Intent).where(Intent.state.in_(("pending", "sent"))).order_by(Intent.id)
        if kinds is not None:
            q = q.where(Intent.kind.in_(list(kinds)))
        with self._sf() as s:
            return list(s.execute(q).scalars())

    def all(self, kind: str | None = None) -> list[Intent]:
        q = select(Intent).order_by(Intent.id)
        if kind:
            q = q.where(Intent.kind == kind)
        with self._sf() as s:
            return list(s.execute(q).scalars())

    def counts(self) -> dict[str, int]:
        with self._sf() as s:
            return dict(s.execute(select(Intent.state, func.count()).group_by(Intent.state)).all())

    def mark_sent(self, intent_id: int, *, from_state: str, signature: str, tx: bytes,
                  last_valid_block_height: int) -> bool:
        """Store the signed transaction BEFORE it is sent. False if the intent moved on meanwhile."""
        with self._sf.begin() as s:
            n = s.execute(update(Intent).where(Intent.id == intent_id, Intent.state == from_state)
                          .values(state="sent", signature=signature, tx=tx,
                                  last_valid_block_height=last_valid_block_height,
                                  attempts=Intent.attempts + 1, updated_ms=now_ms())).rowcount
        return n == 1

    def finish_in(self, s: Session, intent_id: int, state: str, error: str = "") -> None:
        s.execute(update(Intent).where(Intent.id == intent_id)
                  .values(state=state, error=error[:4000], updated_ms=now_ms()))

    def reopen(self, intent_id: int, error: str = "") -> None:
        """Back to pending: its transaction expired without landing (or failed and may be retried)."""
        with self._sf.begin() as s:
            s.execute(update(Intent).where(Intent.id == intent_id, Intent.state.in_(("sent", "failed")))
                      .values(state="pending", error=error[:4000], updated_ms=now_ms()))

    def retry(self, intent_id: int) -> None:
        """Reopen a failed intent by hand (`operator intents retry`). Refused for an unknown or unfailed intent,
        and for a failure that resending cannot fix (a batch refused as stale has released its receipts: posting
        it now would put a root on-chain that no receipt settles against)."""
        with self._sf() as s:
            intent = s.get(Intent, intent_id)
        if intent is None:
            raise RetryRefused(f"no intent {intent_id}")
        if intent.state != "failed":
            raise RetryRefused(f"intent {intent_id} is {intent.state}, not failed")
        if classify(intent.error or "") is Kind.NEVER:
            raise RetryRefused(f"intent {intent_id} cannot succeed by resending: {intent.error[:120]}")
        self.reopen(intent_id, "retry by the operator: " + (intent.error or "")[:200])
