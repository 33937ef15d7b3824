"""The devnet rehearsal: the whole operator / provider / customer / auditor flow against a localnet on devnet's
feature set, through JSON-RPC only, as it would run against devnet. No cheat codes (the node refuses them),
no program at genesis: the billing program gets there only through the upgradeable loader, deployed by
`solmeter operator init` with the operator's own program keypair. The node is reached through an RPC proxy
that answers getGenesisHash with devnet's, so every command takes it for devnet (no localnet airdrops, the
dev key refused, Explorer links for devnet). Every wallet is funded by requestAirdrop (devnet's faucet
answers it too); every step is a `solmeter` command, except the provider's agent, whose signed usage
reports go to the meter's HTTP API as the agent sends them.

operator: keys, funding, `operator init --program-keypair` (deploy + initialize), `meter providers add`,
`operator mint`; provider: register, stake; customer: register, deposit, open-channel; the meter (`solmeter meter serve`, its
own process) takes the agent's signed heartbeats; `meter seal --batch` issues receipts and a Merkle batch;
`operator crank` posts the batch and settles; an auditor with its own settings runs `audit all` against the
chain and the meter's API: every audit passes; `operator reconcile` finds the ledger equal to the chain."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

import httpx
import pytest
from solders.keypair import Keypair

from deploy_support import bare_node, free_port, stop, wait_until_up
from contracts import loader_v3
from deploy_proxy import RpcProxy
from ledger.engine.chain import RpcChain
from ledger.ops.bootstrap import airdrop
from ledger.ops.cluster import GENESIS_HASHES
from metering.agents.client import MeterClient
from metering.events import GPU_HEARTBEAT
from solmeter.keys import load_keypair

MINUTE_MS = 60_000
DEVNET_GENESIS = next(h for h, n in GENESIS_HASHES.items() if n == "devnet")


def _iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, tz=timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class Machine:
    """One party's machine: its own data directory and settings, the `solmeter` command in a subprocess."""

    def __init__(self, root: Path, name: str, rpc_url: str) -> None:
        self.dir = root / name
        self.dir.mkdir(parents=True)
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("SOLMETER_")}
        self.env.update(HOME=str(self.dir), SOLANA_CONFIG=str(self.dir / "solana.yml"),
                        SOLMETER_DATA_DIR=str(self.dir / "data"), SOLMETER_RPC_URL=rpc_url)

    def __call__(self, *args: str, ok: bool = True, timeout: float = 300) -> str:
        r = subprocess.run([sys.executable, "-m", "solmeter.cli", *args], env=self.env, capture_output=True,
                           text=True, timeout=timeout)
        out = r.stdout + r.stderr
        if ok:
            assert r.returncode == 0, f"solmeter {' '.join(args)} failed:\n{out}"
        return out

    def keypair(self, name: str) -> tuple[str, Keypair]:
        path = self.dir / f"{name}.json"
        self("keys", "new", str(path))
        return str(path), load_keypair(path)

    def background(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "solmeter.cli", *args], env=self.env, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True)


@pytest.fixture
def devnet_url(tmp_path):
    """The URL of a localnet on devnet's feature set, behind a proxy that says it is devnet."""
    node = bare_node(tmp_path / "ledger", features="devnet")
    assert node.node.bank.features == "devnet"

    def devnet(method, request, seen):
        return ("result", DEVNET_GENESIS) if method == "getGenesisHash" else None

    with RpcProxy(node.rpc_url, devnet) as proxy:
        yield proxy.url
    node.stop()


