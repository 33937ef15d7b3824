"""Ingestion's domain flow: signed, validated events into the database, deduplicated on (source, id).

A request is one transaction: the request signature (replay protection), the dedup look-up and the
inserts commit together or not at all. A batch is all-or-nothing: if any event is rejected, nothing of
the batch is written and every event's outcome is reported (`valid`, for an event that was fine but not
written because another one was not). An identical replay of a stored event is a `duplicate` (a no-op);
the same (source, id) with a different payload is a `conflict` (HTTP 409). The database is reached through
an EventStore (store.py: the SQLite and PostgreSQL adapters hold the write lock, the transaction's start
and the batch's insert-and-dedup statements)."""
from __future__ import annotations

import logging

from sqlalchemy import delete, select
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError

from ..auth import AuthError, SignedRequest
from ..config import MeterConfig
from ..events import EventRejected, Kind, ValidEvent
from ..evidence import request_groups, store_groups
from ..headroom import PriceCeiling, reserve
from ..leases import check_event, lease_id_of, load_states, price_book_count, save_states
from ..metrics import MeterMetrics, reason_label
from ..models import RequestSignature, UsageEvent, UsageKey, dedup_key, key_hash
from ..registry import paused_customers, provider_flag
from ..rollup.usage import FAMILY
from ..store_faults import RETRY_LOCKED_S, DatabaseGone, FileIdentity, StoreUnavailable, classify, lock_conflict
from .results import AllAccepted, EventResult, IngestOutcome
from .rows import _ph, to_row
from .sqlite_store import _sqlite_file
from .store import EventStore, store_for

UE = UsageEvent.__table__
RS = RequestSignature.__table__
UK = UsageKey.__table__
log = logging.getLogger("solmeter.meter")


class _LockConflict(Exception):
    """PostgreSQL aborted the request's transaction on a lock conflict (store_faults.lock_conflict)."""


class _Rollback(Exception):
    def __init__(self, outcome: IngestOutcome):
        self.outcome = outcome


def _raw_ident(item) -> tuple[str | None, str | None]:
    if isinstance(item, ValidEvent):
        return item.event_id, item.source
    return None, None


