"""Sealing windows and issuing receipts.

`Sealer.seal_due(now)` seals every window that ended more than the grace period ago, in time order,
one transaction per window. For each window it takes the events not yet sealed with time before the
window's end (on-time ones and late ones of already sealed windows), recomputes the usage of every
lease / bucket / resource they touch from ALL of that key's events (a pure function of the event set),
sums the channel's cumulative quantities, prices them (cumulative line items) and issues the channel's
next receipt: seq + 1, chained to the previous receipt id, with the detail hash and the meter's
signature. Late usage shows as `adjustment` on the lines of that next receipt; a signed receipt is
never rewritten.

A receipt is issued for the on-chain config version in force, which the caller passes to `seal_due` (the
default is `MeterConfig.config_version`). settle accepts a receipt only under the version its batch was
posted with, so when the version moves on `carry_over(version)` reissues the newest receipt of every channel
still on an older version: seq + 1, the same cumulative quantities and amount, chained to it, an empty
period at its end and no new usage. The old receipts stay as they were.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field, replace


from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from contracts.pricing import canonical_json, detail_hash  # noqa: F401 (re-exported: the meter's detail rule)
from contracts.receipt import ZERO_HASH, Receipt, ReceiptEncodingError, receipt_id

from .chain_floor import BehindChain, Floors
from .config import MeterConfig
from .evidence import detail_evidence, record_seal
from .leases import lease_id_of
from .metrics import MeterMetrics
from .models import KeyBase, KeyUsage, MeterState, ReceiptRow, Seal, UsageEvent, key_hash
from .prices import price_book_at
from .rollup.pricing import DEFAULT_PRICE_BOOK, FAMILY_NAMES, Line, PriceBook, price_lines
from .rollup.usage import FAMILY, STORAGE_SAMPLE, Carry, Point, advance, usage_from

log = logging.getLogger("solmeter.meter")
UE, KU, MS, RR, SE = (UsageEvent.__table__, KeyUsage.__table__, MeterState.__table__, ReceiptRow.__table__,
                      Seal.__table__)
FAMILY_KINDS = {1: (1, 2), 3: (3,), 4: (4,)}
KB = KeyBase.__table__
DETAIL_VERSION = 1


@dataclass(frozen=True)
class ChannelFailure:
    customer: str
    provider: str
    cause: str  # in words
    action: str  # what to do about it


def describe_failure(e: Exception) -> tuple[str, str]:
    """(cause, what to do) of an exception met while sealing one channel."""
    if isinstance(e, BehindChain):
        return (str(e), "Restore the meter's database from its backup (docs/arch-metering.md, \"The database behind "
                        "the chain\"); its events are kept unsealed")
    if isinstance(e, ReceiptEncodingError):
        return (f"a cumulative field no longer fits the receipt encoding ({e})",
                "Ingestion refuses events that could overflow it, so the cause is a price book published since "
                "with a price too high for this channel's usage: publish a new price book version "
                "(`solmeter meter prices set`); its events are kept unsealed and retried every window")
    return (f"unexpected {type(e).__name__}: {e}",
            "Its events are kept unsealed and retried every window; the other channels are sealed as usual. "
            "Report this line with the meter's log")


@dataclass
class SealReport:
    windows: int = 0
    events: int = 0
    late_events: int = 0
    receipts: int = 0
    sealed_through_ms: int | None = None
    failed: list[ChannelFailure] = field(default_factory=list)  # channels held back (each window they failed)


def lock_state(conn: Connection) -> tuple[int | None, int]:
    """The sealed frontier and last seal id, with the meter_state row locked for the transaction: what
    serialises sealing, carry-over and batching across meter replicas. The row is created on first use;
    two replicas starting at once both get to lock the one row (ON CONFLICT DO NOTHING, then read)."""
    q = select(MS.c.sealed_through_ms, MS.c.last_seal_id).where(MS.c.id == 1).with_for_update()
    row = conn.execute(q).first()
    if row is None:
        conn.exec_driver_sql("INSERT INTO meter_state (id, sealed_through_ms, last_seal_id) VALUES (1, NULL, 0) "
                             "ON CONFLICT (id) DO NOTHING")
        row = conn.execute(q).one()
    return row[0], row[1]


def key_base(conn: Connection, key: tuple) -> tuple[int, dict[str, int], Carry] | None:
    """A key's (through_ms, usage through it, carry there) from meter_key_base, or None."""
    c, p, fam, res = key
    row = conn.execute(select(KB.c.through_ms, KB.c.quantities, KB.c.last, KB.c.stopped).where(
        KB.c.customer == c, KB.c.provider == p, KB.c.family == fam, KB.c.resource == res)).first()
    if row is None:
        return None
    last = json.loads(row.last) if row.last else None
    return row.through_ms, {k: int(v) for k, v in json.loads(row.quantities).items()}, \
        Carry(Point(*last) if last else None, bool(row.stopped))


