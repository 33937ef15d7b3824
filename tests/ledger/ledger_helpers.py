"""Shared helpers of the ledger tests (a unique module name: tests/ has no packages): a localnet node, a
bootstrapped deployment, and a meter that turns GPU heartbeats into real signed receipts and batches
through metering's own ingest, sealer and batcher."""
from __future__ import annotations

import itertools
import json
import socket
from datetime import datetime, timezone

from solders.keypair import Keypair

_sig = itertools.count(1)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(ledger_dir, port=None, ws_port=None):
    """A localnet on free ports; other suites run beside this one, so a port taken between the probe and
    the bind is retried with fresh ones (fixed ports, as for a restart, are used as given)."""
    import localnet

    for attempt in range(5):
        p, w = port or free_port(), ws_port or free_port()
        try:
            h = localnet.start_in_process(ledger_dir=ledger_dir, port=p, ws_port=w)
        except OSError:
            if (port and ws_port) or attempt == 4:
                raise
            continue
        h.port, h.ws_port, h.ledger_dir = p, w, ledger_dir
        return h


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def one_batch_of_usage(c, dep, meter_sim: "MeterSim", prov: Keypair, cust: Keypair) -> None:
    """A registered provider (1 token staked) and customer (50 tokens in escrow) of funded wallets, with the
    channel open, and ten minutes of GPU usage three hours ago sealed into receipts and one batch: what a crank
    then posts and settles."""
    import time

    from ledger.ops import roles

    roles.register_provider(c, dep, prov)
    roles.stake(c, dep, prov, 10**6)
    roles.register_customer(c, dep, cust)
    roles.deposit(c, dep, cust, 50 * 10**6)
    roles.open_channels(c, dep, cust, [prov.pubkey()])
    base = (int(time.time() * 1000) - 3 * 3_600_000) // 60_000 * 60_000
    meter_sim.heartbeats(prov, cust, "lease-1", base, 10)
    meter_sim.seal_and_batch(base + 8 * 60_000)


class MeterSim:
    """The real metering pipeline (Ingestor -> Sealer -> build_batch) on the shared database."""

    def __init__(self, engine, meter: Keypair, program_id: str, window_ms: int = 60_000):
        from metering.config import MeterConfig
        from metering.ingest.service import Ingestor
        from metering.receipts import Sealer

        self.engine = engine
        self.meter = meter
        self.cfg = MeterConfig(program_id=program_id, window_ms=window_ms, grace_ms=0)
        self.ingestor = Ingestor(engine, self.cfg)
        self.sealer = Sealer(engine, self.cfg, meter)
        self._registered: set[str] = set()

    def heartbeats(self, provider: Keypair, customer: Keypair | str, lease: str, start_ms: int, n: int,
                   interval_ms: int = 30_000, gpus: int = 1, gpu_class: str = "H100", now_ms: int | None = None):
        from metering.auth import SignedRequest
        from metering.events import GPU_HEARTBEAT
        from metering.agents.evidence import sign_request_groups  # the provider-signed evidence, as agents send it
        from metering.ingest.parse import parse_body
        from metering.registry import add_provider

        p = str(provider.pubkey())
        if p not in self._registered:
            add_provider(self.engine, p, start_ms)
            self._registered.add(p)
        if isinstance(customer, Keypair):  # the customer consents first: it signs the lease it is billed under
            self.sign_lease(customer, provider, lease, gpu_class, gpus, start_ms, start_ms + (n + 1) * interval_ms)
            customer = str(customer.pubkey())
        evs = [{"specversion": "1.0", "id": f"{lease}:hb:{start_ms + i * interval_ms}",
                "source": f"/providers/{p}/agent", "type": GPU_HEARTBEAT, "subject": customer,
                "time": iso(start_ms + i * interval_ms),
                "data": {"lease_id": lease, "provider": p, "gpu_class": gpu_class, "gpu_count": gpus,
                         "interval_ms": interval_ms}} for i in range(n)]
        now = now_ms if now_ms is not None else start_ms + n * interval_ms
        raw = json.dumps(evs).encode()
        items = parse_body(raw, batch=True, max_batch=100_000, max_body_bytes=1 << 30)
        out = self.ingestor.ingest(SignedRequest(p, now, f"ledger-test-{next(_sig)}",
                                                 evidence=sign_request_groups(provider, raw)), items, now)
        return out

    def sign_lease(self, customer: Keypair, provider: Keypair, lease_id: str, gpu_class: str, gpus: int,
                   start_ms: int, expiry_ms: int, cap: int = (1 << 64) - 1):
        """A GPU lease signed by `customer` for `provider`, stored by the meter (its real acceptance path)."""
        from solders.pubkey import Pubkey

        from contracts.lease import GpuResource, Lease
        from metering.leases import accept_lease, book_at, lease_body, price_books

        with self.engine.connect() as conn:
            version = book_at(price_books(conn), start_ms).version
        lease = Lease(Pubkey.from_string(self.cfg.program_id), lease_id, customer.pubkey(), provider.pubkey(), version,
                      cap, start_ms, expiry_ms, lease_id.encode()[:16].ljust(16, b"."), GpuResource(gpu_class, gpus))
        body = lease_body(lease, customer)
        return accept_lease(self.engine, body["encoding"], body["signature"], self.cfg.program_id, start_ms)

    def seal_and_batch(self, now_ms: int):
        from metering.batches import build_batch

        self.sealer.seal_due(now_ms)
        return build_batch(self.engine, str(self.meter.pubkey()), now_ms)
