"""claim_rewards: pro rata to revenue, rounded down, closed epochs only, once, with minimum stake."""
from contracts.testing import post_batch, receipt_chain, settle


def _claim(d, p, epoch):
    return d.h.send([d.program.claim_rewards(wallet=p.pubkey, epoch=epoch, payout=p.token_account, mint=d.mint)], [p.kp])


def _fund(d, epoch, amount):
    funder = d.h.new_wallet()
    ta = d.fund(funder, amount)
    return d.h.send([d.program.fund_epoch(funder=funder.pubkey(), epoch=epoch, source=ta, mint=d.mint, amount=amount)],
                    [funder])


def _revenue(d, c, p, amount):
    d.open_channel(c, p)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [amount])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok


def test_pro_rata_rounded_down_never_more_than_funded(d):
    # Given an epoch funded with 1,000,000 and three providers with equal revenue
    c = d.customer(deposit=10_000_000)
    p1, p2, p3 = (d.provider(stake=1_000_000) for _ in range(3))
    assert _fund(d, 0, 1_000_000).ok
    for p in (p1, p2, p3):
        _revenue(d, c, p, 100_000)
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    # When each claims / Then each gets floor(1,000,000 / 3) and one base unit stays in the vault
    paid = 0
    for p in (p1, p2, p3):
        before = d.h.token_balance(p.token_account)
        r = _claim(d, p, 0)
        assert r.ok, r.logs
        got = d.h.token_balance(p.token_account) - before
        assert got == 333_333 == r.event("RewardsClaimed").amount
        paid += got
    _, ep = d.h.account(d.program.epoch_address(0))
    assert ep.claimed == paid <= ep.reward_pool
    assert d.h.token_balance(d.program.rewards_address()) == 1


def test_unequal_revenue(d):
    c = d.customer(deposit=10_000_000)
    p1, p2 = d.provider(stake=1_000_000), d.provider(stake=1_000_000)
    assert _fund(d, 0, 1_000).ok
    _revenue(d, c, p1, 1)
    _revenue(d, c, p2, 2)
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    assert _claim(d, p1, 0).event("RewardsClaimed").amount == 333
    assert _claim(d, p2, 0).event("RewardsClaimed").amount == 666


def test_claim_for_open_epoch_fails(d, chan):
    c, p = chan
    assert _fund(d, 0, 1_000).ok
    _revenue(d, c, p, 100_000)
    r = _claim(d, p, 0)
    assert not r.ok and r.error.name == "EpochNotClosed"


def test_double_claim_fails(d, chan):
    c, p = chan
    assert _fund(d, 0, 1_000).ok
    _revenue(d, c, p, 100_000)
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    assert _claim(d, p, 0).ok
    r = _claim(d, p, 0)
    assert not r.ok and r.error.name == "AlreadyClaimed"


def test_claim_needs_min_stake(d):
    from ._slash_helpers import execute, propose

    # Given a provider bonded with exactly the minimum when it earned revenue in a funded epoch
    c = d.customer(deposit=1_000_000)
    p = d.provider(stake=d.params["min_stake"])
    assert _fund(d, 0, 1_000).ok
    _revenue(d, c, p, 100_000)
    # and slashed by one base unit before claiming
    assert propose(d, p, amount=1).ok
    d.h.set_time(d.h.now() + d.params["contest_window"] + 1)
    assert execute(d, p).ok
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    # When it claims / Then StakeBelowMinimum
    r = _claim(d, p, 0)
    assert not r.ok and r.error.name == "StakeBelowMinimum"


def test_unfunded_epoch_claims_zero(d, chan):
    c, p = chan
    _revenue(d, c, p, 100_000)
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    r = _claim(d, p, 0)
    assert r.ok and r.event("RewardsClaimed").amount == 0
    _, prov = d.h.account(d.program.provider_address(p.pubkey))
    assert prov.unclaimed_epochs == 0


def test_stake_reserved_by_a_pending_slash_does_not_count_toward_min_stake(d):
    from ._slash_helpers import contest, propose, resolve

    # Given a provider with exactly the minimum stake and revenue in a funded epoch
    c = d.customer(deposit=1_000_000)
    p = d.provider(stake=d.params["min_stake"])
    assert _fund(d, 0, 1_000).ok
    _revenue(d, c, p, 100_000)
    # and a proposed (then contested) slash of one base unit of that stake
    assert propose(d, p, amount=1).ok and contest(d, p).ok
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    before = d.h.snapshot([d.program.rewards_address(), p.token_account])
    # When it claims the closed epoch / Then StakeBelowMinimum and nothing moves
    r = _claim(d, p, 0)
    assert not r.ok and r.error.name == "StakeBelowMinimum"
    assert d.h.snapshot([d.program.rewards_address(), p.token_account]) == before
    # When the arbiter rejects the slash / Then the stake counts again and the claim pays
    assert resolve(d, p, uphold=False).ok
    r = _claim(d, p, 0)
    assert r.ok and r.event("RewardsClaimed").amount == 1_000


def test_second_claim_is_refused_even_while_the_pool_could_pay_it(d):
    # Given two providers with equal revenue in a funded epoch: a second claim by the first would
    # still fit in the pool (half + half), so only the claimed flag can stop it taking the other's share
    c = d.customer(deposit=10_000_000)
    a, b = d.provider(stake=1_000_000), d.provider(stake=1_000_000)
    assert _fund(d, 0, 1_000_000).ok
    _revenue(d, c, a, 100_000)
    _revenue(d, c, b, 100_000)
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    assert _claim(d, a, 0).event("RewardsClaimed").amount == 500_000
    before = d.h.snapshot([d.program.rewards_address(), a.token_account, d.program.epoch_address(0)])
    r = _claim(d, a, 0)
    assert not r.ok and r.error.name == "AlreadyClaimed"
    assert d.h.snapshot([d.program.rewards_address(), a.token_account, d.program.epoch_address(0)]) == before
    assert _claim(d, b, 0).event("RewardsClaimed").amount == 500_000
