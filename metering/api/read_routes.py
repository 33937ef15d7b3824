"""Read API: usage with the samples behind it, receipts (signature + proof), batches, customer status.

Private reads (usage, receipt listings, customer status) are signed by the reader's wallet key and answered
per metering/read_policy.py; what an auditor checks against the chain (a receipt by id with signature,
batch and proof; batches; the meter's identity) is public by design."""
from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from sqlalchemy import func, select

from ..batches import batch_receipt_ids, get_batch, list_batches
from ..events.envelope import _pubkey
from ..models import MeterState, ReceiptRow, UsageEvent
from ..prices import price_book_at, published_price_books
from ..queries import customer_events
from ..rollup.pricing import FAMILY_NAMES, UNITS
from ..read_policy import Kind, Resource
from ..rollup.usage import rollup_channels
from ..status import meter_customer_status, provider_channels
from .read_auth import READ_AUTH_RESPONSES, authorize
from .views import event_view, receipt_by_id, receipt_view

router = APIRouter()
RR, UE, MS = ReceiptRow.__table__, UsageEvent.__table__, MeterState.__table__
B58 = r"^[1-9A-HJ-NP-Za-km-z]{32,44}$"
MAX_USAGE_SPAN_MS = 31 * 86_400_000
MAX_SAMPLES = 5_000
I64 = (1 << 63) - 1
PRIVATE = ("Private: sign the GET with your wallet key (X-Solmeter-Pubkey, -Timestamp, -Signature over "
           "GET, path with the query string as sent, timestamp and the empty body's hash; each signature "
           "is single-use). ")
PUBLIC = "Public by design: what an auditor checks against the chain needs no credentials. "


def _err(field: str, reason: str, status: int = 422) -> JSONResponse:
    return JSONResponse({"error": f"{field}: {reason}", "field": field}, status_code=status)


def _bad_key(field: str, value: Optional[str]) -> Optional[JSONResponse]:
    if value is None:
        return None
    try:
        _pubkey(value)
    except ValueError:
        return _err(field, "not a base58 Solana public key")
    return None


@router.get("/v1/meter", tags=["meter"], summary="The meter's identity and parameters",
            description=PUBLIC + "The meter key verifies every receipt signature.")
def meter_info(request: Request) -> dict:
    st = request.app.state
    cfg = st.cfg
    with st.engine.connect() as conn:
        sealed = conn.execute(select(MS.c.sealed_through_ms).where(MS.c.id == 1)).scalar()
        price_book_version = price_book_at(conn, st.clock()).version  # what a lease signed now agrees to
    return {"meter_pubkey": str(st.meter.pubkey()), "program_id": cfg.program_id,
            "price_book_version": price_book_version,
            "config_version": cfg.config_version, "window_ms": cfg.window_ms, "grace_ms": cfg.grace_ms,
            "heartbeat_timeout_ms": cfg.heartbeat_timeout_ms, "sample_timeout_ms": cfg.sample_timeout_ms,
            "batch_interval_ms": cfg.batch_interval_ms, "sealed_through_ms": sealed,
            "max_batch": cfg.limits.max_batch, "max_future_skew_ms": cfg.limits.max_future_skew_ms,
            "lateness_bound_ms": cfg.limits.lateness_bound_ms}


@router.get("/v1/usage", tags=["usage"], summary="Usage of a customer (optionally one provider) in a time range",
            responses=READ_AUTH_RESPONSES)
