"""Every token movement of the program reaches the ledger through the chain follower, with the program's own
figures: withdrawal after the delay, unstake after the cooldown, epoch funding and a reward claim, and a
slash to the treasury; replaying the follow posts nothing; the ledger equals the chain afterwards."""
from __future__ import annotations

import time

from solders.pubkey import Pubkey

from contracts import DEFAULT_PROGRAM_ID
from contracts.client import BillingProgram
from ledger.accounting import Book, Ledger, chart
from ledger.engine.chain import RpcChain
from ledger.engine.cursors import set_cursor
from ledger.engine.follower import CURSOR
from ledger.engine.jobs import Engine
from ledger.ops import roles, token
from ledger.ops.bootstrap import bootstrap
from ledger.ops.deployment import InitParams

from ledger_helpers import MeterSim, start_node

PROGRAM = Pubkey.from_string(DEFAULT_PROGRAM_ID)
T = 10**6


def test_withdrawals_unstakes_rewards_and_slashes_are_followed_exactly(engine, session_factory, tmp_path):
    node = start_node(tmp_path / "chain")
    try:
        chain = RpcChain(node.rpc_url)
        params = InitParams(withdrawal_delay=3_000, settlement_window=300, unstake_cooldown=3_000, contest_window=300,
                            epoch_length=3_600, min_stake=T)
        w = bootstrap(chain, program_id=PROGRAM, n_providers=1, n_customers=1, wallet_tokens=100 * T, stake=10 * T,
                      deposit=50 * T, params=params)
        dep, p, c = w.dep, w.providers[0], w.customers[0]
        token.mint_to(chain, w.admin, w.admin, dep.mint_key, w.admin.pubkey(), 100 * T, dep.decimals)
        eng = Engine(session_factory, chain, dep.program, payer=w.admin, meter=w.meter, funder=w.admin,
                     epoch_emission=7 * T)
        meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
        base = (int(time.time() * 1000) - 3 * 3_600_000) // 60_000 * 60_000
        meter.heartbeats(p, c, "lease", base, 20, gpus=4)
        meter.seal_and_batch(base + 12 * 60_000)
        out = eng.crank_once()
        assert out["settle_channels"]["confirmed"] == 1 and out["fund_epochs"] == 1

        roles.request_withdrawal(chain, dep, c, 5 * T)
        roles.request_unstake(chain, dep, p, 3 * T)
        sig, idx = roles.propose_slash(chain, dep, w.admin, p.pubkey(), 2 * T, "evidence")
        node.call(lambda bank: bank.time_travel(seconds=3_700))  # past delays, windows and the epoch
        roles.withdraw(chain, dep, c)
        roles.execute_slash(chain, dep, w.admin, p.pubkey(), idx)  # uncontested, window over
        ep = roles.current_epoch(chain, dep) - 1
        roles.claim(chain, dep, p, ep)
        roles.withdraw_stake(chain, dep, p)
        eng.follow_chain()

        led = Ledger(session_factory)
        pw, cw = str(p.pubkey()), str(c.pubkey())
        prog = BillingProgram(PROGRAM)
        assert led.balance(chart.stake(pw)) == chain.token_balance(prog.stake_address(p.pubkey())) == 10 * T - 3 * T - 2 * T
        assert led.balance(chart.treasury()) == chain.token_balance(Pubkey.from_string(dep.treasury))
        assert led.balance(chart.wallet(cw)) == -50 * T + 5 * T
        assert led.balance(chart.reward_pool(ep)) == 0 and led.balance(chart.provider_rewards(pw)) == 7 * T
        kinds = led.totals_by_kind()
        assert kinds["withdrawal"] == 5 * T and kinds["unstake"] == 3 * T and kinds["slash"] == 2 * T
        assert kinds["reward_funded"] == 7 * T and kinds["reward_claimed"] == 7 * T
        assert eng.reconcile().ok
        # Walking the whole history again posts nothing new.
        with session_factory.begin() as s:
            set_cursor(s, CURSOR, "")
        before = led.totals_by_kind()
        assert eng.follow_chain() == 0 and led.totals_by_kind() == before
        assert led.trial_balance() == {Book.CUSTODY: 0, Book.OBLIGATION: 0}
    finally:
        node.stop()
