"""CloudEvents envelope and per-type data models."""
from __future__ import annotations

import functools
import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal, NamedTuple, Optional, Union

from pydantic import (AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr,
                      TypeAdapter, ValidationError)
from solders.pubkey import Pubkey

from contracts.kinds import Kind

from . import limits as L

# the CloudEvents types of the kinds (contracts/kinds.py); the models' `type: Literal[...]` tags below spell
# them out for the type checker (tests/contracts/test_kinds_single_source.py holds them equal)
GPU_HEARTBEAT = Kind.GPU_HEARTBEAT.event_type
GPU_STOP = Kind.GPU_STOP.event_type
STORAGE_SAMPLE = Kind.STORAGE_SAMPLE.event_type
EGRESS = Kind.EGRESS.event_type
EVENT_TYPES = (GPU_HEARTBEAT, GPU_STOP, STORAGE_SAMPLE, EGRESS)


@functools.lru_cache(maxsize=65536)  # the same few customers and providers repeat in every batch
def _pubkey(v: str) -> str:
    try:
        ok = str(Pubkey.from_string(v)) == v
    except ValueError:
        ok = False
    if not ok:
        raise ValueError("not a base58 Solana public key")
    return v


PubkeyStr = Annotated[StrictStr, Field(min_length=32, max_length=44), AfterValidator(_pubkey)]
ClassStr = Annotated[StrictStr, Field(pattern=L.CLASS_PATTERN)]
ResourceStr = Annotated[StrictStr, Field(pattern=L.RESOURCE_PATTERN)]


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class GpuTelemetry(_Data):
    """NVML readings for one GPU: recorded beside the heartbeat, never billed."""

    index: StrictInt = Field(ge=0, le=L.MAX_GPU_COUNT)
    utilization_pct: Optional[StrictInt] = Field(None, ge=0, le=100)
    memory_used_bytes: Optional[StrictInt] = Field(None, ge=0, le=1 << 48)
    memory_total_bytes: Optional[StrictInt] = Field(None, ge=0, le=1 << 48)
    temperature_c: Optional[StrictInt] = Field(None, ge=-50, le=200)
    power_mw: Optional[StrictInt] = Field(None, ge=0, le=10_000_000)


class GpuHeartbeatData(_Data):
    lease_id: ResourceStr
    provider: PubkeyStr
    gpu_class: ClassStr
    gpu_count: StrictInt = Field(ge=1, le=L.MAX_GPU_COUNT)
    interval_ms: StrictInt = Field(ge=L.MIN_INTERVAL_MS, le=L.MAX_INTERVAL_MS)
    telemetry: Optional[list[GpuTelemetry]] = Field(None, max_length=L.MAX_GPU_COUNT)


class GpuStopData(_Data):
    lease_id: ResourceStr
    provider: PubkeyStr
    reason: Optional[StrictStr] = Field(None, max_length=256)


class StorageSampleData(_Data):
    bucket: ResourceStr
    provider: PubkeyStr
    storage_class: ClassStr
    bytes: StrictInt = Field(ge=0, le=L.MAX_STORED_BYTES)
    objects: Optional[StrictInt] = Field(None, ge=0, le=1 << 48)


class EgressData(_Data):
    resource: ResourceStr
    provider: PubkeyStr
    egress_class: ClassStr = "INTERNET"
    bytes: StrictInt = Field(ge=1, le=L.MAX_EGRESS_BYTES)