class Ingestor:
    """`identity`: the SQLite file's identity to check after each commit (default: the file's now)."""

    def __init__(self, engine: Engine, cfg: MeterConfig, metrics: MeterMetrics | None = None,
                 identity: FileIdentity | None = None):
        self.engine = engine
        self.cfg = cfg
        self.metrics = metrics or MeterMetrics()
        db_file = _sqlite_file(engine)
        self.identity = identity or (FileIdentity(db_file) if db_file else None)
        self._gone: DatabaseGone | None = None  # once the file is gone, every write is refused
        self._episode: str | None = None  # the kind of store fault now going on (logged once per episode)
        self.store: EventStore = store_for(engine, cfg)
        self._key_hashes: dict[tuple, int] = {}
        self._lease_terms: dict = {}  # lease id -> metering.leases.Terms (valid while no price book is added)
        self._books_seen = -1
        self._known_keys: set[tuple] = set()  # in meter_usage_keys (committed)
        self._price_ceiling = PriceCeiling()

    def ingest(self, signed: SignedRequest, items: list[ValidEvent | EventRejected], now_ms: int,
               on_chain=None) -> IngestOutcome:
        """Store a validated request's events. Raises AuthError for replayed signatures or unknown providers.
        `on_chain`: the signer's standing in the chain's provider registry (None: not there, or not followed)."""
        provider = signed.pubkey
        lim = self.cfg.limits
        problems: list[EventResult | None] = [None] * len(items)
        src_prefix = f"/providers/{provider}"
        for i, ev in enumerate(items):
            if isinstance(ev, EventRejected):
                problems[i] = EventResult(i, None, None, "rejected", ev.field, ev.reason, ev.status)
            elif ev.provider != provider:
                problems[i] = EventResult(i, ev.event_id, ev.source, "rejected", "data.provider",
                                          f"{ev.provider} is not the signing provider {provider}: a provider reports only its own usage", 403)
            elif ev.source != src_prefix and not ev.source.startswith(src_prefix + "/"):
                problems[i] = EventResult(i, ev.event_id, ev.source, "rejected", "source",
                                          f"must be {src_prefix} or below it (the signing provider's namespace)", 403)
            elif ev.t_ms > now_ms + lim.max_future_skew_ms:
                problems[i] = EventResult(i, ev.event_id, ev.source, "rejected", "time",
                                          f"{ev.t_ms - now_ms} ms in the future (limit {lim.max_future_skew_ms} ms)", 422)
            elif ev.t_ms < now_ms - lim.lateness_bound_ms:
                problems[i] = EventResult(i, ev.event_id, ev.source, "rejected", "time",
                                          f"{now_ms - ev.t_ms} ms old, past the lateness bound of {lim.lateness_bound_ms} ms", 422)
        # Rows are built before the write lock: with several ingest processes, one parses and hashes
        # while another writes.
        groups = None
        if not any(problems):
            try:  # one signature per customer of the request, before the write lock (metering/evidence.py)
                groups = request_groups(signed.evidence, provider, items)
            except AuthError as e:
                self.metrics.requests_refused.labels(reason=reason_label(e.field)).inc()
                raise
        prepared = None if any(problems) else self._prepare(items, now_ms, groups)  # type: ignore[arg-type]
        if self._gone is not None:
            raise self._gone
        for attempt in range(3):
            try:
                with self.store.write_lock:
                    try:
                        results, new_rows = self._transaction(signed, items, problems, now_ms, prepared, on_chain,
                                                              groups)
                    except DBAPIError as e:
                        if isinstance(e, IntegrityError):
                            raise
                        if (su := classify(e)) is None:
                            if (state := lock_conflict(e)) is not None:
                                raise _LockConflict(f"{state}: {str(getattr(e, 'orig', e)).splitlines()[0]}") from None
                            raise
                        raise su from None
                    finally:
                        # Before any answer: a commit (or refusal) made on a file no longer at the path is
                        # not acknowledged (the events went to the removed file)
                        if self.identity is not None:
                            self.identity.check()
                if new_rows:
                    self.store.committed()
                break
            except StoreUnavailable as e:
                self._store_fault(e)
                raise
            except _Rollback as rb:
                self._count_rejections(rb.outcome)
                return rb.outcome
            except AuthError as e:
                self.metrics.requests_refused.labels(reason=reason_label(e.field)).inc()
                raise
            except IntegrityError:
                # A unique index hit by a concurrent request (both write paths insert ON CONFLICT DO NOTHING,
                # so this is a backstop): the transaction was rolled back whole; try again.
                if attempt == 2:
                    raise
            except _LockConflict as e:
                # PostgreSQL aborted the whole transaction on a lock conflict with another replica (a deadlock
                # it broke, or a serialisation failure): try again; a third time is load, not a fault of the
                # request, and is answered 503 with Retry-After (never 500)
                if attempt == 2:
                    su = StoreUnavailable(f"the database aborted this request's transaction on a lock conflict "
                                          f"three times ({e})", RETRY_LOCKED_S, "locked")
                    self._store_fault(su)
                    raise su from None
        if self._episode is not None:
            log.warning("database writes succeed again (after: %s)", self._episode)
            self._episode = None
        acc = len(new_rows)
        m = self.metrics
        per_kind: dict[int, int] = {}
        for r in new_rows:
            per_kind[r[4]] = per_kind.get(r[4], 0) + 1
        for k, n in per_kind.items():
            m.accepted.labels(type=Kind(k).label).inc(n)
        if new_rows:  # per batch, not per event: the oldest event's lag is what alerting needs
            m.ingest_lag.observe(max(0, now_ms - min(r[10] for r in new_rows)) / 1000)
        if len(results) - acc:
            m.duplicates.inc(len(results) - acc)
        return IngestOutcome(200, results, acc, len(results) - acc)

    def _store_fault(self, e: StoreUnavailable) -> None:
        """One WARNING per episode of a fault (not one per refused request); a vanished file is fatal."""
        self.metrics.requests_refused.labels(reason=f"store-{e.kind}").inc()
        if isinstance(e, DatabaseGone):
            self._gone = e
            return  # the process's tripwire logs it (once) and stops the server
        if self._episode != e.kind:
            self._episode = e.kind
            log.warning("ingest refused with 503 (Retry-After %d s): %s; agents keep their events and send them "
                        "again", e.retry_after_s, e.reason)

    def _prepare(self, evs: list[ValidEvent], now_ms: int, groups=None) -> tuple[list[bytes], list[tuple]]:
        """Dedup keys and usage_events rows of a batch; key hashes are remembered (a lease repeats them)."""
        khs = self._key_hashes
        if len(khs) > 65_536:
            khs.clear()
        dks, rows = [], []
        for e in evs:
            kk = (e.provider, e.customer, FAMILY[e.kind], e.resource)
            kh = khs.get(kk)
            if kh is None:
                kh = khs[kk] = key_hash(*kk)
            dk = dedup_key(e.source, e.event_id)
            dks.append(dk)
            rows.append(to_row(e, dk, kh, now_ms, groups[e.customer].key if groups else None))
        return dks, rows

    def _transaction(self, signed: SignedRequest, items, problems, now_ms: int, prepared, on_chain, groups=None):
        provider = signed.pubkey
        with self.store.begin() as conn:
            self._record_signature(conn, signed, now_ms)
            self._check_provider(conn, provider, on_chain)
            if any(problems):
                raise _Rollback(self._failed(items, problems))
            valid: list[ValidEvent] = items  # type: ignore[assignment]
            self._check_paused(conn, valid, problems)
            if any(problems):
                raise _Rollback(self._failed(items, problems))
            # The events are written before the lease rows are locked: those rows (and the channels' bounds
            # rows below) are what concurrent requests naming the same leases queue on, so they are held from
            # the lease check to the commit only, not over the batch's insert. A refusal below rolls the write
            # back; a lease refusal still takes precedence over a conflicting replay (409).
            store_groups(conn, groups, now_ms)
            results, new_rows = self.store.write(conn, valid, *prepared)
            leases = self._check_leases(conn, provider, valid, problems)
            if any(problems):
                raise _Rollback(self._failed(items, problems))
            save_states(conn, leases)
            if not isinstance(results, AllAccepted) and any(r.status == "conflict" for r in results):
                raise _Rollback(self._failed(items, [r if r.status == "conflict" else None for r in results]))
            # both write paths have stored new_rows in this transaction: a refusal here rolls them back
            self._reserve_headroom(conn, items, results, new_rows)
            fresh = self._record_keys(conn, new_rows)
        self._known_keys.update(fresh)  # committed: later batches of these keys skip the insert
        return results, new_rows

    @staticmethod
    def _check_provider(conn, provider: str, on_chain) -> None:
        """May this signer post usage? The meter's own registry decides for a key removed from it (`meter
        providers remove` wins over the chain); a key registered on-chain (`on_chain`, a
        chain_providers.ProviderStanding, when the meter follows the chain) must hold the minimum stake; a key
        added by `meter providers add` and unknown to the chain is the operator's choice."""
        local = provider_flag(conn, provider)
        if local is False:
            raise AuthError("X-Solmeter-Pubkey", f"{provider} was removed from this meter's provider registry "
                                                 "(`solmeter meter providers add` restores it)", 403)
        if on_chain is not None:
            if not on_chain.may_bill:
                raise AuthError("X-Solmeter-Pubkey", on_chain.refusal(), 403)
        elif not local:
            raise AuthError("X-Solmeter-Pubkey", f"{provider} is not a registered provider (register it on-chain: "
                                                 "`solmeter provider register`, then stake)", 403)

    def _reserve_headroom(self, conn, items, results, new_rows: list[tuple]) -> None:
        """Refuse the batch if a new event could take its channel's cumulative receipt fields past the
        encoding (metering.headroom); otherwise add the new events to the channels' bounds."""
        if not new_rows:
            return
        over = reserve(conn, [(r[5], r[6], r[4], r[8], r[9]) for r in new_rows],  # ROW_COLS: customer, provider, kind, class, value
                       heartbeat_timeout_ms=self.cfg.heartbeat_timeout_ms,
                       sample_timeout_ms=self.cfg.sample_timeout_ms, prices=self._price_ceiling.get(conn))
        if over:
            new_index = (list(range(len(items))) if isinstance(results, AllAccepted)
                         else [r.index for r in results if r.status == "accepted"])
            problems: list[EventResult | None] = [None] * len(items)
            for o in over:
                e = items[new_index[o.index]]
                problems[new_index[o.index]] = EventResult(new_index[o.index], e.event_id, e.source, "rejected",
                                                           o.field, o.reason, 422)
            raise _Rollback(self._failed(items, problems))

    def _record_keys(self, conn, rows: list[tuple]) -> set[tuple]:
        """meter_usage_keys rows for keys this process has not yet seen committed (a lease's first event)."""
        known = self._known_keys
        if len(known) > 65_536:
            known.clear()
        fresh: dict[tuple, int] = {}
        for r in rows:  # ROW_COLS: key_hash 1, kind 4, customer 5, provider 6, resource 7
            k = (r[5], r[6], FAMILY[r[4]], r[7])
            if k not in known:
                fresh[k] = r[1]
        if fresh:
            ph = _ph(conn)
            conn.exec_driver_sql(
                f"INSERT INTO meter_usage_keys (customer, provider, family, resource, key_hash) "
                f"VALUES ({ph}, {ph}, {ph}, {ph}, {ph}) ON CONFLICT DO NOTHING", [(*k, h) for k, h in sorted(fresh.items())])
        return set(fresh)

    def _record_signature(self, conn, signed: SignedRequest, now_ms: int) -> None:
        conn.execute(delete(RS).where(RS.c.seen_ms < now_ms - 2 * self.cfg.signature_max_age_ms))
        if conn.execute(select(RS.c.signature).where(RS.c.signature == signed.signature)).first():
            raise AuthError("X-Solmeter-Signature", "replayed: this signature was already used")
        try:
            with conn.begin_nested():
                conn.execute(RS.insert().values(signature=signed.signature, pubkey=signed.pubkey, seen_ms=now_ms))
        except IntegrityError:  # a concurrent request with the same signature won the race
            raise AuthError("X-Solmeter-Signature", "replayed: this signature was already used") from None

    def _check_leases(self, conn, provider: str, evs: list[ValidEvent], problems: list) -> dict:
        """Consent: every event must fall under a lease its customer signed (metering/leases.py)."""
        ids = [lease_id_of(e.kind, e.resource) for e in evs]
        n_books = price_book_count(conn)
        if n_books != self._books_seen or len(self._lease_terms) > 65_536:
            self._lease_terms.clear()  # a new price book ends the span of the previous version
            self._books_seen = n_books
        states = load_states(conn, ids, self._lease_terms)
        for i, e in enumerate(evs):
            bad = check_event(states.get(ids[i]), ids[i], e, provider)
            if bad is not None:
                problems[i] = EventResult(i, e.event_id, e.source, "rejected", bad[0], bad[1], 403)
        return states

    def _check_paused(self, conn, evs: list[ValidEvent], problems: list) -> None:
        paused = paused_customers(conn, {e.customer for e in evs if e.kind == Kind.GPU_HEARTBEAT})
        if not paused:
            return
        known: dict[tuple, bool] = {}
        for i, e in enumerate(evs):
            if e.kind != Kind.GPU_HEARTBEAT or e.customer not in paused:
                continue
            k = (e.provider, e.customer, e.resource)
            if k not in known:  # a lease seen before has its key (committed with its first event)
                known[k] = conn.execute(select(UK.c.key_hash).where(
                    UK.c.customer == e.customer, UK.c.provider == e.provider, UK.c.family == FAMILY[Kind.GPU_HEARTBEAT],
                    UK.c.resource == e.resource)).first() is not None
            if not known[k]:
                problems[i] = EventResult(i, e.event_id, e.source, "rejected", "subject",
                                          f"customer {e.customer} is paused ({paused[e.customer] or 'escrow exhausted'}): no new work is billed", 403)

    @staticmethod
    def _failed(items, problems: list[EventResult | None]) -> IngestOutcome:
        results = []
        for i, item in enumerate(items):
            p = problems[i]
            if p is not None:
                results.append(p)
            else:
                eid, src = _raw_ident(item)
                results.append(EventResult(i, eid, src, "valid", None, "not written: another event of the batch was refused"))
        bad = [p for p in problems if p is not None]
        codes = {p.code for p in bad}
        status = 403 if 403 in codes else 422 if 422 in codes else max(codes)
        first = bad[0]
        n = len(bad)
        msg = f"{first.field}: {first.reason}" + (f" (and {n - 1} more refused events)" if n > 1 else "")
        if len(items) > 1:
            msg = f"event {first.index}: {msg}; nothing of the batch was written"
        return IngestOutcome(status, results, 0, 0, msg, first.field)

    def _count_rejections(self, outcome: IngestOutcome) -> None:
        for r in outcome.results:
            if r.status in ("rejected", "conflict"):
                self.metrics.rejected.labels(reason=reason_label(r.field)).inc()
