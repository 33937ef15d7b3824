"""Customer-signed leases in the meter: accepting them, revoking them, and the consent rule of ingestion.

A usage event names its lease through its resource: a GPU heartbeat's `lease_id` IS the lease id; a storage
sample's `bucket` is the lease id, or `LEASE:CLASS` for the class it reports (the S3 agent's naming); an
egress event's `resource` is the lease id, optionally followed by `:` and anything. Ingestion bills an event
only if `check_event` finds it inside the lease the customer signed (see PROTOCOL.md, "Leases"):

- the lease exists, its provider is the signing provider and its customer is the event's subject;
- what is reported is what was rented: a GPU lease's class and at most its GPU count; a storage lease's
  classes and at most their byte counts; egress under either;
- the event's time is in [start, expiry) and before the revocation time;
- the price book in force at that time is the version the customer agreed to;
- the cap bound (`Terms`): usage under a lease accrues at most at its full rate (GPU count x price, or each class's
  maximum bytes x price) from the lease start to the latest event accepted under it, plus every egress
  byte accepted under it at the dearest egress price; an event that would take that bound over the cap is
  refused. What is billed is never more than the bound, so never more than the cap.

`check_event` is pure (it updates the in-memory LeaseState of the request); the I/O is at the edges
(`load_states`, `save_states` in the ingestion transaction; `accept_lease`, `revoke_lease` for the API)."""
from __future__ import annotations

import base64
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable, Iterable

import httpx
from solders.signature import Signature
from sqlalchemy import bindparam, func, select, update
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError

from contracts.lease import (KIND_GPU, KIND_NAMES, KIND_STORAGE, GpuResource, Lease, LeaseError, Revocation,
                             sign_lease, sign_revocation, verify_lease, verify_revocation)

from .events import Kind
from .models import CustomerLease, PriceBookRow, Provider
from .rollup.pricing import DEFAULT_PRICE_BOOK, PriceBook

LT = CustomerLease.__table__
RESOURCE_FIELD = {Kind.GPU_HEARTBEAT: "data.lease_id", Kind.GPU_STOP: "data.lease_id",
                  Kind.STORAGE_SAMPLE: "data.bucket", Kind.EGRESS: "data.resource"}
BILLED_KINDS = (Kind.GPU_HEARTBEAT, Kind.STORAGE_SAMPLE, Kind.EGRESS)


class LeaseRefused(Exception):
    """A lease or revocation the meter will not store: `field` names what is wrong, `status` the HTTP code."""

    def __init__(self, field: str, reason: str, status: int = 422):
        super().__init__(f"{field}: {reason}")
        self.field, self.reason, self.status = field, reason, status


@dataclass(frozen=True)
class Terms:
    """What the ingestion rule needs of a stored lease, computed once (a stored lease and a published price
    book never change): the key strings, when its price book version is in force, and the cap bound as
    integers: a_per_ms x (T - start) + b_per_byte x egress_bytes <= c (Fractions brought to one denominator)."""

    lease: Lease
    provider: str
    customer: str
    version_in_force: tuple[tuple[int, int], ...]  # [from, until) ms intervals where the lease's book prices
    a_per_ms: int
    b_per_byte: int
    c: int


def terms_of(lease: Lease, books: list[tuple[int, PriceBook]]) -> Terms:
    spans, rate, egress = [], Fraction(0), Fraction(0)
    for i, (eff, book) in enumerate(books):
        if book.version != lease.price_book_version:
            continue
        until = books[i + 1][0] if i + 1 < len(books) else 1 << 63
        if until > eff:
            spans.append((eff, until))
            rate, egress = max(rate, rate_per_ms(lease, book)), max(egress, _egress_rate(book))
    d = rate.denominator * egress.denominator
    return Terms(lease, str(lease.provider), str(lease.customer), tuple(spans), rate.numerator * egress.denominator,
                 egress.numerator * rate.denominator, lease.cap * d)


@dataclass
class LeaseState:
    """A lease as ingestion sees it within one request (updated as the request's events are accepted)."""

    terms: Terms
    revoked_at_ms: int | None
    last_event_ms: int | None
    egress_bytes: int
    dirty: bool = False

    @property
    def lease(self) -> Lease:
        return self.terms.lease


