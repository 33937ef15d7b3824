"""Headroom of a channel's cumulative receipt fields: an event that could take one past what the receipt
encoding holds is refused at ingest, so the sealer never meets a channel it cannot encode.

The receipt (contracts.receipt) carries cum_gpu_ms (u64), cum_byte_seconds (u128), cum_egress_bytes (u64)
and cum_amount (u64). What a channel's events can bill at most, whatever their order and however late:

- GPU: an interval between two heartbeats of a lease bills the EARLIER heartbeat's gpu_count x the gap, and
  a gap longer than the heartbeat timeout is not billed; every heartbeat starts at most one interval, so
  GPU-ms <= sum(gpu_count) x heartbeat_timeout_ms;
- storage, the same with bytes and the sample timeout: byte-ms <= sum(bytes) x sample_timeout_ms;
- egress: exactly sum(bytes);
- amount: each price segment bills (its quantity) x unit_price // per, so the amount of a line (family and
  class) <= its quantity x the highest unit_price / per that a price book still able to price a window
  gives that class (`PriceCeiling`).

The channel's raw sums per family and class (`meter_channel_bounds`) grow in the ingest transaction with the
events it stores (duplicates add nothing) and never shrink, so the bound holds for every event ever accepted. It is an upper
bound: GPU and storage channels are refused once the bound, not the usage, reaches the limit (with the
default timeouts and a 30 s heartbeat or 60 s sample cadence, at a third of a u64 of GPU-ms or a tenth of
a u128 of byte-seconds: neither is reachable by real usage)."""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

from sqlalchemy import bindparam, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import Connection

from contracts.receipt import U64_MAX, U128_MAX

from .models import ChannelBounds, MeterState, PriceBookRow
from .rollup.pricing import DEFAULT_PRICE_BOOK, FAMILY_NAMES, PriceBook
from .rollup.usage import EGRESS, FAMILY, GPU_HEARTBEAT, STORAGE_SAMPLE

CB, MS, PB = ChannelBounds.__table__, MeterState.__table__, PriceBookRow.__table__
U64, U128 = U64_MAX, U128_MAX  # the receipt encoding's limits (contracts.receipt)
# the receipt field each family's quantity lands in, and its largest value
RECEIPT_FIELDS = {GPU_HEARTBEAT: ("cum_gpu_ms", U64), STORAGE_SAMPLE: ("cum_byte_seconds", U128),
                  EGRESS: ("cum_egress_bytes", U64)}
EVENT_FIELDS = {GPU_HEARTBEAT: "data.gpu_count", STORAGE_SAMPLE: "data.bytes", EGRESS: "data.bytes"}


@dataclass(frozen=True)
class Overflow:
    index: int  # of the event among those checked
    field: str  # the event's field
    reason: str


Prices = Callable[[int, str], Fraction]  # (family, class) -> the highest unit_price / per


def quantity_bound(family: int, total: int, heartbeat_timeout_ms: int, sample_timeout_ms: int) -> int:
    """Upper bound of a line's receipt quantity (GPU-ms, byte-seconds, egress bytes) from its raw total."""
    if family == GPU_HEARTBEAT:
        return total * heartbeat_timeout_ms
    if family == STORAGE_SAMPLE:
        return total * sample_timeout_ms // 1000
    return total


