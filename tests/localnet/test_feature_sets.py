"""The localnet's cluster feature sets: derived from the Explorer's feature-gate list (with source and date),
devnet's differing from mainnet's where the list says so, chosen at genesis and kept by the ledger."""
from __future__ import annotations

import json

import pytest
from solders.pubkey import Pubkey

import localnet
from localnet import features as F
from localnet.features import refresh
from localnet.genesis import GenesisError, default_config
from localnet.ledger import LedgerError


def test_devnet_and_mainnet_sets_follow_the_explorer_list():
    dev, main, every = F.feature_set("devnet"), F.feature_set("mainnet"), F.feature_set("all")
    simd500 = F.DISABLE_SBPF_V0_V2_DEPLOYMENT
    assert dev.is_active(simd500) and not main.is_active(simd500)
    assert not every.inactive
    gates = {g["key"]: g for g in F.clusters()["gates"]}
    known = set(dev.active) | set(dev.inactive)
    for key, g in gates.items():
        pk = Pubkey.from_string(key)
        if pk in known:  # every listed gate this solders knows is set as the list says, per cluster
            assert dev.is_active(pk) == (g["devnet"] is not None), g["title"]
            assert main.is_active(pk) == (g["mainnet"] is not None), g["title"]
    assert set(main.active) < set(dev.active)  # devnet runs ahead of mainnet
    src = F.clusters()["source"]
    assert src["repository"] == "solana-foundation/explorer" and len(src["commit"]) == 40 and src["commit_date"]


def test_refresh_derives_the_committed_layout(tmp_path):
    sample = [{"key": "B8JJXCy5amZyWG9r7EnUYLwzXSXTxG7GZ1qZ1qggo83g", "title": "SIMD-0500",
               "devnet_activation_epoch": 1088, "mainnet_activation_epoch": None, "testnet_activation_epoch": 971}]
    src = tmp_path / "feature-gates.json"
    src.write_text(json.dumps(sample))
    out = tmp_path / "clusters.json"
    assert refresh.main([str(src), "--commit", "a" * 40, "--commit-date", "2026-08-20", "--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["gates"] == [{"key": sample[0]["key"], "title": "SIMD-0500", "devnet": 1088, "mainnet": None}]
    assert doc["source"]["commit"] == "a" * 40 and doc["source"]["path"] == F.SOURCE_PATH
    src.write_text('{"not": "a list"}')
    assert refresh.main([str(src), "--commit", "a", "--commit-date", "x", "--out", str(out)]) == 1


def test_feature_set_is_chosen_at_genesis_and_kept_by_the_ledger(tmp_path):
    with pytest.raises(GenesisError, match="choose one of devnet, mainnet, all"):
        default_config(features="testnet")
    ledger = tmp_path / "ledger"
    with localnet.start_in_process(ledger_dir=ledger, features="mainnet") as h:
        assert h.node.bank.features == "mainnet"
    with pytest.raises(LedgerError, match="created with --features mainnet"):
        localnet.start_in_process(ledger_dir=ledger)  # devnet by default: refused, not silently switched
    with localnet.start_in_process(ledger_dir=ledger, features="mainnet") as h:
        assert h.node.bank.features == "mainnet"
