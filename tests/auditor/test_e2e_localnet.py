"""End to end: a real localnet (JSON-RPC over HTTP, LiteSVM, the billing program, SPL Token), an honest
history driven through the program's client (auditor_scenario.py), then the auditor reading it back over RPC only.

The honest history audits clean; every tampering is caught and the failing check is named.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace

import httpx
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

from auditor.audits import ChainFacts, audit_batch, audit_channel, audit_epoch, audit_program, audit_receipt
from auditor.chain import ChainReader
from auditor.errors import ChainReadError
from auditor.program import elf_sha256
from auditor.sample import retamper, sign
from contracts import DEFAULT_PROGRAM_ID, PROGRAM_SO, pda

import auditor_scenario as scenario

localnet = pytest.importorskip("localnet")
PID = Pubkey.from_string(DEFAULT_PROGRAM_ID)


@pytest.fixture(scope="module")
def node(tmp_path_factory):
    # The binary the node deploys at genesis, copied first: a rebuild of contracts/build during the run
    # (a developer's, never CI's) must not look like a deployed program that differs from the committed one.
    so = tmp_path_factory.mktemp("build") / PROGRAM_SO.name
    so.write_bytes(PROGRAM_SO.read_bytes())
    genesis = localnet.default_config()
    genesis = replace(genesis, billing_program=(PID, so))
    h = localnet.start_in_process(ledger_dir=tmp_path_factory.mktemp("ledger"), port=0, slot_ms="per-tx", cheats=True,
                                  genesis=genesis)
    h.committed_so = so
    yield h
    h.stop()


@pytest.fixture
def committed(node):
    return node.committed_so


@pytest.fixture(scope="module")
def sc(node):
    return scenario.run(node.rpc_url, PID)


@pytest.fixture
def facts(node, sc):
    return ChainFacts(ChainReader.connect(node.rpc_url, PID))


def failed(report) -> set[str]:
    return report.failed_names()


def members_of(sc):
    """An on-chain batch's receipts, as the scenario committed them (for the committed-coverage check)."""
    return lambda b: sc.batches.get(b.index)


def by_id(sc):
    ids = {s.receipt_id: s for s in sc.receipts}
    return lambda rid: ids.get(rid)


# --- an honest history audits clean ------------------------------------------------------------------------

def test_every_receipt_audits_clean(sc, facts):
    for i, sr in enumerate(sc.receipts):
        rep = audit_receipt(facts, sr, sc.receipts[i - 1] if i else None)
        assert rep.ok, rep.render()
        names = {c.name for c in rep.checks if c.status == "pass"}
        assert {"config.history", "receipt.signature", "receipt.meter_key", "receipt.inclusion",
                "receipt.settled"} <= names
        if i:
            assert "receipt.link" in names


def test_settled_says_which_transaction(sc, facts):
    rep = audit_receipt(facts, sc.receipts[0])  # seq 1: covered by the settlement of seq 2
    c = next(c for c in rep.checks if c.name == "receipt.settled")
    assert c.status == "pass" and sc.settle_signatures[0] in c.detail


def test_channel_batches_epoch_program_clean(sc, facts, committed):
    rep = audit_channel(facts, sc.customer.pubkey(), sc.provider.pubkey(), sc.receipts, members_of(sc))
    assert rep.ok, rep.render()
    splits = [c for c in rep.checks if c.name == "settlement.split"]
    assert len(splits) == 3 and all(c.status == "pass" for c in splits)
    # the split follows the config in force when the settlement ran: seq 5 (a v1 receipt) settled under v2
    assert "v1 in force (250 bps fee" in splits[0].detail
    assert "v2 in force (400 bps fee" in splits[1].detail
    assert "v3 in force (400 bps fee" in splits[2].detail
    for index, members in sc.batches.items():
        rep = audit_batch(facts, index, members, by_id(sc))
        assert rep.ok, rep.render()
        assert next(c for c in rep.checks if c.name == "batch.total").status == "pass"
    rep = audit_epoch(facts, sc.epoch)
    assert rep.ok, rep.render()
    assert {"epoch.pro_rata", "epoch.closed", "epoch.funded", "epoch.claim_events"} <= {
        c.name for c in rep.checks if c.status == "pass"}
    rep = audit_program(facts.reader, committed, None)
    assert rep.ok, rep.render()
    assert rep.facts["deployed_sha256"] == elf_sha256(committed.read_bytes())


