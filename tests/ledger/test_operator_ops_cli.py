"""The operator's view of failures through the real `solmeter` CLI against the embedded localnet: `airdrop`,
`operator init` funding the meter key, `operator status` (the meter key's SOL and the batches it still pays
for), `operator jobs` with the count and cause of a failing job, `operator intents list|retry`."""
from __future__ import annotations

import json

import pytest
from solders.keypair import Keypair
from solders.system_program import TransferParams, transfer
from typer.testing import CliRunner

from ledger_helpers import MeterSim, one_batch_of_usage, start_node


@pytest.fixture
def cli(isolated_env, monkeypatch):
    from solmeter.cli import app

    node = start_node(isolated_env / "chain")
    monkeypatch.setenv("SOLMETER_RPC_URL", node.rpc_url)
    monkeypatch.setenv("SOLMETER_DATA_DIR", str(isolated_env / "data"))
    runner = CliRunner()

    def run(*args, ok=True):
        res = runner.invoke(app, list(args), catch_exceptions=False)
        if ok:
            assert res.exit_code == 0, res.output
        return res
    run.node = node
    yield run
    node.stop()


def test_airdrop_on_the_localnet_and_a_one_line_refusal_elsewhere(cli):
    from ledger.engine.chain import RpcChain

    who = Keypair().pubkey()
    out = cli("airdrop", "2.5", str(who)).output
    assert out.strip() == f"2.5 SOL airdropped to {who}; balance 2.5 SOL"
    assert RpcChain(cli.node.rpc_url).lamports(who) == 2_500_000_000
    bad = cli("airdrop", "1.0000000001", str(who), ok=False)
    assert bad.exit_code == 1 and "more than 9 decimal places" in bad.output
    res = cli("-u", "devnet", "airdrop", "1", str(who), ok=False)
    lines = res.output.strip().splitlines()
    assert res.exit_code == 1 and len(lines) == 1
    assert lines[0].startswith("error: airdrop is for the localnet only") and "https://faucet.solana.com" in lines[0]


def _drain(chain, admin, meter) -> None:
    from ledger.ops.tx import send

    send(chain, admin, [transfer(TransferParams(from_pubkey=meter.pubkey(), to_pubkey=admin.pubkey(),
                                                lamports=chain.lamports(meter.pubkey())))], [meter], what="drain")


def test_a_failing_job_is_shown_with_its_cause_and_its_intent_retried_from_the_cli(cli):
    from contracts import DEFAULT_PROGRAM_ID
    from solmeter.commands import operator as operator_cli
    from solmeter.commands.common import chain, db, deployment, keypair, settings
    from ledger.engine.service import Service
    from ledger.ops import token
    from solmeter.keys import load_keypair

    out = cli("operator", "init", "--arbiter", str(Keypair().pubkey())).output
    assert "meter key" in out and "enough for" in out  # the localnet airdropped to it
    c, dep, admin = chain(), deployment(), keypair()
    meter = load_keypair(settings().resolved_meter_keypair_path)
    st = cli("operator", "status").output
    assert f"meter key {meter.pubkey()}: 10 SOL, pays for " in st and "jobs      0 failing" in st

    # a provider and a customer with an open channel, some usage, a batch; then the meter key loses its SOL
    prov, cust = Keypair(), Keypair()
    for kp in (prov, cust):
        cli("airdrop", "5", str(kp.pubkey()))
        token.mint_to(c, admin, admin, dep.mint_key, kp.pubkey(), 100 * 10**6, dep.decimals)
    engine, sf = db()
    one_batch_of_usage(c, dep, MeterSim(engine, meter, DEFAULT_PROGRAM_ID), prov, cust)
    _drain(c, admin, meter)

    crank = cli("operator", "crank").output
    assert "post_batches     0" in crank and "WARNING: post_batches stopped: meter key" in crank
    svc = Service(sf, operator_cli.settlement_engine(sf).job_specs())
    svc.run_all_once()
    jobs = cli("operator", "jobs").output
    assert "post_batches     runs      1 failures   1" in jobs
    assert f"last error: meter key {str(meter.pubkey())[:4]}…" in jobs and "has 0 SOL" in jobs
    assert "failed 1" in jobs
    st = cli("operator", "status").output
    assert f"meter key {meter.pubkey()}: 0 SOL, pays for 0 more batches" in st and "jobs      1 failing" in st
    sj = json.loads(cli("operator", "status", "--json").output)
    assert sj["meter_key"]["lamports"] == 0 and sj["meter_key"]["batches_left"] == 0
    assert sj["meter_key"]["batch_rent"] > 0 and sj["meter_key"]["needed_for_retention"] > sj["meter_key"]["batch_rent"]
    assert [j["name"] for j in sj["failing_jobs"]] == ["post_batches"] and sj["intents"]["failed"] == 1
    jj = json.loads(cli("operator", "jobs", "--json").output)
    (pb,) = [j for j in jj["jobs"] if j["name"] == "post_batches"]
    assert pb["failures"] == 1 and "has 0 SOL" in pb["last_error"]
    listed = cli("operator", "intents", "list", "--state", "failed").output
    assert "post_batch" in listed and "ResultWithNegativeLamports" in listed and "0x1" not in listed
    intent_id = int(listed.split()[0])

    res = cli("operator", "intents", "retry", "999", ok=False)
    assert res.exit_code == 1 and res.output.strip() == "error: no intent 999"
    res = cli("operator", "intents", "retry", ok=False)
    assert res.exit_code == 1 and "give one intent ID or --all" in res.output
    cli("airdrop", "1", str(meter.pubkey()))
    assert cli("operator", "intents", "retry", str(intent_id)).output.startswith(f"intent {intent_id} reopened")
    res = cli("operator", "intents", "retry", str(intent_id), ok=False)
    assert res.output.strip() == f"error: intent {intent_id} is pending, not failed"
    recs = {r.name: r for r in svc.run_all_once()}
    assert recs["post_batches"].ok and recs["settle_channels"].result["confirmed"] == 1
    assert "jobs      0 failing" in cli("operator", "status").output
    assert cli("operator", "intents", "retry", "--all").output.strip() == "0 failed intent(s) reopened"
