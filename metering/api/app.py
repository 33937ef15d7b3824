"""The app factory. Everything the app needs is passed in: engine, meter config, meter keypair, clock,
escrow balance source; nothing is read from global configuration."""
from __future__ import annotations

import threading
import time
from typing import Callable, Iterable

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import TypeAdapter
from solders.keypair import Keypair
from sqlalchemy.engine import Engine
from starlette.exceptions import HTTPException as StarletteHTTPException

from ..config import MeterConfig
from ..escrow import EscrowBalance, NoEscrowBalance
from ..events.envelope import CloudEvent
from ..ingest.service import Ingestor
from ..metrics import MeterMetrics
from ..store_faults import Tripwire, guard_of
from .ingest_pool import IngestPool
from . import docs_routes, evidence_routes, ingest_routes, lease_routes, read_routes
from .read_auth import SeenReads


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def create_app(engine: Engine, cfg: MeterConfig, meter: Keypair, *, clock: Callable[[], int] = wall_clock_ms,
               escrow: EscrowBalance | None = None, metrics: MeterMetrics | None = None,
               ingest_processes: int = 0, chain_providers=None, admins: Iterable[str] = ()) -> FastAPI:
    """`ingest_processes` > 0: parse and store ingest requests in a pool of that many processes (see
    ingest_pool); 0: in this process. `chain_providers` (a chain_providers.ChainProviders): accept providers
    registered on-chain (and staked) besides those of `meter providers add`. `admins`: keys that read
    everything (the operator), besides the meter's own key (whoever holds that can sign receipts, far more
    than reading them)."""
    metrics = metrics or MeterMetrics()
    app = FastAPI(
        title="solmeter meter API",
        version="1",
        docs_url=None, redoc_url=None,  # both load their code from a CDN: docs_routes serves /docs instead
        description="Signed usage ingestion (CloudEvents 1.0) and the read API: usage, receipts with "
                    "signature and Merkle proof, batches, customer status and runway. Ingest requests are "
                    "signed by the provider's Solana key: see the X-Solmeter-* headers. Private reads "
                    "(usage, receipt listings, customer status) are signed the same way by the reader's "
                    "wallet: a customer reads its own data, a provider its own channels, the operator "
                    "everything. Public by design, for auditors: a receipt by id with its signature, batch "
                    "and proof, batches, signed leases, the price book, the meter's identity.",
    )
    app.state.engine = engine
    app.state.cfg = cfg
    app.state.meter = meter
    app.state.clock = clock
    app.state.escrow = escrow or NoEscrowBalance()
    app.state.metrics = metrics
    app.state.read_admins = frozenset(admins) | {str(meter.pubkey())}
    app.state.seen_reads = SeenReads(cfg.signature_max_age_ms)
    # The database file removed or replaced: the server stops. `meter serve` / `operator serve` guard the
    # engine before their jobs start (store_faults.guard_engine); otherwise the app has a tripwire of its own.
    guard = guard_of(engine)
    app.state.tripwire = guard[1] if guard else Tripwire()
    app.state.ingestor = Ingestor(engine, cfg, metrics, guard[0] if guard else None)
    app.state.db_identity = app.state.ingestor.identity  # SQLite file: checked after each ingest commit
    app.state.ingest_lock = threading.Lock()  # see ingest_routes._one_at_a_time
    app.state.ingest_pool = None
    app.state.chain_providers = chain_providers
    if ingest_processes:
        app.state.ingest_pool = IngestPool(engine.url.render_as_string(hide_password=False), cfg, ingest_processes,
                                           app.state.db_identity.expected if app.state.db_identity else None)

        @app.on_event("shutdown")
        def _close_pool() -> None:
            app.state.ingest_pool.close()

    @app.exception_handler(RequestValidationError)
    async def _validation(_req: Request, exc: RequestValidationError):
        err = exc.errors()[0]
        loc = [str(p) for p in err.get("loc", ())]
        field = ".".join(loc[1:] if loc and loc[0] in ("query", "path", "header", "body") else loc) or "request"
        return JSONResponse({"error": f"{field}: {err.get('msg')}", "field": field}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException):
        return JSONResponse({"error": str(exc.detail), "field": None}, status_code=exc.status_code,
                            headers=getattr(exc, "headers", None))

    app.include_router(ingest_routes.router)
    app.include_router(evidence_routes.router)
    app.include_router(read_routes.router)
    app.include_router(lease_routes.router)
    app.include_router(docs_routes.router)
    _add_event_schemas(app)
    return app


def _add_event_schemas(app: FastAPI) -> None:
    """Publish the CloudEvent models in the OpenAPI document (the ingest routes read the raw body, since
    the signature covers its exact bytes, so FastAPI cannot infer the schema itself)."""
    schema = TypeAdapter(CloudEvent).json_schema(ref_template="#/components/schemas/{model}")
    defs = schema.pop("$defs", {})
    base_openapi = app.openapi

    def openapi():
        if app.openapi_schema:
            return app.openapi_schema
        doc = base_openapi()
        comps = doc.setdefault("components", {}).setdefault("schemas", {})
        comps.update(defs)
        comps["CloudEvent"] = schema
        comps["CloudEventBatch"] = {"type": "array", "items": {"$ref": "#/components/schemas/CloudEvent"},
                                    "minItems": 1}
        app.openapi_schema = doc
        return doc

    app.openapi = openapi
