"""Read and advance follower cursors inside the caller's transaction."""
from __future__ import annotations

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from ledger.accounting.store import _insert

from .intents import now_ms
from .models import Cursor


def get_cursor(session: Session, name: str, default: str = "") -> str:
    v = session.execute(select(Cursor.value).where(Cursor.name == name)).scalar()
    return default if v is None else v


def set_cursor(session: Session, name: str, value: str) -> None:
    session.execute(_insert(session, Cursor).values(name=name, value="", updated_ms=0)
                    .on_conflict_do_nothing(index_elements=["name"]))
    session.execute(update(Cursor).where(Cursor.name == name).values(value=value, updated_ms=now_ms()))


# Every token account that ever received the treasury's fees (Initialized, then each TreasuryChanged): fees
# paid to a former treasury stay there, so reconciliation sums all of them. One cursor row each, written in
# the same transaction as the follower's postings and cursor.
TREASURY_PREFIX = "treasury:"


def add_treasury(session: Session, address: str) -> None:
    set_cursor(session, TREASURY_PREFIX + address, address)


def treasuries(session: Session) -> set[str]:
    return set(session.execute(select(Cursor.value).where(Cursor.name.startswith(TREASURY_PREFIX))).scalars())
