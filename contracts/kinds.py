"""The usage event kinds: the one definition of their numbers, names and CloudEvents types, shared by the
meter (metering/events: validation and the stored usage_events.kind; metering/ingest: the per-kind metric
label), the rollup (contracts/rollup.py, which breaks ties by the number: heartbeat before stop), the event
decoder of the evidence (contracts/evidence.py), the auditor and the dashboard.
tests/contracts/test_kinds_single_source.py fails on a second table of them."""
from __future__ import annotations

import enum


class Kind(enum.IntEnum):
    GPU_HEARTBEAT = 1
    GPU_STOP = 2
    STORAGE_SAMPLE = 3
    EGRESS = 4

    @property
    def label(self) -> str:
        """The kind's name in metrics labels and the dashboard: gpu_heartbeat, gpu_stop, storage_sample, egress."""
        return self.name.lower()

    @property
    def event_type(self) -> str:
        """The CloudEvents `type` of an event of this kind."""
        return EVENT_TYPE[self]


EVENT_TYPE: dict[Kind, str] = {
    Kind.GPU_HEARTBEAT: "io.solmeter.gpu.lease.heartbeat",
    Kind.GPU_STOP: "io.solmeter.gpu.lease.stop",
    Kind.STORAGE_SAMPLE: "io.solmeter.storage.sample",
    Kind.EGRESS: "io.solmeter.egress",
}
KIND_OF_TYPE: dict[str, Kind] = {t: k for k, t in EVENT_TYPE.items()}
