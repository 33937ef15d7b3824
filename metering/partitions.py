"""usage_events partitioned by event time on PostgreSQL (declarative RANGE partitioning on t_ms, one
partition per UTC day; SQLite keeps one table). Partitions are created ahead by the meter's jobs
(`ensure_ahead`, from the lateness bound behind the clock to `AHEAD_DAYS` ahead); an ingest batch whose
times fall outside the partitions it knows of creates what is missing first (`PartitionGuard`), so an
event is never refused for want of a partition."""
from __future__ import annotations

import re
from datetime import datetime, timezone

from sqlalchemy import text
from sqlalchemy.engine import Engine

DAY_MS = 86_400_000
AHEAD_DAYS = 2
# One constant for the advisory lock that serialises partition DDL across replicas.
_DDL_LOCK = 0x736F6C6D70617274  # "solmpart"
_BOUND = re.compile(r"FROM \('?(-?\d+)'?\) TO \('?(-?\d+)'?\)")


def partition_name(day: int) -> str:
    return "usage_events_p" + datetime.fromtimestamp(day * DAY_MS / 1000, timezone.utc).strftime("%Y%m%d")


def is_partitioned(conn) -> bool:
    return conn.exec_driver_sql("SELECT relkind FROM pg_class WHERE oid = to_regclass('usage_events')").scalar() == "p"


def partition_days(conn) -> set[int]:
    """The days (t_ms // DAY_MS) that have a partition."""
    days: set[int] = set()
    for (bound,) in conn.exec_driver_sql(
            "SELECT pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = to_regclass('usage_events')"):
        m = _BOUND.search(bound or "")
        if m:
            lo, hi = int(m.group(1)), int(m.group(2))
            days.update(range(lo // DAY_MS, -(-hi // DAY_MS)))
    return days


def ensure_partitions(engine: Engine, lo_ms: int, hi_ms: int) -> list[str]:
    """Create the day partitions covering [lo_ms, hi_ms] that do not exist yet (one transaction, under an
    advisory lock so that two replicas never race on the same DDL). Returns the names created."""
    made = []
    with engine.begin() as conn:
        conn.exec_driver_sql(f"SELECT pg_advisory_xact_lock({_DDL_LOCK})")
        have = partition_days(conn)
        for day in range(lo_ms // DAY_MS, hi_ms // DAY_MS + 1):
            if day not in have:
                name = partition_name(day)
                conn.execute(text(f'CREATE TABLE "{name}" PARTITION OF usage_events '
                                  f"FOR VALUES FROM ({day * DAY_MS}) TO ({(day + 1) * DAY_MS})"))
                made.append(name)
    return made


def ensure_ahead(engine: Engine, now_ms: int, lateness_bound_ms: int) -> list[str]:
    """The job: partitions for every day an event may still be accepted into, and AHEAD_DAYS ahead."""
    with engine.connect() as conn:
        if engine.dialect.name != "postgresql" or not is_partitioned(conn):
            return []
    return ensure_partitions(engine, now_ms - lateness_bound_ms, now_ms + AHEAD_DAYS * DAY_MS)


class PartitionGuard:
    """Remembers the days that have a partition; `cover` creates the missing ones of a batch's time span
    before the batch is written (normally the job has made them all and this costs two comparisons)."""

    def __init__(self, engine: Engine):
        self.engine = engine
        with engine.connect() as conn:
            self.days = partition_days(conn)

    def cover(self, lo_ms: int, hi_ms: int) -> None:
        days = self.days
        if lo_ms // DAY_MS in days and hi_ms // DAY_MS in days and \
                all(d in days for d in range(lo_ms // DAY_MS + 1, hi_ms // DAY_MS)):
            return
        ensure_partitions(self.engine, lo_ms, hi_ms)
        with self.engine.connect() as conn:
            self.days = partition_days(conn)


def guard_for(engine: Engine) -> PartitionGuard | None:
    """A PartitionGuard when usage_events is partitioned (a migrated PostgreSQL database), else None."""
    if engine.dialect.name != "postgresql":
        return None
    with engine.connect() as conn:
        return PartitionGuard(engine) if is_partitioned(conn) else None
