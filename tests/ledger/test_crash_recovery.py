"""SIGKILL the settlement engine at random points of settlement, restart it, and check that nothing was paid
twice and no receipt was lost: every channel ends settled exactly up to its newest receipt, the escrows
paid exactly that, and the ledger equals the chain to the base unit. Half the trials kill at a random
moment, half at a chosen fault point (signature stored / sent / confirmation committed)."""
from __future__ import annotations

import os
import random
import subprocess
import sys
import time
import zlib
from pathlib import Path

import pytest
from solders.pubkey import Pubkey
from sqlalchemy import select

from contracts import DEFAULT_PROGRAM_ID
from contracts.client import BillingProgram, decode_account_as
from ledger.accounting import Book, Ledger
from ledger.engine.chain import RpcChain
from ledger.engine.jobs import Engine
from ledger.ops.bootstrap import bootstrap
from ledger.ops.deployment import InitParams
from solmeter.keys import write_keypair

from ledger_helpers import MeterSim, start_node

PROGRAM = Pubkey.from_string(DEFAULT_PROGRAM_ID)
WORKER = Path(__file__).with_name("ledger_crash_worker.py")
POINTS = ["after_record_signature", "after_send", "after_confirmed"]
TRIALS = int(os.environ.get("SOLMETER_CRASH_TRIALS", "10"))


def run_trials(db_url, session_factory, engine, tmp_path, trials: int, seed: int) -> dict:
    rng = random.Random(seed)
    node = start_node(tmp_path / "chain")
    try:
        chain = RpcChain(node.rpc_url)
        w = bootstrap(chain, program_id=PROGRAM, n_providers=2, n_customers=3, wallet_tokens=1_000 * 10**6,
                      stake=10**6, deposit=500 * 10**6, params=InitParams(fee_bps=300, burn_bps=100))
        payer_path, meter_path = tmp_path / "payer.json", tmp_path / "meter.json"
        write_keypair(payer_path, w.admin)
        write_keypair(meter_path, w.meter)
        meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
        base = (int(time.time() * 1000) - 12 * 3_600_000) // 60_000 * 60_000
        kills = {"random": 0, "fault": 0, "finished_first": 0, "left_intents_open": 0}
        from ledger.engine.intents import IntentStore

        intents = IntentStore(session_factory)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(Path.cwd()), str(WORKER.parent)])}
        for t in range(trials):
            start = base + t * 10 * 60_000
            for pi, p in enumerate(w.providers):
                for ci, c in enumerate(w.customers):
                    meter.heartbeats(p, c, f"l-{t}-{pi}-{ci}", start, 6 + rng.randrange(4), gpus=1 + ci)
            meter.seal_and_batch(start + 7 * 60_000)
            args = [sys.executable, str(WORKER), db_url, node.rpc_url, str(payer_path), str(meter_path)]
            by_fault = t % 2 == 1
            if by_fault:
                args += ["--fault", f"{POINTS[(t // 2) % 3]}:{1 + rng.randrange(4)}"]
            proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True)
            assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
            if not by_fault:
                line = proc.stdout.readline().strip()  # "settling": the crank reached the settlement job
                if line == "settling":
                    time.sleep(rng.uniform(0.0, 0.25))
                proc.kill()  # SIGKILL
            rc = proc.wait(timeout=120)
            if rc == -9:
                kills["fault" if by_fault else "random"] += 1
                kills["left_intents_open"] += bool(intents.open())  # killed with a transaction in flight
            else:
                assert rc == 0, proc.stderr.read()
                kills["finished_first"] += 1
        # Restart: a clean engine finishes whatever the killed ones left.
        eng = Engine(session_factory, chain, BillingProgram(PROGRAM), payer=w.admin, meter=w.meter)
        for _ in range(5):
            eng.crank_once()
        check_invariants(session_factory, chain, eng, w)
        return kills
    finally:
        node.stop()


def check_invariants(session_factory, chain, eng, w) -> None:
    from metering.models import ReceiptRow

    program = BillingProgram(PROGRAM)
    with session_factory() as s:
        latest = dict(((c, p), (seq, cum)) for c, p, seq, cum in s.execute(
            select(ReceiptRow.customer, ReceiptRow.provider, ReceiptRow.seq, ReceiptRow.cum_amount)
            .order_by(ReceiptRow.seq)).all())
    assert latest
    for (c, p), (seq, cum) in latest.items():
        ch = decode_account_as("Channel", chain.account_data(program.channel_address(Pubkey.from_string(c),
                                                                                      Pubkey.from_string(p))))
        assert (int(ch.last_seq), int(ch.settled_amount)) == (seq, int(cum)), "a receipt was lost or overpaid"
    for c in w.customers:
        cust = decode_account_as("Customer", chain.account_data(program.customer_address(c.pubkey())))
        owed = sum(int(cum) for (cc, _p), (_s, cum) in latest.items() if cc == str(c.pubkey()))
        assert int(cust.total_settled) == owed  # paid exactly once, in total
        assert chain.token_balance(program.escrow_address(c.pubkey())) == 500 * 10**6 - owed
    recon = eng.reconcile()
    assert recon.ok, [str(d) for d in recon.differences]
    assert Ledger(session_factory).trial_balance() == {Book.CUSTODY: 0, Book.OBLIGATION: 0}
    assert eng.intents.open() == []


@pytest.mark.slow
def test_sigkill_during_settlement_never_pays_twice_or_loses_a_receipt(db_url, session_factory, engine, tmp_path):
    kills = run_trials(db_url, session_factory, engine, tmp_path, TRIALS, seed=zlib.crc32(db_url.split(":")[0].encode()))
    print("crash trials:", kills)
    assert kills["random"] + kills["fault"] >= TRIALS // 2, kills
