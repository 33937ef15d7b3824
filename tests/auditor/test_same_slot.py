"""A config update in the same slot as a settlement (issue 15): the fee version the auditor judges the split by is
decided by the order of the instructions in the transaction and of the transactions in the block (getBlock on
the real node), never by accepting either version. Real localnet, real program: one transaction updates the
fee then settles (the new fee applies), another settles then updates (the old one applies)."""
from __future__ import annotations

from dataclasses import replace

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from auditor import checks as C
from auditor.audits import ChainFacts, audit_channel
from auditor.chain import ChainReader
from auditor.receipt_file import SignedReceipt
from auditor.sample import next_receipt
from contracts import DEFAULT_PROGRAM_ID
from contracts.client import epoch_at
from contracts.merkle import MerkleTree

import auditor_scenario as scenario
from proxies import rewriting_proxy

localnet = pytest.importorskip("localnet")
PID = Pubkey.from_string(DEFAULT_PROGRAM_ID)
FEE_V2, FEE_V3 = 400, 900


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    node = localnet.start_in_process(ledger_dir=tmp_path_factory.mktemp("ledger"), port=0, slot_ms="per-tx")
    try:
        meter = Keypair()
        d = scenario.deploy(node.rpc_url, PID, meter)
        rs = []
        for _ in range(2):
            rs.append(next_receipt(rs[-1] if rs else None, program_id=PID, config_version=1,
                                   customer=d.customer.pubkey(), provider=d.provider.pubkey(), add_amount=1_000_003))
        tree = MerkleTree([r.receipt_id for r in rs])
        index = d.post_batch(meter, tree.root, 2, rs[-1].cum_amount)
        signed = [SignedReceipt(r, meter.sign_message(r.receipt_id), meter.pubkey(), index, tuple(tree.proof(j)), j)
                  for j, r in enumerate(rs)]
        cfg = scenario._config(d.ch, d.prog)
        ep = epoch_at(cfg.genesis_ts, cfg.epoch_length, d.ch.block_time())

        def settle(sr):
            return d.prog.settle(payer=d.admin.pubkey(), batch_index=index, receipt=sr.receipt, proof=list(sr.proof),
                                 payout=d.payout, treasury=d.treasury, mint=d.mint, epoch=ep)

        update = d.prog.update_config
        # v2 then settle seq 1 (one transaction, one slot): v2's fee applies
        sig1 = d.ch.send([update(admin=d.admin.pubkey(), fee_bps=FEE_V2), settle(signed[0])], [d.admin])
        # settle seq 2 then v3 (one transaction, one slot): v2's fee still applies
        sig2 = d.ch.send([settle(signed[1]), update(admin=d.admin.pubkey(), fee_bps=FEE_V3)], [d.admin])
        yield dict(node=node, d=d, receipts=signed, index=index, sigs=(sig1, sig2))
    finally:
        node.stop()


def _facts(world):
    return ChainFacts(ChainReader.connect(world["node"].rpc_url, PID))


def test_the_instruction_order_decides_the_fee_version(world):
    facts = _facts(world)
    d = world["d"]
    ss = facts.settlements([facts.reader.channel_address(d.customer.pubkey(), d.provider.pubkey())])
    assert [s.config_version for s in ss] == [(2,), (2,)]
    assert [s.fee for s in ss] == [s.moved * FEE_V2 // 10_000 for s in ss]  # what the program did
    rep = audit_channel(facts, d.customer.pubkey(), d.provider.pubkey(), world["receipts"],
                        lambda b: world["receipts"] if b.index == world["index"] else None)
    assert rep.ok, rep.render()
    assert [c.detail.split(" in force")[0].rsplit(" ", 1)[1] for c in rep.checks
            if c.name == "settlement.split"] == ["v2", "v2"]


def test_a_split_at_the_other_same_slot_version_fails(world):
    """What accepting either version let through: the first settlement's split at v1's fee (the version just
    replaced in the same transaction), and the second's at v3's (born right after it)."""
    facts = _facts(world)
    d = world["d"]
    hist = facts.history()[0]
    ss = facts.settlements([facts.reader.channel_address(d.customer.pubkey(), d.provider.pubkey())])
    prev = 0
    for s, wrong in zip(ss, (scenario.FEE_BPS, FEE_V3)):
        fee, burn, prov = C.expected_split(s.moved, wrong, scenario.BURN_BPS)
        forged = replace(s, fee=fee, burn=burn, provider_amount=prov)
        assert [c.name for c in C.check_settlement(forged, prev, hist) if c.failed] == ["settlement.split"]
        prev = s.cumulative


def test_without_the_block_order_the_split_is_not_verified(world):
    """A node (a real proxy on 127.0.0.1 in front of the localnet) that has pruned the blocks: the version is not
    determined, so the split is NOT VERIFIED."""
    def no_blocks(method, path, body, status, answer):
        if isinstance(body, dict) and body.get("method") == "getBlock":
            return {"jsonrpc": "2.0", "id": body["id"],
                    "error": {"code": -32004, "message": f"Block not available for slot {body['params'][0]}"}}
        return answer

    d = world["d"]
    with rewriting_proxy(world["node"].rpc_url, no_blocks) as url:
        facts = ChainFacts(ChainReader.connect(url, PID))
        rep = audit_channel(facts, d.customer.pubkey(), d.provider.pubkey(), world["receipts"],
                            lambda b: world["receipts"] if b.index == world["index"] else None)
    assert not rep.failures and [c.name for c in rep.pending] == ["settlement.split"] * 2, rep.render()
