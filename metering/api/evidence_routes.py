"""GET /v1/receipts/{receipt_id}/evidence: the provider-signed events a receipt newly covers (metering/evidence.py),
served to the receipt's customer, its provider, the operator, and a reader holding the customer's signed
consent (X-Solmeter-Consent, contracts/evidence.py) beside its own signed read. Everything served is the
receipt's customer's: each event with the group that carried it (one customer's events of one request) and
the sibling hashes that prove it is in the signed root."""
from __future__ import annotations

from fastapi import APIRouter, Path, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select

from ..evidence import receipt_evidence
from ..models import ReceiptRow
from ..read_policy import Kind, Resource, may_read
from .read_auth import READ_AUTH_RESPONSES, _refusal, serves, signed_principal

router = APIRouter()
RR = ReceiptRow.__table__


@router.get("/v1/receipts/{receipt_id}/evidence", tags=["receipts"], summary="A receipt's provider-signed events",
            description="Private: signed by the receipt's customer or provider, the operator, or a reader sending "
                        "the customer's signed consent for its key in X-Solmeter-Consent "
                        "(customer:expiry_ms:signature over SOLMETER-CONSENT-V1; PROTOCOL.md).",
            responses=READ_AUTH_RESPONSES)
def receipt_evidence_route(request: Request, receipt_id: str = Path(..., pattern=r"^[0-9a-fA-F]{64}$")):
    st = request.app.state
    rid = bytes.fromhex(receipt_id)
    with st.engine.connect() as conn:
        who = signed_principal(request, conn)
        if isinstance(who, JSONResponse):
            return who
        row = conn.execute(select(RR.c.customer, RR.c.provider).where(RR.c.receipt_id == rid)).first()
        # an unknown receipt is refused like a known one of someone else (nothing learnt from the answer)
        res = Resource(Kind.EVIDENCE, row.customer if row else None, row.provider if row else None)
        d = may_read(who, res, lambda p, c: serves(conn, p, c))
        if not d.allowed:
            return _refusal("X-Solmeter-Signature" if d.unauthenticated else d.field, d.reason,
                            401 if d.unauthenticated else 403)
        doc = receipt_evidence(conn, rid)
    if doc is None:
        return _refusal("receipt_id", f"no receipt {receipt_id}", 404)
    return doc
