"""u64 edges in every amount: the program either handles 2^64 - 1 exactly or refuses cleanly with
nothing changed; it never wraps."""
from contracts.testing import deploy, post_batch, receipt_chain, settle

from .conftest import unchanged

U64_MAX = 2**64 - 1


def test_rewards_with_u64_max_pool_and_revenue():
    # Given an epoch funded with 2^64 - 1 and two providers whose revenues multiply past 2^64
    d = deploy()
    c = d.customer(deposit=U64_MAX - 10_000_000)
    p1, p2 = d.provider(stake=3_000_000), d.provider(stake=3_000_000)
    funder = d.h.new_wallet()
    # the mint's supply cannot exceed u64: fund with what is left
    left = U64_MAX - d.h.supply(d.mint)
    ta = d.fund(funder, left)
    assert d.h.send([d.program.fund_epoch(funder=funder.pubkey(), epoch=0, source=ta, mint=d.mint, amount=left)],
                    [funder]).ok
    big = (U64_MAX - 10_000_000) // 3
    for p, amt in ((p1, big), (p2, 2 * big)):
        d.open_channel(c, p)
        rs = receipt_chain(d, c.pubkey, p.pubkey, [amt])
        idx, tree, _ = post_batch(d, rs)
        assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    # When both claim / Then each gets floor(pool * revenue / total), and the sum never exceeds the pool
    got = []
    for p, amt in ((p1, big), (p2, 2 * big)):
        r = d.h.send([d.program.claim_rewards(wallet=p.pubkey, epoch=0, payout=p.token_account, mint=d.mint)], [p.kp])
        assert r.ok, r.logs
        assert r.event("RewardsClaimed").amount == left * amt // (3 * big)
        got.append(r.event("RewardsClaimed").amount)
    assert sum(got) <= left
    d.conservation()


def test_u64_max_requests_are_clamped_or_refused(d, chan):
    c, p = chan
    # withdrawal request of 2^64 - 1 pays what the escrow holds
    assert d.h.send([d.program.request_withdrawal(wallet=c.pubkey, amount=U64_MAX)], [c.kp]).ok
    d.h.set_time(d.h.now() + d.params["withdrawal_delay"])
    r = d.h.send([d.program.withdraw(wallet=c.pubkey, destination=c.token_account, mint=d.mint)], [c.kp])
    assert r.ok and r.event("Withdrawn").amount == 10_000_000
    # unstake of 2^64 - 1 pays the whole stake after the cooldown
    assert d.h.send([d.program.request_unstake(wallet=p.pubkey, amount=U64_MAX)], [p.kp]).ok
    d.h.set_time(d.h.now() + d.params["unstake_cooldown"])
    r = d.h.send([d.program.withdraw_stake(wallet=p.pubkey, destination=p.token_account, mint=d.mint)], [p.kp])
    assert r.ok and r.event("StakeWithdrawn").amount == 2_000_000
    # stake / deposit / fund of 2^64 - 1 without the tokens: refused by the token program, nothing changes
    addrs = [p.token_account, d.program.stake_address(p.pubkey), d.program.rewards_address()]
    before = d.h.snapshot(addrs)
    assert not d.h.send([d.program.stake(wallet=p.pubkey, source=p.token_account, mint=d.mint, amount=U64_MAX)], [p.kp]).ok
    assert not d.h.send([d.program.fund_epoch(funder=p.pubkey, epoch=1, source=p.token_account, mint=d.mint,
                                              amount=U64_MAX)], [p.kp]).ok
    unchanged(d, addrs, before)


def test_cumulative_u64_max_after_partial_settlement(d):
    c = d.customer(deposit=U64_MAX - 50_000_000)
    p = d.provider()
    d.open_channel(c, p)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1, U64_MAX - 50_000_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    r = settle(d, idx, tree, 1, rs[1], p.token_account)
    assert r.ok and r.event("Settled").amount == U64_MAX - 50_000_001
    assert d.h.token_balance(d.program.escrow_address(c.pubkey)) == 0
