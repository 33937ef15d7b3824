"""The pure rollup rules, one implementation shared by the meter (metering/rollup/, metering/receipts.py) and the
auditor (auditor/evidence.py), which recomputes a receipt's quantities from its provider-signed events.

Billable quantities of one key (a GPU lease, a storage bucket, an egress resource) from its events.

An interval between two consecutive events is attributed to the window holding its END event, so the
usage through time T is a function of the events with t < T alone: whatever order they arrived in, the
same set gives the same numbers.

- GPU: GPUs (of the earlier heartbeat) x ms to the next heartbeat or stop, for the GPU class of the
  earlier heartbeat; a gap longer than the heartbeat timeout is not billed and is reported; a stop ends
  the lease (later heartbeats of it are ignored).
- Storage: bytes (of the earlier sample) x ms to the next sample = byte-milliseconds; a gap longer than
  the sample timeout is not billed and is reported.
- Egress: the bytes of each event.
Ties at the same millisecond are broken by kind (heartbeat before stop) and then by event id.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, NamedTuple, Sequence

from .kinds import Kind

# the kinds as the plain ints rows carry (contracts/kinds.py defines them)
GPU_HEARTBEAT, GPU_STOP, STORAGE_SAMPLE, EGRESS = (int(k) for k in (Kind.GPU_HEARTBEAT, Kind.GPU_STOP,
                                                                    Kind.STORAGE_SAMPLE, Kind.EGRESS))
# Event kinds that share one key: a lease's heartbeats and its stop.
FAMILY = {GPU_HEARTBEAT: GPU_HEARTBEAT, GPU_STOP: GPU_HEARTBEAT, STORAGE_SAMPLE: STORAGE_SAMPLE, EGRESS: EGRESS}


class Point(NamedTuple):
    t_ms: int
    kind: int
    value: int
    rclass: str
    event_id: str


class Gap(NamedTuple):
    family: int
    resource: str
    start_ms: int
    end_ms: int


@dataclass
class KeyUsage:
    quantities: dict[str, int] = field(default_factory=dict)  # class -> GPU-ms / byte-ms / bytes
    gaps: list[tuple[int, int]] = field(default_factory=list)  # unbilled (start_ms, end_ms)


def _interval_usage(points: Sequence[Point], start_ms: int, end_ms: int, timeout_ms: int, stops: bool) -> KeyUsage:
    q: dict[str, int] = {}
    gaps: list[tuple[int, int]] = []
    prev_t = None
    prev_v = 0
    prev_c = acc_c = ""
    acc = 0  # running sum for acc_c: the class rarely changes within a key, so avoid a dict update per interval
    for t, kind, v, c, _ in sorted(points):
        if t >= end_ms:
            break
        if prev_t is not None and t >= start_ms:
            dt = t - prev_t
            if dt <= timeout_ms:
                if prev_c != acc_c:
                    if acc:
                        q[acc_c] = q.get(acc_c, 0) + acc
                    acc, acc_c = 0, prev_c
                acc += prev_v * dt
            else:
                gaps.append((prev_t, t))
        if stops and kind == GPU_STOP:
            break
        prev_t, prev_v, prev_c = t, v, c
    if acc:
        q[acc_c] = q.get(acc_c, 0) + acc
    return KeyUsage(q, gaps)


def gpu_lease_usage(points: Sequence[Point], timeout_ms: int, end_ms: int, start_ms: int = 0) -> KeyUsage:
    """GPU-milliseconds per class of one lease for intervals ending in [start_ms, end_ms)."""
    return _interval_usage(points, start_ms, end_ms, timeout_ms, True)


def storage_usage(points: Sequence[Point], timeout_ms: int, end_ms: int, start_ms: int = 0) -> KeyUsage:
    """Byte-milliseconds per storage class of one bucket for intervals ending in [start_ms, end_ms)."""
    return _interval_usage(points, start_ms, end_ms, timeout_ms, False)


def egress_usage(points: Sequence[Point], end_ms: int, start_ms: int = 0) -> KeyUsage:
    q: dict[str, int] = {}
    for t, _, v, c, _ in points:
        if start_ms <= t < end_ms:
            q[c] = q.get(c, 0) + v
    return KeyUsage(q, [])


def key_usage(family: int, points: Sequence[Point], end_ms: int, *, heartbeat_timeout_ms: int,
              sample_timeout_ms: int, start_ms: int = 0) -> KeyUsage:
    if family == GPU_HEARTBEAT:
        return gpu_lease_usage(points, heartbeat_timeout_ms, end_ms, start_ms)
    if family == STORAGE_SAMPLE:
        return storage_usage(points, sample_timeout_ms, end_ms, start_ms)
    if family == EGRESS:
        return egress_usage(points, end_ms, start_ms)
    raise ValueError(f"unknown event family {family}")


@dataclass
class ChannelUsage:
    """Usage of one channel: quantities keyed by (family, class), plus the unbilled gaps."""

    quantities: dict[tuple[int, str], int] = field(default_factory=dict)
    gaps: list[Gap] = field(default_factory=list)


# (customer, provider, kind, resource, rclass, value, t_ms, event_id)
Row = tuple[str, str, int, str, str, int, int, str]


def rollup_channels(rows: Iterable[Row], end_ms: int, *, heartbeat_timeout_ms: int, sample_timeout_ms: int,
                    start_ms: int = 0) -> dict[tuple[str, str], ChannelUsage]:
    """Roll a set of events up into per-channel usage for intervals ending in [start_ms, end_ms)."""
    keys: dict[tuple[str, str, int, str], list[Point]] = {}
    fam_of = FAMILY
    for customer, provider, kind, resource, rclass, value, t_ms, event_id in rows:
        k = (customer, provider, fam_of[kind], resource)
        pts = keys.get(k)
        if pts is None:
            keys[k] = pts = []
        # plain tuples: same order as Point, cheaper to build; typed as Point for the readers
        pts.append((t_ms, kind, value, rclass, event_id))  # type: ignore[arg-type]
    out: dict[tuple[str, str], ChannelUsage] = {}
    for (customer, provider, fam, resource), pts in keys.items():
        u = key_usage(fam, pts, end_ms, heartbeat_timeout_ms=heartbeat_timeout_ms,
                      sample_timeout_ms=sample_timeout_ms, start_ms=start_ms)
        ch = out.get((customer, provider))
        if ch is None:
            out[(customer, provider)] = ch = ChannelUsage()
        for c, v in u.quantities.items():
            ch.quantities[(fam, c)] = ch.quantities.get((fam, c), 0) + v
        ch.gaps.extend(Gap(fam, resource, a, b) for a, b in u.gaps)
    for ch in out.values():
        ch.gaps.sort()
    return out


@dataclass(frozen=True)
class Carry:
    """What a key's future intervals need from its past: its last event (in sort order) and, for a GPU
    lease, whether it has stopped. Lets sealing extend a key window by window without its history."""

    last: Point | None = None  # or a Point-shaped plain tuple
    stopped: bool = False


def advance(family: int, carry: Carry, window_points: Sequence[Point], end_ms: int, *, heartbeat_timeout_ms: int,
            sample_timeout_ms: int, start_ms: int) -> tuple[KeyUsage, Carry]:
    """Usage of intervals ending in [start_ms, end_ms), given the carry from before start_ms and the key's
    events in that range; and the carry after it. Chained window by window this equals key_usage over all
    events (the property tests check it)."""
    if family == EGRESS:
        return egress_usage(window_points, end_ms, start_ms), carry
    if carry.stopped:
        return KeyUsage(), carry
    pts = sorted(window_points)
    allpts: list[Point] = ([carry.last] if carry.last is not None else []) + pts
    u = key_usage(family, allpts, end_ms, heartbeat_timeout_ms=heartbeat_timeout_ms,
                  sample_timeout_ms=sample_timeout_ms, start_ms=start_ms)
    return u, carry_of(family, allpts, end_ms, presorted=True)


def usage_from(family: int, base: tuple[int, dict[str, int], Carry] | None, points: Sequence[Point], end_ms: int,
               *, heartbeat_timeout_ms: int, sample_timeout_ms: int) -> tuple[KeyUsage, Carry]:
    """Usage of intervals ending before end_ms and the carry at end_ms, from `base` = (through_ms, usage
    through it, carry there) and the key's events from through_ms on; without a base, from all its events.
    Equal to key_usage over all events (advance chained), so dropping old events behind a base changes
    nothing the sealer computes."""
    kw = dict(heartbeat_timeout_ms=heartbeat_timeout_ms, sample_timeout_ms=sample_timeout_ms)
    if base is None:
        return key_usage(family, points, end_ms, **kw), carry_of(family, points, end_ms)
    through, q, carry = base
    u, after = advance(family, carry, [p for p in points if p[0] < end_ms], end_ms, start_ms=through, **kw)
    total = dict(q)
    for cls, v in u.quantities.items():
        total[cls] = total.get(cls, 0) + v
    return KeyUsage(total, u.gaps), after


def carry_of(family: int, points: Sequence[Point], end_ms: int, presorted: bool = False) -> Carry:
    """The carry after all `points` before end_ms."""
    last: Point | None = None
    for p in (points if presorted else sorted(points)):
        if p[0] >= end_ms:
            break
        if family == GPU_HEARTBEAT and p[1] == GPU_STOP:
            return Carry(Point(*p), True)
        last = p
    return Carry(Point(*last) if last is not None else None, False)
