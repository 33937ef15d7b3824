"""withdraw_stake: after the cooldown, closed epochs claimed first, pending slashes stay in the vault."""
from contracts.testing import post_batch, receipt_chain, settle


def _req(d, p, amount):
    return d.h.send([d.program.request_unstake(wallet=p.pubkey, amount=amount)], [p.kp])


def _wd(d, p):
    return d.h.send([d.program.withdraw_stake(wallet=p.pubkey, destination=p.token_account, mint=d.mint)], [p.kp])


def test_unstake_after_cooldown(d):
    p = d.provider(stake=2_000_000)
    r = _req(d, p, 500_000)
    assert r.ok and r.event("UnstakeRequested").available_at == d.h.now() + d.params["unstake_cooldown"]
    d.h.set_time(d.h.now() + d.params["unstake_cooldown"])
    r = _wd(d, p)
    assert r.ok, r.logs
    assert r.event("StakeWithdrawn").stake_balance == 1_500_000
    assert d.h.token_balance(p.token_account) == 500_000


def test_unstake_before_cooldown_fails(d):
    p = d.provider(stake=2_000_000)
    assert _req(d, p, 1).ok
    d.h.set_time(d.h.now() + d.params["unstake_cooldown"] - 1)
    r = _wd(d, p)
    assert not r.ok and r.error.name == "CooldownNotElapsed"
    r = _wd(d, d.provider(stake=5))
    assert not r.ok and r.error.name == "UnstakeNotRequested"


def test_unclaimed_closed_epochs_block_withdraw_stake(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok  # revenue in epoch 0
    assert _req(d, p, 1_000_000).ok
    # still in epoch 0 after a short cooldown? cooldown is one epoch long: we are in epoch 1 now
    d.h.set_time(d.h.now() + d.params["unstake_cooldown"])
    r = _wd(d, p)
    assert not r.ok and r.error.name == "UnclaimedEpochs"
    assert d.h.send([d.program.claim_rewards(wallet=p.pubkey, epoch=0, payout=p.token_account, mint=d.mint)], [p.kp]).ok
    assert _wd(d, p).ok


def test_revenue_in_open_epoch_does_not_block_but_closed_does():
    from contracts.testing import deploy
    d = deploy(unstake_cooldown=60)
    c = d.customer(deposit=1_000_000)
    p = d.provider(stake=2_000_000)
    d.open_channel(c, p)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000, 200_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok  # revenue in the open epoch 0
    assert _req(d, p, 1_000).ok
    d.h.set_time(d.h.now() + 60)
    assert _wd(d, p).ok  # epoch 0 is still open: nothing to claim yet
    d.h.set_time(d.h.now() + d.params["epoch_length"])  # epoch 1: epoch 0 closed, unclaimed
    assert settle(d, idx, tree, 1, rs[1], p.token_account).ok  # and revenue in epoch 1 too
    assert _req(d, p, 1_000).ok
    d.h.set_time(d.h.now() + 60)
    r = _wd(d, p)
    assert not r.ok and r.error.name == "UnclaimedEpochs"
    d.conservation()


def test_stake_slashable_during_cooldown(d):
    p = d.provider(stake=2_000_000)
    assert _req(d, p, 2_000_000).ok
    r = d.h.send([d.program.propose_slash(admin=d.admin.pubkey(), provider_wallet=p.pubkey, index=0, amount=1_500_000,
                                          evidence_hash=b"e" * 32, beneficiary=d.treasury)], [d.admin])
    assert r.ok, r.logs
    d.h.set_time(d.h.now() + d.params["unstake_cooldown"])
    r = _wd(d, p)
    assert r.ok and r.event("StakeWithdrawn").amount == 500_000  # the pending slash stays in the vault
    r = d.h.send([d.program.execute_slash(provider_wallet=p.pubkey, index=0, beneficiary=d.treasury, mint=d.mint)],
                 [d.h.payer])
    assert r.ok and d.h.token_balance(d.treasury) == 1_500_000


# ---- security review finding 6: an unstake request expires one cooldown after it matures ----------

def test_armed_unstake_request_expires_and_the_stake_stays_bonded(d):
    # Given a provider that requested an unstake and let the request mature without using it
    p = d.provider(stake=2_000_000)
    cooldown = d.params["unstake_cooldown"]
    assert _req(d, p, 2_000_000).ok
    requested_at = d.h.now()
    # When, long after (e.g. right after misbehaving, before any slash is proposed), it tries to leave
    d.h.set_time(requested_at + 2 * cooldown + 1)
    vault = d.program.stake_address(p.pubkey)
    watched = [vault, p.token_account, d.program.provider_address(p.pubkey)]
    before = d.h.snapshot(watched)
    r = _wd(d, p)
    # Then the request has expired: nothing moves, the stake stays bonded and slashable
    assert not r.ok and r.error.name == "UnstakeRequestExpired"
    assert d.h.snapshot(watched) == before
    # and leaving needs a fresh request, which gives the operator a full cooldown of notice again
    assert _req(d, p, 2_000_000).ok
    assert _wd(d, p).error.name == "CooldownNotElapsed"
    d.h.set_time(d.h.now() + cooldown)
    assert _wd(d, p).ok and d.h.token_balance(vault) == 0


def test_unstake_request_is_usable_until_exactly_two_cooldowns(d):
    # Given two providers with requests made at the same time
    a, b = d.provider(stake=1_000), d.provider(stake=1_000)
    cooldown = d.params["unstake_cooldown"]
    t0 = d.h.now()
    assert _req(d, a, 1_000).ok
    r = _req(d, b, 1_000)
    assert r.event("UnstakeRequested").available_at == t0 + cooldown
    assert r.event("UnstakeRequested").expires_at == t0 + 2 * cooldown
    # When one withdraws at the last second of the window and the other one second later
    d.h.set_time(t0 + 2 * cooldown)
    assert _wd(d, a).ok
    d.h.set_time(t0 + 2 * cooldown + 1)
    # Then only the first succeeds
    assert _wd(d, b).error.name == "UnstakeRequestExpired"


def test_expiry_follows_the_cooldown_in_force(d):
    # Given a request, When the admin lengthens the cooldown (staged: it takes effect update_delay
    # later, and update_delay must grow with it), Then once in force the window is recomputed from the
    # request time with the new cooldown (the same rule the maturity check uses)
    p = d.provider(stake=1_000)
    cooldown = d.params["unstake_cooldown"]
    t0 = d.h.now()
    assert _req(d, p, 1_000).ok
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), unstake_cooldown=2 * cooldown,
                                             update_delay=4 * cooldown)], [d.admin]).ok
    assert d.params["update_delay"] <= 2 * cooldown  # in force by the time we withdraw
    d.h.set_time(t0 + 2 * cooldown + 1)  # expired under the old cooldown, mature under the new one
    assert _wd(d, p).ok
