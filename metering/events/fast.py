"""The fast path of batch validation: msgspec Structs that decode and check a whole batch in C.

The pydantic models in envelope.py stay the schema of record (OpenAPI, error messages). This module
only ever ACCEPTS: it returns the same `ValidEvent`s pydantic would produce, or None as soon as anything
is unusual, and the caller then runs pydantic, which produces the verdict and the field-named errors.
So it must never accept what pydantic refuses; every constraint here is as strict as pydantic's or
stricter (tests/metering/test_meter_fast_validation.py checks that differentially with hypothesis):

- patterns end in `\\Z`, not `$` (Python's `$` also matches before a trailing newline; pydantic's Rust
  regex does not);
- `time` must be RFC 3339 with `T`, seconds and an explicit offset (pydantic also accepts other
  spellings and unix numbers: those take the slow path);
- strings are JSON strings, integers JSON integers (msgspec is strict by default, like StrictStr/StrictInt).

The canonical body is rebuilt here exactly as `model_dump_json(exclude_none=True)` writes it: field
order of the models, None fields left out, datetimes as `YYYY-MM-DDTHH:MM:SS[.ffffff](Z|±HH:MM)`."""
from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Literal, Optional, Union

import msgspec
from msgspec import Meta

from . import limits as L
from .envelope import EGRESS, GPU_HEARTBEAT, GPU_STOP, STORAGE_SAMPLE, Kind, ValidEvent, _pubkey, _time_ms


def _anchored(pattern: str) -> str:
    assert pattern.startswith("^") and pattern.endswith("$")
    return pattern[:-1] + r"\Z"


Pk = Annotated[str, Meta(min_length=32, max_length=44)]  # + _pubkey() below, as pydantic's AfterValidator
Cls = Annotated[str, Meta(pattern=_anchored(L.CLASS_PATTERN))]
Res = Annotated[str, Meta(pattern=_anchored(L.RESOURCE_PATTERN))]
Time = Annotated[str, Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})\Z")]
_OPT = dict(forbid_unknown_fields=True, frozen=True)


class Telemetry(msgspec.Struct, **_OPT):
    index: Annotated[int, Meta(ge=0, le=L.MAX_GPU_COUNT)]
    utilization_pct: Optional[Annotated[int, Meta(ge=0, le=100)]] = None
    memory_used_bytes: Optional[Annotated[int, Meta(ge=0, le=1 << 48)]] = None
    memory_total_bytes: Optional[Annotated[int, Meta(ge=0, le=1 << 48)]] = None
    temperature_c: Optional[Annotated[int, Meta(ge=-50, le=200)]] = None
    power_mw: Optional[Annotated[int, Meta(ge=0, le=10_000_000)]] = None


class HeartbeatData(msgspec.Struct, **_OPT):
    lease_id: Res
    provider: Pk
    gpu_class: Cls
    gpu_count: Annotated[int, Meta(ge=1, le=L.MAX_GPU_COUNT)]
    interval_ms: Annotated[int, Meta(ge=L.MIN_INTERVAL_MS, le=L.MAX_INTERVAL_MS)]
    telemetry: Optional[Annotated[list[Telemetry], Meta(max_length=L.MAX_GPU_COUNT)]] = None


class StopData(msgspec.Struct, **_OPT):
    lease_id: Res
    provider: Pk
    reason: Optional[Annotated[str, Meta(max_length=256)]] = None


class SampleData(msgspec.Struct, **_OPT):
    bucket: Res
    provider: Pk
    storage_class: Cls
    bytes: Annotated[int, Meta(ge=0, le=L.MAX_STORED_BYTES)]
    objects: Optional[Annotated[int, Meta(ge=0, le=1 << 48)]] = None


class EgressData(msgspec.Struct, **_OPT):
    resource: Res
    provider: Pk
    bytes: Annotated[int, Meta(ge=1, le=L.MAX_EGRESS_BYTES)]
    egress_class: Cls = "INTERNET"


