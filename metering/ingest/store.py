"""The seam between ingestion's domain flow (service.Ingestor: checks, leases, headroom, evidence, keys) and
the database it writes to. Two adapters: sqlite_store.SqliteEventStore and pg_store.PgEventStore."""
from __future__ import annotations

from typing import Any, ContextManager, Protocol, Sequence

from sqlalchemy.engine import Connection, Engine

from ..config import MeterConfig
from ..events import ValidEvent
from .pg_store import PgEventStore
from .results import EventResult
from .sqlite_store import SqliteEventStore


class EventStore(Protocol):
    write_lock: ContextManager[Any]
    """Held around each request's transaction (SQLite: one writer at a time; PostgreSQL: nothing)."""

    def begin(self) -> ContextManager[Connection]:
        """The request's transaction (the connection it runs on)."""

    def write(self, conn: Connection, evs: list[ValidEvent], dks: list[bytes],
              rows: list[tuple]) -> tuple[Sequence[EventResult], list[tuple]]:
        """Store a batch's rows (ROW_COLS order, dedup keys `dks`) in the transaction, deduplicated on the key:
        the first event of the batch with a key is written, an identical replay is a `duplicate`, another
        payload a `conflict`. Returns the per-event results (AllAccepted when all went in) and the rows
        written."""

    def committed(self) -> None:
        """After a commit that wrote rows."""


def store_for(engine: Engine, cfg: MeterConfig) -> EventStore:
    return SqliteEventStore(engine, cfg) if engine.dialect.name == "sqlite" else PgEventStore(engine)
