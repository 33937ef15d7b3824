"""@solana/kit (the current JavaScript SDK: strict response types, bigint numbers, confirmation through
signatureNotifications and slotNotifications) against the localnet in real time, with commitment levels apart
as on solana-test-validator: the levels' order, getBlock(getSlot()), getBlockTime(getEpochInfo().absoluteSlot),
airdropFactory, sendAndConfirmTransactionFactory at confirmed (the same transfer twice) and at finalized, a
jsonParsed transfer. npm-installs @solana/kit once into $TMPDIR/solmeter-kit-<version> or $SOLMETER_KIT_DIR."""
from __future__ import annotations

import pytest

import localnet
from node_clients import npm_dir, run_script


@pytest.fixture(scope="module")
def kit_dir():
    return npm_dir("kit", "@solana/kit", "SOLMETER_KIT_DIR")


def test_kit_against_localnet(kit_dir):
    with localnet.start_in_process(slot_ms=40, finality_depth=4) as h:
        out = run_script(kit_dir, "kit.mjs", h.rpc_url, h.ws_url)
    errors = {k: v for k, v in out.items() if isinstance(v, str) and v.startswith("ERROR")}
    assert not errors, errors
    assert out["levels"] is True  # processed > confirmed > finalized
    assert out["blockOfGetSlot"] is True and out["blockTimeOfEpochInfo"] == "bigint"
    assert out["airdrop"] == "string"
    assert out["sameTransferTwice"] is True and out["finalizedTransfer"] == "finalized"
    assert out["parsed"] == ["system", "transfer", 1_000_000]
    assert out["balance"] == 3_000_000