def lease_id_of(kind: int, resource: str) -> str:
    """The lease an event bills under (the rule of the module docstring)."""
    return resource if kind in (Kind.GPU_HEARTBEAT, Kind.GPU_STOP) else resource.split(":", 1)[0]


def rate_per_ms(lease: Lease, book: PriceBook) -> Fraction:
    """Token base units per millisecond that the lease can accrue at most, without egress (its full rate:
    also what the dashboard shows as a new lease's burn)."""
    r = lease.resource
    if isinstance(r, GpuResource):
        p = book.price("gpu", r.gpu_class)
        return Fraction(r.gpu_count * p.unit_price, p.per) if p else Fraction(0)
    rate = Fraction(0)
    for cls, max_bytes in r.classes.items():
        p = book.price("storage", cls)
        if p:  # storage prices are per byte-second: a byte-millisecond costs a thousandth of that
            rate += Fraction(max_bytes * p.unit_price, p.per * 1000)
    return rate


def _egress_rate(book: PriceBook) -> Fraction:
    return max((Fraction(p.unit_price, p.per) for p in book.egress.values()), default=Fraction(0))


def check_event(st: LeaseState | None, lease_id: str, ev, signer: str) -> tuple[str, str] | None:
    """(field, reason) if the event is not covered by the lease the customer signed; else None, and the
    lease's state is advanced by the event. `ev` is a metering.events.ValidEvent."""
    rfield = RESOURCE_FIELD[ev.kind]
    if st is None:
        return rfield, (f"no lease {lease_id!r}: usage is billed only under a lease the customer signed "
                        f"(solmeter customer lease sign)")
    t = st.terms
    lease = t.lease
    if t.provider != signer:
        return "data.provider", (f"lease {lease_id} names provider {lease.provider}, not the signing provider "
                                 f"{signer}: a provider reports only under its own leases")
    if t.customer != ev.customer:
        return "subject", f"lease {lease_id} was signed by customer {lease.customer}, not {ev.customer}"
    r = lease.resource
    if ev.kind in (Kind.GPU_HEARTBEAT, Kind.GPU_STOP):
        if lease.kind != KIND_GPU:
            return rfield, f"lease {lease_id} rents storage, not GPUs"
        if ev.kind == Kind.GPU_HEARTBEAT:
            if ev.rclass != r.gpu_class:
                return "data.gpu_class", f"lease {lease_id} rents {r.gpu_class}, not {ev.rclass}"
            if ev.value > r.gpu_count:
                return "data.gpu_count", f"{ev.value} GPUs is more than the {r.gpu_count} of lease {lease_id}"
    elif ev.kind == Kind.STORAGE_SAMPLE:
        if lease.kind != KIND_STORAGE:
            return rfield, f"lease {lease_id} rents GPUs, not storage"
        if ev.resource not in (lease_id, f"{lease_id}:{ev.rclass}"):
            return rfield, f"a sample under lease {lease_id} names it as {lease_id} or {lease_id}:{ev.rclass}"
        if ev.rclass not in r.classes:
            return "data.storage_class", f"lease {lease_id} rents {', '.join(sorted(r.classes))}, not {ev.rclass}"
        if ev.value > r.classes[ev.rclass]:
            return "data.bytes", (f"{ev.value} bytes is more than the {r.classes[ev.rclass]} of lease {lease_id} "
                                  f"in {ev.rclass}")
    if ev.kind not in BILLED_KINDS:
        return None  # a stop bills nothing: it may come after the lease ended
    if ev.t_ms < lease.start_ms:
        return "time", f"before the start of lease {lease_id} ({lease.start_ms} ms)"
    if ev.t_ms >= lease.expiry_ms:
        return "time", f"at or after the expiry of lease {lease_id} ({lease.expiry_ms} ms)"
    if st.revoked_at_ms is not None and ev.t_ms >= st.revoked_at_ms:
        return "time", f"lease {lease_id} was revoked by its customer at {st.revoked_at_ms} ms"
    if not any(a <= ev.t_ms < b for a, b in t.version_in_force):
        return "time", (f"lease {lease_id} agreed to price book version {lease.price_book_version}, which does "
                        f"not price this time: the customer must sign a new lease for the prices in force")
    through = ev.t_ms if st.last_event_ms is None or ev.t_ms > st.last_event_ms else st.last_event_ms
    egress = st.egress_bytes + ev.value if ev.kind == Kind.EGRESS else st.egress_bytes
    if t.a_per_ms * max(0, through - lease.start_ms) + t.b_per_byte * egress > t.c:
        return "data", (f"lease {lease_id}'s cap of {lease.cap} base units would be exceeded (usage through "
                        f"{through} ms at its full rate, {egress} egress bytes)")
    st.last_event_ms, st.egress_bytes, st.dirty = through, egress, True
    return None


