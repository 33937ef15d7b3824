"""The auditor against the real metering service: usage ingested, windows sealed into receipts signed by the
meter, batched, posted on a real localnet and settled; then receipts fetched from the meter's read API are
verified against the chain. What the API says is only a claim: an operator who edits the meter's database
is caught."""
from __future__ import annotations

import json
from dataclasses import replace
from datetime import datetime, timezone

import pytest
from fastapi.testclient import TestClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import select, update

from auditor.api import MeterApi
from auditor.audits import ChainFacts, audit_batch, audit_channel, audit_receipt
from auditor.chain import ChainReader
from contracts import DEFAULT_PROGRAM_ID
from contracts.receipt import receipt_id

import auditor_scenario as scenario

localnet = pytest.importorskip("localnet")
metering_api = pytest.importorskip("metering.api")

from ledger.db import make_engine, migrate  # noqa: E402
from metering.batches import build_batch, mark_posted  # noqa: E402
from metering.config import MeterConfig  # noqa: E402
from metering.events import EGRESS, GPU_HEARTBEAT  # noqa: E402
from metering.ingest import Ingestor, parse_body  # noqa: E402
from metering.auth import SignedRequest  # noqa: E402
from metering.models import ReceiptRow  # noqa: E402
from metering.receipts import Sealer  # noqa: E402
from metering.registry import add_provider  # noqa: E402
from contracts.lease import GpuResource, Lease  # noqa: E402
from metering.leases import accept_lease, lease_body  # noqa: E402

PID = Pubkey.from_string(DEFAULT_PROGRAM_ID)
W = 60_000
T0 = 1_794_999_960_000


def _events(provider: str, customer: str, base: int, n: int) -> list[dict]:
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


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("meter")
    node = localnet.start_in_process(ledger_dir=tmp / "ledger", port=0, slot_ms="per-tx", cheats=True)
    engine = make_engine(f"sqlite:///{tmp / 'meter.db'}")
    migrate(engine)
    try:
        meter = Keypair()
        d = scenario.deploy(node.rpc_url, PID, meter)
        cust, prov = str(d.customer.pubkey()), str(d.provider.pubkey())
        cfg = MeterConfig(program_id=DEFAULT_PROGRAM_ID, config_version=1, window_ms=W, grace_ms=10_000)
        add_provider(engine, prov, T0, "provider")
        ing, sealer = Ingestor(engine, cfg), Sealer(engine, cfg, meter)
        base = T0 - 20 * W
        # the customer's consent: a signed lease for the GPUs and one for the egress (metering.leases)
        for lid, res in (("L1", GpuResource("H100", 2)), ("web", GpuResource("H100", 1))):
            lease = Lease(PID, lid, d.customer.pubkey(), d.provider.pubkey(), 1, 10**15, base - W, T0 + 10**9,
                          lid.encode().ljust(16, b"\0"), res)
            body = lease_body(lease, d.customer)
            accept_lease(engine, body["encoding"], body["signature"], DEFAULT_PROGRAM_ID, T0)
        items = parse_body(json.dumps(_events(prov, cust, base, 12)).encode(), batch=True,
                           max_batch=10_000, max_body_bytes=1 << 24)
        assert ing.ingest(SignedRequest(prov, T0, "sig-1"), items, T0).status_code == 200
        posted = []
        # two sealing rounds, each closed into a batch that goes on-chain like the crank posts it
        for until in (base + 3 * W, base + 6 * W + 10_000):
            sealer.seal_due(until + cfg.grace_ms)
            b = build_batch(engine, str(meter.pubkey()), T0)
            assert b is not None
            index = d.post_batch(meter, b.root, b.count, b.total)
            mark_posted(engine, b.id, f"onchain-{index}", T0)
            posted.append((b, index))
        app = metering_api.create_app(engine, cfg, meter, clock=lambda: T0)
        with TestClient(app) as http:
            api = MeterApi("http://meter", client=http, keypair=meter, clock=lambda: T0)  # the meter key reads all
            rs = api.channel_receipts(cust, prov)
            # settle the last receipt of the first batch (the crank's job), using the API's proof
            first_batch_last = max((s for s in rs if s.batch == posted[0][0].id), key=lambda s: s.receipt.seq)
            d.settle(posted[0][1], first_batch_last.receipt, first_batch_last.proof)
            yield dict(node=node, engine=engine, d=d, api=api, receipts=rs, posted=posted, meter=meter)
    finally:
        engine.dispose()
        node.stop()


@pytest.fixture
def facts(world):
    return ChainFacts(ChainReader.connect(world["node"].rpc_url, PID))


def test_receipts_from_the_api_audit_clean(world, facts):
    rs = world["receipts"]
    assert len(rs) >= 4 and [s.receipt.seq for s in rs] == list(range(1, len(rs) + 1))
    for i, s in enumerate(rs):
        fetched = world["api"].receipt(s.receipt_id.hex())
        assert fetched == s
        rep = audit_receipt(facts, fetched, rs[i - 1] if i else None)
        assert rep.ok, rep.render()
    # API batch ids start at 1, on-chain indexes at 0: the auditor binds receipts to batches by root
    assert world["posted"][0][0].id != world["posted"][0][1]


