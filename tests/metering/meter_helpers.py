"""Shared helpers of the metering tests (a unique module name: tests/ has no packages)."""
import json
from datetime import datetime, timezone

from solders.keypair import Keypair

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

    def post(self, events, batch=None, kp=None, path=None, headers=None, raw=None):
        batch = isinstance(events, list) if batch is None else batch
        path = path or ("/v1/events/batch" if batch else "/v1/events")
        body = raw if raw is not None else json.dumps(events).encode()
        self.clock.t += 1  # a fresh timestamp per request, as a real agent has (else it is a replay)
        h = sign_request(kp or self.kp, "POST", path, body, self.clock())
        if headers is not None:
            h = headers
        ct = "application/cloudevents-batch+json" if batch else "application/cloudevents+json"
        return self.client.post(path, content=body, headers={**h, "content-type": ct})


def ingest_direct(ingestor, provider_pubkey: str, events: list, now_ms: int):
    """Ingest already-built event dicts without HTTP (the signature check is HTTP's job, tested there)."""
    from metering.auth import SignedRequest
    from metering.ingest import parse_body

    import uuid

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