def first_overflow(sums: dict[tuple[int, str], int], added: list[tuple[int, str, int]], *, heartbeat_timeout_ms: int,
                   sample_timeout_ms: int, prices: Prices) -> tuple[dict[tuple[int, str], int], Overflow | None]:
    """Add the events `added` ((family, class, value) in order) to a channel's raw totals per line; the totals
    after them, or the first event whose bound would not fit a receipt field (PURE). The whole batch is
    checked at once (a few lines, whatever the number of events); only a batch that does not fit is walked
    event by event to name the first one that does not."""
    after = dict(sums)
    for fam, cls, value in added:
        if fam in RECEIPT_FIELDS and value:
            after[(fam, cls)] = after.get((fam, cls), 0) + value
    if _fits(after, heartbeat_timeout_ms, sample_timeout_ms, prices):
        return after, None
    s = dict(sums)
    fam_q: dict[int, int] = {f: 0 for f in RECEIPT_FIELDS}
    amount = Fraction(0)
    for (fam, cls), total in s.items():
        q = quantity_bound(fam, total, heartbeat_timeout_ms, sample_timeout_ms)
        fam_q[fam] += q
        amount += q * prices(fam, cls)
    for i, (fam, cls, value) in enumerate(added):
        if fam not in RECEIPT_FIELDS or not value:
            continue  # a GPU stop bills nothing itself
        old = s.get((fam, cls), 0)
        s[(fam, cls)] = old + value
        dq = (quantity_bound(fam, old + value, heartbeat_timeout_ms, sample_timeout_ms)
              - quantity_bound(fam, old, heartbeat_timeout_ms, sample_timeout_ms))
        fam_q[fam] += dq
        amount += dq * prices(fam, cls)
        name, limit = RECEIPT_FIELDS[fam]
        if fam_q[fam] > limit:
            return s, Overflow(i, EVENT_FIELDS[fam], f"the channel's {name} could reach {fam_q[fam]}, past the "
                                                     f"receipt encoding's limit of {limit}: refused, nothing of it billed")
        if amount > U64:
            return s, Overflow(i, EVENT_FIELDS[fam], f"the channel's cum_amount could reach {-(-amount.numerator // amount.denominator)}, "
                                                     f"past the receipt encoding's limit of {U64} at the highest "
                                                     f"{FAMILY_NAMES[fam]} {cls} price published")
    return s, None


def _fits(totals: dict[tuple[int, str], int], heartbeat_timeout_ms: int, sample_timeout_ms: int, prices: Prices) -> bool:
    fam_q: dict[int, int] = {f: 0 for f in RECEIPT_FIELDS}
    amount = Fraction(0)
    for (fam, cls), total in totals.items():
        q = quantity_bound(fam, total, heartbeat_timeout_ms, sample_timeout_ms)
        fam_q[fam] += q
        amount += q * prices(fam, cls)
    return all(fam_q[f] <= RECEIPT_FIELDS[f][1] for f in RECEIPT_FIELDS) and amount <= U64


class PriceCeiling:
    """The highest unit_price / per of each (family, class) over the price books that can still price a
    window: the one in force at the sealed frontier (the default book where none is) and every later one. A
    book superseded before the frontier prices nothing again (late events ride on the window being sealed),
    so a mistaken price, once replaced and passed, stops limiting ingestion. Two small queries per request;
    the books are re-read only when one was added or the frontier moved past one."""

    def __init__(self, default: PriceBook = DEFAULT_PRICE_BOOK):
        self.default = default
        self._seen: tuple | None = None
        self._books: list[PriceBook] = []
        self._ratios: dict[tuple[int, str], Fraction] = {}

    def get(self, conn: Connection) -> Prices:
        frontier = conn.execute(select(MS.c.sealed_through_ms).where(MS.c.id == 1)).scalar()
        t = None if frontier is None else frontier - 1
        in_force = None if t is None else conn.execute(
            select(func.max(PB.c.version)).where(PB.c.effective_from_ms <= t)).scalar()
        seen = (*conn.execute(select(func.count(), func.max(PB.c.version))).one(), in_force, t is None)
        if seen != self._seen:
            rows = conn.execute(select(PB.c.version, PB.c.effective_from_ms, PB.c.prices)).all()
            live = [PriceBook.from_json(p) for v, eff, p in rows
                    if t is None or (in_force is not None and v >= in_force) or eff > t]
            if t is None or in_force is None:
                live.append(self.default)  # prices any window no book covers
            self._books, self._ratios, self._seen = live, {}, seen
        return self._ratio

    def _ratio(self, family: int, rclass: str) -> Fraction:
        r = self._ratios.get((family, rclass))
        if r is None:
            prices = [b.price(FAMILY_NAMES[family], rclass) for b in self._books]
            r = self._ratios[(family, rclass)] = max((Fraction(p.unit_price, p.per) for p in prices if p),
                                                     default=Fraction(0))
        return r


def _insert_if_missing(conn: Connection, rows: list[dict]) -> None:
    insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    conn.execute(insert(CB).on_conflict_do_nothing(), rows)


_PG_INSERT = (f"INSERT INTO {CB.name} (customer, provider, family, rclass, total) "
              f"SELECT c, p, f, r, '0' FROM unnest(%s::text[], %s::text[], %s::smallint[], %s::text[]) AS u(c, p, f, r) "
              f"ORDER BY c, p, f, r ON CONFLICT DO NOTHING")