def test_channel_and_batches_from_the_api_audit_clean(world, facts):
    d = world["d"]
    rep = audit_channel(facts, d.customer.pubkey(), d.provider.pubkey(), world["receipts"])
    assert rep.ok, rep.render()
    assert sum(c.name == "settlement.split" and c.status == "pass" for c in rep.checks) == 1
    for b, index in world["posted"]:
        doc = world["api"].batch_by_root(b.root)
        members = [world["api"].receipt(rid) for rid in doc["receipt_ids"]]
        rep = audit_batch(facts, index, members, lambda rid: world["api"].receipt(rid.hex()))
        assert rep.ok, rep.render()
        assert next(c for c in rep.checks if c.name == "batch.total").status == "pass"


def test_an_edited_meter_database_is_caught(world, facts):
    """The operator rewrites a receipt in the meter's database (a higher cumulative, its id recomputed so the
    API stays self-consistent): the API serves it, the chain refutes it."""
    engine = world["engine"]
    RR = ReceiptRow.__table__
    victim = world["receipts"][1]
    forged = replace(victim.receipt, cum_amount=victim.receipt.cum_amount + 1_000)
    enc = forged.encode()
    with engine.begin() as c:
        c.execute(update(RR).where(RR.c.receipt_id == victim.receipt_id).values(
            encoding=enc, receipt_id=receipt_id(enc), cum_amount=forged.cum_amount))
    try:
        served = world["api"].receipt(receipt_id(enc).hex())
        assert served is not None and served.receipt.cum_amount == forged.cum_amount
        assert {"receipt.signature", "receipt.inclusion"} <= audit_receipt(facts, served).failed_names()
    finally:
        with engine.begin() as c:
            c.execute(update(RR).where(RR.c.receipt_id == receipt_id(enc)).values(
                encoding=victim.receipt.encode(), receipt_id=victim.receipt_id, cum_amount=victim.receipt.cum_amount))
        with engine.connect() as c:
            assert c.execute(select(RR.c.id).where(RR.c.receipt_id == victim.receipt_id)).first() is not None


@pytest.fixture
def served_api(world):
    """The meter's read API on a real uvicorn server (127.0.0.1, a free port) for the command line."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cfg = MeterConfig(program_id=DEFAULT_PROGRAM_ID, config_version=1, window_ms=W, grace_ms=10_000)
    # the wall clock (the create_app default): the command line signs its reads with it
    app = metering_api.create_app(world["engine"], cfg, world["meter"])
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off"))
    t = threading.Thread(target=server.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and t.is_alive(), "uvicorn did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    t.join(20)


def test_cli_fetches_from_the_api_and_verifies(world, served_api, isolated_env, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from auditor.cli import app
    from solmeter.keys import write_keypair

    monkeypatch.setenv("SOLMETER_RPC_URL", world["node"].rpc_url)
    monkeypatch.setenv("SOLMETER_PROGRAM_ID", DEFAULT_PROGRAM_ID)
    run = CliRunner().invoke
    rs, d = world["receipts"], world["d"]
    res = run(app, ["receipt", rs[2].receipt_id.hex(), "--prev", rs[1].receipt_id.hex(), "--api", served_api])
    assert res.exit_code == 0, res.output
    assert "receipt.inclusion" in res.output and "CLEAN" in res.output
    channel = ["channel", str(d.customer.pubkey()), str(d.provider.pubkey()), "--api", served_api]
    res = run(app, channel)  # a channel's receipt list is private to its parties and the operator
    assert res.exit_code == 1 and "HTTP 401" in res.output and "sign with -k" in res.output, res.output
    write_keypair(tmp_path / "customer.json", d.customer)
    res = run(app, channel + ["-k", str(tmp_path / "customer.json"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["ok"] is True
    for _b, index in world["posted"]:
        res = run(app, ["batch", str(index), "--api", served_api])
        assert res.exit_code == 0, res.output
    res = run(app, ["receipt", "ab" * 32, "--api", served_api])
    assert res.exit_code == 1 and "has no receipt" in res.output


def test_audit_all_with_the_api(world, facts):
    from auditor.audits import audit_all

    reports = audit_all(facts, world["api"])
    assert [r.kind for r in reports] == ["channel", "batch", "batch", "customer", "provider", "epoch"]
    assert all(r.ok for r in reports), "\n".join(r.render() for r in reports)
    assert all(any(c.name == "batch.total" and c.status == "pass" for c in r.checks)
               for r in reports if r.kind == "batch")


def test_audit_all_unsigned_checks_channels_from_the_chain_and_batches_from_public_data(world, facts):
    from auditor.audits import audit_all

    cfg = MeterConfig(program_id=DEFAULT_PROGRAM_ID, config_version=1, window_ms=W, grace_ms=10_000)
    app = metering_api.create_app(world["engine"], cfg, world["meter"], clock=lambda: T0)
    with TestClient(app) as http:
        reports = audit_all(facts, MeterApi("http://meter", client=http))  # no key: a stranger's audit
    channel = next(r for r in reports if r.kind == "channel")
    note = next(c for c in channel.checks if c.name == "channel.receipts")
    assert note.status == "skip" and "HTTP 401" in note.detail and "sign with -k" in note.detail
    assert not channel.failures, channel.render()
    batches = [r for r in reports if r.kind == "batch"]
    assert len(batches) == 2 and all(r.ok for r in batches), "\n".join(r.render() for r in batches)
