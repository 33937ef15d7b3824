"""The auditor against the real metering service: usage ingested, windows sealed into receipts signed by the
meter, batched, posted on a real localnet and settled; then receipts fetched from the meter's read API are
verified against the chain. What the API says is only a claim: an operator who edits the meter's database
is caught."""
from __future__ import annotations

import json
from dataclasses import replace

import pytest
from sqlalchemy import select, update

from auditor.audits import ChainFacts, api_members, audit_batch, audit_channel, audit_receipt
from auditor.chain import ChainReader
from contracts import DEFAULT_PROGRAM_ID
from contracts.receipt import receipt_id

localnet = pytest.importorskip("localnet")
pytest.importorskip("metering.api")

import meter_world  # noqa: E402
from metering.models import ReceiptRow  # noqa: E402

PID, T0 = meter_world.PID, meter_world.T0


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with meter_world.build(tmp_path_factory.mktemp("meter")) as w:
        yield w


@pytest.fixture
def facts(world):
    return ChainFacts(ChainReader.connect(world["node"].rpc_url, PID))


def test_receipts_from_the_api_audit_clean(world, facts):
    rs = world["receipts"]
    assert len(rs) >= 4 and [s.receipt.seq for s in rs] == list(range(1, len(rs) + 1))
    for i, s in enumerate(rs):
        fetched = world["api"].receipt(s.receipt_id.hex())
        assert fetched == s
        rep = audit_receipt(facts, fetched, rs[i - 1] if i else None, consent=world["api"].consent([fetched]))
        assert rep.ok, rep.render()
        assert {c.name: c.status for c in rep.checks}["lease.lines"] == "pass"  # under the signed leases
    # API batch ids start at 1, on-chain indexes at 0: the auditor binds receipts to batches by root
    assert world["posted"][0][0].id != world["posted"][0][1]


def test_channel_and_batches_from_the_api_audit_clean(world, facts):
    d = world["d"]
    rep = audit_channel(facts, d.customer.pubkey(), d.provider.pubkey(), world["receipts"], api_members(world["api"]),
                        consent=world["api"].consent(world["receipts"]))
    assert rep.ok, rep.render()
    assert rep.facts["committed_seq"] == world["receipts"][-1].receipt.seq
    assert [c.status for c in rep.checks if c.name == "lease.cap"] == ["pass"]
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
    with meter_world.serve(world) as url:
        yield url


def test_cli_fetches_from_the_api_and_verifies(world, served_api, isolated_env, monkeypatch, tmp_path):
    from typer.testing import CliRunner

    from solmeter.commands.audit import app
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
    assert "or audit the settlements and the channel account without them: --chain-only" in res.output
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

    from fastapi.testclient import TestClient

    from auditor.api import MeterApi
    from metering import api as metering_api

    app = metering_api.create_app(world["engine"], meter_world.meter_config(), world["meter"], clock=lambda: T0)
    with TestClient(app) as http:
        reports = audit_all(facts, MeterApi("http://meter", client=http))  # no key: a stranger's audit
    channel = next(r for r in reports if r.kind == "channel")
    note = next(c for c in channel.checks if c.name == "channel.receipts")
    # fail closed: receipts it may not read are NOT VERIFIED (never clean), its settlements still verified
    assert note.status == "pending" and "HTTP 401" in note.detail and "sign with -k" in note.detail
    assert not channel.failures, channel.render()
    batches = [r for r in reports if r.kind == "batch"]
    assert len(batches) == 2 and all(r.ok for r in batches), "\n".join(r.render() for r in batches)


def test_a_receipt_whose_lease_the_meter_does_not_serve_fails_naming_it(world, facts):
    from sqlalchemy import delete

    from metering.models import CustomerLease

    rs = world["receipts"]
    gpu = next(s for s in rs if any("L1" in (ln.get("leases") or [])
                                    for ln in world["api"]._get(f"/v1/receipts/{s.receipt_id.hex()}")["detail"]["lines"]))
    with world["engine"].begin() as c:
        saved = c.execute(CustomerLease.__table__.select().where(CustomerLease.__table__.c.lease_id == "L1")).first()
        c.execute(delete(CustomerLease.__table__).where(CustomerLease.__table__.c.lease_id == "L1"))
    try:
        rep = audit_receipt(facts, gpu, None, consent=world["api"].consent([gpu]))
        bad = [c for c in rep.checks if c.name == "lease.lines"]
        assert not rep.ok and bad[0].status == "fail" and "lease L1 is not served" in bad[0].detail
    finally:
        with world["engine"].begin() as c:
            c.execute(CustomerLease.__table__.insert().values(**saved._mapping))