def test_channel_from_chain_alone_is_not_verified(sc, facts):
    """Chain only: the settlements and the account check out, but nothing ties them to receipts; the report
    says NOT VERIFIED (never CLEAN), and passes only when pending items are allowed."""
    rep = audit_channel(facts, sc.customer.pubkey(), sc.provider.pubkey(), None, members_of(sc))
    assert not rep.failures and not rep.ok and rep.passes(allow_pending=True), rep.render()
    assert {"chain.seq", "chain.covers_settled", "chain.covers_committed", "settlement.inclusion"} <= {
        c.name for c in rep.pending}
    assert "=> NOT VERIFIED" in rep.render()


# --- tampering with receipts -------------------------------------------------------------------------------

@pytest.mark.parametrize("field, value", [
    ("cum_amount", lambda r: r.cum_amount - 1),
    ("seq", lambda r: r.seq + 10),
    ("customer", lambda r: Pubkey(hashlib.sha256(b"x").digest())),
    ("config_version", lambda r: 3),
    ("detail_hash", lambda r: bytes(32)),
    ("period_end", lambda r: r.period_end + 60),
])
def test_tampered_receipt_field_is_caught(sc, facts, field, value):
    sr = sc.receipts[2]
    bad = retamper(sr, **{field: value(sr.receipt)})
    f = failed(audit_receipt(facts, bad))
    assert {"receipt.signature", "receipt.inclusion"} <= f


def test_tampered_signature_and_proof_node_are_caught(sc, facts):
    sr = sc.receipts[1]
    raw = bytearray(bytes(sr.signature))
    raw[7] ^= 4
    assert failed(audit_receipt(facts, replace(sr, signature=Signature.from_bytes(bytes(raw))))) == {"receipt.signature"}
    proof = list(sr.proof)
    proof[0] = hashlib.sha256(proof[0]).digest()
    assert failed(audit_receipt(facts, replace(sr, proof=tuple(proof)))) == {"receipt.inclusion"}


def test_uncommitted_receipt_is_caught(sc, facts):
    """A validly signed receipt that was never posted in any batch (the operator's database invented it)."""
    last = sc.receipts[-1].receipt
    extra = replace(last, seq=last.seq + 1, prev_receipt_id=last.receipt_id, cum_amount=last.cum_amount + 10,
                    period_start=last.period_end, period_end=last.period_end + 60)
    sr = sign(extra, sc.meter_b, batch=2, proof=sc.receipts[-1].proof)
    rep = audit_receipt(facts, sr, sc.receipts[-1])
    assert failed(rep) == {"receipt.inclusion"}


def test_unregistered_key_fails(sc, facts):
    intruder = Keypair()
    sr = sc.receipts[0]
    assert failed(audit_receipt(facts, sign(sr.receipt, intruder, sr.batch, sr.proof))) == {"receipt.meter_key"}


def test_rotated_out_key_verifies_only_for_its_own_version(sc, facts):
    # meter A signed config-v1 receipts (clean above); it was removed in v3, so a v3 receipt from it fails
    v3 = sc.receipts[5]
    assert v3.receipt.config_version == 3 and v3.meter == sc.meter_b.pubkey()
    forged = sign(v3.receipt, sc.meter_a, v3.batch, v3.proof)
    rep = audit_receipt(facts, forged)
    assert failed(rep) == {"receipt.meter_key"}
    assert "NOT registered in config version 3" in next(c.detail for c in rep.checks if c.name == "receipt.meter_key")
    # and meter B, added in v2, never signs for v1
    v1 = sc.receipts[0]
    assert failed(audit_receipt(facts, sign(v1.receipt, sc.meter_b, v1.batch, v1.proof))) == {"receipt.meter_key"}


# --- tampering with batches and the chain of receipts ------------------------------------------------------