def usage(request: Request,
          customer: str = Query(..., pattern=B58, description="customer wallet public key"),
          provider: Optional[str] = Query(None, pattern=B58, description="only this provider"),
          start_ms: int = Query(..., ge=0, le=I64, description="range start, unix ms (inclusive)"),
          end_ms: int = Query(..., ge=0, le=I64, description="range end, unix ms (exclusive)"),
          samples: bool = Query(True, description="include the events behind the numbers")):
    """Private: sign the GET with your wallet key (X-Solmeter-* headers). Readable by the customer, by a
    provider with `provider` set to its own key (its own channel only), and by the operator.

    Quantities per provider and class for intervals ENDING in [start_ms, end_ms) (the same rule the
    receipts use), the unbilled gaps, and the samples (events) behind them. Not yet sealed usage is
    included: this is a live view, receipts are the billing record."""
    for f, v in (("customer", customer), ("provider", provider)):
        if (bad := _bad_key(f, v)) is not None:
            return bad
    if end_ms <= start_ms:
        return _err("end_ms", "must be after start_ms")
    if end_ms - start_ms > MAX_USAGE_SPAN_MS:
        return _err("end_ms", f"range longer than {MAX_USAGE_SPAN_MS} ms")
    st = request.app.state
    cfg = st.cfg
    lookback = max(cfg.heartbeat_timeout_ms, cfg.sample_timeout_ms)
    q = customer_events(customer, provider, max(0, start_ms - lookback), end_ms)
    with st.engine.connect() as conn:
        if (refused := authorize(request, conn, Resource(Kind.USAGE, customer, provider))) is not None:
            return refused
        rows = sorted(conn.execute(q).all(), key=lambda r: (r.t_ms, r.id))
    # Intervals are billed to the window of their end event; a stop before the look-back (a lease that
    # ended) is not visible here, which only matters for heartbeats after a stop (never billed anyway).
    per = rollup_channels(((r.customer, r.provider, r.kind, r.resource, r.rclass, r.value, r.t_ms, r.event_id)
                           for r in rows), end_ms, heartbeat_timeout_ms=cfg.heartbeat_timeout_ms,
                          sample_timeout_ms=cfg.sample_timeout_ms, start_ms=start_ms)
    channels = []
    for (_, prov), cu in sorted(per.items()):
        lines = [{"family": FAMILY_NAMES[fam], "class": cls, "unit": "byte_ms" if FAMILY_NAMES[fam] == "storage"
                  else UNITS[FAMILY_NAMES[fam]], "quantity": q} for (fam, cls), q in sorted(cu.quantities.items())]
        gaps = [{"family": FAMILY_NAMES[g.family], "resource": g.resource, "start_ms": g.start_ms, "end_ms": g.end_ms}
                for g in cu.gaps]
        channels.append({"provider": prov, "lines": lines, "gaps": gaps})
    out = {"customer": customer, "provider": provider, "start_ms": start_ms, "end_ms": end_ms, "channels": channels}
    if samples:
        in_range = [r for r in rows if r.t_ms >= start_ms]
        out["samples"] = [event_view(r) for r in in_range[:MAX_SAMPLES]]
        out["samples_truncated"] = len(in_range) > MAX_SAMPLES
    return out


@router.get("/v1/receipts", tags=["receipts"], summary="Receipts of a customer, a provider or a channel",
            description=PRIVATE + "Readable by the customer (`customer` = its key), the provider (`provider` = "
                        "its key: its channels, i.e. its customer list) and the operator. One receipt by id "
                        "(`/v1/receipts/{receipt_id}`) is public.", responses=READ_AUTH_RESPONSES)
def receipts(request: Request,
             customer: Optional[str] = Query(None, pattern=B58),
             provider: Optional[str] = Query(None, pattern=B58),
             after_seq: int = Query(0, ge=0, le=I64, description="only seq above this (channel paging)"),
             limit: int = Query(100, ge=1, le=1000),
             proofs: bool = Query(True, description="include batch and inclusion proof"),
             newest_first: bool = Query(False, description="newest (last issued) first instead of by channel "
                                                           "and seq")):
    for f, v in (("customer", customer), ("provider", provider)):
        if (bad := _bad_key(f, v)) is not None:
            return bad
    if customer is None and provider is None:
        return _err("customer", "give a customer, a provider or both")
    q = select(RR).where(RR.c.seq > after_seq)
    if customer:
        q = q.where(RR.c.customer == customer)
    if provider:
        q = q.where(RR.c.provider == provider)
    q = (q.order_by(RR.c.id.desc()) if newest_first else q.order_by(RR.c.customer, RR.c.provider, RR.c.seq)).limit(limit)
    st = request.app.state
    with st.engine.connect() as conn:
        if (refused := authorize(request, conn, Resource(Kind.RECEIPTS, customer, provider))) is not None:
            return refused
        return {"receipts": [receipt_view(conn, r, proofs) for r in conn.execute(q)]}


@router.get("/v1/receipts/{receipt_id}", tags=["receipts"], summary="One receipt with signature, batch and proof",
            description=PUBLIC + "A receipt is settled on-chain in the clear; with its meter signature, batch "
                        "and Merkle proof anyone can check it against the chain.")
def receipt(request: Request, receipt_id: str = Path(..., pattern=r"^[0-9a-fA-F]{64}$", description="hex sha256")):
    st = request.app.state
    with st.engine.connect() as conn:
        doc = receipt_by_id(conn, bytes.fromhex(receipt_id))
    return _err("receipt_id", "no such receipt", 404) if doc is None else doc


@router.get("/v1/batches", tags=["batches"], summary="Merkle batches, newest first",
            description=PUBLIC + "Each batch root is posted on-chain; its receipt ids let anyone recompute it.")