def test_audit_receipt_takes_a_unique_id_prefix_of_the_wallets_receipts(world, served_api, isolated_env,
                                                                         monkeypatch, tmp_path):
    """`solmeter customer receipts` prints whole ids; `audit receipt` also takes a unique prefix (>= 8 hex),
    resolved among the signing wallet's own receipts (their list is private: no public prefix search)."""
    from typer.testing import CliRunner

    from solmeter.commands.audit import app
    from solmeter.keys import write_keypair

    monkeypatch.setenv("SOLMETER_RPC_URL", world["node"].rpc_url)
    monkeypatch.setenv("SOLMETER_PROGRAM_ID", DEFAULT_PROGRAM_ID)
    run = CliRunner().invoke
    rs, d = world["receipts"], world["d"]
    ids = [s.receipt_id.hex() for s in rs]
    target = ids[2]
    prefix = next(target[:n] for n in range(8, 64) if sum(i.startswith(target[:n]) for i in ids) == 1)
    cust = tmp_path / "customer.json"
    write_keypair(cust, d.customer)
    res = run(app, ["receipt", prefix.upper(), "--prev", ids[1][:12], "--api", served_api, "-k", str(cust), "--json"])
    assert res.exit_code == 0, res.output
    whole = run(app, ["receipt", target, "--prev", ids[1], "--api", served_api, "--json"])
    assert json.loads(res.stdout) == json.loads(whole.stdout)  # the same audit as with the whole ids
    # another wallet's prefix search does not see this customer's receipts
    stranger = tmp_path / "stranger.json"
    from solders.keypair import Keypair

    write_keypair(stranger, Keypair())
    res = run(app, ["receipt", prefix, "--api", served_api, "-k", str(stranger)])
    assert res.exit_code == 1 and "has an id starting with" in res.output
    res = run(app, ["receipt", "0123456", "--api", served_api, "-k", str(cust)])  # 7 hex: not a prefix, not a file
    assert res.exit_code == 1


def test_an_ambiguous_receipt_prefix_lists_the_candidates():
    from solmeter.commands.audit import pick_by_prefix

    a, b, c = "ab12" + "0" * 60, "ab12" + "1" * 60, "cd" + "2" * 62
    assert pick_by_prefix("AB120", [a, b, c], "W") == a
    with pytest.raises(ValueError) as e:
        pick_by_prefix("ab12", [a, b, c], "W")
    assert str(e.value) == f"receipt id prefix ab12 is ambiguous: 2 receipts match: {a}, {b}"
    with pytest.raises(ValueError, match="no receipt of W has an id starting with ef"):
        pick_by_prefix("ef", [a, b, c], "W")


def test_a_receipt_id_prefix_without_any_keypair_says_what_works_without_one(isolated_env, monkeypatch, tmp_path):
    """An auditor holds no keys: a prefix is looked up among a wallet's receipts, so say to give the whole
    (public) id or -k a party's key, not that the default keypair file does not exist."""
    from typer.testing import CliRunner

    from solmeter.commands.audit import app

    monkeypatch.setenv("SOLMETER_DATA_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("SOLMETER_PROGRAM_ID", DEFAULT_PROGRAM_ID)
    res = CliRunner().invoke(app, ["receipt", "c9132c0be427"])
    assert res.exit_code == 1 and len(res.output.strip().splitlines()) == 1, res.output
    assert "receipt id prefix c9132c0be427 is looked up among a wallet's receipts and no keypair was given" in res.output
    assert "give the whole 64-hex id (receipts by id are public), or -k the customer's or the provider's keypair" \
        in res.output
