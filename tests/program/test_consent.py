"""On-chain consent (issue 11, high): nothing is billed on a channel the customer never opened.

A Channel exists only through the customer's own signed set_channel_limit (the client's open_channel);
settle and prepare_settle refuse a pair without one (ChannelNotOpened) instead of creating it. Before the
fix settle created the Channel itself, so a receipt for any registered wallet settled from its escrow.
Conservation is checked after every test (the `d` fixture)."""
from contracts.testing import post_batch, receipt_chain, settle, with_account

from .conftest import U64_MAX, unchanged


def _money(d, c, p):
    prog = d.program
    return [prog.escrow_address(c.pubkey), p.token_account, d.treasury, prog.channel_address(c.pubkey, p.pubkey),
            prog.customer_address(c.pubkey), prog.provider_address(p.pubkey), prog.epoch_address(0),
            prog.provider_epoch_address(p.pubkey, 0)]


def test_receipt_for_a_customer_that_never_opened_the_channel_does_not_settle(d):
    # Given a funded customer that never opened a channel with this provider, and a receipt billing it
    c, p = d.customer(deposit=5_000_000), d.provider(stake=2_000_000)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1_000_000])
    idx, tree, r = post_batch(d, rs)
    assert r.ok
    watched = _money(d, c, p)
    before = d.h.snapshot(watched)
    # When anyone settles it (with or without prepare_settle in front)
    r = settle(d, idx, tree, 0, rs[0], p.token_account)
    ixs = d.program.prepared_settle(payer=d.h.payer.pubkey(), batch_index=idx, receipt=rs[0], proof=tree.proof(0),
                                    payout=p.token_account, treasury=d.treasury, mint=d.mint, epoch=0)
    r2 = d.h.send(ixs, [d.h.payer])
    # Then both are refused by name and nothing moves or is created
    assert not r.ok and r.error.name == "ChannelNotOpened", r.logs[-3:]
    assert not r2.ok and r2.error.name == "ChannelNotOpened", r2.logs[-3:]
    unchanged(d, watched, before)
    assert d.h.token_balance(d.program.escrow_address(c.pubkey)) == 5_000_000


def test_once_the_customer_opens_the_channel_the_same_receipt_settles(d):
    c, p = d.customer(deposit=5_000_000), d.provider(stake=2_000_000)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1_000_000])
    idx, tree, _ = post_batch(d, rs)
    r = d.open_channel(c, p)
    ev = r.event("ChannelLimitSet")
    assert ev.opened and ev.limit_per_epoch == U64_MAX and ev.effective_at == d.h.now()
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok


def test_only_the_customer_can_open_its_channel(d):
    # A provider (or anyone) signing set_channel_limit with the customer's accounts is not the customer
    c, p = d.customer(deposit=5_000_000), d.provider(stake=2_000_000)
    ix = d.program.open_channel(wallet=c.pubkey, provider_wallet=p.pubkey)
    r = d.h.send([with_account(ix, 0, p.pubkey, True, True)], [p.kp])
    assert not r.ok and r.error.name == "Unauthorized"
    assert not d.h.exists(d.program.channel_address(c.pubkey, p.pubkey))
    # nor can it open a channel for its own wallet as the customer of someone else's Customer account
    ix = d.program.build("set_channel_limit",
                         dict(wallet=p.pubkey, config=d.program.config_address(),
                              customer=d.program.customer_address(c.pubkey), provider=d.program.provider_address(p.pubkey),
                              channel=d.program.channel_address(p.pubkey, p.pubkey),
                              system_program=ix.accounts[5].pubkey),
                         dict(limit_per_epoch=1, channel_bump=255))
    r = d.h.send([ix], [p.kp])
    assert not r.ok and r.error.name == "Unauthorized"


def test_the_opening_limit_is_in_force_at_once(d):
    # Given a customer that opens its channel with a cap of 150,000 per epoch
    c, p = d.customer(deposit=5_000_000), d.provider(stake=2_000_000)
    d.open_channel(c, p, 150_000)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000, 200_000])
    idx, tree, _ = post_batch(d, rs)
    # Then the cap holds from the first settlement (no "no limit" interval after opening)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    r = settle(d, idx, tree, 1, rs[1], p.token_account)
    assert not r.ok and r.error.name == "ChannelLimitExceeded"


def test_customer_stops_consent_with_limit_zero_after_the_settlement_window(d, chan):
    # Given receipts issued on an open channel
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000, 200_000])
    idx, tree, _ = post_batch(d, rs)
    # When the customer withdraws consent (limit 0)
    r = d.h.send([d.program.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=0)], [c.kp])
    assert r.ok and r.event("ChannelLimitSet").effective_at == d.h.now() + d.params["settlement_window"]
    assert not r.event("ChannelLimitSet").opened
    # Then what was issued while consent stood still settles within the settlement window
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    # and after the window nothing more settles on the channel
    d.h.set_time(d.h.now() + d.params["settlement_window"])
    r = settle(d, idx, tree, 1, rs[1], p.token_account)
    assert not r.ok and r.error.name == "ChannelLimitExceeded"