# ---- I/O: the ingestion transaction ----

_PG_LOAD = (f"SELECT lease_id, encoding, revoked_at_ms, last_event_ms, egress_bytes FROM {LT.name} "
            f"WHERE lease_id = ANY(%s) ORDER BY lease_id FOR UPDATE")
_PG_SAVE = (f"UPDATE {LT.name} AS l SET last_event_ms = u.last, egress_bytes = u.eg "
            f"FROM unnest(%s::text[], %s::bigint[], %s::text[]) AS u(lid, last, eg) WHERE l.lease_id = u.lid")


def load_states(conn: Connection, lease_ids: Iterable[str], terms: dict[str, Terms]) -> dict[str, LeaseState]:
    """The leases named by a request, their rows locked for the transaction (PostgreSQL: one statement,
    locking in lease_id order so that replicas locking overlapping leases wait instead of deadlocking;
    SQLite has one writer). `terms` caches each lease's Terms across requests (neither a stored lease nor
    a published price book changes; the cache is dropped whenever a new price book appears)."""
    ids = sorted(set(lease_ids))
    out: dict[str, LeaseState] = {}
    books = None
    if conn.dialect.name == "postgresql":
        chunks = [conn.exec_driver_sql(_PG_LOAD, (ids,))] if ids else []
    else:
        chunks = [conn.execute(select(LT.c.lease_id, LT.c.encoding, LT.c.revoked_at_ms, LT.c.last_event_ms,
                                      LT.c.egress_bytes).where(LT.c.lease_id.in_(ids[i:i + 900])).with_for_update())
                  for i in range(0, len(ids), 900)]
    for rows in chunks:
        for lid, enc, rev, last, egress in rows:
            t = terms.get(lid)
            if t is None:
                books = books if books is not None else price_books(conn)
                t = terms[lid] = terms_of(Lease.decode(bytes(enc)), books)
            out[lid] = LeaseState(t, rev, last, int(egress))
    return out


def save_states(conn: Connection, states: dict[str, LeaseState]) -> None:
    dirty = [(lid, st) for lid, st in states.items() if st.dirty]
    if not dirty:
        return
    if conn.dialect.name == "postgresql":  # one statement for every lease the request touched
        conn.exec_driver_sql(_PG_SAVE, ([lid for lid, _ in dirty], [st.last_event_ms for _, st in dirty],
                                        [str(st.egress_bytes) for _, st in dirty]))
        return
    conn.execute(update(LT).where(LT.c.lease_id == bindparam("lid"))  # one executemany
                 .values(last_event_ms=bindparam("last"), egress_bytes=bindparam("eg")),
                 [{"lid": lid, "last": st.last_event_ms, "eg": str(st.egress_bytes)} for lid, st in dirty])


def price_book_count(conn: Connection) -> int:
    return conn.execute(select(func.count()).select_from(PriceBookRow)).scalar() or 0


def price_books(conn: Connection, default: PriceBook = DEFAULT_PRICE_BOOK) -> list[tuple[int, PriceBook]]:
    """Every published version with the time it takes effect (ascending), the default before them all."""
    rows = conn.execute(select(PriceBookRow.effective_from_ms, PriceBookRow.prices)
                        .order_by(PriceBookRow.version)).all()
    return [(-(1 << 63), default)] + [(t, PriceBook.from_json(p)) for t, p in rows]


def book_at(books: list[tuple[int, PriceBook]], t_ms: int) -> PriceBook:
    """What metering.prices.price_book_at answers, from the list `price_books` read."""
    found = books[0][1]
    for eff, book in books:
        if eff <= t_ms:
            found = book
    return found