def test_tampered_batch_is_caught(sc, facts):
    members = sc.batches[0]
    assert {"batch.root", "batch.count"} <= failed(audit_batch(facts, 0, members[:-1], by_id(sc)))
    foreign = members[:-1] + [sc.batches[1][0]]
    assert "batch.root" in failed(audit_batch(facts, 0, foreign, by_id(sc)))
    forged = members[:-1] + [retamper(members[-1], cum_amount=members[-1].receipt.cum_amount + 5)]
    assert {"batch.root", "batch.signatures"} <= failed(audit_batch(facts, 0, forged, by_id(sc)))
    not_yet = audit_batch(facts, 99, members)  # beyond the program's batch count: not posted yet
    assert not not_yet.failures and [c.name for c in not_yet.pending] == ["batch.onchain"], not_yet.render()
    # NOT VERIFIED, never CLEAN: with nothing verified even --allow-pending does not pass it (fail closed)
    assert "not posted yet" in not_yet.render() and not_yet.outcome == "NOT VERIFIED"
    assert not not_yet.passes() and not not_yet.passes(allow_pending=True)
    unverified = audit_batch(facts, 0, None)  # no receipts: nothing failed, but nothing was verified either
    assert not unverified.failures and not unverified.ok and "=> NOT VERIFIED" in unverified.render()


def test_tampered_chain_is_caught(sc, facts):
    c, p = sc.customer.pubkey(), sc.provider.pubkey()
    gap = sc.receipts[:3] + sc.receipts[4:]
    assert {"chain.seq", "chain.link"} <= failed(audit_channel(facts, c, p, gap))
    # a re-issued seq 4 with a lower cumulative, properly re-signed by the meter, chained, in no batch
    r4 = sc.receipts[3]
    lower = sign(replace(r4.receipt, cum_amount=sc.receipts[2].receipt.cum_amount - 1), sc.meter_a, r4.batch, r4.proof)
    rs = sc.receipts[:3] + [lower]
    f = failed(audit_channel(facts, c, p, rs))
    assert {"chain.monotonic", "receipt.inclusion"} <= f
    # a receipt of another channel slipped into the export
    from auditor.sample import build_world

    foreign = build_world(n_receipts=1).receipts[0]
    assert failed(audit_channel(facts, c, p, sc.receipts + [foreign])) == {"chain.channel"}


# --- the operator editing chain state (localnet cheat codes) -----------------------------------------------

def _set_account(node, addr: Pubkey, data: bytes) -> None:
    r = httpx.post(node.rpc_url, json={"jsonrpc": "2.0", "id": 1, "method": "surfnet_setAccount",
                                       "params": [str(addr), {"data": data.hex()}]}, timeout=30).json()
    assert "error" not in r, r


def test_state_edited_behind_the_program_is_caught(node, sc, facts):
    reader = facts.reader
    ch_addr = reader.channel_address(sc.customer.pubkey(), sc.provider.pubkey())
    cfg_addr = reader.config_address()
    ch_orig, cfg_orig = reader.account(ch_addr), reader.account(cfg_addr)
    try:
        # settled_amount (after 8 + 32 + 32 + 1 bytes) raised by one: the settlements no longer add up
        forged = bytearray(ch_orig)
        forged[73:81] = (int.from_bytes(forged[73:81], "little") + 1).to_bytes(8, "little")
        _set_account(node, ch_addr, bytes(forged))
        rep = audit_channel(ChainFacts(reader), sc.customer.pubkey(), sc.provider.pubkey(), sc.receipts)
        assert failed(rep) == {"channel.settled"}
        # the fee in the Config account changed without an update_config: the event history disagrees
        cfg = bytearray(cfg_orig)
        cfg[144:146] = (999).to_bytes(2, "little")  # fee_bps: after 8 + 4 x 32 (keys) + 8 (version) bytes
        _set_account(node, cfg_addr, bytes(cfg))
        assert failed(audit_receipt(ChainFacts(reader), sc.receipts[0])) == {"config.history"}
    finally:
        _set_account(node, ch_addr, ch_orig)
        _set_account(node, cfg_addr, cfg_orig)
    assert audit_channel(ChainFacts(reader), sc.customer.pubkey(), sc.provider.pubkey(), sc.receipts, members_of(sc)).ok


def test_program_mismatch_is_caught(sc, facts, tmp_path, committed):
    other = tmp_path / "other.so"
    other.write_bytes(committed.read_bytes()[:-8] + b"\x01" * 8)
    rep = audit_program(facts.reader, other, None)
    assert failed(rep) == {"program.committed"}

    def same(out):
        out.write_bytes(committed.read_bytes())

    def different(out):
        out.write_bytes(other.read_bytes())

    assert audit_program(facts.reader, committed, same).ok
    assert failed(audit_program(facts.reader, committed, different)) == {"program.rebuild"}


