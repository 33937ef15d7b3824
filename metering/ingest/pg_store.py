"""PostgreSQL's side of ingestion (SQLite's, with its write lock and WAL checkpointer, is sqlite_store.py):
`PgEventStore`, the store the Ingestor writes through (metering/ingest/store.py), and its `PgEventWriter`.

A batch's rows go in with COPY (binary) into a temporary staging table, then one statement inserts their
dedup keys into `meter_event_keys` with ON CONFLICT DO NOTHING and the events whose key went in into
`usage_events`. `meter_event_keys` is the dedup authority: a partitioned `usage_events` cannot hold a
unique index on the dedup key alone (PostgreSQL requires the partition key in it), and an index per
partition would let a replay with another time land in another partition. Keys are inserted in key order,
so replicas inserting overlapping batches wait on each other instead of deadlocking; a key another
replica's transaction is inserting makes ours wait for its commit, then DO NOTHING: the event is looked up
and is a `duplicate` (same payload hash) or a `conflict` (409, the caller rolls the whole request back).
Several replicas therefore ingest into one database at once with the dedup rule of SQLite unchanged."""
from __future__ import annotations

import contextlib
from typing import ContextManager

from sqlalchemy.engine import Engine

from ..events import ValidEvent
from ..models import EventKey, UsageEvent
from ..partitions import guard_for
from .results import AllAccepted, EventResult
from .rows import ROW_COLS

# The staging table has the columns of rows.ROW_COLS, in that order, with their binary COPY types.
STAGE = "meter_usage_stage"
STAGE_TYPES = ("bytea", "bigint", "text", "text", "smallint", "text", "text", "text", "text", "bigint", "bigint",
               "bigint", "bytea", "text", "bigint")
EK = EventKey.__tablename__
UE = UsageEvent.__tablename__


class PgEventWriter:
    """Inserts prepared usage_events rows (rows.ROW_COLS order) with dedup, inside the caller's
    transaction; one per Ingestor (it remembers which pooled connections already have the staging table
    and which partitions exist)."""

    def __init__(self, row_cols: tuple[str, ...], engine: Engine):
        assert len(row_cols) == len(STAGE_TYPES)
        self.cols = row_cols
        self._dk, self._ph, self._t = (row_cols.index(c) for c in ("dedup_key", "payload_hash", "t_ms"))
        cols = ", ".join(row_cols)
        self._copy_sql = f"COPY {STAGE} ({cols}) FROM STDIN (FORMAT BINARY)"
        self._insert_sql = (
            f"WITH k AS (INSERT INTO {EK} (dedup_key, payload_hash, t_ms) "
            f"SELECT dedup_key, payload_hash, t_ms FROM {STAGE} ORDER BY dedup_key "
            f"ON CONFLICT (dedup_key) DO NOTHING RETURNING dedup_key), "
            f"e AS (INSERT INTO {UE} ({cols}) SELECT {', '.join('s.' + c for c in row_cols)} "
            f"FROM {STAGE} s JOIN k USING (dedup_key)) SELECT dedup_key FROM k")
        defs = ", ".join(f"{c} {t}" for c, t in zip(row_cols, STAGE_TYPES))
        # Per connection, in the request's transaction (a rolled-back first use takes the table with it, so
        # it is asked for every time: one catalog look-up). ON COMMIT DELETE ROWS: a batch's staged rows
        # never outlive its transaction.
        self._stage_sql = f"CREATE TEMPORARY TABLE IF NOT EXISTS {STAGE} ({defs}) ON COMMIT DELETE ROWS"
        self.partitions = guard_for(engine)  # None where usage_events is one table (create_all, not migrated)

    def write(self, conn, rows: list[tuple]) -> tuple[set[bytes], dict[bytes, bytes]]:
        """Insert `rows` whose dedup keys are unique within the list. Returns the keys inserted and, for the
        others, the payload hash already stored under each key."""
        if self.partitions is not None:
            self.partitions.cover(min(r[self._t] for r in rows), max(r[self._t] for r in rows))
        dbapi = conn.connection.dbapi_connection
        with dbapi.cursor() as cur:
            cur.execute(self._stage_sql)
            with cur.copy(self._copy_sql) as copy:
                copy.set_types(STAGE_TYPES)
                for r in rows:
                    copy.write_row(r)
            cur.execute(self._insert_sql)
            inserted = {bytes(k) for (k,) in cur.fetchall()}
            stored: dict[bytes, bytes] = {}
            if len(inserted) < len(rows):
                missing = [r[self._dk] for r in rows if r[self._dk] not in inserted]
                cur.execute(f"SELECT dedup_key, payload_hash FROM {EK} WHERE dedup_key = ANY(%s)", (missing,))
                stored = {bytes(k): bytes(h) for k, h in cur.fetchall()}
        return inserted, stored


class PgEventStore:
    """The EventStore of a PostgreSQL database (metering/ingest/store.py): no write lock (replicas and
    processes write at once; `meter_event_keys` decides dedup), nothing to do after a commit."""

    def __init__(self, engine: Engine):
        self.engine = engine
        self.write_lock: ContextManager = contextlib.nullcontext()
        self.writer = PgEventWriter(ROW_COLS, engine)

    def begin(self):
        return self.engine.begin()

    def committed(self) -> None:
        pass

    def write(self, conn, evs: list[ValidEvent], dks: list[bytes], rows: list[tuple]):
        """PostgreSQL: COPY and INSERT ... ON CONFLICT through `PgEventWriter` (the first event of
        the batch with each key is written; a later one is compared with it)."""
        first: dict[bytes, int] = {}
        for i, dk in enumerate(dks):
            first.setdefault(dk, i)
        inserted, stored = self.writer.write(conn, rows if len(first) == len(rows) else [rows[i] for i in first.values()])
        if len(inserted) == len(rows):
            return AllAccepted(evs), rows
        results: list[EventResult] = []
        new_rows: list[tuple] = []
        for i, e in enumerate(evs):
            dk = dks[i]
            if first[dk] == i and dk in inserted:
                results.append(EventResult(i, e.event_id, e.source, "accepted"))
                new_rows.append(rows[i])
            elif (stored.get(dk) if dk in stored else evs[first[dk]].payload_hash) == e.payload_hash:
                # the hash covers the whole event, source and id included: equal hashes, the same event
                results.append(EventResult(i, e.event_id, e.source, "duplicate"))
            else:
                results.append(EventResult(i, e.event_id, e.source, "conflict", "id",
                                           "this (source, id) was already stored with a different payload", 409))
        return results, new_rows
