"""Prometheus metrics of one meter instance (its own registry, so several apps can live in one process)."""
from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from .events.envelope import EgressData, GpuHeartbeatData, GpuStopData, GpuTelemetry, StorageSampleData, _Envelope


def _known_fields() -> frozenset[str]:
    data = {f for m in (GpuHeartbeatData, GpuStopData, StorageSampleData, EgressData) for f in m.model_fields}
    return frozenset({*_Envelope.model_fields, "type", "data", *(f"data.{f}" for f in data),
                      *(f"data.telemetry.{f}" for f in GpuTelemetry.model_fields),
                      "event", "body", "Content-Length", "X-Solmeter-Pubkey", "X-Solmeter-Timestamp",
                      "X-Solmeter-Signature"})


KNOWN_FIELDS = _known_fields()


def reason_label(field: str | None) -> str:
    """The `reason` label of a refusal: the longest known prefix of the refused field, else "other". A field
    is named by the request (an unknown key is its own name), so it never becomes a label as it is: the label
    set stays the fixed KNOWN_FIELDS + {"other"} whatever is posted."""
    parts = [p for p in (field or "event").split(".") if not p.isdigit()]  # list indexes: data.telemetry.3
    for n in range(len(parts), 0, -1):
        prefix = ".".join(parts[:n])
        if prefix in KNOWN_FIELDS:
            return prefix
    return "other"


class MeterMetrics:
    def __init__(self, registry: CollectorRegistry | None = None):
        self.registry = registry or CollectorRegistry()
        r = self.registry
        self.accepted = Counter("solmeter_events_accepted", "Usage events accepted and stored", ["type"], registry=r)
        self.duplicates = Counter("solmeter_events_duplicate", "Identical replays answered as duplicates", registry=r)
        self.rejected = Counter("solmeter_events_rejected", "Usage events rejected", ["reason"], registry=r)
        self.requests_refused = Counter("solmeter_ingest_requests_refused", "Ingest requests refused before their events were looked at",
                                        ["reason"], registry=r)
        self.ingest_lag = Histogram("solmeter_ingest_lag_seconds", "Receive time minus the oldest event time, per accepted request",
                                    buckets=(0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600, 21600, 86400), registry=r)
        self.seal_lag = Gauge("solmeter_seal_lag_seconds", "Meter clock minus the end of the last sealed window", registry=r)
        self.receipts = Counter("solmeter_receipts_issued", "Receipts issued", registry=r)
        self.batches = Counter("solmeter_batches_built", "Merkle batches built", registry=r)
        self.seal_channel_failures = Counter("solmeter_seal_channel_failures",
                                             "Channels whose receipt could not be issued in a sealed window (the others were)",
                                             registry=r)
        self.seal_failing_channels = Gauge("solmeter_seal_failing_channels",
                                           "Channels whose receipts are held back now (see the meter's WARNING log)",
                                           registry=r)
        self.pending_events = Gauge("solmeter_events_unsealed", "Accepted events not yet sealed into a window", registry=r)