def last_receipt(conn: Connection, customer: str, provider: str):
    return conn.execute(select(RR).where(RR.c.customer == customer, RR.c.provider == provider)
                        .order_by(RR.c.seq.desc()).limit(1)).first()


class Sealer:
    """`floors`: the chain's last settled seq per channel, read at start (metering.chain_floor): no receipt
    with a seq at or below it is ever written."""

    def __init__(self, engine: Engine, cfg: MeterConfig, meter: Keypair, metrics: MeterMetrics | None = None,
                 default_prices: PriceBook = DEFAULT_PRICE_BOOK, floors: Floors | None = None):
        self.engine, self.cfg, self.meter = engine, cfg, meter
        self.floors: Floors = dict(floors or {})
        self.metrics = metrics or MeterMetrics()
        self.default_prices = default_prices
        self.program_id = Pubkey.from_string(cfg.program_id)
        self._failing: dict[tuple[str, str], str] = {}  # channel -> cause, while its receipts are held back

    def due_end(self, now_ms: int) -> int:
        W = self.cfg.window_ms
        return (now_ms - self.cfg.grace_ms) // W * W

    def seal_due(self, now_ms: int, config_version: int | None = None) -> SealReport:
        """Seal due windows; receipts are issued for `config_version` (default: the configured one)."""
        version = self.cfg.config_version if config_version is None else config_version
        W = self.cfg.window_ms
        due_end = self.due_end(now_ms)
        report = SealReport()
        with self.engine.connect() as conn:
            sealed_through = conn.execute(select(MS.c.sealed_through_ms).where(MS.c.id == 1)).scalar()
            starts = sorted(r[0] * W for r in conn.execute(
                select((UE.c.t_ms // W).label("w")).where(UE.c.seal_id.is_(None), UE.c.t_ms < due_end).distinct()))
        if sealed_through is not None:
            late = [s for s in starts if s < sealed_through]
            starts = [s for s in starts if s >= sealed_through]
            if late and not starts and due_end > sealed_through:
                starts = [due_end - W]  # late events alone: they ride on the latest due window
        for s in starts:
            self._seal_window(s, s + W, now_ms, report, version)
        if due_end > (report.sealed_through_ms or sealed_through or due_end - 1):
            with self.engine.begin() as conn:
                st, _ = lock_state(conn)
                if st is None or st < due_end:
                    # Empty windows up to due_end are sealed too: an event arriving for them now is late.
                    conn.execute(update(MS).where(MS.c.id == 1).values(sealed_through_ms=due_end))
            report.sealed_through_ms = due_end
        self.metrics.seal_lag.set(max(0, now_ms - (report.sealed_through_ms or due_end)) / 1000)
        return report

    def _seal_window(self, start: int, end: int, now_ms: int, report: SealReport, version: int) -> None:
        with self.engine.begin() as conn:
            sealed_through, last_id = lock_state(conn)
            if sealed_through is not None and sealed_through >= end:
                return  # another replica sealed it meanwhile
            sid = last_id + 1
            conn.execute(SE.insert().values(id=sid, window_start_ms=start, window_end_ms=end, sealed_ms=now_ms,
                                            events=0, late_events=0, receipts=0))
            # Mark and read in one statement: an event committed concurrently (PostgreSQL) is either in
            # this seal and processed here, or left for the next one; never marked without being rolled up.
            pending = conn.execute(update(UE).where(UE.c.seal_id.is_(None), UE.c.t_ms < end).values(seal_id=sid)
                                   .returning(UE.c.customer, UE.c.provider, UE.c.kind, UE.c.resource, UE.c.t_ms,
                                              UE.c.value, UE.c.rclass, UE.c.event_id, UE.c.payload_hash,
                                              UE.c.id)).all()
            late_cut = sealed_through if sealed_through is not None else start
            keys: dict[tuple, list[Point]] = {}
            late_keys: set[tuple] = set()
            first_t: dict[tuple[str, str], int] = {}
            n_late = 0
            marked: dict[tuple[str, str], list[tuple[bytes, int]]] = {}  # evidence: what this seal marked
            for c, p, k, res, t, v, cls, eid, ph, rid in pending:
                marked.setdefault((c, p), []).append((ph, rid))
                key = (c, p, FAMILY[k], res)
                keys.setdefault(key, []).append(Point(t, k, v, cls, eid))
                ch = (c, p)
                if t < first_t.get(ch, end):
                    first_t[ch] = t
                if t < late_cut:
                    late_keys.add(key)
                    n_late += 1
            n_receipts, held = self._roll_and_issue(conn, keys, late_keys, end, late_cut, sid, start, first_t,
                                                    now_ms, version, report, marked)
            conn.execute(update(SE).where(SE.c.id == sid).values(events=len(pending) - held, late_events=n_late,
                                                                  receipts=n_receipts))
            conn.execute(update(MS).where(MS.c.id == 1).values(sealed_through_ms=end, last_seal_id=sid))
        report.windows += 1
        report.events += len(pending) - held
        report.late_events += n_late
        report.receipts += n_receipts
        report.sealed_through_ms = end
        self.metrics.receipts.inc(n_receipts)

    def _roll_and_issue(self, conn, keys: dict, late_keys: set, end: int, late_cut: int, sid: int, start: int,
                        first_t: dict, now_ms: int, version: int, report: SealReport,
                        marked: dict | None = None) -> tuple[int, int]:
        """Roll the window's keys up and issue their channels' receipts: all channels at once, and if anything
        fails, channel by channel, so that one channel's failure never holds back the others' receipts. A
        failing channel's events of this window go back to unsealed (they come again with the next due
        window, as late events, recomputed from all their key's events): nothing of its usage is lost.
        Returns (receipts issued, events held back)."""
        def one_pass(ks: dict) -> int:
            period: dict[tuple[str, str], dict[tuple[int, str], int]] = {}
            gaps: dict[tuple[str, str], list] = {}
            leases: dict[tuple[str, str], dict[tuple[int, str], set[str]]] = {}
            self._roll_keys(conn, ks, late_keys, end, late_cut, period, gaps, leases)
            for ch in sorted({k[:2] for k in ks}):  # in the channel's savepoint: held back, it goes too
                record_seal(conn, sid, ch, (marked or {}).get(ch, []))
            return sum(self._issue(conn, ch, sid, start, end, first_t[ch], period[ch], gaps.get(ch, []), now_ms,
                                   version, leases.get(ch, {})) for ch in sorted(period))

        try:
            with conn.begin_nested():
                issued = one_pass(keys)
            for ch in {k[:2] for k in keys}:
                self._recovered(ch)
            return issued, 0
        except Exception:  # retried channel by channel below, where the failing one is named
            pass
        issued = held = 0
        for ch in sorted({k[:2] for k in keys}):
            try:
                with conn.begin_nested():
                    issued += one_pass({k: v for k, v in keys.items() if k[:2] == ch})
                self._recovered(ch)
            except Exception as e:
                held += conn.execute(update(UE).where(UE.c.seal_id == sid, UE.c.customer == ch[0],
                                                      UE.c.provider == ch[1]).values(seal_id=None)).rowcount
                report.failed.append(self._failed_channel(ch, e))
        return issued, held

    def _failed_channel(self, ch: tuple[str, str], e: Exception) -> "ChannelFailure":
        f = ChannelFailure(ch[0], ch[1], *describe_failure(e))
        if self._failing.get(ch) != f.cause:  # once per channel and cause, not once per window
            log.warning("channel customer %s / provider %s: no receipt this window: %s. %s", ch[0], ch[1],
                        f.cause, f.action)
            self._failing[ch] = f.cause
        self.metrics.seal_channel_failures.inc()
        self.metrics.seal_failing_channels.set(len(self._failing))
        return f

    def _recovered(self, ch: tuple[str, str]) -> None:
        if self._failing.pop(ch, None) is not None:
            log.warning("channel customer %s / provider %s: receipts issued again", ch[0], ch[1])
            self.metrics.seal_failing_channels.set(len(self._failing))

    def _kw(self) -> dict:
        return dict(heartbeat_timeout_ms=self.cfg.heartbeat_timeout_ms, sample_timeout_ms=self.cfg.sample_timeout_ms)

    def _roll_keys(self, conn, keys: dict, late_keys: set, end: int, late_cut: int, period: dict, gaps: dict,
                   leases: dict) -> None:
        """Bring every touched key's usage through `end`. A key whose new events all lie in the window is
        extended from its stored carry (no history read); a key with late events is recomputed from all of
        its events. Both give what the pure rollup over the whole event set gives."""
        ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"
        hashes = {k: key_hash(k[1], k[0], k[2], k[3]) for k in keys}
        stored: dict[tuple, dict[str, int]] = {}
        states: dict[tuple, Carry] = {}
        hl = sorted(set(hashes.values()))
        for i in range(0, len(hl), 900):
            chunk = tuple(hl[i:i + 900])
            marks = ", ".join([ph] * len(chunk))
            for c, p, k, res, cls, q in conn.exec_driver_sql(
                    f"SELECT customer, provider, kind, resource, rclass, quantity FROM meter_key_usage "
                    f"WHERE key_hash IN ({marks})", chunk):
                stored.setdefault((c, p, k, res), {})[cls] = int(q)
            for c, p, k, res, last, stopped in conn.exec_driver_sql(
                    f"SELECT customer, provider, kind, resource, last, stopped FROM meter_key_state "
                    f"WHERE key_hash IN ({marks})", chunk):
                states[(c, p, k, res)] = Carry(tuple(json.loads(last)) if last else None, bool(stopped))
        kw = self._kw()
        usage_rows, state_rows, gone = [], [], []
        for key in sorted(keys):
            c, p, fam, res = key
            before = stored.get(key, {})
            if key in late_keys:
                # from the key's base (its usage at the horizon of dropped partitions, metering.retention)
                # or, without one, from its first event
                base = key_base(conn, key)
                q = select(UE.c.t_ms, UE.c.kind, UE.c.value, UE.c.rclass, UE.c.event_id).where(
                    UE.c.key_hash == hashes[key], UE.c.seal_id.is_not(None), UE.c.provider == p, UE.c.customer == c,
                    UE.c.kind.in_(FAMILY_KINDS[fam]), UE.c.resource == res,
                    UE.c.t_ms < end)  # every event before `end` is sealed now (the UPDATE above)
                if base is not None:
                    q = q.where(UE.c.t_ms >= base[0])
                pts = [Point(*r) for r in conn.execute(q)]
                full, carry = usage_from(fam, base, pts, end, **kw)
                new, key_gaps = full.quantities, [g for g in full.gaps if g[1] >= late_cut]
                before = usage_from(fam, base, pts, late_cut, **kw)[0].quantities  # the late part: adjustment
            else:
                delta, carry = advance(fam, states.get(key, Carry()), keys[key], end, start_ms=late_cut, **kw)
                new = dict(before)
                for cls, q in delta.quantities.items():
                    new[cls] = new.get(cls, 0) + q
                key_gaps = delta.gaps
            per = period.setdefault((c, p), {})
            for cls, q in new.items():
                d = q - before.get(cls, 0)
                if d:
                    per[(fam, cls)] = per.get((fam, cls), 0) + d
                    leases.setdefault((c, p), {}).setdefault((fam, cls), set()).add(lease_id_of(fam, res))
            gaps.setdefault((c, p), []).extend(
                {"family": FAMILY_NAMES[fam], "resource": res, "start_ms": a, "end_ms": b} for a, b in key_gaps)
            gone.append((hashes[key], c, p, fam, res))
            usage_rows += [(c, p, fam, res, cls, str(q), end, hashes[key]) for cls, q in sorted(new.items())]
            state_rows.append((c, p, fam, res, hashes[key], json.dumps(list(carry.last)) if carry.last else None,
                               carry.stopped, end))
        where = f"key_hash = {ph} AND customer = {ph} AND provider = {ph} AND kind = {ph} AND resource = {ph}"
        conn.exec_driver_sql(f"DELETE FROM meter_key_usage WHERE {where}", gone)
        conn.exec_driver_sql(f"DELETE FROM meter_key_state WHERE {where}", gone)
        if usage_rows:
            conn.exec_driver_sql("INSERT INTO meter_key_usage (customer, provider, kind, resource, rclass, quantity, "
                                 f"through_ms, key_hash) VALUES ({', '.join([ph] * 8)})", usage_rows)
        conn.exec_driver_sql("INSERT INTO meter_key_state (customer, provider, kind, resource, key_hash, last, stopped, "
                             f"through_ms) VALUES ({', '.join([ph] * 8)})", state_rows)

    def _issue(self, conn, ch, sid, start, end, first_t, period_raw, gaps, now_ms, version, leases_raw) -> bool:
        customer, provider = ch
        W = self.cfg.window_ms
        cum_raw: dict[tuple[int, str], int] = {}
        for fam, cls, q in conn.execute(select(KU.c.kind, KU.c.rclass, KU.c.quantity)
                                        .where(KU.c.customer == customer, KU.c.provider == provider)):
            cum_raw[(fam, cls)] = cum_raw.get((fam, cls), 0) + q
        cumulative: dict[tuple[str, str], int] = {}
        period: dict[tuple[str, str], int] = {}
        for (fam, cls), q in cum_raw.items():
            name = FAMILY_NAMES[fam]
            pr = period_raw.get((fam, cls), 0)
            if fam == STORAGE_SAMPLE:  # byte-ms are kept exact; receipts bill whole byte-seconds of the total
                cumulative[(name, cls)] = q // 1000
                period[(name, cls)] = q // 1000 - (q - pr) // 1000
            else:
                cumulative[(name, cls)] = q
                period[(name, cls)] = pr
        prev = last_receipt(conn, customer, provider)
        prev_lines: dict[tuple[str, str], Line] = {}
        if prev is not None:
            for d in json.loads(prev.detail)["lines"]:
                ln = Line.from_dict(d)
                prev_lines[(ln.family, ln.rclass)] = ln
        book = price_book_at(conn, end - 1, self.default_prices)  # the version in force during the window
        lines = price_lines(prev_lines, cumulative, period, book)
        if prev is not None and all(
                prev_lines.get((ln.family, ln.rclass)) is not None
                and (prev_lines[(ln.family, ln.rclass)].cumulative, prev_lines[(ln.family, ln.rclass)].amount)
                == (ln.cumulative, ln.amount) for ln in lines):
            return False  # nothing billable changed: no receipt
        seq = prev.seq + 1 if prev is not None else 1
        period_start = prev.period_end if prev is not None else (first_t // W * W) // 1000
        gaps = sorted(gaps, key=lambda g: (g["family"], g["resource"], g["start_ms"], g["end_ms"]))
        leases = {(FAMILY_NAMES[fam], cls): sorted(ids) for (fam, cls), ids in leases_raw.items()}
        self._write(conn, customer, provider, prev, version, seq, period_start, end // 1000, book.version, lines,
                    gaps, sid, now_ms, leases=leases)
        return True

    def _write(self, conn, customer: str, provider: str, prev, version: int, seq: int, period_start: int,
               period_end: int, price_book_version: int, lines: list[Line], gaps: list, sid: int,
               now_ms: int, note: str | None = None, leases: dict | None = None) -> None:
        """Encode, sign and insert one receipt (the single place a receipt row is written). Each line names
        the leases whose usage it bills in this receipt (`leases`, the customer-signed consent an auditor
        checks it against; empty for a reissue, which bills nothing new)."""
        floor = self.floors.get((customer, provider), 0)
        if seq <= floor:
            raise BehindChain(f"channel customer {customer} / provider {provider}: the next receipt would be seq {seq} "
                              f"but the chain has settled this channel up to seq {floor}: the database is behind "
                              "the chain (new, or restored from an older backup)")
        evidence = detail_evidence(conn, customer, provider, prev.seal_id if prev is not None else 0, sid,
                                   heartbeat_timeout_ms=self.cfg.heartbeat_timeout_ms,
                                   sample_timeout_ms=self.cfg.sample_timeout_ms)
        detail = {
            "detail_version": DETAIL_VERSION,
            "program_id": self.cfg.program_id,
            "config_version": version,
            "customer": customer,
            "provider": provider,
            "seq": seq,
            "period_start": period_start,
            "period_end": period_end,
            "price_book_version": price_book_version,
            "lines": [{**ln.to_dict(), "leases": (leases or {}).get((ln.family, ln.rclass), [])} for ln in lines],
            "gaps": gaps,
            "evidence": evidence,
        }
        if note is not None:
            detail["note"] = note
        detail_json = canonical_json(detail)
        cum = {"gpu": 0, "storage": 0, "egress": 0}
        for ln in lines:
            cum[ln.family] += ln.cumulative
        cum_amount = sum(ln.amount for ln in lines)
        r = Receipt(
            program_id=self.program_id, config_version=version,
            customer=Pubkey.from_string(customer), provider=Pubkey.from_string(provider), seq=seq,
            period_start=period_start, period_end=period_end, cum_gpu_ms=cum["gpu"],
            cum_byte_seconds=cum["storage"], cum_egress_bytes=cum["egress"], cum_amount=cum_amount,
            prev_receipt_id=bytes(prev.receipt_id) if prev is not None else ZERO_HASH,
            detail_hash=detail_hash(detail_json))
        enc = r.encode()
        rid = receipt_id(enc)
        sig = self.meter.sign_message(rid)
        conn.execute(RR.insert().values(
            customer=customer, provider=provider, seq=seq, receipt_id=rid, encoding=enc, signature=bytes(sig),
            meter_pubkey=str(self.meter.pubkey()), config_version=version,
            period_start=period_start, period_end=period_end, cum_amount=cum_amount,
            new_amount=cum_amount - (prev.cum_amount if prev is not None else 0), detail=detail_json,
            seal_id=sid, created_ms=now_ms, batch_id=None, batch_index=None))

    def stale_channels(self, conn: Connection, version: int) -> list:
        """The newest receipt of every channel whose newest receipt is of a version older than `version`."""
        latest = (select(RR.c.customer, RR.c.provider, func.max(RR.c.seq).label("seq"))
                  .group_by(RR.c.customer, RR.c.provider).subquery())
        return conn.execute(select(RR).join(latest, (RR.c.customer == latest.c.customer)
                                             & (RR.c.provider == latest.c.provider) & (RR.c.seq == latest.c.seq))
                            .where(RR.c.config_version < version)
                            .order_by(RR.c.customer, RR.c.provider)).all()

    def carry_over(self, version: int, now_ms: int) -> int:
        """Reissue, under `version`, the newest receipt of every channel still on an older version (one
        transaction; idempotent: a channel already on `version` is left alone). Returns how many."""
        with self.engine.begin() as conn:
            # Locking the state row serialises with sealing (row lock on PostgreSQL, write lock on SQLite); a
            # reissued receipt belongs to no window and records the latest seal it follows.
            _, last_seal = lock_state(conn)
            stale = self.stale_channels(conn, version)
            for prev in stale:
                d = json.loads(prev.detail)
                lines = [replace(Line.from_dict(x), quantity=0, adjustment=0) for x in d["lines"]]
                self._write(conn, prev.customer, prev.provider, prev, version, prev.seq + 1, prev.period_end,
                            prev.period_end, d["price_book_version"], lines, [], last_seal, now_ms,
                            note=f"reissued for config version {version}")
        self.metrics.receipts.inc(len(stale))
        return len(stale)