class _Envelope(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    specversion: Literal["1.0"]
    id: StrictStr = Field(min_length=1, max_length=L.MAX_ID_LEN)
    source: StrictStr = Field(min_length=1, max_length=L.MAX_SOURCE_LEN)
    subject: PubkeyStr = Field(description="the customer's wallet public key")
    time: AwareDatetime
    datacontenttype: Optional[Literal["application/json"]] = None


class GpuHeartbeatEvent(_Envelope):
    type: Literal["io.solmeter.gpu.lease.heartbeat"]
    data: GpuHeartbeatData


class GpuStopEvent(_Envelope):
    type: Literal["io.solmeter.gpu.lease.stop"]
    data: GpuStopData


class StorageSampleEvent(_Envelope):
    type: Literal["io.solmeter.storage.sample"]
    data: StorageSampleData


class EgressEvent(_Envelope):
    type: Literal["io.solmeter.egress"]
    data: EgressData


CloudEvent = Annotated[
    Union[GpuHeartbeatEvent, GpuStopEvent, StorageSampleEvent, EgressEvent], Field(discriminator="type")
]
event_adapter: TypeAdapter = TypeAdapter(CloudEvent)
_batch_adapter: TypeAdapter = TypeAdapter(list[CloudEvent])


class EventRejected(ValueError):
    """An event failed validation; `field` is the dotted path of the offending field."""

    def __init__(self, field: str, reason: str, status: int = 422):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status


class ValidEvent(NamedTuple):  # a tuple: cheap to build a thousand times per request, and immutable
    source: str
    event_id: str
    kind: int
    customer: str
    provider: str
    resource: str
    rclass: str
    value: int
    t_ms: int
    body: str  # canonical JSON of the validated event
    payload_hash: bytes


def _time_ms(t: datetime) -> int:
    if t.microsecond % 1000 == 0:
        # whole milliseconds (what agents send): the float product is within 1e-3 of an integer, and
        # round() lands on it exactly
        return round(t.timestamp() * 1000)
    delta = t - _EPOCH  # sub-millisecond part: exact integer arithmetic, truncating
    return (delta.days * 86_400 + delta.seconds) * 1000 + delta.microseconds // 1000


_EPOCH = datetime.fromisoformat("1970-01-01T00:00:00+00:00")


def _flatten(ev) -> ValidEvent:
    d = ev.data
    if ev.type == GPU_HEARTBEAT:
        kind, res, cls, val = Kind.GPU_HEARTBEAT, d.lease_id, d.gpu_class, d.gpu_count
    elif ev.type == GPU_STOP:
        kind, res, cls, val = Kind.GPU_STOP, d.lease_id, "", 0
    elif ev.type == STORAGE_SAMPLE:
        kind, res, cls, val = Kind.STORAGE_SAMPLE, d.bucket, d.storage_class, d.bytes
    else:
        kind, res, cls, val = Kind.EGRESS, d.resource, d.egress_class, d.bytes
    body = ev.model_dump_json(exclude_none=True)
    return ValidEvent(ev.source, ev.id, int(kind), ev.subject, d.provider, res, cls, val, _time_ms(ev.time), body,
                      hashlib.sha256(body.encode()).digest())


def _first_error(e: ValidationError, event_type: Any) -> EventRejected:
    err = e.errors(include_url=False)[0]
    loc = list(err["loc"])
    if loc and loc[0] == event_type:  # the discriminated union puts the tag first; it is not a field
        loc = loc[1:]
    field = ".".join(str(p) for p in loc) or "event"
    msg = err["msg"]
    if err["type"] == "union_tag_invalid":
        field, msg = "type", f"unknown event type; expected one of {', '.join(EVENT_TYPES)}"
    elif err["type"] == "union_tag_not_found":
        field, msg = "type", "missing"
    elif msg.startswith("Value error, "):
        msg = msg[len("Value error, "):]
    return EventRejected(field, msg)


def validate_event(obj: Any) -> ValidEvent:
    """Validate one decoded JSON object; raises EventRejected naming the field."""
    if not isinstance(obj, dict):
        raise EventRejected("event", "must be a JSON object")
    try:
        ev = event_adapter.validate_python(obj)
    except ValidationError as e:
        raise _first_error(e, obj.get("type")) from None
    return _flatten(ev)


def validate_batch_fast(raw: bytes) -> list[ValidEvent] | None:
    """Parse and validate a whole batch in one pass (the common case: every event valid). Returns None
    when anything is wrong, so the caller falls back to per-event validation for per-event reasons."""
    try:
        evs = _batch_adapter.validate_json(raw)
    except ValidationError:
        return None
    return [_flatten(ev) for ev in evs]