_PG_LOCK = (f"SELECT customer, provider, family, rclass, total FROM {CB.name} "
            f"WHERE (customer, provider) IN (SELECT * FROM unnest(%s::text[], %s::text[])) "
            f"ORDER BY customer, provider, family, rclass FOR UPDATE")
_PG_UPDATE = (f"UPDATE {CB.name} AS b SET total = u.t "
              f"FROM unnest(%s::text[], %s::text[], %s::smallint[], %s::text[], %s::text[]) AS u(c, p, f, r, t) "
              f"WHERE b.customer = u.c AND b.provider = u.p AND b.family = u.f AND b.rclass = u.r")


def reserve(conn: Connection, events: list[tuple[str, str, int, str, int]], *, heartbeat_timeout_ms: int,
            sample_timeout_ms: int, prices: Prices) -> list[Overflow]:
    """Add the events about to be stored ((customer, provider, kind, class, value) in order) to their
    channels' totals, in the caller's transaction; the events that would overflow (then nothing is added:
    the caller rolls back). A channel's rows are locked (FOR UPDATE on PostgreSQL, in key order, the
    batch's channels in three statements whatever their number; SQLite has one writer)."""
    per: dict[tuple[str, str], list[tuple[int, int, str, int]]] = {}
    for i, (c, p, kind, cls, value) in enumerate(events):
        if value:
            per.setdefault((c, p), []).append((i, FAMILY[kind], cls, value))
    channels = sorted(per.items())
    if not channels:
        return []
    lines = {ch: sorted({(f, cls) for _, f, cls, _ in evs}) for ch, evs in channels}
    pg = conn.dialect.name == "postgresql"
    if pg:
        sums = _pg_lock(conn, lines)
    out: list[Overflow] = []
    writes: list[tuple[str, str, int, str, int]] = []
    for (c, p), evs in channels:
        if pg:
            got = sums.get((c, p), {})
        else:
            _insert_if_missing(conn, [dict(customer=c, provider=p, family=f, rclass=cls, total=0)
                                      for f, cls in lines[(c, p)]])
            got = {(int(f), cls): int(total) for f, cls, total in conn.execute(
                select(CB.c.family, CB.c.rclass, CB.c.total).where(CB.c.customer == c, CB.c.provider == p)
                .with_for_update())}
        new, over = first_overflow(got, [(f, cls, v) for _, f, cls, v in evs], heartbeat_timeout_ms=heartbeat_timeout_ms,
                                   sample_timeout_ms=sample_timeout_ms, prices=prices)
        if over is not None:
            out.append(Overflow(evs[over.index][0], over.field, over.reason))
        writes += [(c, p, f, cls, new[(f, cls)]) for f, cls in lines[(c, p)]]
    if not out and writes:
        if pg:
            cs, ps, fs, rs, ts = (list(col) for col in zip(*writes, strict=True))
            conn.exec_driver_sql(_PG_UPDATE, (cs, ps, fs, rs, [str(t) for t in ts]))
        else:
            conn.execute(update(CB).where(CB.c.customer == bindparam("c_"), CB.c.provider == bindparam("p_"),
                                          CB.c.family == bindparam("f_"), CB.c.rclass == bindparam("r_")),
                         [dict(c_=c, p_=p, f_=f, r_=cls, total=str(t)) for c, p, f, cls, t in writes])
    return out


def _pg_lock(conn: Connection, lines: dict[tuple[str, str], list[tuple[int, str]]]) -> dict[tuple[str, str], dict]:
    """PostgreSQL: the bounds rows of the batch's channels made where missing, then locked and read in key
    order (replicas reserving overlapping channels wait for each other instead of deadlocking)."""
    new = [(c, p, f, cls) for (c, p), ls in lines.items() for f, cls in ls]
    cs, ps, fs, rs = (list(col) for col in zip(*new, strict=True))
    conn.exec_driver_sql(_PG_INSERT, (cs, ps, fs, rs))
    sums: dict[tuple[str, str], dict] = {}
    for c, p, f, cls, total in conn.exec_driver_sql(_PG_LOCK, ([c for c, _ in lines], [p for _, p in lines])):
        sums.setdefault((c, p), {})[(int(f), cls)] = int(total)
    return sums
