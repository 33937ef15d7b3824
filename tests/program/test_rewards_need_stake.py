"""Rewards only for revenue earned while bonded (security review finding 7).

Before: min_stake was checked only at claim time, so a provider could earn revenue with no stake at all
and stake the minimum just before claiming (capital locked only for one cooldown). Now settle pays the
receipt in full either way but credits the amount to the epoch's revenue (the basis of the reward share)
only while the provider's unencumbered stake (vault balance minus pending slashes) is at least min_stake;
Settled.rewarded says which."""
from contracts.testing import post_batch, receipt_chain, settle

from ._slash_helpers import propose


def _fund(d, epoch, amount):
    funder = d.h.new_wallet()
    ta = d.fund(funder, amount)
    assert d.h.send([d.program.fund_epoch(funder=funder.pubkey(), epoch=epoch, source=ta, mint=d.mint,
                                          amount=amount)], [funder]).ok


def _claim(d, p, epoch):
    return d.h.send([d.program.claim_rewards(wallet=p.pubkey, epoch=epoch, payout=p.token_account, mint=d.mint)],
                    [p.kp])


def _earn(d, c, p, amount):
    d.open_channel(c, p)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [amount])
    idx, tree, _ = post_batch(d, rs)
    r = settle(d, idx, tree, 0, rs[0], p.token_account)
    assert r.ok, r.logs[-3:]
    return r


def test_revenue_earned_unstaked_is_paid_but_earns_no_reward_share(d):
    # Given a funded epoch, a bonded provider and one with no stake, equal revenue each
    c = d.customer(deposit=10_000_000)
    bonded, unbonded = d.provider(stake=d.params["min_stake"]), d.provider(stake=0, wallet_tokens=d.params["min_stake"])
    _fund(d, 0, 1_000_000)
    assert _earn(d, c, bonded, 100_000).event("Settled").rewarded
    before = d.h.token_balance(unbonded.token_account)
    r = _earn(d, c, unbonded, 100_000)
    # Then the unbonded provider is paid for its work in full, but nothing is credited for rewards
    ev = r.event("Settled")
    assert not ev.rewarded and d.h.token_balance(unbonded.token_account) - before == ev.provider_amount
    assert d.h.account(d.program.epoch_address(0))[1].total_revenue == 100_000
    assert not d.h.exists(d.program.provider_epoch_address(unbonded.pubkey, 0))
    assert d.h.account(d.program.provider_address(unbonded.pubkey))[1].unclaimed_epochs == 0
    # When it stakes the minimum just before claiming
    assert d.h.send([d.program.stake(wallet=unbonded.pubkey, source=unbonded.token_account, mint=d.mint,
                                     amount=d.params["min_stake"])], [unbonded.kp]).ok
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    # Then it has nothing to claim, and the bonded provider gets the whole pool
    assert not _claim(d, unbonded, 0).ok
    r = _claim(d, bonded, 0)
    assert r.ok and r.event("RewardsClaimed").amount == 1_000_000


def test_stake_reserved_by_a_pending_slash_does_not_count_at_settle(d):
    c = d.customer(deposit=10_000_000)
    p = d.provider(stake=d.params["min_stake"])
    assert propose(d, p, amount=1).ok
    r = _earn(d, c, p, 100_000)
    assert not r.event("Settled").rewarded
    assert not d.h.exists(d.program.epoch_address(0))


def test_rewarded_again_once_bonded(d):
    c = d.customer(deposit=10_000_000)
    p = d.provider(stake=d.params["min_stake"] - 1, wallet_tokens=1)
    d.open_channel(c, p)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000, 250_000])
    idx, tree, _ = post_batch(d, rs)
    assert not settle(d, idx, tree, 0, rs[0], p.token_account).event("Settled").rewarded
    assert d.h.send([d.program.stake(wallet=p.pubkey, source=p.token_account, mint=d.mint, amount=1)], [p.kp]).ok
    r = settle(d, idx, tree, 1, rs[1], p.token_account)
    assert r.event("Settled").rewarded
    assert d.h.account(d.program.provider_epoch_address(p.pubkey, 0))[1].revenue == 150_000
