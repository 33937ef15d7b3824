"""Paused, not closed: a customer whose escrow cannot cover its accrued usage is paused (the meter refuses
its new GPU work), its channel is not settled into a failing transaction, and a deposit resumes it and
lets the crank settle. The top-up crank pulls from the customer's wallet through its SPL allowance."""
from __future__ import annotations

import time

from solders.pubkey import Pubkey
from sqlalchemy import select

from contracts import DEFAULT_PROGRAM_ID
from contracts.client import BillingProgram
from ledger.accounting import Ledger, chart
from ledger.engine.chain import RpcChain
from ledger.engine.jobs import Engine
from ledger.engine.pause import LedgerEscrowBalance
from ledger.ops import roles
from ledger.ops.bootstrap import bootstrap
from ledger.ops.deployment import InitParams

from ledger_helpers import MeterSim, start_node

PROGRAM = Pubkey.from_string(DEFAULT_PROGRAM_ID)


def _paused(session_factory, customer: str) -> bool:
    from metering.models import Customer

    with session_factory() as s:
        return bool(s.execute(select(Customer.paused).where(Customer.pubkey == customer)).scalar())


def test_an_exhausted_customer_is_paused_and_resumes_on_deposit(engine, session_factory, tmp_path):
    node = start_node(tmp_path / "chain")
    try:
        chain = RpcChain(node.rpc_url)
        # H100 at 2.5 tokens/hour: 2 hours of 2 GPUs cost 10 tokens; the customer deposited 1.
        w = bootstrap(chain, program_id=PROGRAM, n_providers=1, n_customers=1, wallet_tokens=100 * 10**6,
                      stake=10**6, deposit=1 * 10**6, params=InitParams())
        p, c = w.providers[0], w.customers[0]
        cw = str(c.pubkey())
        meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
        eng = Engine(session_factory, chain, BillingProgram(PROGRAM), payer=w.admin, meter=w.meter)
        base = (int(time.time() * 1000) - 6 * 3_600_000) // 60_000 * 60_000
        meter.heartbeats(p, c, "lease-1", base, 240, gpus=2)
        meter.seal_and_batch(base + 125 * 60_000)
        out = eng.crank_once()
        assert out["settle_channels"]["skipped_underfunded"] == 1 and out["settle_channels"]["failed"] == 0
        assert _paused(session_factory, cw)
        avail = LedgerEscrowBalance(session_factory).available(cw)
        assert avail is not None and avail < 0
        # the meter refuses new GPU work of a paused customer
        refused = meter.heartbeats(p, c, "lease-2", base + 130 * 60_000, 2)
        assert "paused" in str(refused.to_dict())

        roles.deposit(chain, w.dep, c, 20 * 10**6)
        out = eng.crank_once()
        assert out["settle_channels"]["confirmed"] == 1
        assert not _paused(session_factory, cw)
        assert eng.reconcile().ok
        assert LedgerEscrowBalance(session_factory).available(cw) == \
            chain.token_balance(BillingProgram(PROGRAM).escrow_address(c.pubkey()))
    finally:
        node.stop()


def test_the_top_up_crank_refills_an_escrow_below_its_threshold(engine, session_factory, tmp_path):
    node = start_node(tmp_path / "chain")
    try:
        chain = RpcChain(node.rpc_url)
        w = bootstrap(chain, program_id=PROGRAM, n_providers=1, n_customers=1, wallet_tokens=100 * 10**6,
                      stake=10**6, deposit=2 * 10**6, params=InitParams())
        c = w.customers[0]
        roles.auto_top_up(chain, w.dep, c, threshold=5 * 10**6, amount=4 * 10**6, allowance=6 * 10**6)
        eng = Engine(session_factory, chain, BillingProgram(PROGRAM), payer=w.admin, meter=w.meter)
        eng.crank_once()
        escrow = BillingProgram(PROGRAM).escrow_address(c.pubkey())
        assert chain.token_balance(escrow) == 2 * 10**6 + 4 * 10**6  # one top-up: now above the threshold
        eng.crank_once()
        assert chain.token_balance(escrow) == 6 * 10**6  # not below the threshold: nothing more pulled
        led = Ledger(session_factory)
        assert led.balance(chart.escrow(str(c.pubkey()))) == 6 * 10**6
        assert led.totals_by_kind()["top_up"] == 4 * 10**6
        assert eng.reconcile().ok
    finally:
        node.stop()