# ---- I/O: the API ----

def _b64(s: str, field: str) -> bytes:
    try:
        return base64.b64decode(s, validate=True)
    except (ValueError, TypeError):
        raise LeaseRefused(field, "not base64") from None


def _sig(s: str, field: str) -> bytes:
    try:
        return bytes(Signature.from_string(s))
    except (ValueError, TypeError):
        raise LeaseRefused(field, "not a base58 ed25519 signature") from None


def _conflict(lease: Lease, stored_customer: str) -> str:
    """Why a lease id already stored is refused, and what to do: lease ids are one namespace per meter, and a
    signed lease is never replaced (re-signing `--hours 2` later is other terms: another start and expiry)."""
    if stored_customer != str(lease.customer):
        return (f"lease id {lease.lease_id} is taken by another customer's lease (lease ids are unique per meter): "
                f"sign under another id (and name the bucket NAME=PATH with it for the storage agent)")
    return (f"lease {lease.lease_id} is already stored with other terms (a signed lease is never replaced): sign "
            f"the new terms under another id; `solmeter customer lease revoke {lease.lease_id}` ends the old one")


def accept_lease(engine: Engine, encoding_b64: str, signature_b58: str, program_id: str, now_ms: int,
                 default_prices: PriceBook = DEFAULT_PRICE_BOOK,
                 on_chain: Callable[[str], bool] | None = None) -> tuple[str, Lease]:
    """Store a lease its customer signed. Returns ("stored" | "duplicate", lease); raises LeaseRefused.
    `on_chain(provider)`: is it a provider in the chain's registry (when the meter follows the chain)? Such a
    provider needs no `meter providers add`, as at ingestion."""
    enc, sig = _b64(encoding_b64, "encoding"), _sig(signature_b58, "signature")
    try:
        lease = Lease.decode(enc)
    except LeaseError as e:
        raise LeaseRefused("encoding", str(e)) from None
    try:
        verify_lease(enc, sig)
    except LeaseError as e:
        raise LeaseRefused("signature", str(e), 403) from None
    if str(lease.program_id) != program_id:
        raise LeaseRefused("program_id", f"lease is for program {lease.program_id}, this meter bills for {program_id}")
    if lease.expiry_ms <= now_ms:
        raise LeaseRefused("expiry_ms", f"lease {lease.lease_id} has already expired")
    with engine.begin() as conn:
        known = {b.version for _, b in price_books(conn, default_prices)}
        if lease.price_book_version not in known:
            raise LeaseRefused("price_book_version", f"no price book version {lease.price_book_version} "
                                                     f"(known: {', '.join(map(str, sorted(known)))})")
        if conn.execute(select(Provider.pubkey).where(Provider.pubkey == str(lease.provider))).first() is None and \
                not (on_chain is not None and on_chain(str(lease.provider))):
            raise LeaseRefused("provider", f"{lease.provider} is not a provider registered with this meter")
        row = conn.execute(select(LT.c.encoding, LT.c.customer).where(LT.c.lease_id == lease.lease_id)).first()
        if row is not None:
            if bytes(row[0]) == enc:
                return "duplicate", lease
            raise LeaseRefused("lease_id", _conflict(lease, row[1]), 409)
        try:
            with conn.begin_nested():
                conn.execute(LT.insert().values(
                    lease_id=lease.lease_id, lease_hash=lease.lease_hash, customer=str(lease.customer),
                    provider=str(lease.provider), kind=lease.kind, price_book_version=lease.price_book_version,
                    cap=lease.cap, start_ms=lease.start_ms, expiry_ms=lease.expiry_ms, encoding=enc, signature=sig,
                    created_ms=now_ms, egress_bytes=0))
        except IntegrityError:
            raise LeaseRefused("lease_id", f"lease {lease.lease_id} was stored concurrently; send it again",
                               409) from None
    return "stored", lease


