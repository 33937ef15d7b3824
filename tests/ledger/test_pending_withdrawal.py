"""A customer's pending withdrawal counts against what it can still be billed: the attack is to arm
`request_withdrawal(u64::MAX)` at deposit time and leave with everything once the delay is over, leaving the
last receipts unpayable. The meter (apply_pauses, runway) reads the request from the Customer account and
treats the requested part of the escrow as leaving; once the request expires on-chain it counts no more."""
from __future__ import annotations

import time

from solders.pubkey import Pubkey
from sqlalchemy import select

from contracts import DEFAULT_PROGRAM_ID
from contracts.client import BillingProgram
from ledger.engine.chain import RpcChain
from ledger.engine.jobs import Engine
from ledger.engine.pause import Coverage, pending_withdrawal
from ledger.ops import roles
from ledger.ops.bootstrap import bootstrap
from ledger.ops.deployment import InitParams

from ledger_helpers import MeterSim, start_node

PROGRAM = Pubkey.from_string(DEFAULT_PROGRAM_ID)
U64_MAX = (1 << 64) - 1
TOKENS = 10**6


def _paused(session_factory, customer: str) -> tuple[bool, str]:
    from metering.models import Customer

    with session_factory() as s:
        r = s.execute(select(Customer.paused, Customer.paused_reason).where(Customer.pubkey == customer)).first()
        return (bool(r[0]), r[1]) if r else (False, "")


def test_pending_withdrawal_rules():
    assert pending_withdrawal(0, 0, 100, 50) == 0  # no request
    assert pending_withdrawal(5, 1000, 100, 1000) == 5  # waiting for its delay: it will leave
    assert pending_withdrawal(5, 1000, 100, 1200) == 5  # the last second it can be used
    assert pending_withdrawal(5, 1000, 100, 1201) == 0  # expired: withdraw refuses it
    cov = Coverage("c", escrow=20, owed=10, pending_withdrawal=U64_MAX)
    assert cov.leaving == 20 and cov.available == -10 and not cov.covered  # withdraw pays at most the escrow
    cov = Coverage("c", escrow=20, owed=10, pending_withdrawal=10)
    assert cov.available == 0 and cov.covered
    cov = Coverage("c", escrow=20, owed=10, pending_withdrawal=11)
    assert cov.available == -1 and not cov.covered


def test_an_armed_withdrawal_pauses_billing_until_it_expires(engine, session_factory, tmp_path):
    node = start_node(tmp_path / "chain")
    try:
        chain = RpcChain(node.rpc_url)
        params = InitParams()
        w = bootstrap(chain, program_id=PROGRAM, n_providers=1, n_customers=1, wallet_tokens=100 * TOKENS,
                      stake=TOKENS, deposit=20 * TOKENS, params=params)
        p, c = w.providers[0], w.customers[0]
        cw = str(c.pubkey())
        meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
        eng = Engine(session_factory, chain, BillingProgram(PROGRAM), payer=w.admin, meter=w.meter)
        # 2 H100 for 2 hours: 10 tokens owed, signed by the meter and not settled yet; 20 in escrow
        base = (int(time.time() * 1000) - 6 * 3_600_000) // 60_000 * 60_000
        meter.heartbeats(p, c, "lease-1", base, 241, gpus=2)
        meter.seal_and_batch(base + 125 * 60_000)
        eng.follow_chain()
        eng.accrue_receipts()
        eng.apply_pauses()
        assert not _paused(session_factory, cw)[0]
        assert eng.escrow_view.available(cw) == 10 * TOKENS

        # the customer arms a withdrawal of everything
        roles.request_withdrawal(chain, w.dep, c, U64_MAX)
        eng.apply_pauses()
        paused, reason = _paused(session_factory, cw)
        assert paused and "requested for withdrawal" in reason
        assert eng.escrow_view.available(cw) == -10 * TOKENS  # runway: nothing left to bill
        refused = meter.heartbeats(p, c, "lease-2", base + 130 * 60_000, 2)
        assert "paused" in str(refused.to_dict())

        # a request to withdraw part of it leaves the rest payable
        roles.request_withdrawal(chain, w.dep, c, 4 * TOKENS)  # replaces the earlier request
        eng.apply_pauses()
        assert not _paused(session_factory, cw)[0] and eng.escrow_view.available(cw) == 6 * TOKENS

        # an expired request counts no more (withdraw would refuse it)
        roles.request_withdrawal(chain, w.dep, c, U64_MAX)
        eng.apply_pauses()
        assert _paused(session_factory, cw)[0]
        node.call(lambda bank: bank.time_travel(seconds=2 * params.withdrawal_delay + 1))
        eng.apply_pauses()
        assert not _paused(session_factory, cw)[0] and eng.escrow_view.available(cw) == 10 * TOKENS
    finally:
        node.stop()
