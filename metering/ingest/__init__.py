"""Ingestion: signed, validated events into the database, deduplicated on (source, id).

parse.py (the request body), rows.py (usage_events rows, bulk insert), results.py (what a request gets back),
service.py (the Ingestor: the domain flow of a request), store.py (the seam to the database) with its
adapters sqlite_store.py and pg_store.py."""
from .parse import BodyError, parse_body
from .results import AllAccepted, EventResult, IngestOutcome
from .rows import ROW_COLS, insert_rows, to_row
from .service import Ingestor
from .sqlite_store import SqliteWriteLock, WalCheckpointer

__all__ = ["ROW_COLS", "AllAccepted", "BodyError", "EventResult", "IngestOutcome", "Ingestor", "SqliteWriteLock",
           "WalCheckpointer", "insert_rows", "parse_body", "to_row"]
