"""The meter's parameters, passed explicitly to every component (no hidden global configuration)."""
from __future__ import annotations

from dataclasses import dataclass, field

from contracts import DEFAULT_PROGRAM_ID

from .events.limits import Limits


@dataclass(frozen=True)
class MeterConfig:
    program_id: str = DEFAULT_PROGRAM_ID
    # The on-chain Config.version in force: receipts are issued for it and settle only under it.
    config_version: int = 1
    window_ms: int = 60_000  # rollup window; a multiple of 1000 (receipt periods are whole seconds)
    grace_ms: int = 30_000  # a window is sealed this long after it ends
    heartbeat_timeout_ms: int = 90_000  # a longer gap between GPU heartbeats is not billed
    sample_timeout_ms: int = 600_000  # a longer gap between storage samples is not billed
    batch_interval_ms: int = 600_000
    signature_max_age_ms: int = 60_000  # request timestamps further from the meter's clock are stale
    # How long an ingest waits for the database's write lock held by another process before it answers 503
    # (Retry-After): well under the agents' 10 s HTTP timeout (metering/store_faults.py).
    ingest_busy_timeout_ms: int = 2_000
    limits: Limits = field(default_factory=Limits)

    def __post_init__(self) -> None:
        if self.window_ms <= 0 or self.window_ms % 1000:
            raise ValueError("window_ms must be a positive multiple of 1000")
        if self.grace_ms < 0 or self.heartbeat_timeout_ms <= 0 or self.sample_timeout_ms <= 0:
            raise ValueError("grace and timeouts must be positive")
        if self.config_version < 0:
            raise ValueError("config_version must be >= 0")
        if self.ingest_busy_timeout_ms < 0:
            raise ValueError("ingest_busy_timeout_ms must be >= 0")
