"""POST /v1/events (one CloudEvent) and /v1/events/batch (application/cloudevents-batch+json)."""
from __future__ import annotations

import dataclasses
from typing import Optional

import msgspec

from fastapi import APIRouter, Header, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from contracts.evidence import H_EVIDENCE

from ..auth import AuthError, ascii_uint, verify_request
from ..chain_providers import RegistryUnavailable
from ..ingest.parse import BodyError, parse_body
from ..metrics import reason_label
from ..store_faults import RETRY_GONE_S, DatabaseGone, StoreUnavailable

router = APIRouter(tags=["ingest"])
# Every ingest answer says the meter's clock (unix ms) in this header, and a 401 for a stale timestamp also
# in its body (`server_time_ms`): an agent whose clock is off learns the offset, re-signs and resends.
H_SERVER_TIME = "X-Solmeter-Time"

_HEADERS_DOC = dict(
    x_solmeter_pubkey=Header(None, description="base58 public key of the reporting provider"),
    x_solmeter_timestamp=Header(None, description="unix milliseconds when the request was signed"),
    x_solmeter_signature=Header(None, description="base58 ed25519 signature of METHOD\\nPATH\\nTIMESTAMP\\nhex(sha256(body))"),
)
_RESPONSES = {
    200: {"description": "every event accepted or an identical duplicate (per-event results)"},
    401: {"description": "signature missing, malformed, stale, replayed or wrong; a stale timestamp's answer "
                          "carries the meter's clock (`server_time_ms`, unix ms; also the X-Solmeter-Time header of "
                          "every ingest answer): re-sign with it and resend"},
    403: {"description": "not a registered provider (on-chain, or added to the meter) or below the minimum stake, "
                          "another provider's usage, or a paused customer's new work"},
    409: {"description": "an event's (source, id) is stored with a different payload; nothing written"},
    413: {"description": "body or batch too large"},
    422: {"description": "an event failed validation, or could take its channel's cumulative receipt fields past "
                          "the encoding (the field is named); nothing written"},
    503: {"description": "the chain's provider registry cannot be read now, or the database cannot take the write "
                          "(disk full, locked by another process, its file removed): nothing written; send it again "
                          "after Retry-After seconds"},
}


def _body_schema(ref: str, content_types: list[str]) -> dict:
    return {"requestBody": {"required": True, "content": {ct: {"schema": {"$ref": f"#/components/schemas/{ref}"}}
                                                          for ct in content_types}}}


# msgspec writes the 1,000 per-event results of a batch ~5x faster than the stdlib encoder
_encode = msgspec.json.encode


def _json(body: dict, status: int, headers: dict | None = None) -> Response:
    return Response(_encode(body), status_code=status, media_type="application/json", headers=headers)


def parse_and_ingest(st, raw: bytes, batch: bool, signed, now: int, on_chain=None) -> tuple[int, bytes]:
    """Parsing, validation and the transaction (all CPU or DB work): (HTTP status, JSON body). `st` holds
    cfg, ingestor and metrics (the app's state, or a pool process's)."""
    lim = st.cfg.limits
    try:
        items = parse_body(raw, batch=batch, max_batch=lim.max_batch, max_body_bytes=lim.max_body_bytes)
    except BodyError as e:
        st.metrics.requests_refused.labels(reason=reason_label(e.field)).inc()
        return e.status, _encode({"error": str(e), "field": e.field})
    try:
        out = st.ingestor.ingest(signed, items, now, on_chain)
    except AuthError as e:
        return e.status, _encode({"error": str(e), "field": e.field})
    except StoreUnavailable as e:
        if isinstance(e, DatabaseGone) and getattr(st, "tripwire", None) is not None:
            st.tripwire.trip(str(e))  # the server stops (metering.store_faults.serve_guarded)
        return 503, _encode({"error": f"database: {e.reason}; nothing of this request was stored: send it again "
                                      "later", "field": None, "retry_after": e.retry_after_s})
    body = out.to_dict()
    if not batch:
        r = out.results[0]
        body = {"status": r.status, "id": r.id, "source": r.source, **({"error": out.error, "field": out.field}
                                                                        if out.error else {})}
    return out.status_code, _encode(body)


async def read_body_capped(request: Request, limit: int) -> bytes | Response:
    """The body, or a 413 as soon as more than `limit` bytes have come (before any authentication work).
    A declared Content-Length over the limit is refused unread; a chunked body (no length) or one whose
    declared length is a lie is counted while it is read and cut at the limit: never buffered whole."""
    declared = request.headers.get("content-length")
    if declared is not None:
        n = ascii_uint(declared, 20)
        if n is None:
            return _json({"error": "Content-Length: must be ASCII digits 0-9", "field": "Content-Length"}, 400)
        if n > limit:
            return _too_large(f"{n} bytes exceeds the limit of {limit}")
    chunks: list[bytes] = []
    got = 0
    async for chunk in request.stream():
        got += len(chunk)
        if got > limit:
            return _too_large(f"more than {limit} bytes (the limit); the rest was not read")
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(reason: str) -> Response:
    # Connection: close: the unread rest of the body must not be taken for the next request
    r = _json({"error": f"body: {reason}", "field": "body"}, 413)
    r.headers["connection"] = "close"
    return r