def revoke_lease(engine: Engine, encoding_b64: str, signature_b58: str) -> tuple[str, str, Revocation]:
    """Record the customer's signed revocation of the lease whose hash it names.
    Returns ("revoked" | "duplicate", lease id, revocation); raises LeaseRefused."""
    enc, sig = _b64(encoding_b64, "encoding"), _sig(signature_b58, "signature")
    try:
        named = Revocation.decode(enc)
    except LeaseError as e:
        raise LeaseRefused("encoding", str(e)) from None
    with engine.begin() as conn:
        row = conn.execute(select(LT.c.lease_id, LT.c.encoding, LT.c.revocation, LT.c.revoked_at_ms, LT.c.last_event_ms)
                           .where(LT.c.lease_hash == bytes(named.lease_hash)).with_for_update()).first()
        if row is None:
            raise LeaseRefused("lease_hash", f"no lease with hash {bytes(named.lease_hash).hex()}", 404)
        lease_id = row[0]
        lease = Lease.decode(bytes(row[1]))
        try:
            rev = verify_revocation(enc, sig, lease)
        except LeaseError as e:
            raise LeaseRefused("revocation", str(e), 403) from None
        if row[2] is not None:
            if bytes(row[2]) == enc:
                return "duplicate", lease_id, rev
            raise LeaseRefused("revocation", f"lease {lease_id} is already revoked at {row[3]} ms", 409)
        if row[4] is not None and rev.revoked_at_ms <= row[4]:
            raise LeaseRefused("revoked_at_ms", f"usage under lease {lease_id} is already accepted through "
                                                f"{row[4]} ms: a revocation takes effect after it", 409)
        conn.execute(update(LT).where(LT.c.lease_id == lease_id)
                     .values(revoked_at_ms=rev.revoked_at_ms, revocation=enc, revocation_signature=sig))
    return "revoked", lease_id, rev


def lease_view(row) -> dict:
    """The public form of a stored lease: the signed bytes, the decoded terms, and the revocation if any."""
    lease = Lease.decode(bytes(row.encoding))
    d = lease.to_dict()
    d.update(kind=KIND_NAMES[lease.kind], lease_hash=bytes(row.lease_hash).hex(),
             encoding_base64=base64.b64encode(bytes(row.encoding)).decode(),
             signature=str(Signature.from_bytes(bytes(row.signature))), created_ms=row.created_ms,
             revoked_at_ms=row.revoked_at_ms, revocation_base64=None, revocation_signature=None)
    if row.revocation is not None:
        d["revocation_base64"] = base64.b64encode(bytes(row.revocation)).decode()
        d["revocation_signature"] = str(Signature.from_bytes(bytes(row.revocation_signature)))
    return d


def get_lease(conn: Connection, lease_id: str):
    return conn.execute(select(LT).where(LT.c.lease_id == lease_id)).first()


def list_leases(conn: Connection, customer: str | None = None, provider: str | None = None, limit: int = 500):
    q = select(LT).order_by(LT.c.created_ms, LT.c.lease_id).limit(limit)
    if customer:
        q = q.where(LT.c.customer == customer)
    if provider:
        q = q.where(LT.c.provider == provider)
    return conn.execute(q).all()



# ---- the customer's side: the JSON bodies of POST /v1/leases and POST /v1/revocations ----

def lease_body(lease: Lease, keypair) -> dict:
    return {"encoding": base64.b64encode(lease.encode()).decode(), "signature": str(_signature(sign_lease(lease, keypair)))}


def revocation_body(rev: Revocation, keypair) -> dict:
    return {"encoding": base64.b64encode(rev.encode()).decode(),
            "signature": str(_signature(sign_revocation(rev, keypair)))}


def _signature(raw: bytes):
    return Signature.from_bytes(raw)


def call_meter(method: str, url: str, **kw) -> dict:
    """One request to the meter's lease API; raises ValueError with the meter's one-line reason."""
    try:
        r = httpx.request(method, url, timeout=30, **kw)
    except httpx.HTTPError as e:
        raise ValueError(f"meter unreachable at {url}: {e}") from None
    try:
        out = r.json()
    except ValueError:
        out = {}
    if r.status_code >= 400:
        raise ValueError(f"the meter refused it (HTTP {r.status_code}): {out.get('error') or r.text[:200]}")
    return out


def post_signed(api_url: str, path: str, body: dict) -> dict:
    """POST a lease or revocation body to the meter; raises ValueError with the meter's one-line reason."""
    return call_meter("POST", api_url.rstrip("/") + path, json=body)
