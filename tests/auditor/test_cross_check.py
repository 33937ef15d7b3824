"""A lying RPC node (issue 15): a real JSON-RPC proxy on 127.0.0.1 in front of the localnet serves an older Channel
account with the history to match (the newest settlement left out of every signature list), or leaves the
Channel out of the program-account listing. Through it alone the audit passes; with `--cross-check-url`
pointing at an honest node, every read is compared and the difference fails the audit, naming the read."""
from __future__ import annotations

import base64
import json

import pytest
from typer.testing import CliRunner

from auditor.audits import ChainFacts, api_members, audit_all, audit_channel
from auditor.chain import ChainReader
from auditor.errors import CrossCheckError
from contracts import DEFAULT_PROGRAM_ID, pda

from proxies import rewriting_proxy

pytest.importorskip("localnet")
pytest.importorskip("metering.api")

import meter_world  # noqa: E402

PID = meter_world.PID


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    with meter_world.build(tmp_path_factory.mktemp("meter")) as w:
        d = w["d"]
        channel = pda.channel(PID, d.customer.pubkey(), d.provider.pubkey())[0]
        old = ChainReader.connect(w["node"].rpc_url, PID).account(channel)
        # a second settlement: the last receipt of the second batch
        last = w["receipts"][-1]
        sig, _ = d.settle(w["posted"][1][1], last.receipt, last.proof)
        w.update(channel=channel, old_channel=old, new_settle=sig)
        with meter_world.serve(w) as url:
            w["url"] = url
            yield w


def _older_channel(world):
    """Serve the Channel as it was before the newest settlement, and hide that settlement everywhere."""
    old_b64 = base64.b64encode(world["old_channel"]).decode()

    def lie(method, path, body, status, answer):
        if not isinstance(body, dict) or "result" not in answer:
            return answer
        m, params = body.get("method"), body.get("params") or []
        if m == "getAccountInfo" and params and params[0] == str(world["channel"]) and answer["result"]["value"]:
            answer["result"]["value"]["data"] = [old_b64, "base64"]
        elif m == "getProgramAccounts":
            for item in answer["result"]:
                if item["pubkey"] == str(world["channel"]):
                    item["account"]["data"] = [old_b64, "base64"]
        elif m == "getSignaturesForAddress":
            answer["result"] = [s for s in answer["result"] if s["signature"] != world["new_settle"]]
        return answer
    return lie


def _without_channel(world):
    def lie(method, path, body, status, answer):
        if isinstance(body, dict) and body.get("method") == "getProgramAccounts" and "result" in answer:
            answer["result"] = [a for a in answer["result"] if a["pubkey"] != str(world["channel"])]
        return answer
    return lie


def _cli(world, monkeypatch, rpc_url, args):
    monkeypatch.setenv("SOLMETER_RPC_URL", rpc_url)
    monkeypatch.setenv("SOLMETER_PROGRAM_ID", DEFAULT_PROGRAM_ID)
    from solmeter.commands.audit import app

    return CliRunner().invoke(app, meter_world.signed(world, args))


def test_an_older_channel_account_passes_through_the_liar_alone(world):
    d = world["d"]
    with rewriting_proxy(world["node"].rpc_url, _older_channel(world)) as liar:
        facts = ChainFacts(ChainReader.connect(liar, PID))
        rep = audit_channel(facts, d.customer.pubkey(), d.provider.pubkey(), world["receipts"],
                            api_members(world["api"]))
    assert rep.ok, rep.render()  # what trusting one node gives: the newest settlement never happened
    assert rep.facts["settlements"] == 1


def test_an_older_channel_account_fails_the_cross_check(world, isolated_env, monkeypatch):
    d = world["d"]
    with rewriting_proxy(world["node"].rpc_url, _older_channel(world)) as liar:
        facts = ChainFacts(ChainReader.connect(liar, PID, cross_check_url=world["node"].rpc_url))
        # the first read that differs stops it: here the Config's history, which lacks the hidden settlement
        with pytest.raises(CrossCheckError, match=f"only the second has \\['{world['new_settle']}'\\]"):
            audit_channel(facts, d.customer.pubkey(), d.provider.pubkey(), world["receipts"])
        res = _cli(world, monkeypatch, liar, ["channel", str(d.customer.pubkey()), str(d.provider.pubkey()),
                                              "--api", world["url"], "--cross-check-url", world["node"].rpc_url])
    assert res.exit_code == 1 and res.output.startswith("error: cross-check: ") and res.output.count("\n") == 1, \
        res.output


def test_a_channel_left_out_of_the_listing_fails_the_cross_check(world, isolated_env, monkeypatch):
    with rewriting_proxy(world["node"].rpc_url, _without_channel(world)) as liar:
        reports = audit_all(ChainFacts(ChainReader.connect(liar, PID)), world["api"])
        assert "channel" not in [r.kind for r in reports]  # through the liar alone: the channel is never audited
        args = ["all", "--no-rebuild", "--api", world["url"], "--cross-check-url", world["node"].rpc_url, "--json"]
        res = _cli(world, monkeypatch, liar, args)
    assert res.exit_code == 1 and "cross-check: getProgramAccounts" in res.output, res.output
    assert f"only the second has ['{world['channel']}']" in res.output


def test_two_honest_nodes_agree(world, isolated_env, monkeypatch):
    d = world["d"]
    with rewriting_proxy(world["node"].rpc_url) as honest:
        res = _cli(world, monkeypatch, honest, ["channel", str(d.customer.pubkey()), str(d.provider.pubkey()),
                                                "--api", world["url"], "--cross-check-url", world["node"].rpc_url,
                                                "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["outcome"] == "CLEAN", res.output


def test_an_edited_account_alone_is_named(world):
    """Only the Channel's data edited (its history left alone): the account read itself is the difference."""
    old_b64 = base64.b64encode(world["old_channel"]).decode()

    def lie(method, path, body, status, answer):
        if isinstance(body, dict) and body.get("method") == "getAccountInfo" and "result" in answer \
                and body["params"][0] == str(world["channel"]):
            answer["result"]["value"]["data"] = [old_b64, "base64"]
        return answer

    with rewriting_proxy(world["node"].rpc_url, lie) as liar:
        reader = ChainReader.connect(liar, PID, cross_check_url=world["node"].rpc_url)
        with pytest.raises(CrossCheckError, match=f"getAccountInfo {world['channel']} differs .*: data differ"):
            reader.account(world["channel"])
        assert reader.account(reader.config_address())  # other reads agree
