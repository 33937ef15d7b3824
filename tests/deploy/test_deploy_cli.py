"""The deploy path through the real `solmeter` command: `operator init --url` with the operator's own program
keypair, the committed dev key refused off the localnet, a deploy killed mid-upload (kill -9) that resumes
from its buffer, `operator upgrade`, `operator buffers list|close`, the progress lines, `-u d`; and the
"Done when" line of issue 12: `solmeter localnet start --features devnet --no-billing-program`, then
`solmeter --url http://127.0.0.1:PORT operator init` deploys through the upgradeable loader and initializes."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import httpx
import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from typer.testing import CliRunner

import contracts
from deploy_support import ELF, free_port, funded, memo_elf, stop, v3_elf, wait_until_up
from contracts import loader_v3
from contracts.loader_v3 import LOADER_V3
from deploy_proxy import RpcProxy
from ledger.engine.chain import RpcChain
from ledger.ops.budget import NO_BUDGET
from ledger.ops.cluster import GENESIS_HASHES
from ledger.ops.program_deploy import buffers, deployed, sol, write_chunk_size
from ledger.ops.tx import send
from solmeter.cli import app
from solmeter.keys import write_keypair

DEVNET_GENESIS = next(h for h, n in GENESIS_HASHES.items() if n == "devnet")


@pytest.fixture
def op(isolated_env, node, monkeypatch):
    """An operator with a funded keypair and a program keypair of its own, the CLI pointed at the node. (The
    global flags and a command's -u export SOLMETER_* variables: set here first, monkeypatch restores them.)"""
    monkeypatch.setenv("SOLMETER_DATA_DIR", str(isolated_env / "data"))
    chain = RpcChain(node.rpc_url)
    admin, program = funded(chain, 20), Keypair()
    paths = {"admin": isolated_env / "op.json", "program": isolated_env / "program.json"}
    write_keypair(paths["admin"], admin)
    write_keypair(paths["program"], program)
    monkeypatch.setenv("SOLMETER_RPC_URL", node.rpc_url)
    monkeypatch.setenv("SOLMETER_KEYPAIR_PATH", str(paths["admin"]))

    def run(*args, ok=True, url=node.rpc_url):
        root = ["--url", url] if url else []  # url=None: the command's own --url/-u is in args
        res = CliRunner().invoke(app, [*root, "-k", str(paths["admin"]), *args], catch_exceptions=False)
        if ok:
            assert res.exit_code == 0, res.output
        return res
    run.chain, run.admin, run.program, run.paths, run.dir = chain, admin, program, paths, isolated_env
    return run


def _one_line_error(res) -> str:
    lines = [l for l in res.output.splitlines() if l.strip()]
    assert res.exit_code == 1 and lines[-1].startswith("error: ") and "Traceback" not in res.output, res.output
    return lines[-1]


def test_init_by_url_deploys_with_the_operators_program_keypair_and_initializes(op):
    res = op("operator", "init", "--program-keypair", str(op.paths["program"]), "--compute-unit-price", "2000")
    pid = op.program.pubkey()
    # Then the program was deployed through the upgradeable loader at the operator's own address, with the cost
    # and an Explorer link, the writes reported as plain lines (no TTY here), and the program initialized
    assert f"deployed program {pid}" in res.output and f"initialized program {pid}" in res.output
    assert "cost " in res.output and "SOL rent held by the program's accounts" in res.output
    assert "https://explorer.solana.com/tx/" in res.output and "cluster=custom&customUrl=" in res.output
    assert "chunks written (100%)" in res.output and "\r" not in res.output
    pd = deployed(op.chain, pid)[1]
    assert pd.upgrade_authority == op.admin.pubkey() and pd.elf[:len(ELF)] == ELF
    dep = json.loads((op.dir / "data" / "deployment.json").read_text())
    assert dep["program_id"] == str(pid) and dep["admin"] == str(op.admin.pubkey())
    # and a second init, given the URL on the command itself (-u), deploys nothing and reads the Config back
    again = op("operator", "init", "-u", op.chain.url, "--program-keypair", str(op.paths["program"]), url=None)
    assert "deployed program" not in again.output and "already initialized" in again.output


def test_the_dev_program_key_is_refused_on_a_public_cluster(op, node):
    # Given an RPC endpoint whose genesis is devnet's (as a private devnet RPC on a forwarded port would be)
    def devnet(method, request, seen):
        return ("result", DEVNET_GENESIS) if method == "getGenesisHash" else None

    with RpcProxy(node.rpc_url, devnet) as proxy:
        before = op.chain.lamports(op.admin.pubkey())
        # When init is asked to deploy with the committed dev key, implicitly or by path
        for extra in ((), ("--program-keypair", str(contracts.PROGRAM_KEYPAIR))):
            line = _one_line_error(op("operator", "init", *extra, ok=False, url=proxy.url))
            # Then it refuses in one line saying how to make a key of one's own, before paying anything
            assert "development key for the localnet only, and devnet is not one" in line
            assert "solmeter keys new program-keypair.json" in line and "--program-keypair" in line
        assert op.chain.lamports(op.admin.pubkey()) == before
        # and with the operator's own key but too little SOL, it says what is needed and where to get it
        poor = Keypair()
        op.chain.airdrop(poor.pubkey(), 10**9)
        time.sleep(0.2)
        write_keypair(op.dir / "poor.json", poor)
        res = CliRunner().invoke(app, ["--url", proxy.url, "-k", str(op.dir / "poor.json"), "operator", "init",
                                       "--program-keypair", str(op.paths["program"])], catch_exceptions=False)
        line = _one_line_error(res)
        assert f"{poor.pubkey()} has 1 SOL but deploying" in line
        assert f"solana airdrop 2 {poor.pubkey()} -u devnet" in line and "faucet.solana.com" in line
        assert buffers(op.chain, poor.pubkey()) == []


def test_a_deploy_killed_mid_upload_resumes_from_its_buffer(op, node):
    # Given `operator init` running in its own process, whose RPC stops answering sends after the buffer was
    # created and 15 chunks were written (the upload is cut off there)
    cut_after = 1 + 15

    def hang(method, request, seen):
        return ("hang",) if method == "sendTransaction" and seen >= cut_after else None

    with RpcProxy(node.rpc_url, hang) as proxy:
        env = {**os.environ, "SOLMETER_RPC_URL": proxy.url, "SOLMETER_KEYPAIR_PATH": str(op.paths["admin"])}
        proc = subprocess.Popen([sys.executable, "-m", "solmeter.cli", "operator", "init", "--program-keypair",
                                 str(op.paths["program"])], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while proxy.forwarded["sendTransaction"] < cut_after or not proxy.hanging.is_set():
                assert proc.poll() is None and time.monotonic() < deadline, proc.stdout.read().decode()
                time.sleep(0.02)
            # When the process is killed there (kill -9: nothing runs after it)
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)
        finally:
            if proc.poll() is None:
                proc.kill()
    spent_first = 20 * 10**9 - op.chain.lamports(op.admin.pubkey())
    # Then the buffer is listed with the 15 chunks it holds
    listed = op("operator", "buffers", "list").output
    assert "resumable: 15/" in listed and "1 buffer(s)" in listed
    [buf] = buffers(op.chain, op.admin.pubkey())
    # and a rerun resumes it, writes only the missing chunks, deploys and initializes
    res = op("operator", "init", "--program-keypair", str(op.paths["program"]))
    total = len(loader_v3.chunk_offsets(len(ELF), write_chunk_size(op.admin, NO_BUDGET)))
    assert f"resuming buffer {buf.address}: 15 of {total} chunks already written" in res.output
    assert f"resumed buffer {buf.address}, wrote the {total - 15} missing of {total} chunks" in res.output
    assert "initialized program" in res.output and buffers(op.chain, op.admin.pubkey()) == []
    # over both runs each chunk was paid once: the deploy's fees are those of one upload
    deploy_line = next(l for l in res.output.splitlines() if l.strip().startswith("cost ") and "rent held" in l)
    assert f"{sol(5_000 * (total - 15 + 2))} SOL fees" in deploy_line
    assert spent_first == buf.lamports + 5_000 * (2 + 15)


def test_upgrade_and_stale_buffers_through_the_cli(op):
    op("operator", "init", "--program-keypair", str(op.paths["program"]))
    # the same bytes: nothing to do
    assert "already runs these bytes: nothing to do" in op("operator", "upgrade", "-y").output
    # another signer is refused before paying, in one line
    other = Keypair()
    op.chain.airdrop(other.pubkey(), 10**9)
    write_keypair(op.dir / "other.json", other)
    time.sleep(0.2)
    res = CliRunner().invoke(app, ["--url", op.chain.url, "operator", "upgrade", "-y", "-k", str(op.dir / "other.json")],
                             catch_exceptions=False)
    assert f"is {op.admin.pubkey()}, not {other.pubkey()}" in _one_line_error(res)
    new = op.dir / "new.so"
    new.write_bytes(v3_elf())
    res = op("operator", "upgrade", "--program-so", str(new), "--compute-unit-price", "1000", "-y")
    assert f"upgraded program {op.program.pubkey()}" in res.output and "SOL fees" in res.output
    assert "https://explorer.solana.com/tx/" in res.output
    assert deployed(op.chain, op.program.pubkey())[1].elf[:len(v3_elf())] == v3_elf()
    memo = op.dir / "memo.so"
    memo.write_bytes(memo_elf())
    line = _one_line_error(op("operator", "upgrade", "--program-so", str(memo), "-y", ok=False))
    assert "InvalidAccountData" in line and "SBPF v0" in line and "0x" not in line  # devnet's rules, in words
    # Given two stale buffers (the refused upgrade's and an abandoned one) ...
    stale = Keypair()
    send(op.chain, op.admin, loader_v3.create_buffer(op.admin.pubkey(), stale.pubkey(), op.admin.pubkey(), 2048,
                                                     op.chain.rent_exempt(loader_v3.buffer_account_len(2048))), [stale])
    mine = buffers(op.chain, op.admin.pubkey())
    assert stale.pubkey() in {b.address for b in mine}
    # a buffer not of this keypair cannot be closed by it
    line = _one_line_error(op("operator", "buffers", "close", str(op.program.pubkey()), "-y", ok=False))
    assert "is not a buffer whose authority is" in line
    # When they are closed, then their rent comes back, with an Explorer link
    before = op.chain.lamports(op.admin.pubkey())
    res = op("operator", "buffers", "close", "--all", "-y")
    assert f"closed {len(mine)} buffer(s)" in res.output and "https://explorer.solana.com/tx/" in res.output
    assert op.chain.lamports(op.admin.pubkey()) == before + sum(b.lamports for b in mine) - 5_000
    assert buffers(op.chain, op.admin.pubkey()) == [] and "0 buffer(s)" in op("operator", "buffers", "list").output


def test_short_cluster_monikers(isolated_env, monkeypatch):
    monkeypatch.setenv("SOLMETER_RPC_URL", "localnet")  # -u exports it: restored after the test
    for flag, url in (("d", "https://api.devnet.solana.com"), ("t", "https://api.testnet.solana.com"),
                      ("m", "https://api.mainnet-beta.solana.com"), ("l", "http://127.0.0.1:8899")):
        res = CliRunner().invoke(app, ["-u", flag, "config", "show", "--json"], catch_exceptions=False)
        assert json.loads(res.output)["resolved_rpc_url"] == url


def test_done_when_localnet_start_devnet_then_operator_init_by_url(isolated_env, tmp_path):
    """Issue 12's line, verbatim: a localnet started by the CLI on devnet's feature set without the billing
    program, then `solmeter --url http://127.0.0.1:PORT operator init`."""
    port = free_port()
    env = {**os.environ, "SOLMETER_DATA_DIR": str(tmp_path / "data")}
    node = subprocess.Popen([sys.executable, "-m", "solmeter.cli", "localnet", "start", "--features", "devnet",
                             "--no-billing-program", "--rpc-port", str(port), "--ledger", str(tmp_path / "ledger")],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(node, lambda: httpx.post(url, json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"},
                                               timeout=2).status_code == 200)
        res = subprocess.run([sys.executable, "-m", "solmeter.cli", "--url", url, "operator", "init"], env=env,
                             capture_output=True, text=True, timeout=300)
        out = res.stdout + res.stderr
        assert res.returncode == 0, out
        pid = contracts.DEFAULT_PROGRAM_ID  # a local cluster: the dev key is allowed
        assert f"deploying program {pid} to localnet" in out and f"deployed program {pid}" in out
        assert f"initialized program {pid}" in out
        acct = RpcChain(url).client.get_account_info(
            loader_v3.programdata_address(Pubkey.from_string(contracts.DEFAULT_PROGRAM_ID)))
        assert acct is not None and acct.owner == LOADER_V3
    finally:
        stop(node)