@pytest.mark.toolchain
def test_program_rebuilt_from_source_matches_the_deployed_one(facts, committed):
    """The verifiable build: the offline toolchain (contracts/toolchain) rebuilds the deployed bytes."""
    from auditor.program import default_builder

    rep = audit_program(facts.reader, committed, default_builder)
    assert rep.ok, rep.render()
    assert rep.facts["rebuilt_sha256"] == rep.facts["deployed_sha256"] == rep.facts["committed_sha256"]
    assert rep.facts["rebuilt_file_sha256"] == rep.facts["committed_file_sha256"]


def test_wrong_program_id_is_a_clear_error(node, sc):
    reader = ChainReader.connect(node.rpc_url, Pubkey.new_unique())
    with pytest.raises(ChainReadError, match="no program account"):
        reader.deployed_program()
    rep = audit_receipt(ChainFacts(reader), sc.receipts[0])
    assert "config.account" in failed(rep)


# --- the command line --------------------------------------------------------------------------------------

@pytest.fixture
def cli_env(node, isolated_env, monkeypatch):
    monkeypatch.setenv("SOLMETER_RPC_URL", node.rpc_url)
    monkeypatch.setenv("SOLMETER_PROGRAM_ID", DEFAULT_PROGRAM_ID)
    return isolated_env


def _cli(args):
    from typer.testing import CliRunner

    from solmeter.commands.audit import app

    return CliRunner().invoke(app, args)


def test_cli_receipt_file_clean_tampered_and_json(sc, cli_env):
    good = cli_env / "r.json"
    good.write_text(json.dumps(sc.receipts[3].to_json()))
    prev = cli_env / "p.json"
    prev.write_text(json.dumps(sc.receipts[2].to_json()))
    # offline (no metering API): the leases of its lines cannot be read, which is NOT VERIFIED, never clean
    res = _cli(["receipt", str(good), "--prev", str(prev)])
    assert res.exit_code == 1 and "NOT VERIFIED lease.lines" in res.output, res.output
    res = _cli(["receipt", str(good), "--prev", str(prev), "--allow-pending"])
    assert res.exit_code == 0, res.output
    assert "receipt.link" in res.output and "0 failed" in res.output
    doc = sc.receipts[3].to_json()
    doc["receipt"]["cum_amount"] += 1
    del doc["encoding"], doc["receipt_id"]
    bad = cli_env / "bad.json"
    bad.write_text(json.dumps(doc))
    res = _cli(["receipt", str(bad), "--json"])
    assert res.exit_code == 1
    out = json.loads(res.output)
    assert out["ok"] is False and {"receipt.signature", "receipt.inclusion"} <= set(out["failed"])


def test_cli_channel_batch_epoch_program(node, sc, cli_env):
    rs = cli_env / "channel.json"
    rs.write_text(json.dumps({"receipts": [s.to_json() for s in sc.receipts]}))
    c, p = str(sc.customer.pubkey()), str(sc.provider.pubkey())
    # offline: the receipts' leases cannot be read (NOT VERIFIED); everything else verifies
    assert _cli(["channel", c, p, "--receipts", str(rs)]).exit_code == 1
    assert _cli(["channel", c, p, "--receipts", str(rs), "--allow-pending"]).exit_code == 0
    res = _cli(["channel", c, p, "--chain-only", "--json"])  # settlements check out, nothing ties them to receipts
    assert res.exit_code == 1 and json.loads(res.stdout)["outcome"] == "NOT VERIFIED", res.output
    assert _cli(["channel", c, p, "--chain-only", "--allow-pending"]).exit_code == 0
    b0 = cli_env / "b0.json"
    b0.write_text(json.dumps([s.to_json() for s in sc.batches[0]]))
    res = _cli(["batch", "0", "--receipts", str(b0)])
    assert res.exit_code == 0 and "batch.root" in res.output, res.output
    res = _cli(["epoch", str(sc.epoch)])
    assert res.exit_code == 0 and "epoch.pro_rata" in res.output, res.output
    res = _cli(["program", "--no-rebuild", "--committed", str(node.committed_so)])
    assert res.exit_code == 0 and elf_sha256(node.committed_so.read_bytes()) in res.output, res.output


