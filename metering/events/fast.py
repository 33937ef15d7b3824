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
from .envelope import _EPOCH, EGRESS, GPU_HEARTBEAT, GPU_STOP, STORAGE_SAMPLE, Kind, ValidEvent, _pubkey


def _anchored(pattern: str) -> str:
    assert pattern.startswith("^") and pattern.endswith("$")
    return pattern[:-1] + r"\Z"


Pk = Annotated[str, Meta(min_length=32, max_length=44)]  # + _pubkey() below, as pydantic's AfterValidator
Cls = Annotated[str, Meta(pattern=_anchored(L.CLASS_PATTERN))]
Res = Annotated[str, Meta(pattern=_anchored(L.RESOURCE_PATTERN))]
Time = Annotated[str, Meta(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})\Z")]
# omit_defaults: every default below is None (egress_class aside, see _flatten), so a data Struct
# encodes exactly as pydantic's model_dump_json(exclude_none=True) writes it, in the same field order.
_OPT = dict(forbid_unknown_fields=True, frozen=True, omit_defaults=True)


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


_MINUTES: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM" + offset -> unix ms of that minute (validated)
_PUBKEYS: set[str] = set()  # strings that passed _pubkey(): agents repeat a few keys thousands of times
_CACHE_MAX = 65_536


def _time_parts(s: str) -> tuple[int, str]:
    """Unix ms (truncating below the millisecond, as `_time_ms`) and what pydantic writes for an aware
    datetime, from an RFC 3339 string that matched `Time`: seconds as given, the fraction to 6 digits and
    left out when zero, a zero offset as `Z`. The calendar part is checked by `datetime.fromisoformat` once
    per minute and offset (the dict costs ~0.1 us, a full parse ~1.5 us per event); seconds are checked here
    and 60 is refused as `fromisoformat` refuses it (the slow path then decides)."""
    end = len(s) - 1 if s[-1] == "Z" else len(s) - 6  # the offset is `Z` or `+HH:MM` (the pattern says so)
    off = s[end:]
    if end > 19:  # `.` and 1-6 digits
        digits = s[20:end]
        us = int(digits.ljust(6, "0"))
    else:
        digits, us = "", 0
    key = s[:16] + off
    base = _MINUTES.get(key)
    if base is None:
        delta = datetime.fromisoformat(s[:16] + ":00" + off) - _EPOCH
        base = (delta.days * 86_400 + delta.seconds) * 1000
        if len(_MINUTES) >= _CACHE_MAX:
            _MINUTES.clear()
        _MINUTES[key] = base
    sec = int(s[17:19])
    if sec > 59:
        raise ValueError("second must be in 0..59")
    frac = "." + digits.ljust(6, "0") if us else ""
    return base + sec * 1000 + us // 1000, s[:19] + frac + ("Z" if off in ("Z", "+00:00", "-00:00") else off)


def _known_pubkey(v: str) -> None:
    if v not in _PUBKEYS:
        _pubkey(v)  # raises ValueError like pydantic's validator
        if len(_PUBKEYS) >= _CACHE_MAX:
            _PUBKEYS.clear()
        _PUBKEYS.add(v)


def _flatten(e) -> ValidEvent:
    d = e.data
    t_ms, t_json = _time_parts(e.time)  # the pattern guarantees an explicit offset; bad dates raise
    _known_pubkey(e.subject)
    _known_pubkey(d.provider)
    t = type(e)
    if t is Heartbeat:
        kind, res, cls, val = Kind.GPU_HEARTBEAT, d.lease_id, d.gpu_class, d.gpu_count
    elif t is Stop:
        kind, res, cls, val = Kind.GPU_STOP, d.lease_id, "", 0
    elif t is Sample:
        kind, res, cls, val = Kind.STORAGE_SAMPLE, d.bucket, d.storage_class, d.bytes
    else:
        kind, res, cls, val = Kind.EGRESS, d.resource, d.egress_class, d.bytes
        # egress_class defaults to "INTERNET", and pydantic writes it even when it was left out
        d = {"resource": d.resource, "provider": d.provider, "egress_class": d.egress_class, "bytes": d.bytes}
    env = {"specversion": e.specversion, "id": e.id, "source": e.source, "subject": e.subject,
           "time": t_json}
    if e.datacontenttype is not None:
        env["datacontenttype"] = e.datacontenttype
    env["type"] = _TAGS[t]
    env["data"] = d
    body = _encode(env)
    return ValidEvent(e.source, e.id, int(kind), e.subject, e.data.provider, res, cls, val, t_ms, body.decode(),
                      hashlib.sha256(body).digest())


def validate_batch_msgspec(raw: bytes) -> list[ValidEvent] | None:
    """A batch in which every event is plainly valid, or None (then pydantic decides)."""
    try:
        return [_flatten(e) for e in _decoder.decode(raw)]
    except (msgspec.ValidationError, msgspec.DecodeError, ValueError, UnicodeError, OverflowError):
        return None
