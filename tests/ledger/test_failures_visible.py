"""Failures are visible and recover by themselves (issue 14), against the real localnet: a meter key with no
SOL stops post_batches with ONE warning that names the key, its balance, what a batch needs and how to fund
it; `operator jobs` shows the count and the cause; the intent's error names the system program's error in
words (never "custom program error: 0x1"); once the key is funded the batch posts and everything settles
without anyone touching the intent."""
from __future__ import annotations

import logging
import time

from solders.pubkey import Pubkey
from solders.system_program import TransferParams, transfer

from contracts import DEFAULT_PROGRAM_ID
from contracts.client import BillingProgram
from ledger.engine.chain import RpcChain
from ledger.engine.jobs import Engine
from ledger.engine.service import Service
from ledger.ops.bootstrap import airdrop, bootstrap
from ledger.ops.deployment import InitParams
from ledger.ops.tx import send

from ledger_helpers import MeterSim

PROGRAM = Pubkey.from_string(DEFAULT_PROGRAM_ID)


def _world(node, engine):
    chain = RpcChain(node.rpc_url)
    w = bootstrap(chain, program_id=PROGRAM, n_providers=1, n_customers=1, wallet_tokens=1_000 * 10**6,
                  stake=10**6, deposit=500 * 10**6, params=InitParams())
    meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
    base = (int(time.time() * 1000) - 3 * 3_600_000) // 60_000 * 60_000
    meter.heartbeats(w.providers[0], w.customers[0], "lease-1", base, 10)
    meter.seal_and_batch(base + 8 * 60_000)
    return chain, w


def _drain(chain, w) -> None:
    """Move every lamport of the meter key away: the state `operator init` left it in before issue 14."""
    have = chain.lamports(w.meter.pubkey())
    send(chain, w.admin, [transfer(TransferParams(from_pubkey=w.meter.pubkey(), to_pubkey=w.admin.pubkey(),
                                                  lamports=have))], [w.meter], what="drain the meter key")
    assert chain.lamports(w.meter.pubkey()) == 0


def _lease(svc, name):
    return next(l for l in svc.leases.status() if l.name == name)


def test_an_unfunded_meter_key_is_said_once_shown_and_recovers_when_funded(engine, session_factory, node, caplog):
    chain, w = _world(node, engine)
    _drain(chain, w)
    eng = Engine(session_factory, chain, BillingProgram(PROGRAM), payer=w.admin, meter=w.meter)
    svc = Service(session_factory, eng.job_specs())
    meter_key = str(w.meter.pubkey())
    with caplog.at_level(logging.INFO, logger="solmeter.engine"):
        for _ in range(3):
            recs = {r.name: r for r in svc.run_all_once()}
            assert recs["post_batches"].kind == "blocked"
            assert recs["settle_channels"].ok  # nothing posted, nothing to settle: not a failure of its own
    cause = recs["post_batches"].error
    assert cause.startswith(f"meter key {meter_key[:4]}…{meter_key[-4:]} has 0 SOL: post_batch needs ~0.00")
    assert f"fund it with `solmeter airdrop 1 {meter_key}`" in cause
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and warnings[0].startswith("post_batches stopped: meter key"), warnings
    lease = _lease(svc, "post_batches")
    assert lease.failures == 3 and lease.last_error == cause
    (intent,) = eng.intents.all("post_batch")
    assert intent.state == "failed" and intent.attempts == 1  # not resent while the key has no SOL
    assert "system program" in intent.error and "ResultWithNegativeLamports" in intent.error
    assert "insufficient lamports" in intent.error and "0x1" not in intent.error

    airdrop(chain, w.meter.pubkey(), 1_000_000_000)
    caplog.clear()
    with caplog.at_level(logging.INFO, logger="solmeter.engine"):
        recs = {r.name: r for r in svc.run_all_once()}
    assert recs["post_batches"].ok and recs["post_batches"].result == 1
    assert recs["settle_channels"].result["confirmed"] == 1
    assert _lease(svc, "post_batches").failures == 0
    assert [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO] == ["post_batches recovered"]
    assert eng.intents.all("post_batch")[0].state == "confirmed"
    eng.follow_chain()
    assert eng.reconcile().ok


