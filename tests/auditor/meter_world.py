"""The real metering service in front of a real localnet, shared by the tests that audit what its API serves:
usage ingested, windows sealed into receipts signed by the meter, batched and posted on-chain like the crank
does, the last receipt of the first batch settled; optionally a last sealing round left unbatched (receipts
the meter signed but never committed, as in the demo)."""
from __future__ import annotations

import json
import socket
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Iterator

from fastapi.testclient import TestClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey

import localnet
import metering.api as metering_api
from auditor.api import MeterApi
from contracts import DEFAULT_PROGRAM_ID
from db import make_engine, migrate
from metering.auth import SignedRequest
from metering.batches import build_batch, mark_posted
from metering.config import MeterConfig
from metering.events import EGRESS, GPU_HEARTBEAT
from metering.agents.evidence import sign_request_groups
from metering.ingest.parse import parse_body
from metering.ingest.service import Ingestor
from metering.receipts import Sealer
from metering.registry import add_provider
from metering.rollup.pricing import DEFAULT_PRICE_BOOK, PriceBook

import auditor_scenario as scenario

PID = Pubkey.from_string(DEFAULT_PROGRAM_ID)
W = 60_000
T0 = 1_794_999_960_000


def meter_config() -> MeterConfig:
    return MeterConfig(program_id=DEFAULT_PROGRAM_ID, config_version=1, window_ms=W, grace_ms=10_000)


def usage_events(provider: str, customer: str, base: int, n: int) -> list[dict]:
    def iso(ms):
        return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace(
            "+00:00", "Z")

    src = f"/providers/{provider}/agent"
    out = []
    for i in range(n):
        t = base + i * 30_000
        out.append({"specversion": "1.0", "id": f"hb{i}", "source": src, "type": GPU_HEARTBEAT, "subject": customer,
                    "time": iso(t), "data": {"lease_id": "L1", "provider": provider, "gpu_class": "H100",
                                             "gpu_count": 2, "interval_ms": 30_000}})
        if i % 3 == 0:
            out.append({"specversion": "1.0", "id": f"eg{i}", "source": src, "type": EGRESS, "subject": customer,
                        "time": iso(t + 1), "data": {"resource": "web", "provider": provider, "bytes": 1 << 20}})
    return out


def sign_leases(engine, customer: Keypair, provider: Keypair) -> None:
    """The customer's consent to what usage_events reports: GPU lease L1 and the storage lease web (its egress)."""
    from contracts.lease import GpuResource, Lease, StorageResource
    from metering.leases import accept_lease, lease_body

    for lid, res in (("L1", GpuResource("H100", 2)), ("web", StorageResource("web", {"STANDARD": 0}))):
        lease = Lease(PID, lid, customer.pubkey(), provider.pubkey(), 1, 10**9, T0 - 60 * W, T0 + 60 * W,
                      lid.encode().ljust(16, b"."), res)
        body = lease_body(lease, customer)
        accept_lease(engine, body["encoding"], body["signature"], DEFAULT_PROGRAM_ID, T0)


def publish_on_chain(d, book: PriceBook) -> None:
    """The admin commits a price book version by the sha256 of its file (publish_price_book)."""
    d.ch.send([d.prog.publish_price_book(admin=d.admin.pubkey(), version=book.version, sha256=book.sha256())],
              [d.admin])


@contextmanager
def build(tmp: Path, unbatched_round: bool = False, before_seal=None, before_batch=None) -> Iterator[dict]:
    """`before_seal(engine, deployment)` runs once the meter's database exists, before anything is sealed;
    by default (None) the meter prices with its default book, whose file the admin commits on-chain.
    `before_batch(engine, meter, round)` runs after each sealing round, before its batch is built (an operator
    editing what its meter signed)."""
    node = localnet.start_in_process(ledger_dir=tmp / "ledger", port=0, slot_ms="per-tx", cheats=True)
    engine = make_engine(f"sqlite:///{tmp / 'meter.db'}")
    migrate(engine)
    try:
        meter = Keypair()
        d = scenario.deploy(node.rpc_url, PID, meter)
        cust, prov = str(d.customer.pubkey()), str(d.provider.pubkey())
        cfg = meter_config()
        add_provider(engine, prov, T0, "provider")
        if before_seal is not None:
            before_seal(engine, d)
        else:
            publish_on_chain(d, DEFAULT_PRICE_BOOK)
        sign_leases(engine, d.customer, d.provider)
        ing, sealer = Ingestor(engine, cfg), Sealer(engine, cfg, meter)
        base = T0 - 20 * W
        events = usage_events(prov, cust, base, 24 if unbatched_round else 12)
        raw = json.dumps(events).encode()
        items = parse_body(raw, batch=True, max_batch=10_000, max_body_bytes=1 << 24)
        # with the provider-signed evidence groups an agent sends (X-Solmeter-Evidence)
        signed_req = SignedRequest(prov, T0, "sig-1", evidence=sign_request_groups(d.provider, raw))
        assert ing.ingest(signed_req, items, T0).status_code == 200
        posted = []
        # two sealing rounds, each closed into a batch that goes on-chain like the crank posts it
        for until in (base + 3 * W, base + 6 * W + 10_000):
            sealer.seal_due(until + cfg.grace_ms)
            if before_batch is not None:
                before_batch(engine, meter, len(posted))
            b = build_batch(engine, str(meter.pubkey()), T0)
            assert b is not None
            index = d.post_batch(meter, b.root, b.count, b.total)
            mark_posted(engine, b.id, f"onchain-{index}", T0)
            posted.append((b, index))
        if unbatched_round:  # sealed and signed, never batched
            assert sealer.seal_due(base + 12 * W + cfg.grace_ms).receipts > 0
        app = metering_api.create_app(engine, cfg, meter, clock=lambda: T0)
        with TestClient(app) as http:
            api = MeterApi("http://meter", client=http, keypair=meter, clock=lambda: T0)  # the meter key reads all
            rs = api.channel_receipts(cust, prov)
            # settle the last receipt of the first batch (the crank's job), using the API's proof
            first_batch_last = max((s for s in rs if s.batch == posted[0][0].id), key=lambda s: s.receipt.seq)
            d.settle(posted[0][1], first_batch_last.receipt, first_batch_last.proof)
            meter_key = tmp / "meter-key.json"  # for the command line's signed reads (-k): the meter key reads all
            meter_key.write_text(json.dumps(list(bytes(meter))))
            meter_key.chmod(0o600)
            yield dict(node=node, engine=engine, d=d, api=api, receipts=rs, posted=posted, meter=meter,
                       meter_key=str(meter_key),
                       settled_seq=first_batch_last.receipt.seq)
    finally:
        engine.dispose()
        node.stop()


SIGNED_COMMANDS = ("channel", "all", "bill")  # the audit commands that read private receipt lists


def signed(world: dict, args: list[str]) -> list[str]:
    """`solmeter audit` arguments with the meter key to sign the reads, where the command reads them."""
    return [*args, "-k", world["meter_key"]] if args and args[0] in SIGNED_COMMANDS else list(args)


@contextmanager
def serve(world: dict) -> Iterator[str]:
    """The meter's read API on a real uvicorn server (127.0.0.1, a free port) for the command line."""
    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    # the wall clock (the create_app default): the command line signs its reads with it
    app = metering_api.create_app(world["engine"], meter_config(), world["meter"])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not server.started:  # uvicorn's own readiness flag (the deadline only bounds a broken start)
        assert time.monotonic() < deadline and t.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        t.join(20)
