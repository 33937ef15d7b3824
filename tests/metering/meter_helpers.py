"""Shared helpers of the metering tests (a unique module name: tests/ has no packages)."""
import json
from datetime import datetime, timezone

from solders.keypair import Keypair

from contracts.evidence import H_EVIDENCE
from metering.agents.evidence import sign_request_groups
from metering.auth import sign_request
from metering.events import EGRESS, GPU_HEARTBEAT, GPU_STOP, STORAGE_SAMPLE

T0 = 1_794_999_960_000  # a fixed "now" (2026-11-18), a whole minute


class Clock:
    def __init__(self, t: int = T0):
        self.t = t

    def __call__(self) -> int:
        return self.t


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


# Customers of the tests are keypairs from one-byte seeds: their leases can be signed by the factory.
CUSTOMER_KEYS = {str(k.pubkey()): k for k in (Keypair.from_seed(bytes([i]) * 32) for i in range(256))}
STORAGE_CLASSES = ("ARCHIVE", "COLD", "DEEP_ARCHIVE", "GLACIER", "GLACIER_IR", "HOT", "INTELLIGENT_TIERING",
                   "ONEZONE_IA", "STANDARD", "STANDARD_IA")
def wide_lease(lease_id: str, customer: Keypair, provider: str, *, kind: str, rclass: str = "H100",
               price_book_version: int = 1, start_ms: int = 0, expiry_ms: int = 1 << 62, cap: int = (1 << 64) - 1,
               gpu_count: int = 4096, storage_classes=None, max_bytes: int = 1 << 60, program_id: str | None = None):
    """A lease wide enough for any usage a test reports (a real lease, signed by its customer)."""
    import hashlib

    from solders.pubkey import Pubkey

    from contracts import DEFAULT_PROGRAM_ID
    from contracts.lease import GpuResource, Lease, StorageResource

    res = GpuResource(rclass, gpu_count) if kind == "gpu" else StorageResource(
        lease_id, {c: max_bytes for c in (storage_classes or sorted({rclass, *STORAGE_CLASSES}))})
    return Lease(Pubkey.from_string(program_id or DEFAULT_PROGRAM_ID), lease_id, customer.pubkey(),
                 Pubkey.from_string(provider), price_book_version, cap, start_ms, expiry_ms,
                 hashlib.sha256(f"{lease_id}/{customer.pubkey()}/{provider}".encode()).digest()[:16], res)


def leases_for(events) -> dict[str, tuple]:
    """lease id -> (kind, class, customer, provider, first time) for the event dicts (what a customer who
    consented to all of this usage would have signed: one GPU class per lease, as a lease names)."""
    out: dict[str, tuple] = {}
    for e in events if isinstance(events, list) else [events]:
        if not isinstance(e, dict) or not isinstance(e.get("data"), dict):
            continue
        d, t = e["data"], e.get("type")
        if t == GPU_HEARTBEAT:
            lid, kind, cls = d.get("lease_id"), "gpu", d.get("gpu_class")
        elif t == GPU_STOP:
            lid, kind, cls = d.get("lease_id"), "stop", "H100"
        elif t == STORAGE_SAMPLE:
            lid, kind, cls = str(d.get("bucket", "")).split(":", 1)[0], "storage", d.get("storage_class")
        elif t == EGRESS:
            lid, kind, cls = str(d.get("resource", "")).split(":", 1)[0], "storage", "STANDARD"
        else:
            continue
        if not all(isinstance(v, str) for v in (lid, cls, e.get("subject"), d.get("provider"))):
            continue  # a generated (fuzzed) event: no one signs a lease for it
        try:
            when = int(datetime.fromisoformat(str(e.get("time")).replace("Z", "+00:00")).timestamp() * 1000)
        except (ValueError, OverflowError, OSError):
            continue
        prev = out.get(lid)
        rank = {"stop": 0, "storage": 1, "gpu": 2}  # a heartbeat says best what the lease rents
        if prev is None or rank[kind] > rank[prev[0]]:
            out[lid] = (kind, cls, e.get("subject"), d.get("provider"), when)
    return {k: ("gpu" if v[0] == "stop" else v[0], *v[1:]) for k, v in out.items()}


def lease_bodies_for(events, program_id: str | None = None, book_version=lambda t: 1) -> list[dict]:
    """POST /v1/leases bodies: each customer of these events signs a wide lease for each lease they name
    (only customers whose keys the tests hold, CUSTOMER_KEYS)."""
    from contracts.lease import LeaseError
    from metering.leases import lease_body

    out = []
    for lid, (kind, cls, cust, prov, t) in leases_for(events).items():
        kp = CUSTOMER_KEYS.get(cust)
        if kp is None:
            continue
        try:
            out.append(lease_body(wide_lease(lid, kp, prov, kind=kind, rclass=cls or "H100",
                                             price_book_version=book_version(t), program_id=program_id), kp))
        except (LeaseError, ValueError):
            continue  # not a lease anyone can sign (a fuzzed id, say): its events are refused
    return out