def test_a_settle_refused_because_the_treasury_changed_is_rebuilt_and_reconcile_counts_both(
        engine, session_factory, node):
    """set_treasury lands between the crank building a settle and the cluster running it (injected at the
    executor's fault point after the signature is recorded): the settle is refused WrongTokenAccount, named
    in words; the next run rebuilds it with the new treasury and it settles. Reconciliation stays exact to
    the base unit: the fees paid to the former treasury still count."""
    from solders.keypair import Keypair

    from ledger.accounting import Ledger, chart
    from ledger.ops import roles, token

    chain, w = _world(node, engine)
    eng = Engine(session_factory, chain, BillingProgram(PROGRAM), payer=w.admin, meter=w.meter)
    eng.crank_once()
    old = Pubkey.from_string(w.dep.treasury)
    fees_old = chain.token_balance(old)
    assert fees_old > 0
    new_kp = Keypair()
    token.create_token_account(chain, w.admin, new_kp, w.dep.mint_key, w.admin.pubkey())
    meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
    base = (int(time.time() * 1000) - 2 * 3_600_000) // 60_000 * 60_000
    meter.heartbeats(w.providers[0], w.customers[0], "lease-2", base, 10)
    meter.seal_and_batch(base + 8 * 60_000)
    assert eng.post_batches() == 1

    moved = []

    def treasury_moves(point: str) -> None:
        if point == "after_record_signature" and not moved:
            moved.append(roles.set_treasury(chain, w.dep, w.admin, new_kp.pubkey()))

    eng.executor.fault = treasury_moves
    out = eng.settle_channels()
    assert moved and out["failed"] == 1 and out["confirmed"] == 0
    (refused,) = [i for i in eng.intents.all("settle") if i.state == "failed"]
    assert "WrongTokenAccount" in refused.error and "0x" not in refused.error
    assert eng.blocked["settle_channels"][1].startswith("settle ")

    eng.executor.fault = lambda point: None
    out = eng.settle_channels()
    assert out["confirmed"] == 1 and out["failed"] == 0
    assert eng.intents.by_key(refused.key).state == "confirmed"
    fees_new = chain.token_balance(new_kp.pubkey())
    assert fees_new > 0 and chain.token_balance(old) == fees_old
    eng.follow_chain()
    recon = eng.reconcile()
    assert recon.ok, [str(d) for d in recon.differences]
    assert Ledger(session_factory).balance(chart.treasury()) == fees_old + fees_new


def test_a_fee_payer_without_sol_is_named_and_the_engine_resumes_once_it_is_funded(engine, session_factory, node):
    """The engine's fee payer (here the admin) loses its SOL: the cluster refuses every transaction before it
    runs (AccountNotFound); post_batches names the payer key and what a transaction needs, and resumes when
    the key is funded again."""
    chain, w = _world(node, engine)
    have = chain.lamports(w.admin.pubkey())
    send(chain, w.meter, [transfer(TransferParams(from_pubkey=w.admin.pubkey(), to_pubkey=w.meter.pubkey(),
                                                  lamports=have))], [w.admin], what="drain the payer")
    eng = Engine(session_factory, chain, BillingProgram(PROGRAM), payer=w.admin, meter=w.meter)
    svc = Service(session_factory, eng.job_specs())
    recs = {r.name: r for r in svc.run_all_once()}
    admin = str(w.admin.pubkey())
    assert recs["post_batches"].kind == "blocked"
    assert recs["post_batches"].error.startswith(f"payer key {admin[:4]}…{admin[-4:]} has 0 SOL: post_batch needs ")
    (intent,) = eng.intents.all("post_batch")
    assert intent.error.startswith("AccountNotFound: the fee payer has no SOL"), intent.error
    airdrop(chain, w.admin.pubkey(), 1_000_000_000)
    recs = {r.name: r for r in svc.run_all_once()}
    assert recs["post_batches"].ok and recs["settle_channels"].result["confirmed"] == 1
