"""@solana/web3.js 1.x (the library the Solana Explorer runs on, with its strict superstruct response
validation) against the localnet: node methods, airdrop + confirmation over signatureSubscribe, transfer,
parsed transaction/account/block, simulation, fees, program accounts, and three subscriptions."""
from __future__ import annotations

import pytest

import localnet
from node_clients import npm_dir, run_script


@pytest.fixture(scope="module")
def web3_dir():
    return npm_dir("web3js", "@solana/web3.js", "SOLMETER_WEB3JS_DIR")


def test_web3js_client_against_localnet(web3_dir):
    with localnet.start_in_process() as h:
        out = run_script(web3_dir, "smoke.mjs", h.rpc_url, h.ws_url, timeout=120)
    errors = {k: v for k, v in out.items() if isinstance(v, str) and v.startswith("ERROR")}
    assert not errors, errors
    assert out["version"]["solana-core"] == "2.2.0"
    assert out["epochSchedule"]["slotsPerEpoch"] == 432000
    assert out["airdrop"] == "ok"
    assert out["balance"] == 1_000_000 and out["parsedAccount"] == 1_000_000
    assert out["parsedTx"][0] == 5000 and out["tx"] == [1_000_000, "legacy"]
    assert out["sigs"] == [True] and out["statuses"] == "finalized"
    assert out["block"] == 1 and out["parsedBlock"] == 1 and out["blockTime"] == "number"
    assert out["simulate"] == [None, 2] and out["fee"] == 5000
    assert out["programAccounts"] is True
    assert out["accountSub"] == 1_000_001 and out["slotSub"] == "number" and out["logsSub"] > 0


def test_web3js_recipes_behave_as_on_solana_test_validator(web3_dir):
    """In real time (commitment levels apart, finalized 4 blocks behind): getBlock(getSlot()),
    getBlockTime(getEpochInfo().absoluteSlot), createLookupTable({recentSlot: getSlot()}), the same transfer sent
    twice through sendAndConfirmTransaction, getParsedTransaction's parsed instruction, priority fees, vote
    accounts and the native mint, all as web3.js gets them from solana-test-validator."""
    with localnet.start_in_process(slot_ms=40, finality_depth=4) as h:
        out = run_script(web3_dir, "conformance.mjs", h.rpc_url, h.ws_url)
    assert out["airdrop"] is None
    assert out["blockOfGetSlot"] is True and out["blockTimeOfEpochInfo"] == "number"
    assert out["lookupTable"] == "AddressLookupTab1e1111111111111111111111111"
    assert out["sameTransferTwice"] is True
    assert out["parsedTransfer"] == ["system", "transfer", 1_000_000]
    assert out["priorityFee"] == [15_000, 15_000, 1_000_000]
    assert out["voteAccounts"] == [1, True]
    assert out["nativeMint"] == "0"
