"""Signed reads: who is asking (the X-Solmeter-* signature over GET, path and query), whether that
signature was used before, and the policy's verdict (metering/read_policy.py) as 401 / 403 answers.

A read's signature is single-use, like an ingest request's: a signed GET captured within its freshness
window (a proxy log, a pasted debugging dump) would otherwise hand its holder fresh copies of the
signer's private data until the window closes. Reads are not written to the database (that would put a
write lock on every read); the meter API is one HTTP process (`meter serve --workers` forks ingest
processes only), so an in-memory set of the signatures still inside their window sees every read."""
from __future__ import annotations

import heapq
import threading
from typing import Optional

from fastapi import Request
from fastapi.responses import JSONResponse

from contracts.evidence import H_CONSENT, EvidenceError, parse_consent, verify_consent

from ..auth import H_PUBKEY, H_SIGNATURE, H_TIMESTAMP, AuthError, request_target, verify_request
from ..queries import serves
from ..read_policy import Principal, Resource, may_read
from ..registry import is_registered_provider

READ_AUTH_RESPONSES = {
    401: {"description": "private data: the X-Solmeter-* signature is missing, malformed, stale, replayed "
                         "or does not cover this method, path and query"},
    403: {"description": "signed, but the signer may not read this (the answer names what and why)"},
}


class SeenReads:
    """Signatures of reads still inside their freshness window. A signature is dropped once its own
    timestamp is stale (then the timestamp check refuses it anyway), so the set holds at most one window of
    reads; past `capacity` new reads are refused (429) rather than forgetting one that could be replayed."""

    def __init__(self, max_age_ms: int, capacity: int = 200_000):
        self.max_age_ms = max_age_ms
        self.capacity = capacity
        self._expiry: list[tuple[int, str]] = []  # heap of (last ms the timestamp is fresh, signature)
        self._seen: set[str] = set()
        self._lock = threading.Lock()

    def claim(self, signature: str, timestamp_ms: int, now_ms: int) -> None:
        """Record a first use; raises AuthError for a second one (401) or when full (429)."""
        with self._lock:
            while self._expiry and self._expiry[0][0] < now_ms:
                self._seen.discard(heapq.heappop(self._expiry)[1])
            if signature in self._seen:
                raise AuthError(H_SIGNATURE, "replayed: this signature was already used; sign each read anew")
            if len(self._seen) >= self.capacity:
                raise AuthError(H_SIGNATURE, f"more than {self.capacity} signed reads within the freshness "
                                             "window: retry in a few seconds", status=429)
            self._seen.add(signature)
            heapq.heappush(self._expiry, (timestamp_ms + self.max_age_ms, signature))

    def __len__(self) -> int:
        return len(self._seen)


def _refusal(field: Optional[str], error: str, status: int) -> JSONResponse:
    return JSONResponse({"error": error, "field": field}, status_code=status)


def signed_principal(request: Request, conn) -> Principal | JSONResponse | None:
    """The verified signer of this GET (None if the request carries no signature headers at all)."""
    st = request.app.state
    if not any(request.headers.get(h) for h in (H_PUBKEY, H_TIMESTAMP, H_SIGNATURE)):
        return None
    now = st.clock()
    try:
        signed = verify_request(request.headers, "GET", request_target(request.url.path, request.url.query),
                                b"", now, st.cfg.signature_max_age_ms)
        st.seen_reads.claim(signed.signature, signed.timestamp_ms, now)
    except AuthError as e:
        st.metrics.requests_refused.labels(reason=e.field).inc()
        return _refusal(e.field, str(e), e.status)
    consent_from = None
    raw = request.headers.get(H_CONSENT)
    if raw is not None:  # a customer's signed consent for this reader (contracts/evidence.py)
        try:
            c = parse_consent(raw)
        except EvidenceError as e:
            return _refusal(H_CONSENT, str(e), 401)
        why = verify_consent(c, signed.pubkey, now)
        if why is not None:
            return _refusal(H_CONSENT, why, 401)
        consent_from = c.customer
    return Principal(signed.pubkey, operator=signed.pubkey in st.read_admins,
                     provider=is_registered_provider(conn, signed.pubkey), consent_from=consent_from)


def authorize(request: Request, conn, resource: Resource) -> Optional[JSONResponse]:
    """None when the request may read `resource`; else the 401 / 403 answer to return."""
    who = signed_principal(request, conn)
    if isinstance(who, JSONResponse):
        return who
    d = may_read(who, resource, lambda provider, customer: serves(conn, provider, customer))
    if d.allowed:
        return None
    if d.unauthenticated:
        return _refusal(H_SIGNATURE, d.reason, 401)
    return _refusal(d.field, d.reason, 403)
