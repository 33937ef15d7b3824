"""Leases: the customer's signed consent, accepted only with a valid customer signature, and served publicly.

No request signature is needed to post a lease or a revocation: the body itself is signed by the customer's
wallet key, which is what the meter checks. Every read is public on purpose: an auditor checks from public
data that each receipt line is under a lease its customer signed."""
from __future__ import annotations

from typing import Optional

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..chain_providers import RegistryUnavailable
from ..leases import LeaseRefused, accept_lease, get_lease, lease_view, list_leases, revoke_lease

router = APIRouter(tags=["leases"])
B58 = r"^[1-9A-HJ-NP-Za-km-z]{32,44}$"
LEASE_ID = r"^[A-Za-z0-9][A-Za-z0-9._@+/-]{0,94}$"  # contracts.lease.LEASE_ID_PATTERN


class SignedBytes(BaseModel):
    model_config = ConfigDict(extra="forbid")
    encoding: str = Field(..., max_length=2048, description="base64 of the canonical encoding (PROTOCOL.md, Leases)")
    signature: str = Field(..., max_length=100, description="base58 ed25519 signature of the customer over the encoding")


def _refused(e: LeaseRefused) -> JSONResponse:
    return JSONResponse({"error": str(e), "field": e.field}, status_code=e.status)


def _on_chain(st):
    """The chain's provider registry as the lease check reads it (None when the meter does not follow it);
    an unreadable registry counts as not registered there (the lease is refused, and can be sent again)."""
    providers = st.chain_providers
    if providers is None:
        return None

    def registered(wallet: str) -> bool:
        try:
            return providers.standing(wallet) is not None
        except RegistryUnavailable:  # refused now, nothing stored
            return False
    return registered


@router.post("/v1/leases", summary="Store a lease its customer signed",
             responses={201: {"description": "stored"}, 200: {"description": "identical lease already stored"},
                        403: {"description": "the signature is not the lease customer's"},
                        409: {"description": "the lease id is stored with other terms"},
                        422: {"description": "malformed or unacceptable lease (the field is named)"}})
def post_lease(request: Request, body: SignedBytes):
    st = request.app.state
    try:
        status, lease = accept_lease(st.engine, body.encoding, body.signature, st.cfg.program_id, st.clock(),
                                     on_chain=_on_chain(st))
    except LeaseRefused as e:
        return _refused(e)
    with st.engine.connect() as conn:
        view = lease_view(get_lease(conn, lease.lease_id))
    return JSONResponse({"status": status, "lease": view}, status_code=201 if status == "stored" else 200)


@router.post("/v1/revocations", summary="Record the customer's signed revocation of a lease (named by its hash)",
             responses={403: {"description": "not this lease's customer, or a revocation of another lease"},
                        404: {"description": "no such lease"},
                        409: {"description": "already revoked otherwise, or dated before usage already accepted"}})
def post_revocation(request: Request, body: SignedBytes):
    st = request.app.state
    try:
        status, lease_id, rev = revoke_lease(st.engine, body.encoding, body.signature)
    except LeaseRefused as e:
        return _refused(e)
    return {"status": status, "lease_id": lease_id, "revoked_at_ms": rev.revoked_at_ms}


@router.get("/v1/leases/{lease_id:path}", summary="A signed lease (public: auditors check receipts against it)")
def lease(request: Request, lease_id: str = Path(..., pattern=LEASE_ID)):
    with request.app.state.engine.connect() as conn:
        row = get_lease(conn, lease_id)
    if row is None:
        return JSONResponse({"error": f"lease_id: no lease {lease_id!r}", "field": "lease_id"}, status_code=404)
    return lease_view(row)


@router.get("/v1/leases", summary="Signed leases of a customer or a provider (public)")
def leases(request: Request, customer: Optional[str] = Query(None, pattern=B58),
           provider: Optional[str] = Query(None, pattern=B58), limit: int = Query(500, ge=1, le=5000)):
    with request.app.state.engine.connect() as conn:
        rows = list_leases(conn, customer, provider, limit)
    return {"leases": [lease_view(r) for r in rows]}
