"""Building the agents' CloudEvents. Ids are derived from what they describe (lease + time, bucket +
time), so an event is the same bytes however often it is resent."""
from __future__ import annotations

from datetime import datetime, timezone

from ..events import EGRESS, GPU_HEARTBEAT, GPU_STOP, STORAGE_SAMPLE


def iso_ms(t_ms: int) -> str:
    return datetime.fromtimestamp(t_ms // 1000, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S") + f".{t_ms % 1000:03d}Z"


def envelope(eid: str, source: str, type_: str, customer: str, t_ms: int, data: dict) -> dict:
    return {"specversion": "1.0", "id": eid, "source": source, "type": type_, "subject": customer,
            "time": iso_ms(t_ms), "datacontenttype": "application/json", "data": data}


def heartbeat(source: str, provider: str, lease, t_ms: int, interval_ms: int, telemetry: list | None) -> dict:
    data = {"lease_id": lease.lease_id, "provider": provider, "gpu_class": lease.gpu_class,
            "gpu_count": lease.gpu_count, "interval_ms": interval_ms}
    if telemetry:
        data["telemetry"] = telemetry
    return envelope(f"{lease.lease_id}:hb:{t_ms}", source, GPU_HEARTBEAT, lease.customer, t_ms, data)


def stop(source: str, provider: str, lease_id: str, customer: str, t_ms: int, reason: str) -> dict:
    return envelope(f"{lease_id}:stop", source, GPU_STOP, customer, t_ms,
                    {"lease_id": lease_id, "provider": provider, "reason": reason})


def storage_sample(source: str, provider: str, customer: str, bucket: str, storage_class: str, nbytes: int,
                   objects: int, t_ms: int) -> dict:
    return envelope(f"{bucket}:sample:{t_ms}", source, STORAGE_SAMPLE, customer, t_ms,
                    {"bucket": bucket, "provider": provider, "storage_class": storage_class, "bytes": nbytes,
                     "objects": objects})


def egress(source: str, provider: str, customer: str, resource: str, egress_class: str, nbytes: int, t_ms: int,
           seq: int) -> dict:
    return envelope(f"{resource}:egress:{t_ms}:{seq}", source, EGRESS, customer, t_ms,
                    {"resource": resource, "provider": provider, "egress_class": egress_class, "bytes": nbytes})
