"""The dashboard's HTTP surface, mounted in the meter's app: the page and its assets (all served from this
package: no CDN), Sign-In With Solana, one JSON document per view, and the actions (verify a receipt,
contest a slash, retry an intent).

    GET  /dashboard/                          the page (customer, provider, auditor, operator tabs)
    GET  /dashboard/static/{file}             its script, styles and icon
    POST /dashboard/api/siws/challenge        {address} -> the SIWS message to sign (nonce, issued-at, expiry)
    POST /dashboard/api/siws/verify           {message, signature} (base64) -> session cookie, roles
    POST /dashboard/api/siws/logout
    GET  /dashboard/api/session               who is signed in
    GET  /dashboard/api/customer/{wallet}     the customer view (that customer or the operator)
    GET  /dashboard/api/provider/{wallet}     the provider view (that provider or the operator)
    GET  /dashboard/api/provider/{wallet}/earnings.csv
    GET  /dashboard/api/auditor               public: the latest audit of everything (POST .../run: a new one)
    GET  /dashboard/api/receipts/{id}/verify  public: one receipt verified against the chain
    GET  /dashboard/api/operator              the operator view (operator only)
    POST /dashboard/api/operator/intents/{id}/retry
    POST /dashboard/api/provider/slashes/{index}/contest   {evidence} -> unsigned transaction for the wallet
    POST /dashboard/api/transactions          {transaction} (base64, signed by the wallet) -> sent, confirmed
    POST /dashboard/api/customer/revocation   {lease_id} -> the revocation message the customer's wallet signs
    POST /dashboard/api/revocations           {message, signature} (base64) -> recorded (metering.leases)

Every POST needs a JSON body (Content-Type application/json): a cross-site form cannot send one, and the
session cookie is SameSite=Strict.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable
from urllib.parse import urlparse

from fastapi import APIRouter, FastAPI, Path as PathParam, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from solders.pubkey import Pubkey
from solders.signature import Signature

from ledger.ops import roles as chain_roles
from ledger.ops.cluster import Cluster
from ledger.ops.tx import OpError, send_signed
from contracts.lease import Revocation
from metering.api.views import receipt_by_id
from metering.leases import LeaseRefused, revoke_lease
from metering.reads import lease_state

from . import access, siws
from .audit import AuditRuns
from .customer import customer_view
from .operator import operator_view, retry_intent
from .provider import provider_earnings_csv, provider_view
from .sessions import Challenges, Sessions
from .wallet_tx import PreparedTransactions, WalletTxError

STATIC = Path(__file__).parent / "static"
COOKIE = "solmeter_session"
CHALLENGE_TTL_MS = 5 * 60_000
SESSION_TTL_MS = 8 * 3_600_000
B58 = r"^[1-9A-HJ-NP-Za-km-z]{32,44}$"


@dataclass
class DashboardContext:
    """What the views read. `public_url` is the address users open (scheme://host:port): sign-in messages
    must name its host, so one signed for another site is refused. `api_url` is where the meter's read API
    answers (the auditor view reads receipts through it, as any auditor would)."""
    engine: Any                # the meter's SQLAlchemy engine
    session_factory: Any       # the ledger's sessions (same database)
    chain: Any                 # ledger.engine.chain.RpcChain
    deployment: Any            # ledger.ops.deployment.Deployment
    public_url: str
    api_url: str
    clock: Callable[[], int]
    escrow: Any
    cluster: Cluster | None = None
    chain_id: str = ""

    def explorer(self, kind: str, value) -> str:
        return self.cluster.explorer(kind, value)


def _err(field: str, reason: str, status: int = 422) -> JSONResponse:
    return JSONResponse({"error": f"{field}: {reason}", "field": field}, status_code=status)


def _b64(field: str, value: Any) -> bytes:
    if not isinstance(value, str):
        raise siws.SiwsError(field, "expected a base64 string")
    try:
        return base64.b64decode(value, validate=True)
    except (binascii.Error, ValueError):
        raise siws.SiwsError(field, "not valid base64") from None


async def _json_body(request: Request) -> dict:
    if request.headers.get("content-type", "").split(";")[0].strip() != "application/json":
        raise siws.SiwsError("content-type", "send the body as application/json")
    try:
        body = json.loads(await request.body() or b"{}")
    except ValueError:
        raise siws.SiwsError("body", "not JSON") from None
    if not isinstance(body, dict):
        raise siws.SiwsError("body", "expected a JSON object")
    return body


def build_router(ctx: DashboardContext) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    challenges = Challenges(ctx.clock)
    sessions = Sessions(ctx.clock, SESSION_TTL_MS)
    prepared = PreparedTransactions()
    audits = AuditRuns(ctx)
    url = urlparse(ctx.public_url)
    expected = siws.Expected(domain=url.netloc, uri=ctx.public_url.rstrip("/") + "/dashboard/", chain_id=ctx.chain_id)

    def session_of(request: Request):
        return sessions.get(request.cookies.get(COOKIE))

    def refused(request: Request, view: str, subject: str | None) -> JSONResponse | None:
        s = session_of(request)
        with ctx.engine.connect() as conn:
            why = access.refusal(request.app.state, conn, s.wallet if s else None, view, subject)
        return None if why is None else _err("session", why[1], why[0])

    def guarded(request: Request, view: str, subject: str | None, build: Callable[[], Any]):
        return refused(request, view, subject) or build()

    @r.get("/dashboard")
    def page_redirect():
        return RedirectResponse("/dashboard/", status_code=307)

    @r.get("/dashboard/")
    def page():
        return FileResponse(STATIC / "index.html", media_type="text/html",
                            headers={"Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
                                                                "style-src 'self'; script-src 'self'; "
                                                                "connect-src 'self'; frame-ancestors 'none'",
                                     "Cache-Control": "no-store"})

    @r.post("/dashboard/api/siws/challenge")
    async def challenge(request: Request):
        try:
            body = await _json_body(request)
            address = body.get("address")
            if not isinstance(address, str):
                raise siws.SiwsError("address", "give the wallet's base58 public key")
            try:
                Pubkey.from_string(address)
            except ValueError:
                raise siws.SiwsError("address", "not a base58 Solana public key") from None
        except siws.SiwsError as e:
            return _err(e.field, e.reason)
        nonce = challenges.issue(address, CHALLENGE_TTL_MS)
        msg = siws.challenge(expected.domain, expected.uri, address, expected.chain_id, nonce, ctx.clock(),
                             CHALLENGE_TTL_MS)
        return {"message": msg.render(), "input": msg.to_json()}

    @r.post("/dashboard/api/siws/verify")
    async def verify(request: Request):
        try:
            body = await _json_body(request)
            message = _b64("message", body.get("message"))
            signature = _b64("signature", body.get("signature"))
            msg = siws.verify(message, signature, expected, ctx.clock())
        except siws.SiwsError as e:
            return _err(e.field, e.reason, 401 if e.field in ("signature", "domain", "uri", "expiration_time") else 422)
        why = challenges.consume(msg.nonce, msg.address)
        if why is not None:
            return _err("nonce", why, 401)
        with ctx.engine.connect() as conn:
            role_set = access.roles_of(request.app.state, conn, ctx.chain, ctx.deployment, msg.address)
        token = sessions.open(msg.address, role_set)
        resp = JSONResponse({"wallet": msg.address, "roles": sorted(role_set)})
        resp.set_cookie(COOKIE, token, httponly=True, samesite="strict", path="/dashboard",
                        secure=url.scheme == "https", max_age=SESSION_TTL_MS // 1000)
        return resp

    @r.post("/dashboard/api/siws/logout")
    def logout(request: Request):
        sessions.close(request.cookies.get(COOKIE))
        resp = JSONResponse({"wallet": None})
        resp.delete_cookie(COOKIE, path="/dashboard")
        return resp

    @r.get("/dashboard/api/session")
    def session(request: Request):
        s = session_of(request)
        info = {"cluster": ctx.cluster.name if ctx.cluster else "", "program_id": ctx.deployment.program_id,
                "mint": ctx.deployment.mint, "decimals": ctx.deployment.decimals}
        if s is None:
            return {"wallet": None, "roles": [], **info}
        return {"wallet": s.wallet, "roles": sorted(s.roles), "expires_ms": s.expires_ms, **info}

    @r.get("/dashboard/api/customer/{wallet}")
    def customer(request: Request, wallet: str = PathParam(..., pattern=B58)):
        return guarded(request, access.CUSTOMER, wallet, lambda: customer_view(ctx, wallet, ctx.clock()))

    @r.get("/dashboard/api/provider/{wallet}")
    def provider(request: Request, wallet: str = PathParam(..., pattern=B58)):
        return guarded(request, access.PROVIDER, wallet, lambda: provider_view(ctx, wallet))

    @r.get("/dashboard/api/provider/{wallet}/earnings.csv")
    def earnings(request: Request, wallet: str = PathParam(..., pattern=B58)):
        return guarded(request, access.PROVIDER, wallet, lambda: Response(
            provider_earnings_csv(ctx, wallet), media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="earnings-{wallet[:8]}.csv"'}))

    @r.get("/dashboard/api/operator")
    def operator(request: Request):
        return guarded(request, access.OPERATOR, None, lambda: operator_view(ctx, ctx.clock()))

    @r.post("/dashboard/api/operator/intents/{intent_id}/retry")
    async def retry(request: Request, intent_id: int = PathParam(..., ge=1, le=(1 << 63) - 1)):
        try:
            await _json_body(request)
        except siws.SiwsError as e:
            return _err(e.field, e.reason)

        def run():
            try:
                return retry_intent(ctx, intent_id)
            except LookupError as e:
                return _err("intent_id", str(e), 404)
            except ValueError as e:
                return _err("intent_id", str(e), 409)
        return guarded(request, access.OPERATOR, None, run)

    @r.get("/dashboard/api/auditor")
    def auditor():
        return audits.get()

    @r.post("/dashboard/api/auditor/run")
    async def auditor_run(request: Request):
        try:
            await _json_body(request)
        except siws.SiwsError as e:
            return _err(e.field, e.reason)
        return audits.rerun()

    @r.get("/dashboard/api/receipts/{receipt_id}/verify")
    def verify_receipt(receipt_id: str = PathParam(..., pattern=r"^[0-9a-fA-F]{64}$")):
        with ctx.engine.connect() as conn:
            doc = receipt_by_id(conn, bytes.fromhex(receipt_id))
        if doc is None:
            return _err("receipt_id", "no such receipt", 404)
        return audits.verify_receipt(doc)

    @r.post("/dashboard/api/provider/slashes/{index}/contest")
    async def contest(request: Request, index: int = PathParam(..., ge=0, le=(1 << 64) - 1)):
        try:
            body = await _json_body(request)
        except siws.SiwsError as e:
            return _err(e.field, e.reason)
        evidence = body.get("evidence")
        if not isinstance(evidence, str) or not evidence.strip():
            return _err("evidence", "say why the slash is wrong (text or a 64-hex-digit hash)")
        s = session_of(request)
        if (no := refused(request, access.PROVIDER, s.wallet if s else None)) is not None:
            return no
        dep = ctx.deployment
        ix = dep.program.contest_slash(wallet=Pubkey.from_string(s.wallet), index=index,
                                       evidence_hash=chain_roles.evidence_hash(evidence))
        blockhash, _ = ctx.chain.latest_blockhash()
        wire = prepared.prepare(s.wallet, [ix], blockhash, f"contest slash {index}")
        return {"transaction": base64.b64encode(wire).decode(), "what": f"contest slash {index}"}

    @r.post("/dashboard/api/customer/revocation")
    async def revocation(request: Request):
        """The revocation the signed-in customer's wallet signs (solana:signMessage) to end one of its leases."""
        try:
            body = await _json_body(request)
        except siws.SiwsError as e:
            return _err(e.field, e.reason)
        s = session_of(request)
        if (no := refused(request, access.CUSTOMER, s.wallet if s else None)) is not None:
            return no
        lease_id = body.get("lease_id")
        if not isinstance(lease_id, str) or not lease_id:
            return _err("lease_id", "name the lease to revoke")
        with ctx.engine.connect() as conn:
            row = lease_state(conn, lease_id)
        if row is None:
            return _err("lease_id", f"no lease {lease_id!r}", 404)
        if row.customer != s.wallet:
            return _err("lease_id", f"lease {lease_id} was signed by {row.customer}: only its customer revokes it", 403)
        if row.revoked_at_ms is not None:
            return _err("lease_id", f"lease {lease_id} is already revoked", 409)
        # Usage already accepted under the lease stays billed: the revocation takes effect after it.
        at = max(ctx.clock(), (row.last_event_ms or 0) + 1)
        rev = Revocation(Pubkey.from_string(ctx.deployment.program_id), row.lease_hash,
                         Pubkey.from_string(s.wallet), at)
        return {"lease_id": lease_id, "revoked_at_ms": at, "message": base64.b64encode(rev.encode()).decode()}

    @r.post("/dashboard/api/revocations")
    async def revoke(request: Request):
        """The signed revocation, recorded by the meter's own rule (metering.leases.revoke_lease: only the
        lease's customer's signature over a revocation naming that lease's hash)."""
        try:
            body = await _json_body(request)
            enc = _b64("message", body.get("message"))
            sig = _b64("signature", body.get("signature"))
            if len(sig) != 64:
                raise siws.SiwsError("signature", f"an ed25519 signature is 64 bytes, got {len(sig)}")
        except siws.SiwsError as e:
            return _err(e.field, e.reason)
        try:
            status, lease_id, rev = revoke_lease(ctx.engine, base64.b64encode(enc).decode(),
                                                 str(Signature.from_bytes(sig)))
        except LeaseRefused as e:
            return _err(e.field, e.reason, e.status)
        return {"status": status, "lease_id": lease_id, "revoked_at_ms": rev.revoked_at_ms}

    @r.post("/dashboard/api/transactions")
    async def submit(request: Request):
        s = session_of(request)
        if s is None:
            return _err("session", "sign in with your wallet first", 401)
        try:
            body = await _json_body(request)
            wire = _b64("transaction", body.get("transaction"))
            tx, what = prepared.take(s.wallet, wire)
        except siws.SiwsError as e:
            return _err(e.field, e.reason)
        except WalletTxError as e:
            return _err(e.field, str(e).split(": ", 1)[1], e.status)
        try:
            sig = send_signed(ctx.chain, tx, what.ixs, what=what.what)
        except OpError as e:
            return _err("transaction", str(e), 409)
        return {"signature": sig, "what": what.what, "link": ctx.explorer("tx", sig)}

    return r


def mount(app: FastAPI, ctx: DashboardContext) -> None:
    """Add the dashboard to the meter's app (the page at /dashboard/, `/` leads there)."""
    if ctx.cluster is None:
        ctx.cluster = Cluster(ctx.chain.url, ctx.chain.genesis_hash())
    if not ctx.chain_id:
        ctx.chain_id = f"solana:{ctx.cluster.name}"
    app.include_router(build_router(ctx))
    app.mount("/dashboard/static", StaticFiles(directory=STATIC), name="dashboard-static")
    app.state.dashboard = ctx

    @app.get("/", include_in_schema=False)
    def root():
        return RedirectResponse("/dashboard/", status_code=307)
