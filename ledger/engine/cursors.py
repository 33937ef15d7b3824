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
