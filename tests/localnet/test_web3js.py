"""@solana/web3.js 1.x (the library the Solana Explorer runs on, with its strict superstruct response
validation) against the localnet: node methods, airdrop + confirmation over signatureSubscribe, transfer,
parsed transaction/account/block, simulation, fees, program accounts, and three subscriptions."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import localnet

HERE = Path(__file__).resolve().parent / "web3js"
WEB3_VERSION = json.loads((HERE / "package.json").read_text())["dependencies"]["@solana/web3.js"]


@pytest.fixture(scope="module")
def web3_dir() -> Path:
    """A directory with smoke.mjs and node_modules, installed once per machine (npm registry access)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail("node and npm are needed for the web3.js check (apt-get install nodejs npm)", pytrace=False)
    cache = Path(os.environ.get("SOLMETER_WEB3JS_DIR", Path(tempfile.gettempdir()) / f"solmeter-web3js-{WEB3_VERSION}"))
    cache.mkdir(parents=True, exist_ok=True)
    shutil.copy(HERE / "package.json", cache / "package.json")
    for script in ("smoke.mjs", "conformance.mjs"):
        shutil.copy(HERE / script, cache / script)
    if not (cache / "node_modules" / "@solana" / "web3.js").exists():
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=cache,
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            pytest.fail(f"npm install @solana/web3.js@{WEB3_VERSION} failed: {r.stderr[-500:]}", pytrace=False)
    return cache


def test_web3js_client_against_localnet(web3_dir):
    with localnet.start_in_process() as h:
        r = subprocess.run(["node", "smoke.mjs", h.rpc_url, h.ws_url], cwd=web3_dir, capture_output=True,
                           text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
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
        r = subprocess.run(["node", "conformance.mjs", h.rpc_url, h.ws_url], cwd=web3_dir, capture_output=True,
                           text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["airdrop"] is None
    assert out["blockOfGetSlot"] is True and out["blockTimeOfEpochInfo"] == "number"
    assert out["lookupTable"] == "AddressLookupTab1e1111111111111111111111111"
    assert out["sameTransferTwice"] is True
    assert out["parsedTransfer"] == ["system", "transfer", 1_000_000]
    assert out["priorityFee"] == [15_000, 15_000, 1_000_000]
    assert out["voteAccounts"] == [1, True]
    assert out["nativeMint"] == "0"
