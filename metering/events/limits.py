"""Bounds on what an event may claim. Quantity bounds are static (they are part of the schema); time bounds
depend on the clock and are checked at ingestion."""
from __future__ import annotations

from dataclasses import dataclass

MAX_GPU_COUNT = 1024
MAX_STORED_BYTES = 1 << 60  # 1 EiB in one bucket
MAX_EGRESS_BYTES = 1 << 50  # 1 PiB in one egress report
MIN_INTERVAL_MS = 1_000
MAX_INTERVAL_MS = 3_600_000
MAX_ID_LEN = 128
MAX_SOURCE_LEN = 256
CLASS_PATTERN = r"^[A-Z0-9][A-Z0-9_.-]{0,31}$"
RESOURCE_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$"


@dataclass(frozen=True)
class Limits:
    max_future_skew_ms: int = 60_000  # event time ahead of the meter's clock
    lateness_bound_ms: int = 24 * 3_600_000  # event time behind the meter's clock
    max_batch: int = 5_000  # events in one batch request
    max_body_bytes: int = 8 << 20
