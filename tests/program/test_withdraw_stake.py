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