async def _handle(request: Request, batch: bool) -> Response:
    r = await _answer(request, batch)
    r.headers[H_SERVER_TIME] = str(request.app.state.clock())
    return r


async def _answer(request: Request, batch: bool) -> Response:
    st = request.app.state
    raw = await read_body_capped(request, st.cfg.limits.max_body_bytes)
    if isinstance(raw, Response):
        st.metrics.requests_refused.labels(reason="body").inc()
        return raw
    now = st.clock()
    try:
        signed = verify_request(request.headers, request.method, request.url.path, raw, now, st.cfg.signature_max_age_ms)
        ev = request.headers.get(H_EVIDENCE)
        if ev is not None:  # provider-signed evidence groups (metering/evidence.py checks them with the events)
            signed = dataclasses.replace(signed, evidence=ev)
    except AuthError as e:
        st.metrics.requests_refused.labels(reason=reason_label(e.field)).inc()
        body = {"error": str(e), "field": e.field}
        if e.reason.startswith("stale"):
            body["server_time_ms"] = now
        return _json(body, e.status)
    on_chain = None
    if st.chain_providers is not None:  # the chain's registry, cached (a read only for a key it lacks)
        try:
            on_chain = await run_in_threadpool(st.chain_providers.standing, signed.pubkey)
        except RegistryUnavailable as e:
            r = _json({"error": f"X-Solmeter-Pubkey: {e}; send it again later", "field": "X-Solmeter-Pubkey"}, 503)
            r.headers["retry-after"] = str(max(1, int(st.chain_providers.min_refresh_s)))
            return r
    if st.tripwire.tripped:  # the database file is gone: nothing more is written (the server is stopping)
        return _json({"error": f"database: {st.tripwire.message}", "field": None, "retry_after": RETRY_GONE_S},
                     503, {"retry-after": str(RETRY_GONE_S)})
    if st.ingest_pool is not None:  # `meter serve --workers N`: the next free process of the pool
        status, body = await st.ingest_pool.run(st.metrics, raw, batch, signed, now, on_chain)
    else:
        status, body = await run_in_threadpool(_one_at_a_time, st, raw, batch, signed, now, on_chain)
    headers = None
    if status == 503:  # the store (or a pool process) could not take it: when to send it again
        headers = {"retry-after": str(_retry_after(body))}
    return Response(body, status_code=status, media_type="application/json", headers=headers)


def _retry_after(body: bytes) -> int:
    try:
        v = msgspec.json.decode(body).get("retry_after")
    except (msgspec.DecodeError, AttributeError):
        v = None
    return v if isinstance(v, int) and not isinstance(v, bool) and v > 0 else 1


def _one_at_a_time(st, raw: bytes, batch: bool, signed, now: int, on_chain) -> tuple[int, bytes]:
    # One ingest at a time per process: two in one process would share the GIL, and sqlite3's
    # executemany gives it up and takes it back once per row, so a parsing thread beside a writing one
    # slows the writer (which holds the database's write lock) by an order of magnitude. A pool of
    # processes (`ingest_pool`) is how ingestion uses several cores.
    with st.ingest_lock:
        return parse_and_ingest(st, raw, batch, signed, now, on_chain)


@router.post("/v1/events", summary="Ingest one CloudEvent", responses=_RESPONSES,
             openapi_extra=_body_schema("CloudEvent", ["application/cloudevents+json", "application/json"]))
async def post_event(request: Request, x_solmeter_pubkey: Optional[str] = _HEADERS_DOC["x_solmeter_pubkey"],
                     x_solmeter_timestamp: Optional[str] = _HEADERS_DOC["x_solmeter_timestamp"],
                     x_solmeter_signature: Optional[str] = _HEADERS_DOC["x_solmeter_signature"]) -> Response:
    """One usage event. Answers `accepted`, or `duplicate` for an identical replay (a no-op)."""
    return await _handle(request, batch=False)


@router.post("/v1/events/batch", summary="Ingest a batch of CloudEvents", responses=_RESPONSES,
             openapi_extra=_body_schema("CloudEventBatch", ["application/cloudevents-batch+json", "application/json"]))
async def post_batch(request: Request, x_solmeter_pubkey: Optional[str] = _HEADERS_DOC["x_solmeter_pubkey"],
                     x_solmeter_timestamp: Optional[str] = _HEADERS_DOC["x_solmeter_timestamp"],
                     x_solmeter_signature: Optional[str] = _HEADERS_DOC["x_solmeter_signature"]) -> Response:
    """A batch, all or nothing: per event `accepted` / `duplicate`, or on refusal `rejected` / `conflict`
    with the field and reason (and `valid` for the events that were fine but not written)."""
    return await _handle(request, batch=True)
