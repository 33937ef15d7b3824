"""End to end through the localnet's JSON-RPC: a deployment (token, providers, customers), real receipts
from metering's pipeline, and the engine's jobs: post the batch, settle every channel, follow the chain
into the ledger, reconcile. The ledger equals the chain to the base unit and both books balance."""
from __future__ import annotations

import time

import pytest
from solders.pubkey import Pubkey

from contracts import DEFAULT_PROGRAM_ID
from contracts.client import BillingProgram
from ledger.accounting import Book, Kind, Ledger, chart
from ledger.engine.chain import RpcChain
from ledger.engine.jobs import Engine
from ledger.ops.bootstrap import bootstrap
from ledger.ops.deployment import InitParams

from ledger_helpers import MeterSim

PROGRAM = Pubkey.from_string(DEFAULT_PROGRAM_ID)
TOKENS = 10**6


@pytest.fixture
def world(node):
    chain = RpcChain(node.rpc_url)
    w = bootstrap(chain, program_id=PROGRAM, n_providers=2, n_customers=2, wallet_tokens=1_000 * TOKENS,
                  stake=10 * TOKENS, deposit=50 * TOKENS, params=InitParams(fee_bps=250, burn_bps=100))
    return chain, w


def _usage(meter: MeterSim, w, now_ms: int, minutes: int = 30):
    start = now_ms - (minutes + 5) * 60_000
    for pi, p in enumerate(w.providers):
        for ci, c in enumerate(w.customers):
            meter.heartbeats(p, c, f"lease-{pi}-{ci}-{start}", start, minutes * 2, gpus=1 + ci)
    return meter.seal_and_batch(now_ms)


def test_receipts_are_batched_settled_and_the_ledger_equals_the_chain(engine, session_factory, world):
    chain, w = world
    meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
    now = int(time.time() * 1000)
    batch = _usage(meter, w, now)
    assert batch is not None and batch.count >= 4  # one receipt per channel per sealed window
    eng = Engine(session_factory, chain, BillingProgram(PROGRAM), payer=w.admin, meter=w.meter)
    out = eng.crank_once()
    assert out["post_batches"] == 1
    assert out["settle_channels"]["confirmed"] == 4 and out["settle_channels"]["failed"] == 0
    recon = eng.reconcile()
    assert recon.ok, [str(d) for d in recon.differences]
    assert recon.checked >= 4 + 2 + 2 + 2
    led = Ledger(session_factory)
    assert led.trial_balance() == {Book.CUSTODY: 0, Book.OBLIGATION: 0}
    # every receipt accrued is settled: no obligation is left
    assert all(v == 0 for v in led.balances(kind=Kind.CUSTOMER_RECEIVABLE).values())
    settled_total = batch.total
    fees = led.balance(chart.treasury())
    burned = led.balance(chart.burned())
    revenue = sum(led.balances(kind=Kind.PROVIDER_REVENUE).values())
    assert fees + burned + revenue == settled_total and fees > 0 and burned > 0
    for c in w.customers:
        escrow = chain.token_balance(BillingProgram(PROGRAM).escrow_address(c.pubkey()))
        assert led.balance(chart.escrow(str(c.pubkey()))) == escrow < 50 * TOKENS

    # A second pass finds nothing to do and posts nothing.
    n_tx_before = sum(1 for _ in led.totals_by_kind())
    before = led.totals_by_kind()
    again = eng.crank_once()
    assert again["settle_channels"]["confirmed"] == 0 and again["post_batches"] == 0
    assert led.totals_by_kind() == before and n_tx_before == len(before)


def test_more_usage_settles_only_the_difference(engine, session_factory, world):
    chain, w = world
    meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
    eng = Engine(session_factory, chain, BillingProgram(PROGRAM), payer=w.admin, meter=w.meter)
    now = int(time.time() * 1000)
    first = _usage(meter, w, now - 3_600_000, minutes=20)
    eng.crank_once()
    second = _usage(meter, w, now, minutes=20)
    out = eng.crank_once()
    assert out["settle_channels"]["confirmed"] == 4
    led = Ledger(session_factory)
    totals = led.totals_by_kind()
    # settlement totals count the escrow leg and the receivable leg: twice what was settled
    assert totals["settlement"] == 2 * (first.total + second.total)
    assert eng.reconcile().ok