def test_cli_errors_are_one_line(sc, cli_env):
    res = _cli(["receipt", str(cli_env / "missing.json")])
    assert res.exit_code == 1 and res.output.strip().count("\n") == 0 and "cannot read" in res.output
    res = _cli(["channel", "not-a-key", str(sc.provider.pubkey())])
    assert res.exit_code == 1 and "CUSTOMER" in res.output
    res = _cli(["epoch", "12345"])  # no activity in it: pending, which is not clean (exit 1) unless allowed
    assert res.exit_code == 1 and "epoch.onchain" in res.output and "FAIL" not in res.output, res.output
    assert "no activity" in res.output and "NOT VERIFIED" in res.output
    res = _cli(["receipt", "--program-id", "xyz", str(cli_env / "missing.json")])
    assert res.exit_code == 1 and "--program-id" in res.output and res.output.count("\n") == 1


def test_cli_bad_settings_and_unreachable_rpc_are_one_line(sc, cli_env, monkeypatch):
    monkeypatch.setenv("SOLMETER_RPC_URL", "ftp://nowhere")
    res = _cli(["epoch", "0"])
    assert res.exit_code == 1 and res.output.startswith("error: setting rpc_url") and res.output.count("\n") == 1
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]
    monkeypatch.setenv("SOLMETER_RPC_URL", f"http://127.0.0.1:{dead}")
    res = _cli(["epoch", "0"])
    assert res.exit_code == 1 and "RPC getAccountInfo" in res.output and res.output.count("\n") == 1


def test_audit_all_chain_only(sc, facts, cli_env, committed):
    from auditor.audits import audit_all

    reports = audit_all(facts, None, committed)
    kinds = sorted(r.kind for r in reports)
    assert kinds == ["batch"] * 3 + ["channel", "customer", "epoch", "program", "provider"]
    assert all(not r.failures for r in reports), "\n".join(r.render() for r in reports)
    # chain only, receipts are never seen: channels and batches are NOT VERIFIED, and so is the whole audit
    # (it used to print "all CLEAN" here while every batch report said nothing was verified)
    res = _cli(["all", "--chain-only", "--no-rebuild", "--committed", str(committed)])
    assert res.exit_code == 1 and "8 audits: NOT VERIFIED" in res.output and "all CLEAN" not in res.output, res.output
    res = _cli(["all", "--chain-only", "--no-rebuild", "--committed", str(committed), "--json"])
    doc = json.loads(res.stdout)
    assert res.exit_code == 1 and doc["ok"] is False and doc["outcome"] == "NOT VERIFIED" and len(doc["reports"]) == 8
    res = _cli(["all", "--chain-only", "--no-rebuild", "--committed", str(committed), "--allow-pending"])
    assert res.exit_code == 0 and "NOT VERIFIED" in res.output and "all CLEAN" not in res.output, res.output


# --- providers: slashes and revenue ------------------------------------------------------------------------

def test_provider_slashes_and_revenue_clean(sc, facts, cli_env):
    from auditor.audits import audit_provider

    rep = audit_provider(facts, sc.provider.pubkey())
    assert rep.ok, rep.render()
    assert rep.facts["slash_count"] == 4 and rep.facts["pending_slash"] == scenario.SLASHES[3]
    assert {"slash.lifecycle", "slash.state", "provider.pending_slash", "provider.revenue"} <= {
        c.name for c in rep.checks if c.status == "pass"}
    assert "slash.timing" not in {c.name for c in rep.checks}  # block times known: deadlines were checked
    res = _cli(["provider", str(sc.provider.pubkey())])
    assert res.exit_code == 0 and "slash.lifecycle" in res.output, res.output


def test_slash_state_edited_behind_the_program_is_caught(node, sc, facts):
    from auditor.audits import audit_provider

    reader = facts.reader
    prov_addr = pda.provider(PID, sc.provider.pubkey())[0]
    slash1 = pda.slash(PID, sc.provider.pubkey(), 1)[0]
    p_orig, s_orig = reader.account(prov_addr), reader.account(slash1)
    try:
        forged = bytearray(s_orig)
        forged[121] = 2  # the rejected slash 1 marked Upheld (executable) without any resolve transaction
        _set_account(node, slash1, bytes(forged))
        # ... and an upheld slash counts as open, which the provider's pending amount does not include
        assert audit_provider(ChainFacts(reader), sc.provider.pubkey()).failed_names() == {
            "slash.state", "provider.pending_slash"}
        _set_account(node, slash1, s_orig)
        forged = bytearray(p_orig)
        forged[122:130] = (0).to_bytes(8, "little")  # the open slash's pending amount dropped
        _set_account(node, prov_addr, bytes(forged))
        assert audit_provider(ChainFacts(reader), sc.provider.pubkey()).failed_names() == {"provider.pending_slash"}
    finally:
        _set_account(node, slash1, s_orig)
        _set_account(node, prov_addr, p_orig)
    assert audit_provider(ChainFacts(reader), sc.provider.pubkey()).ok