class _Env(msgspec.Struct, tag_field="type", **_OPT):
    specversion: Literal["1.0"]
    id: Annotated[str, Meta(min_length=1, max_length=L.MAX_ID_LEN)]
    source: Annotated[str, Meta(min_length=1, max_length=L.MAX_SOURCE_LEN)]
    subject: Pk
    time: Time


class Heartbeat(_Env, tag=GPU_HEARTBEAT):
    data: HeartbeatData
    datacontenttype: Optional[Literal["application/json"]] = None


class Stop(_Env, tag=GPU_STOP):
    data: StopData
    datacontenttype: Optional[Literal["application/json"]] = None


class Sample(_Env, tag=STORAGE_SAMPLE):
    data: SampleData
    datacontenttype: Optional[Literal["application/json"]] = None


class Egress(_Env, tag=EGRESS):
    data: EgressData
    datacontenttype: Optional[Literal["application/json"]] = None


_TAGS = {Heartbeat: GPU_HEARTBEAT, Stop: GPU_STOP, Sample: STORAGE_SAMPLE, Egress: EGRESS}
_decoder = msgspec.json.Decoder(list[Union[Heartbeat, Stop, Sample, Egress]])
_encode = msgspec.json.encode


def _time_json(s: str) -> str:
    """What pydantic writes for an aware datetime, from an RFC 3339 string that matched `Time` and
    parsed: seconds as given, the fraction to 6 digits and left out when zero, a zero offset as `Z`."""
    frac, off = "", s[19:]
    if off[0] == ".":
        end = 20
        while off[end - 19].isdigit():
            end += 1
        digits, off = s[20:end], s[end:]
        if int(digits):
            frac = "." + digits.ljust(6, "0")
    if off in ("Z", "+00:00", "-00:00"):
        off = "Z"
    return s[:19] + frac + off


def _strip_none(d: dict) -> dict:
    return {k: v for k, v in d.items() if v is not None}


def _flatten(e) -> ValidEvent:
    d = e.data
    t = datetime.fromisoformat(e.time)  # the pattern guarantees an explicit offset; bad dates raise
    _pubkey(e.subject), _pubkey(d.provider)  # raise ValueError like pydantic's validator
    if type(e) is Heartbeat:
        kind, res, cls, val = Kind.GPU_HEARTBEAT, d.lease_id, d.gpu_class, d.gpu_count
        data = {"lease_id": d.lease_id, "provider": d.provider, "gpu_class": d.gpu_class, "gpu_count": d.gpu_count,
                "interval_ms": d.interval_ms}
        if d.telemetry is not None:
            data["telemetry"] = [_strip_none(msgspec.structs.asdict(x)) for x in d.telemetry]
    elif type(e) is Stop:
        kind, res, cls, val = Kind.GPU_STOP, d.lease_id, "", 0
        data = _strip_none({"lease_id": d.lease_id, "provider": d.provider, "reason": d.reason})
    elif type(e) is Sample:
        kind, res, cls, val = Kind.STORAGE_SAMPLE, d.bucket, d.storage_class, d.bytes
        data = _strip_none({"bucket": d.bucket, "provider": d.provider, "storage_class": d.storage_class,
                            "bytes": d.bytes, "objects": d.objects})
    else:
        kind, res, cls, val = Kind.EGRESS, d.resource, d.egress_class, d.bytes
        data = {"resource": d.resource, "provider": d.provider, "egress_class": d.egress_class, "bytes": d.bytes}
    env = {"specversion": e.specversion, "id": e.id, "source": e.source, "subject": e.subject,
           "time": _time_json(e.time)}
    if e.datacontenttype is not None:
        env["datacontenttype"] = e.datacontenttype
    env["type"] = _TAGS[type(e)]
    env["data"] = data
    body = _encode(env)
    return ValidEvent(e.source, e.id, int(kind), e.subject, d.provider, res, cls, val, _time_ms(t), body.decode(),
                      hashlib.sha256(body).digest())


def validate_batch_msgspec(raw: bytes) -> list[ValidEvent] | None:
    """A batch in which every event is plainly valid, or None (then pydantic decides)."""
    try:
        return [_flatten(e) for e in _decoder.decode(raw)]
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError, UnicodeError, OverflowError):
        return None
