"""set_channel_limit: raises apply at once, decreases after config.settlement_window (security review
finding 5: a customer must not be able to refuse receipts already issued by lowering its limit)."""
from contracts.testing import post_batch, receipt_chain, settle, with_account

from .conftest import unchanged


def _set(d, c, p, limit):
    return d.h.send([d.program.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=limit)],
                    [c.kp])


def _channel(d, c, p):
    return d.h.account(d.program.channel_address(c.pubkey, p.pubkey))[1]


def test_customer_sets_limit_creating_channel(d, chan):
    c, p = chan
    window = d.params["settlement_window"]
    # Given no channel yet (no limit), When the customer sets a limit of 5
    r = _set(d, c, p, 5)
    assert r.ok, r.logs
    kind, ch = d.h.account(d.program.channel_address(c.pubkey, p.pubkey))
    # Then the channel exists and the limit is pending for one settlement window (a decrease from
    # "no limit": receipts may have been issued before the channel existed)
    assert kind == "Channel" and ch.customer == c.pubkey and ch.provider == p.pubkey
    assert ch.limit_per_epoch == 2**64 - 1 and ch.pending_limit == 5 and ch.pending_limit_at == d.h.now() + window
    ev = r.event("ChannelLimitSet")
    assert ev.limit_per_epoch == 5 and ev.effective_at == d.h.now() + window
    # When it raises back to no limit, Then that applies at once and cancels the pending decrease
    r = _set(d, c, p, 2**64 - 1)
    ch = _channel(d, c, p)
    assert r.ok and ch.limit_per_epoch == 2**64 - 1 and ch.pending_limit_at == 0
    assert r.event("ChannelLimitSet").effective_at == d.h.now()


def test_provider_cannot_set_customer_limit(d, chan):
    c, p = chan
    ix = d.program.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=0)
    r = d.h.send([with_account(ix, 0, p.pubkey, True, True)], [p.kp])
    assert not r.ok and r.error.name == "Unauthorized"


def test_lowering_the_limit_after_use_cannot_refuse_issued_receipts(d, chan):
    c, p = chan
    # Given a customer that used the service: receipts issued and committed by the meter
    rs = receipt_chain(d, c.pubkey, p.pubkey, [300_000, 700_000])
    idx, tree, _ = post_batch(d, rs)
    # When it sets its limit to 0 before the crank settles
    assert _set(d, c, p, 0).ok
    # Then the crank still settles everything issued, within the settlement window
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    d.h.set_time(d.h.now() + d.params["settlement_window"] - 1)
    r = settle(d, idx, tree, 1, rs[1], p.token_account)
    assert r.ok and r.event("Settled").amount == 400_000
    # And once the window has passed the 0 limit is in force for new usage (nothing moves)
    d.h.set_time(d.h.now() + 1)
    later = receipt_chain(d, c.pubkey, p.pubkey, [300_000, 700_000, 700_001])
    idx2, tree2, _ = post_batch(d, later)
    ch_addr = d.program.channel_address(c.pubkey, p.pubkey)
    watched = [ch_addr, d.program.escrow_address(c.pubkey), p.token_account, d.treasury]
    before = d.h.snapshot(watched)
    r = settle(d, idx2, tree2, 2, later[2], p.token_account)
    assert not r.ok and r.error.name == "ChannelLimitExceeded"
    unchanged(d, watched, before)


def test_a_due_decrease_is_applied_by_settle_and_by_the_next_set(d, chan):
    c, p = chan
    window = d.params["settlement_window"]
    assert _set(d, c, p, 50_000).ok
    d.h.set_time(d.h.now() + window)
    # Given a due decrease to 50,000, When the customer sets 80,000
    r = _set(d, c, p, 80_000)
    # Then the decrease counts as in force, so 80,000 is a raise and applies at once
    ch = _channel(d, c, p)
    assert r.ok and ch.limit_per_epoch == 80_000 and ch.pending_limit_at == 0
    assert r.event("ChannelLimitSet").effective_at == d.h.now()
    # Given another decrease that falls due, When settle runs, Then it uses and stores that limit
    assert _set(d, c, p, 10_000).ok
    d.h.set_time(d.h.now() + window)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [10_000, 10_001])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    ch = _channel(d, c, p)
    assert ch.limit_per_epoch == 10_000 and ch.pending_limit_at == 0 and ch.pending_limit == 0
    assert settle(d, idx, tree, 1, rs[1], p.token_account).error.name == "ChannelLimitExceeded"


def test_a_second_decrease_restarts_the_wait(d, chan):
    c, p = chan
    window = d.params["settlement_window"]
    t0 = d.h.now()
    assert _set(d, c, p, 100_000).ok
    d.h.set_time(t0 + window - 10)
    assert _set(d, c, p, 1).ok  # replaces the pending 100,000, due a full window from now
    d.h.set_time(t0 + window)
    ch = _channel(d, c, p)
    assert ch.pending_limit == 1 and ch.pending_limit_at == t0 + 2 * window - 10
    rs = receipt_chain(d, c.pubkey, p.pubkey, [200_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok  # still no limit in force


def test_decrease_across_an_epoch_boundary(d, chan):
    c, p = chan
    window, epoch_len = d.params["settlement_window"], d.params["epoch_length"]
    genesis = d.h.config().genesis_ts
    # Given a matured limit of 1,000,000 and receipts issued late in epoch 0
    assert _set(d, c, p, 1_000_000).ok
    d.h.set_time(genesis + epoch_len - 100)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [500_000, 900_000, 950_000, 1_000_000])
    idx, tree, _ = post_batch(d, rs)
    # When the customer lowers to 100,000 ten seconds before the epoch ends
    d.h.set_time(genesis + epoch_len - 10)
    assert _set(d, c, p, 100_000).ok
    # Then in epoch 1, before the window has passed, the old limit still governs what was issued
    d.h.set_time(genesis + epoch_len + 100)
    assert d.h.current_epoch() == 1
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    assert settle(d, idx, tree, 1, rs[1], p.token_account).ok  # 900,000 spent in epoch 1
    # and once the window has passed (still epoch 1), the new limit counts what epoch 1 already spent
    d.h.set_time(genesis + epoch_len - 10 + window)
    assert d.h.current_epoch() == 1
    assert settle(d, idx, tree, 2, rs[2], p.token_account).error.name == "ChannelLimitExceeded"
    # In epoch 2 the allowance is the new limit: 50,000 passes, the next 50,000 too, nothing more
    d.h.set_time(genesis + 2 * epoch_len)
    assert settle(d, idx, tree, 2, rs[2], p.token_account).ok
    assert settle(d, idx, tree, 3, rs[3], p.token_account).ok
    ch = _channel(d, c, p)
    assert ch.limit_per_epoch == 100_000 and ch.spent_epoch == 2 and ch.spent_in_epoch == 100_000