def batches(request: Request, limit: int = Query(100, ge=1, le=1000),
            before_id: Optional[int] = Query(None, ge=1, le=I64),
            unposted: bool = Query(False, description="only batches not yet posted on-chain")):
    with request.app.state.engine.connect() as conn:
        return {"batches": [b.to_dict() for b in list_batches(conn, limit=limit, before_id=before_id,
                                                              unposted_only=unposted)]}


@router.get("/v1/batches/{batch_id}", tags=["batches"], summary="One batch with its receipt ids in leaf order",
            description=PUBLIC)
def batch(request: Request, batch_id: int = Path(..., ge=1, le=I64)):
    with request.app.state.engine.connect() as conn:
        b = get_batch(conn, batch_id)
        if b is None:
            return _err("batch_id", "no such batch", 404)
        return {**b.to_dict(), "receipt_ids": [r.hex() for r in batch_receipt_ids(conn, batch_id)]}


@router.get("/v1/price-books", tags=["prices"], summary="Every price book version receipts may cite, with its sha256",
            description="Public by design: auditors recompute every receipt's lines from these files.")
def price_books(request: Request) -> dict:
    """Public: each version's sha256 is that of its file (GET /v1/price-books/{version}), which the admin
    commits on-chain with publish_price_book; auditors recompute every receipt's lines from these files."""
    with request.app.state.engine.connect() as conn:
        books = published_price_books(conn)
    return {"price_books": [{"version": b.version, "effective_from_ms": eff, "sha256": b.sha256().hex(),
                             "default": eff is None} for eff, b in books]}


@router.get("/v1/price-books/{version}", tags=["prices"], summary="One price book version as its file",
            description="Public by design: the file's bytes hash to the sha256 committed on-chain.")
def price_book(request: Request, version: int = Path(..., ge=1, le=I64)):
    """The price book file itself (canonical JSON): its bytes hash to the sha256 committed on-chain."""
    with request.app.state.engine.connect() as conn:
        book = next((b for _, b in published_price_books(conn) if b.version == version), None)
    if book is None:
        return _err("version", "no such price book version", 404)
    return Response(content=book.file_bytes(), media_type="application/json")


@router.get("/v1/customers/{customer}/status", tags=["customers"], summary="Paused flag, billed total, runway",
            description=PRIVATE + "Readable by the customer, by a provider that serves it (the meter has "
                        "accepted usage of theirs) and by the operator.", responses=READ_AUTH_RESPONSES)
def status(request: Request, customer: str = Path(..., pattern=B58)):
    if (bad := _bad_key("customer", customer)) is not None:
        return bad
    st = request.app.state
    with st.engine.connect() as conn:
        if (refused := authorize(request, conn, Resource(Kind.CUSTOMER_STATUS, customer))) is not None:
            return refused
        return meter_customer_status(conn, customer, st.clock(), st.escrow)


@router.get("/v1/providers/{provider}/channels", tags=["providers"], summary="A provider's customers: the latest "
            "receipt of each of its channels", description=PRIVATE + "Readable by the provider and the operator.",
            responses=READ_AUTH_RESPONSES)
def channels(request: Request, provider: str = Path(..., pattern=B58)):
    if (bad := _bad_key("provider", provider)) is not None:
        return bad
    with request.app.state.engine.connect() as conn:
        if (refused := authorize(request, conn, Resource(Kind.RECEIPTS, None, provider))) is not None:
            return refused
        return {"provider": provider, "channels": provider_channels(conn, provider)}


@router.get("/metrics", tags=["meter"], summary="Prometheus metrics",
            description="Public: aggregate counters with a fixed label set, no customer or provider keys "
                        "(scrapers do not sign; restrict it at the network if it matters).")
def metrics(request: Request) -> Response:
    st = request.app.state
    with st.engine.connect() as conn:
        st.metrics.pending_events.set(conn.execute(select(func.count()).select_from(UE)
                                                   .where(UE.c.seal_id.is_(None))).scalar() or 0)
    return Response(generate_latest(st.metrics.registry), media_type=CONTENT_TYPE_LATEST)


@router.get("/healthz", tags=["meter"], summary="Liveness and database reachability")
def healthz(request: Request, response: Response) -> dict:
    with request.app.state.engine.connect() as conn:
        conn.execute(select(1))
    # The meter's clock (unix ms), as on every ingest answer: agents set their signing clock by it.
    response.headers["X-Solmeter-Time"] = str(request.app.state.clock())
    return {"ok": True}