def test_the_whole_flow_on_devnets_feature_set_through_rpc_only(devnet_url, tmp_path):
    url = devnet_url
    chain = RpcChain(url)
    # cheat codes are off: the rehearsal cannot move time or write accounts
    assert "cheat" in httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "surfnet_timeTravel",
                                            "params": [{"relativeSlots": 1}]}).text.lower()
    operator = Machine(tmp_path, "operator", url)
    provider = Machine(tmp_path, "provider", url)
    customer = Machine(tmp_path, "customer", url)
    auditor = Machine(tmp_path, "auditor", url)

    # --- operator: keys, funding from the faucet, deploy + initialize ------------------------------------------
    admin_path, admin = operator.keypair("operator")
    program_path, program = operator.keypair("program")
    airdrop(chain, admin.pubkey(), 5 * 10**9)
    out = operator("-k", admin_path, "operator", "init", "--program-keypair", program_path,
                   "--compute-unit-price", "1000", "--arbiter", str(Keypair().pubkey()))
    pid = program.pubkey()
    assert f"deployed program {pid}" in out and f"initialized program {pid}" in out, out
    assert chain.client.get_account_info(pid).owner == loader_v3.LOADER_V3  # through the upgradeable loader
    assert f"deploying program {pid} to devnet" in out and "?cluster=devnet" in out and " SOL fees" in out
    # the meter key pays each batch's rent: init says so, and the operator funds it
    meter_key = load_keypair(operator.dir / "data" / "meter.json").pubkey()
    assert f"WARNING: meter key {meter_key} has 0 SOL, enough for 0 batches" in out, out
    assert f"fund it with `solana transfer {meter_key} " in out and "solmeter airdrop" not in out, out
    airdrop(chain, meter_key, 10**9)

    # --- provider and customer, each on their own machine with the operator's deployment ----------------------
    prov_path, prov = provider.keypair("provider")
    cust_path, cust = customer.keypair("customer")
    for kp in (prov, cust):
        airdrop(chain, kp.pubkey(), 10**9)
    deployment = (operator.dir / "data" / "deployment.json").read_text()
    for m in (provider, customer):
        (m.dir / "data").mkdir()
        (m.dir / "data" / "deployment.json").write_text(deployment)
    operator("-k", admin_path, "operator", "mint", str(prov.pubkey()), "50")
    operator("-k", admin_path, "operator", "mint", str(cust.pubkey()), "100")
    operator("meter", "providers", "add", str(prov.pubkey()), "--name", "rehearsal provider")
    assert f"registered provider {prov.pubkey()}" in provider("provider", "register", "-k", prov_path)
    provider("provider", "stake", "5", "-k", prov_path, "-y")
    assert f"registered customer {cust.pubkey()}" in customer("customer", "register", "-k", cust_path)
    deposited = customer("customer", "deposit", "40", "-k", cust_path, "-y")
    # the confirmation names the amount and links the transaction on devnet's Explorer (known by genesis hash)
    assert "deposited 40.000000 tokens: transaction " in deposited, deposited
    assert "https://explorer.solana.com/tx/" in deposited and deposited.rstrip().endswith("?cluster=devnet")
    # consent: nothing settles on a channel the customer never opened
    assert f"opened channel with {prov.pubkey()}" in customer("customer", "open-channel", str(prov.pubkey()),
                                                              "--limit", "20", "-k", cust_path)

    # --- usage through the meter: its API in its own process, the agent's signed heartbeats -----------------
    api_port = free_port()
    meter = operator.background("meter", "serve", "--port", str(api_port), "--no-jobs", "--grace-s", "0")
    api = f"http://127.0.0.1:{api_port}"
    try:
        wait_until_up(meter, lambda: httpx.get(f"{api}/healthz", timeout=2).status_code == 200)
        start = (time.time_ns() // 1_000_000) // MINUTE_MS * MINUTE_MS - 20 * MINUTE_MS
        lease = "rehearsal-job-1"
        # consent off-chain: the customer signs the lease with its wallet key before any usage is billed
        signed = customer("customer", "lease", "sign", lease, "--provider", str(prov.pubkey()), "--gpu", "H100:2",
                          "--cap", "20", "--start-ms", str(start), "--hours", "2", "--api", api, "-k", cust_path)
        assert signed.startswith(f"lease {lease} stored: 2 x H100 from {prov.pubkey()}"), signed
        beats = [{"specversion": "1.0", "id": f"{lease}:hb:{start + i * 30_000}",
                  "source": f"/providers/{prov.pubkey()}/agent", "type": GPU_HEARTBEAT, "subject": str(cust.pubkey()),
                  "time": _iso(start + i * 30_000),
                  "data": {"lease_id": lease, "provider": str(prov.pubkey()), "gpu_class": "H100", "gpu_count": 2,
                           "interval_ms": 30_000}} for i in range(20)]
        r = MeterClient(api, prov).post_batch(beats)
        assert r.status_code == 200, r.text
        assert json.loads(r.text)["accepted"] == 20, r.text

        # --- receipts and a batch, posted and settled ---------------------------------------------------------
        sealed = operator("meter", "seal", "--batch", "--grace-s", "0")
        assert "receipt(s)" in sealed and "batch " in sealed, sealed
        crank = operator("-k", admin_path, "operator", "crank")
        assert "post_batches     1" in crank, crank
        settled = next(l for l in crank.splitlines() if l.startswith("settle_channels"))
        assert "'confirmed': 1" in settled and "'failed': 0" in settled, crank
        status = json.loads(customer("customer", "status", "--json", "-k", cust_path, "--api", api))
        assert 0 < status["escrow"] < 40_000_000, status
        assert status["meter"]["billed_total"] > 0 and status["meter"]["paused"] is False, status  # signed read
        listed = customer("customer", "receipts", "-k", cust_path, "--api", api)
        seqs = [int(line.split(" seq ")[1].split()[0]) for line in listed.splitlines()]
        assert seqs == sorted(seqs, reverse=True) and seqs[-1] == 1, listed  # newest first

        # --- an auditor with its own settings: public data only ------------------------------------------------
        # a channel's receipt list is its parties' (and the operator's): without a key its settlements are
        # checked from the chain and its receipts are NOT VERIFIED (fail closed: exit 1 unless --allow-pending)
        report = auditor("audit", "all", "--program-id", str(pid), "--api", api, "--allow-pending")
        assert "== 6 audits: NOT VERIFIED" in report and "nothing failed" in report, report
        assert "ok   program.committed: the deployed program is the committed solmeter_billing.so" in report
        assert "channel.receipts" in report and "sign with -k" in report, report
        # with the customer's key everything is verified: exit status 0, every audit CLEAN
        signed = auditor("audit", "all", "--program-id", str(pid), "--api", api, "-k", cust_path)
        assert "== 6 audits: all CLEAN" in signed and "channel.receipts" not in signed, signed
    finally:
        stop(meter)
    assert "0 difference(s)" in operator("-k", admin_path, "operator", "reconcile")
