"""usage_events rows of validated events (ROW_COLS order) and their bulk insert straight through the driver."""
from __future__ import annotations

from ..events import ValidEvent


ROW_COLS = ("dedup_key", "key_hash", "source", "event_id", "kind", "customer", "provider", "resource", "rclass",
            "value", "t_ms", "received_ms", "payload_hash", "body", "evidence_key")


def to_row(e: ValidEvent, dk: bytes, kh: int, now_ms: int, evidence_key: int | None = None) -> tuple:
    """The usage_events row of a validated event, in ROW_COLS order (`evidence_key`: its evidence group)."""
    return (dk, kh, e.source, e.event_id, e.kind, e.customer, e.provider, e.resource, e.rclass, e.value, e.t_ms,
            now_ms, e.payload_hash, e.body, evidence_key)


def _ph(conn) -> str:
    return "?" if conn.dialect.paramstyle == "qmark" else "%s"


def insert_rows(conn, rows: list[tuple], cols: tuple[str, ...] = ROW_COLS) -> None:
    """executemany straight through the driver: the hot path of ingestion (SQLAlchemy's per-row parameter
    processing would cost as much as SQLite's own work here). `cols`: a prefix of ROW_COLS (a schema before
    migration 0430 has no evidence_key)."""
    ph = _ph(conn)
    if len(cols) < len(ROW_COLS):
        rows = [r[:len(cols)] for r in rows]
    conn.exec_driver_sql(f"INSERT INTO usage_events ({', '.join(cols)}) VALUES ({', '.join([ph] * len(cols))})",
                         rows)

