"""Benchmark of the embedded validator: sustained SPL transfers through sendTransaction from concurrent
clients, getAccountInfo per second, p50/p99 latency, and raw in-process LiteSVM on the same transfers in the
same run (the baseline for the overhead ratio).

The node runs in its own process (`python -m solmeter.cli localnet start`, durable ledger, real-time 400 ms slots), as a
user runs it; the load generator is one asyncio process with N keep-alive connections sending pre-signed,
pre-encoded requests, so what is measured is the node, not solana-py's request building.

    .venv/bin/python bench/localnet_rpc.py --runs 5 --txs 4000 --reads 20000 --conns 64
"""
from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from solders.keypair import Keypair
from solders.litesvm import LiteSVM
from solders.pubkey import Pubkey
from solders.system_program import CreateAccountParams, create_account
from solders.transaction import Transaction
from spl.token.constants import TOKEN_PROGRAM_ID
from spl.token.instructions import (create_associated_token_account, get_associated_token_address, initialize_mint,
                                    mint_to, transfer_checked)
from spl.token.models import InitializeMintParams, MintToParams, TransferCheckedParams

from localnet.solana_py import SplToken as Token
from localnet.solana_py import SyncAsyncClient as Client

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(ledger: Path, port: int) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT), SOLMETER_DATA_DIR=str(ledger.parent))
    proc = subprocess.Popen([sys.executable, "-m", "solmeter.cli", "localnet", "start", "--ledger", str(ledger), "--rpc-port",
                             str(port), "--no-billing-program"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    for _ in range(1200):
        if proc.poll() is not None:
            raise SystemExit(f"node exited: {proc.stderr.read().decode()[-2000:]}")
        try:
            httpx.post(f"http://127.0.0.1:{port}", json={"jsonrpc": "2.0", "id": 1, "method": "getHealth"}, timeout=1)
            return proc
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    raise SystemExit("node did not start")


def transfer_txs(payers, mint: Pubkey, dest_ata: Pubkey, blockhash, n: int) -> list[Transaction]:
    """n distinct pre-signed transfer_checked transactions, round-robin over the payers (one ATA each)."""
    out = []
    for i in range(n):
        p = payers[i % len(payers)]
        src = get_associated_token_address(p.pubkey(), mint)
        ix = transfer_checked(TransferCheckedParams(program_id=TOKEN_PROGRAM_ID, source=src, mint=mint, dest=dest_ata,
                                                    owner=p.pubkey(), amount=1 + i // len(payers), decimals=6))
        out.append(Transaction.new_signed_with_payer([ix], p.pubkey(), [p], blockhash))
    return out


async def blast(port: int, bodies: list[bytes], conns: int) -> tuple[float, list[float], list[bytes]]:
    """Sends every body over `conns` keep-alive connections; returns elapsed seconds, latencies, responses."""
    queue = list(enumerate(bodies))
    queue.reverse()
    lat: list[float] = []
    responses: list[bytes] = [b""] * len(bodies)

    async def worker():
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            while queue:
                i, body = queue.pop()
                t0 = time.perf_counter()
                writer.write(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
                             % (len(body), body))
                head = await reader.readuntil(b"\r\n\r\n")
                length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
                responses[i] = await reader.readexactly(length)
                lat.append(time.perf_counter() - t0)
        finally:
            writer.close()

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(conns)))
    return time.perf_counter() - t0, lat, responses


def cpu_seconds(pid: int) -> float:
    """user + system CPU of a process (all its threads), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def pct(xs: list[float], p: float) -> float:
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(len(xs) * p))] * 1000


def setup(url: str, n_payers: int):
    c = Client(url, timeout=60)
    boss = Keypair()
    c.confirm_transaction(c.request_airdrop(boss.pubkey(), 1000 * 10**9).value)
    token = Token.create_mint(c, boss, boss.pubkey(), 6, TOKEN_PROGRAM_ID)
    dest = token.create_associated_token_account(Keypair().pubkey())
    payers = [Keypair() for _ in range(n_payers)]
    for p in payers:
        c.request_airdrop(p.pubkey(), 10 * 10**9)
        ata = token.create_associated_token_account(p.pubkey())
        token.mint_to(ata, boss, 10**15)
    return c, token, dest, payers


def raw_litesvm_tps(n: int, n_payers: int) -> float:
    """The same SPL transfers straight into an in-process LiteSVM (sigverify and blockhash check on)."""
    svm = LiteSVM()
    boss = Keypair()
    svm.airdrop(boss.pubkey(), 1000 * 10**9)
    mint = Keypair()
    bh = svm.latest_blockhash()

    def send(ixs, signers):
        r = svm.send_transaction(Transaction.new_signed_with_payer(ixs, signers[0].pubkey(), signers, bh))
        assert not hasattr(r, "err"), r

    send([create_account(CreateAccountParams(from_pubkey=boss.pubkey(), to_pubkey=mint.pubkey(),
                                              lamports=svm.minimum_balance_for_rent_exemption(82), space=82,
                                              owner=TOKEN_PROGRAM_ID)),
          initialize_mint(InitializeMintParams(decimals=6, program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(),
                                               mint_authority=boss.pubkey()))], [boss, mint])
    owner = Keypair().pubkey()
    send([create_associated_token_account(boss.pubkey(), owner, mint.pubkey())], [boss])
    dest = get_associated_token_address(owner, mint.pubkey())
    payers = [Keypair() for _ in range(n_payers)]
    for p in payers:
        svm.airdrop(p.pubkey(), 10 * 10**9)
        send([create_associated_token_account(boss.pubkey(), p.pubkey(), mint.pubkey())], [boss])
        send([mint_to(MintToParams(program_id=TOKEN_PROGRAM_ID, mint=mint.pubkey(),
                                   dest=get_associated_token_address(p.pubkey(), mint.pubkey()),
                                   mint_authority=boss.pubkey(), amount=10**15))], [boss])
    txs = transfer_txs(payers, mint.pubkey(), dest, bh, n)
    t0, c0 = time.perf_counter(), time.process_time()
    for tx in txs:
        r = svm.send_transaction(tx)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    assert not hasattr(r, "err"), r
    return n / elapsed, cpu / n


def one_run(args) -> dict:
    # The baseline is measured right before and right after the node's run and averaged, so that load from
    # other processes on the machine weighs on both sides of the ratio alike.
    raw_before, raw_cpu_before = raw_litesvm_tps(args.txs, args.payers)
    with tempfile.TemporaryDirectory() as tmp:
        port = free_port()
        proc = start_node(Path(tmp) / "ledger", port)
        try:
            c, token, dest, payers = setup(f"http://127.0.0.1:{port}", args.payers)
            bh = c.get_latest_blockhash().value.blockhash
            # one client alone first: the latency of a single sendTransaction, durable commit included
            solo = transfer_txs(payers[:1], token.pubkey, dest, bh, args.solo)
            solo_bodies = [json.dumps({"jsonrpc": "2.0", "id": i, "method": "sendTransaction", "params": [
                base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}]}).encode() for i, tx in enumerate(solo)]
            _el, solo_lat, resps = asyncio.run(blast(port, solo_bodies, 1))
            assert all(b'"result"' in r for r in resps), resps[0]
            bh = c.get_latest_blockhash().value.blockhash
            payers = payers[1:]
            txs = transfer_txs(payers, token.pubkey, dest, bh, args.txs)
            bodies = [json.dumps({"jsonrpc": "2.0", "id": i, "method": "sendTransaction", "params": [
                base64.b64encode(bytes(tx)).decode(), {"encoding": "base64"}]}).encode() for i, tx in enumerate(txs)]
            cpu0 = cpu_seconds(proc.pid)
            elapsed, lat, resps = asyncio.run(blast(port, bodies, args.conns))
            node_cpu_per_tx = (cpu_seconds(proc.pid) - cpu0) / args.txs
            errors = [r for r in resps if b'"error"' in r]
            if errors:
                raise SystemExit(f"{len(errors)} sendTransaction errors, e.g. {errors[0][:300]!r}")
            landed = int(token.get_balance(dest).value.amount)
            expected = sum(1 + i for i in range(args.solo)) + sum(1 + i // len(payers) for i in range(args.txs))
            assert landed == expected, (landed, expected)
            send = {"tps": args.txs / elapsed, "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99),
                    "cpu_us": node_cpu_per_tx * 1e6,
                    "solo_p50_ms": pct(solo_lat, 0.5), "solo_p99_ms": pct(solo_lat, 0.99)}

            target = str(get_associated_token_address(payers[0].pubkey(), token.pubkey))
            rbodies = [json.dumps({"jsonrpc": "2.0", "id": i, "method": "getAccountInfo",
                                   "params": [target, {"encoding": "base64"}]}).encode() for i in range(args.reads)]
            elapsed, lat, resps = asyncio.run(blast(port, rbodies, args.conns))
            assert all(b'"lamports":2039280' in r for r in resps)
            read = {"rps": args.reads / elapsed, "p50_ms": pct(lat, 0.5), "p99_ms": pct(lat, 0.99)}
        finally:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=60)
    raw_after, raw_cpu_after = raw_litesvm_tps(args.txs, args.payers)
    raw = (raw_before + raw_after) / 2
    raw_cpu = (raw_cpu_before + raw_cpu_after) / 2 * 1e6
    return {"send": send, "read": read, "raw_tps": raw, "ratio": raw / send["tps"], "raw_cpu_us": raw_cpu,
            "cpu_ratio": send["cpu_us"] / raw_cpu}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--txs", type=int, default=4000, help="transfers per run (must land within 150 slots)")
    ap.add_argument("--reads", type=int, default=20000)
    ap.add_argument("--conns", type=int, default=64, help="concurrent keep-alive client connections")
    ap.add_argument("--payers", type=int, default=65, help="distinct sender accounts (the first one for --solo)")
    ap.add_argument("--solo", type=int, default=300, help="transfers sent first by a single client (latency)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    runs = []
    for i in range(args.runs):
        r = one_run(args)
        runs.append(r)
        print(f"run {i + 1}: single client p50 {r['send']['solo_p50_ms']:.2f} ms p99 {r['send']['solo_p99_ms']:.2f} ms | "
              f"send {r['send']['tps']:.0f} tx/s (p50 {r['send']['p50_ms']:.2f} ms, p99 "
              f"{r['send']['p99_ms']:.2f} ms) | getAccountInfo {r['read']['rps']:.0f}/s (p50 "
              f"{r['read']['p50_ms']:.2f} ms, p99 {r['read']['p99_ms']:.2f} ms) | raw LiteSVM {r['raw_tps']:.0f} tx/s "
              f"| ratio {r['ratio']:.2f}x | CPU/tx node {r['send']['cpu_us']:.0f} us vs raw {r['raw_cpu_us']:.0f} us "
              f"= {r['cpu_ratio']:.2f}x", flush=True)
    med = {
        "send_tps": statistics.median(r["send"]["tps"] for r in runs),
        "send_p50_ms": statistics.median(r["send"]["p50_ms"] for r in runs),
        "send_p99_ms": statistics.median(r["send"]["p99_ms"] for r in runs),
        "solo_p50_ms": statistics.median(r["send"]["solo_p50_ms"] for r in runs),
        "solo_p99_ms": statistics.median(r["send"]["solo_p99_ms"] for r in runs),
        "read_rps": statistics.median(r["read"]["rps"] for r in runs),
        "read_p50_ms": statistics.median(r["read"]["p50_ms"] for r in runs),
        "read_p99_ms": statistics.median(r["read"]["p99_ms"] for r in runs),
        "raw_tps": statistics.median(r["raw_tps"] for r in runs),
        "ratio": statistics.median(r["ratio"] for r in runs),
        "node_cpu_us_per_tx": statistics.median(r["send"]["cpu_us"] for r in runs),
        "raw_cpu_us_per_tx": statistics.median(r["raw_cpu_us"] for r in runs),
        "cpu_ratio": statistics.median(r["cpu_ratio"] for r in runs),
    }
    print(json.dumps(med, indent=2) if args.json else
          f"median of {len(runs)}: single client p50 {med['solo_p50_ms']:.2f} ms p99 {med['solo_p99_ms']:.2f} ms | "
          f"send {med['send_tps']:.0f} tx/s p50 {med['send_p50_ms']:.2f} ms p99 "
          f"{med['send_p99_ms']:.2f} ms | getAccountInfo {med['read_rps']:.0f}/s p50 {med['read_p50_ms']:.2f} ms "
          f"p99 {med['read_p99_ms']:.2f} ms | raw LiteSVM {med['raw_tps']:.0f} tx/s | overhead ratio {med['ratio']:.2f}x | "
          f"CPU/tx node {med['node_cpu_us_per_tx']:.0f} us vs raw {med['raw_cpu_us_per_tx']:.0f} us = {med['cpu_ratio']:.2f}x")


if __name__ == "__main__":
    main()