def test_program_deployed_through_the_upgradeable_loader(tmp_path, committed):
    """`solana program deploy` style (buffer, writes, DeployWithMaxDataLen): the ProgramData account is read,
    its zero padding beyond the ELF ignored, the upgrade authority and deploy slot reported. On a localnet with
    devnet's features, which refuse SBPF v0-v2 deployments (SIMD-0500): the committed program is SBPF v3."""
    from contracts.deploy_local import deploy_transactions

    with localnet.start_in_process(ledger_dir=tmp_path / "devnet", features="devnet") as node:
        chain = scenario.Chain(node.rpc_url)
        payer, program = Keypair(), Keypair()
        chain.airdrop(payer, 100)
        for ixs, signers in deploy_transactions(committed.read_bytes(), payer, program, chain.rent):
            chain.send(ixs, signers)
        reader = ChainReader.connect(node.rpc_url, program.pubkey())
        rep = audit_program(reader, committed, None)
        deployed = reader.deployed_program()
    assert rep.ok, rep.render()
    assert rep.facts["loader"] == "BPFLoaderUpgradeab1e11111111111111111111111"
    assert rep.facts["upgrade_authority"] == str(payer.pubkey()) and rep.facts["deploy_slot"] > 0
    assert len(deployed.elf) == 2 * len(committed.read_bytes())  # max_data_len: zero-padded for upgrades
    assert deployed.sha256 == elf_sha256(committed.read_bytes())


# --- customers: the escrow ---------------------------------------------------------------------------------

def test_customer_escrow_adds_up_and_a_drained_escrow_is_caught(node, sc, facts, cli_env):
    from auditor.audits import audit_customer

    w = sc.customer.pubkey()
    rep = audit_customer(facts, w)
    assert rep.ok, rep.render()
    assert rep.facts["withdrawn"] == scenario.WITHDRAWN
    assert rep.facts["escrow_balance"] == 40_000_000 - scenario.WITHDRAWN - rep.facts["total_settled"]
    assert _cli(["customer", str(w)]).exit_code == 0
    escrow = pda.escrow(PID, w)[0]
    orig = facts.reader.account(escrow, owned=False)
    try:
        for delta, failing in ((-1, {"customer.escrow"}), (+5, set())):
            forged = bytearray(orig)
            forged[64:72] = (int.from_bytes(orig[64:72], "little") + delta).to_bytes(8, "little")
            _set_account(node, escrow, bytes(forged))
            rep = audit_customer(ChainFacts(facts.reader), w)
            assert rep.failed_names() == failing, rep.render()
        assert "sent to it directly" in next(c.detail for c in rep.checks if c.name == "customer.escrow")
    finally:
        _set_account(node, escrow, orig)


def test_a_posted_batch_or_an_active_epoch_hidden_by_the_rpc_node_fails(node, sc):
    """Pending is only for what does not exist yet: a batch below the program's count, or an epoch whose
    address has transactions, that the node answers as missing is a failure (fail closed)."""
    from proxies import rewriting_proxy

    reader = ChainReader.connect(node.rpc_url, PID)
    hidden = {str(reader.batch_address(0)), str(reader.epoch_address(0))}
    assert reader.account(reader.epoch_address(0)) is not None  # the scenario funded and settled in epoch 0

    def hide(_method, _path, body, _status, answer):
        if isinstance(body, dict) and body.get("method") == "getAccountInfo" and body["params"][0] in hidden:
            answer["result"]["value"] = None
        if isinstance(body, dict) and body.get("method") == "getMultipleAccounts":
            for i, k in enumerate(body["params"][0]):
                if k in hidden:
                    answer["result"]["value"][i] = None
        return answer

    with rewriting_proxy(node.rpc_url, hide) as url:
        facts = ChainFacts(ChainReader.connect(url, PID))
        assert failed(audit_batch(facts, 0, sc.batches[0])) == {"batch.onchain"}
        assert failed(audit_epoch(facts, 0)) == {"epoch.onchain"}