def sign_leases_for(engine, events, program_id: str | None = None) -> None:
    """The customers of these events sign their leases and the meter stores them (the real signature and
    acceptance path). A lease the meter refuses (an unregistered provider, a lease id already stored with
    other terms) is left unsigned: its events are then refused, which is what a test of those cases expects."""
    from contracts import DEFAULT_PROGRAM_ID
    from metering.leases import LeaseRefused, accept_lease, book_at, price_books

    if not leases_for(events):
        return
    with engine.connect() as conn:
        books = price_books(conn)
    for body in lease_bodies_for(events, program_id, lambda t: book_at(books, t).version):
        try:
            accept_lease(engine, body["encoding"], body["signature"], program_id or DEFAULT_PROGRAM_ID, 0)
        except LeaseRefused:
            continue


class EventFactory:
    def __init__(self, provider: Keypair, customer: str):
        self.provider = str(provider.pubkey())
        self.customer = customer
        self.source = f"/providers/{self.provider}/agent"

    def _env(self, eid, type_, t_ms, data, subject=None):
        return {"specversion": "1.0", "id": eid, "source": self.source, "type": type_,
                "subject": subject or self.customer, "time": iso(t_ms), "data": data}

    def hb(self, lease, t_ms, count=1, cls="H100", eid=None, interval_ms=30_000, **kw):
        return self._env(eid or f"{lease}:hb:{t_ms}", GPU_HEARTBEAT, t_ms,
                         {"lease_id": lease, "provider": self.provider, "gpu_class": cls, "gpu_count": count,
                          "interval_ms": interval_ms}, **kw)

    def stop(self, lease, t_ms, eid=None, **kw):
        return self._env(eid or f"{lease}:stop", GPU_STOP, t_ms, {"lease_id": lease, "provider": self.provider}, **kw)

    def sample(self, bucket, t_ms, nbytes, cls="STANDARD", eid=None, **kw):
        return self._env(eid or f"{bucket}:s:{t_ms}", STORAGE_SAMPLE, t_ms,
                         {"bucket": bucket, "provider": self.provider, "storage_class": cls, "bytes": nbytes}, **kw)

    def egress(self, res, t_ms, nbytes, eid=None, **kw):
        return self._env(eid or f"{res}:e:{t_ms}", EGRESS, t_ms,
                         {"resource": res, "provider": self.provider, "bytes": nbytes}, **kw)


class Poster:
    """Signs and posts like an agent does."""

    def __init__(self, client, clock, kp):
        self.client, self.clock, self.kp = client, clock, kp

    def post(self, events, batch=None, kp=None, path=None, headers=None, raw=None, sign_leases=True, evidence=True):
        batch = isinstance(events, list) if batch is None else batch
        path = path or ("/v1/events/batch" if batch else "/v1/events")
        body = raw if raw is not None else json.dumps(events).encode()
        self.clock.t += 1  # a fresh timestamp per request, as a real agent has (else it is a replay)
        h = sign_request(kp or self.kp, "POST", path, body, self.clock())
        if batch and evidence:  # the provider-signed evidence groups, as the agent sends them
            ev = sign_request_groups(kp or self.kp, body)
            if ev is not None:
                h[H_EVIDENCE] = ev
        if headers is not None:
            h = headers
        ct = "application/cloudevents-batch+json" if batch else "application/cloudevents+json"
        if sign_leases:
            sign_leases_for(self.client.app.state.engine, events, self.client.app.state.cfg.program_id)
        return self.client.post(path, content=body, headers={**h, "content-type": ct})


def ingest_direct(ingestor, provider_pubkey: str, events: list, now_ms: int, sign_leases: bool = True):
    """Ingest already-built event dicts without HTTP (the signature check is HTTP's job, tested there)."""
    from metering.auth import SignedRequest
    from metering.ingest.parse import parse_body

    import uuid

    if sign_leases:
        sign_leases_for(ingestor.engine, events, ingestor.cfg.program_id)
    items = parse_body(json.dumps(events).encode(), batch=True, max_batch=100_000, max_body_bytes=1 << 30)
    return ingestor.ingest(SignedRequest(provider_pubkey, now_ms, f"test-sig-{uuid.uuid4().hex}"), items, now_ms)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ServerThread:
    """A real uvicorn server on 127.0.0.1 in a thread; stop() and start() again on the same port."""

    def __init__(self, app, port: int):
        self.app, self.port = app, port
        self.server = self.thread = None

    def start(self):
        import threading
        import time

        import uvicorn

        self.server = uvicorn.Server(uvicorn.Config(self.app, host="127.0.0.1", port=self.port, log_level="warning",
                                                    lifespan="off"))
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("uvicorn did not start")
            time.sleep(0.01)
        return self

    def stop(self):
        self.server.should_exit = True
        self.thread.join(20)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"
