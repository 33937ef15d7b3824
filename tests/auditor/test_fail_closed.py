"""The auditor fails closed on what the metering API serves (issue 15). A real rewriting HTTP proxy on 127.0.0.1
stands in front of the real meter API (uvicorn) and edits its answers the way a dishonest operator would;
`solmeter audit` reads through it. Each attack used to audit CLEAN; now it fails, or says NOT VERIFIED
(exit 1 unless --allow-pending), naming the check."""
from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from auditor.audits import ChainFacts, api_members, audit_all, audit_channel
from auditor.chain import ChainReader
from contracts import DEFAULT_PROGRAM_ID

from proxies import rewriting_proxy

pytest.importorskip("localnet")
pytest.importorskip("metering.api")

import meter_world  # noqa: E402


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    # a last sealing round is left unbatched: receipts signed by the meter, never committed on-chain
    with meter_world.build(tmp_path_factory.mktemp("meter"), unbatched_round=True) as w:
        with meter_world.serve(w) as url:
            w["url"] = url
            yield w


@pytest.fixture
def cli(world, isolated_env, monkeypatch):
    monkeypatch.setenv("SOLMETER_RPC_URL", world["node"].rpc_url)
    monkeypatch.setenv("SOLMETER_PROGRAM_ID", DEFAULT_PROGRAM_ID)
    from solmeter.commands.audit import app

    return lambda args: CliRunner().invoke(app, meter_world.signed(world, args))


def _channel_args(world, api):
    d = world["d"]
    return ["channel", str(d.customer.pubkey()), str(d.provider.pubkey()), "--api", api]


def _batched(world):
    return [s for s in world["receipts"] if s.batch is not None]


def _unbatched(world):
    return [s for s in world["receipts"] if s.batch is None]


def test_the_world_has_settled_committed_and_unbatched_receipts(world):
    rs = world["receipts"]
    assert _unbatched(world) and world["settled_seq"] < max(s.receipt.seq for s in _batched(world))
    assert [s.receipt.seq for s in rs] == list(range(1, len(rs) + 1))


def test_a_different_receipt_than_the_one_requested_fails(world, cli):
    """`audit receipt ID`: the API answers the id asked for with another, perfectly valid receipt."""
    asked, other = _batched(world)[2], _batched(world)[1]
    other_doc = world["api"].http.get(f"/v1/receipts/{other.receipt_id.hex()}").json()

    def swap(method, path, body, status, answer):
        return other_doc if path.startswith(f"/v1/receipts/{asked.receipt_id.hex()}") else answer

    with rewriting_proxy(world["url"], swap) as api:
        res = cli(["receipt", asked.receipt_id.hex(), "--api", api, "--json"])
    doc = json.loads(res.stdout)
    assert res.exit_code == 1 and doc["failed"] == ["receipt.requested"], res.output
    assert doc["target"] == asked.receipt_id.hex()
    with rewriting_proxy(world["url"]) as api:  # the same request through an honest proxy audits clean
        assert cli(["receipt", asked.receipt_id.hex(), "--api", api]).exit_code == 0


def test_an_empty_receipt_list_for_a_settled_channel_fails(world, cli):
    def empty(method, path, body, status, answer):
        return {"receipts": []} if path.startswith("/v1/receipts?") else answer

    with rewriting_proxy(world["url"], empty) as api:
        res = cli(_channel_args(world, api) + ["--json"])
    doc = json.loads(res.stdout)
    assert res.exit_code == 1
    assert {"chain.covers_settled", "chain.covers_committed", "settlement.inclusion"} <= set(doc["failed"]), res.output


def test_hiding_the_newest_committed_receipts_fails(world, cli):
    """The list stops at the settled seq: every receipt shown is settled and valid, and the newest ones, signed
    and posted on-chain in batch 2 (not settled yet), are hidden. Only the batches' members reveal them."""
    top = world["settled_seq"]

    def truncate(method, path, body, status, answer):
        if path.startswith("/v1/receipts?"):
            return {"receipts": [r for r in answer["receipts"] if r["seq"] <= top]}
        return answer

    with rewriting_proxy(world["url"], truncate) as api:
        res = cli(_channel_args(world, api) + ["--json"])
    doc = json.loads(res.stdout)
    assert res.exit_code == 1 and doc["failed"] == ["chain.covers_committed"], res.output
    assert "committed receipts are withheld" in next(c["detail"] for c in doc["checks"]
                                                     if c["name"] == "chain.covers_committed")


def test_a_receipt_served_without_batch_and_proof_is_not_verified(world, cli):
    """A committed receipt served as if never batched (batch and proof null): not verified, never CLEAN; and
    the settlement that paid it is then tied to no inclusion proof: a failure."""
    victim = next(s for s in _batched(world) if s.receipt.seq == world["settled_seq"])

    def strip(method, path, body, status, answer):
        def edit(r):
            return {**r, "batch": None, "proof": None} if r["receipt_id"] == victim.receipt_id.hex() else r

        if path.startswith("/v1/receipts?"):
            return {"receipts": [edit(r) for r in answer["receipts"]]}
        if path.startswith("/v1/receipts/"):
            return edit(answer)
        return answer

    with rewriting_proxy(world["url"], strip) as api:
        res = cli(["receipt", victim.receipt_id.hex(), "--api", api])
        assert res.exit_code == 1 and "=> NOT VERIFIED" in res.output and "CLEAN" not in res.output, res.output
        assert "NOT VERIFIED receipt.inclusion" in res.output
        assert cli(["receipt", victim.receipt_id.hex(), "--api", api, "--allow-pending"]).exit_code == 0
        res = cli(_channel_args(world, api) + ["--json", "--allow-pending"])
    doc = json.loads(res.stdout)
    assert res.exit_code == 1 and doc["failed"] == ["settlement.inclusion"], res.output


def test_unbatched_receipts_are_not_verified_and_audit_all_is_not_clean(world, cli):
    """The honest meter with receipts sealed after its last batch (as in the demo): nothing failed, but those
    receipts are not committed on-chain, so the channel and `audit all` say NOT VERIFIED, not CLEAN."""
    facts = ChainFacts(ChainReader.connect(world["node"].rpc_url, meter_world.PID))
    d = world["d"]
    rep = audit_channel(facts, d.customer.pubkey(), d.provider.pubkey(), world["receipts"],
                        api_members(world["api"]))
    assert not rep.failures and rep.outcome == "NOT VERIFIED" and rep.passes(allow_pending=True), rep.render()
    inc = next(c for c in rep.checks if c.name == "receipt.inclusion")
    assert inc.status == "pending" and f"{len(_unbatched(world))} of {len(world['receipts'])}" in inc.detail
    assert all(r.passes(allow_pending=True) for r in audit_all(facts, world["api"]))
    res = cli(["all", "--no-rebuild", "--api", world["url"]])
    assert res.exit_code == 1 and "NOT VERIFIED" in res.output and "all CLEAN" not in res.output, res.output
    assert cli(["all", "--no-rebuild", "--api", world["url"], "--allow-pending"]).exit_code == 0
    # the batched part of the same channel, alone, is clean
    batched = _batched(world)
    rep = audit_channel(facts, d.customer.pubkey(), d.provider.pubkey(), batched, api_members(world["api"]))
    assert rep.ok, rep.render()
