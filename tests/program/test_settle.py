"""settle: receipt + proof against a posted batch pays cumulative minus already-settled."""

from contracts.testing import make_receipt, post_batch, receipt_chain, settle, with_account

from .conftest import unchanged

U64_MAX = 2**64 - 1


def _accounts(d, c, p):
    prog = d.program
    return [prog.escrow_address(c.pubkey), p.token_account, d.treasury, prog.customer_address(c.pubkey),
            prog.provider_address(p.pubkey), prog.channel_address(c.pubkey, p.pubkey), d.mint]


def test_settle_pays_fee_burn_and_provider_and_credits_epoch(d, chan):
    # Given a batch with three receipts of the channel and filler receipts of others
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000, 250_000, 1_000_000])
    idx, tree, r = post_batch(d, rs, extra_ids=[bytes([i]) * 32 for i in range(5)])
    assert r.ok
    payout0 = d.h.token_balance(p.token_account)
    # When the latest receipt is settled (one transaction for any number of receipts)
    r = settle(d, idx, tree, 2, rs[2], p.token_account)
    assert r.ok, r.logs
    # Then 1% fee to the treasury, 0.5% burned, the rest to the provider
    assert d.h.token_balance(d.treasury) == 10_000
    assert d.h.token_balance(p.token_account) - payout0 == 985_000
    assert d.h.token_balance(d.program.escrow_address(c.pubkey)) == 9_000_000
    assert d.h.supply(d.mint) == d.h.minted[d.mint] - 5_000
    ev = r.event("Settled")
    assert (ev.amount, ev.fee, ev.burned, ev.provider_amount, ev.seq, ev.epoch) == (1_000_000, 10_000, 5_000, 985_000, 3, 0)
    assert bytes(ev.receipt_id) == rs[2].receipt_id
    _, ch = d.h.account(d.program.channel_address(c.pubkey, p.pubkey))
    assert ch.settled_amount == 1_000_000 and ch.last_seq == 3 and bytes(ch.last_receipt_id) == rs[2].receipt_id
    _, ep = d.h.account(d.program.epoch_address(0))
    _, pe = d.h.account(d.program.provider_epoch_address(p.pubkey, 0))
    assert ep.total_revenue == 1_000_000 and pe.revenue == 1_000_000 and not pe.claimed
    _, prov = d.h.account(d.program.provider_address(p.pubkey))
    assert prov.unclaimed_epochs == 1 and prov.total_revenue == 1_000_000


def test_later_receipt_pays_only_the_difference(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000, 250_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    r = settle(d, idx, tree, 1, rs[1], p.token_account)
    assert r.ok and r.event("Settled").amount == 150_000


def test_replayed_receipt_fails(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    before = d.h.snapshot(_accounts(d, c, p))
    r = settle(d, idx, tree, 0, rs[0], p.token_account)
    assert not r.ok and r.error.name == "ReplayedReceipt"
    unchanged(d, _accounts(d, c, p), before)


def _settle_after(d, p, r1, r2):
    """Post r1 and r2 in one batch and settle r1 (which must succeed): the result of settling r2."""
    idx, tree, _ = post_batch(d, [r1, r2])
    assert settle(d, idx, tree, 0, r1, p.token_account).ok
    return settle(d, idx, tree, 1, r2, p.token_account)


def test_lower_cumulative_fails(d, chan):
    c, p = chan
    r1, r2 = receipt_chain(d, c.pubkey, p.pubkey, [500_000, 400_000])
    r = _settle_after(d, p, r1, r2)
    assert not r.ok and r.error.name == "CumulativeNotIncreasing"


def test_receipt_of_another_channel_fails(d, chan):
    c, p = chan
    c2 = d.customer(deposit=1_000_000)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    idx, tree, _ = post_batch(d, rs)
    # the receipt names customer c, the accounts are customer c2's
    r = settle(d, idx, tree, 0, rs[0], p.token_account, customer_wallet=c2.pubkey)
    assert not r.ok and r.error.name == "ReceiptChannelMismatch"


def test_receipt_of_older_config_version_fails(d, chan):
    c, p = chan
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), fee_bps=200)], [d.admin]).ok  # version 2
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])  # version 1
    idx, tree, _ = post_batch(d, rs)  # posted under version 2
    r = settle(d, idx, tree, 0, rs[0], p.token_account)
    assert not r.ok and r.error.name == "ReceiptConfigVersion"
    rs2 = receipt_chain(d, c.pubkey, p.pubkey, [100_000], config_version=2)
    idx2, tree2, _ = post_batch(d, rs2)
    assert settle(d, idx2, tree2, 0, rs2[0], p.token_account).ok


def test_proof_against_another_batch_fails(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000, 200_000])
    idx_a, tree_a, _ = post_batch(d, rs[:1], extra_ids=[bytes(32)])
    idx_b, tree_b, _ = post_batch(d, rs[1:], extra_ids=[bytes([1]) * 32])
    r = settle(d, idx_b, tree_a, 0, rs[0], p.token_account)
    assert not r.ok and r.error.name == "InvalidProof"


def test_tampered_receipt_fails_proof(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    idx, tree, _ = post_batch(d, rs)
    forged = make_receipt(d, c.pubkey, p.pubkey, 1, 9_000_000, bytes(32))
    r = settle(d, idx, tree, 0, forged, p.token_account)
    assert not r.ok and r.error.name == "InvalidProof"


def test_beyond_channel_limit_fails(d, chan):
    c, p = chan
    assert d.h.send([d.program.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=150_000)],
                    [c.kp]).ok
    d.h.set_time(d.h.now() + d.params["settlement_window"])  # a lowered limit applies after the window
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000, 200_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    r = settle(d, idx, tree, 1, rs[1], p.token_account)
    assert not r.ok and r.error.name == "ChannelLimitExceeded"
    # the next epoch has a fresh allowance
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    assert settle(d, idx, tree, 1, rs[1], p.token_account).ok


def test_underfunded_vault_fails_and_nothing_changes(d):
    c = d.customer(deposit=50_000)
    p = d.provider(stake=2_000_000)
    d.open_channel(c, p)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [50_001])
    idx, tree, _ = post_batch(d, rs)
    addrs = _accounts(d, c, p) + [d.program.epoch_address(0), d.program.provider_epoch_address(p.pubkey, 0)]
    before = d.h.snapshot(addrs)
    r = settle(d, idx, tree, 0, rs[0], p.token_account)
    assert not r.ok and r.error.name == "EscrowUnderfunded"
    unchanged(d, addrs, before)


def test_broken_hash_chain_fails(d, chan):
    c, p = chan
    r1 = make_receipt(d, c.pubkey, p.pubkey, 1, 100, bytes(32))
    r2 = make_receipt(d, c.pubkey, p.pubkey, 2, 200, b"\x07" * 32)
    r = _settle_after(d, p, r1, r2)
    assert not r.ok and r.error.name == "BrokenHashChain"


def test_retired_meter_batches_fail(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    idx, tree, _ = post_batch(d, rs)
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), remove_meter=d.meter.pubkey())], [d.admin]).ok
    r = settle(d, idx, tree, 0, rs[0], p.token_account)
    assert not r.ok and r.error.name == "MeterRetired"


def test_receipt_of_another_program_fails(d, chan):
    from solders.pubkey import Pubkey
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000], program_id=Pubkey.new_unique())
    idx, tree, _ = post_batch(d, rs)
    r = settle(d, idx, tree, 0, rs[0], p.token_account)
    assert not r.ok and r.error.name == "ReceiptProgramMismatch"


def _with(ix, pos, key, writable=True):
    return with_account(ix, pos, key, False, writable)


def test_substituted_treasury_payout_and_mint_fail(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    idx, tree, _ = post_batch(d, rs)
    ix = d.program.settle(payer=d.h.payer.pubkey(), batch_index=idx, receipt=rs[0], proof=tree.proof(0),
                          payout=p.token_account, treasury=d.treasury, mint=d.mint, epoch=0)
    thief = d.fund(d.h.new_wallet(), 0)
    for pos in (6, 7, 8):  # stake vault, payout, treasury
        r = d.h.send([_with(ix, pos, thief, pos != 6)], [d.h.payer])
        assert not r.ok and r.error.name == "WrongTokenAccount"
    other_mint = d.h.create_mint(d.admin.pubkey())
    r = d.h.send([_with(ix, 9, other_mint)], [d.h.payer])
    assert not r.ok and r.error.name == "WrongMint"
    # another customer's escrow
    c2 = d.customer(deposit=1_000_000)
    r = d.h.send([_with(ix, 4, d.program.escrow_address(c2.pubkey))], [d.h.payer])
    assert not r.ok and r.error.name == "WrongTokenAccount"
    # a Provider account in the Customer slot (wrong account type)
    r = d.h.send([_with(ix, 3, d.program.provider_address(p.pubkey))], [d.h.payer])
    assert not r.ok and r.error.name == "WrongAccountType"
    # an account owned by another program in the batch slot
    r = d.h.send([_with(ix, 2, d.treasury, False)], [d.h.payer])
    assert not r.ok and r.error.name == "WrongOwner"
    assert d.h.send([ix], [d.h.payer]).ok


def test_u64_edge_amounts(d):
    # a customer with 2^64 - 1 base units in escrow settles it all in one receipt; the fee and burn
    # products exceed 2^64 and take the 128-bit mul-div path
    c = d.customer(deposit=U64_MAX)
    p = d.provider()
    d.open_channel(c, p)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [U64_MAX])
    idx, tree, _ = post_batch(d, rs)
    r = settle(d, idx, tree, 0, rs[0], p.token_account)
    assert r.ok, r.logs
    ev = r.event("Settled")
    assert ev.fee == U64_MAX * 100 // 10_000 and ev.burned == U64_MAX * 50 // 10_000
    assert ev.fee + ev.burned + ev.provider_amount == U64_MAX


def test_substituted_channel_epoch_addresses_fail_and_nothing_changes(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    idx, tree, _ = post_batch(d, rs)
    ix = d.program.settle(payer=d.h.payer.pubkey(), batch_index=idx, receipt=rs[0], proof=tree.proof(0),
                          payout=p.token_account, treasury=d.treasury, mint=d.mint, epoch=0)
    from solders.pubkey import Pubkey
    addrs = _accounts(d, c, p)
    before = d.h.snapshot(addrs)
    for pos in (10, 11, 12):  # channel, epoch, provider_epoch: a fresh non-PDA address each
        r = d.h.send([_with(ix, pos, Pubkey.new_unique())], [d.h.payer])
        assert not r.ok
        unchanged(d, addrs, before)
    # the epoch account of another epoch number
    other = d.program.settle(payer=d.h.payer.pubkey(), batch_index=idx, receipt=rs[0], proof=tree.proof(0),
                             payout=p.token_account, treasury=d.treasury, mint=d.mint, epoch=5)
    r = d.h.send([other], [d.h.payer])
    assert not r.ok
    unchanged(d, addrs, before)
    assert d.h.send([ix], [d.h.payer]).ok


# ---- issue 11: cases where only the intended check stops the attack (mutation survivors) ----------

def test_next_seq_with_an_equal_cumulative_amount_is_refused(d, chan):
    # Given seq 1 settled at 500,000, and a hash-chained seq 2 that still says 500,000
    c, p = chan
    r1, r2 = receipt_chain(d, c.pubkey, p.pubkey, [500_000, 500_000])
    idx, tree, _ = post_batch(d, [r1, r2])
    assert settle(d, idx, tree, 0, r1, p.token_account).ok
    before = d.h.snapshot(_accounts(d, c, p))
    # When it is settled / Then CumulativeNotIncreasing: it pays nothing, so it must not advance the
    # channel either (seq and last receipt id stay those of the receipt that was paid)
    r = settle(d, idx, tree, 1, r2, p.token_account)
    assert not r.ok and r.error.name == "CumulativeNotIncreasing", r.logs[-3:]
    unchanged(d, _accounts(d, c, p), before)


def test_forked_receipt_with_an_already_settled_seq_is_refused(d, chan):
    # Given seq 2 settled, and a second, different seq-2 receipt (a fork: the meter reissued it after a
    # crash) with a higher cumulative amount; only the seq check can refuse it (the hash chain is
    # checked for seq == last + 1 only, and its cumulative amount does increase)
    c, p = chan
    r1, r2 = receipt_chain(d, c.pubkey, p.pubkey, [100_000, 200_000])
    fork = make_receipt(d, c.pubkey, p.pubkey, 2, 300_000, r1.receipt_id, period_end=99_999)
    idx, tree, _ = post_batch(d, [r1, r2, fork])
    assert settle(d, idx, tree, 1, r2, p.token_account).ok
    before = d.h.snapshot(_accounts(d, c, p))
    r = settle(d, idx, tree, 2, fork, p.token_account)
    assert not r.ok and r.error.name == "ReplayedReceipt", r.logs[-3:]
    unchanged(d, _accounts(d, c, p), before)


def test_batch_of_a_meter_posted_before_it_was_removed_and_re_added_does_not_settle(d, chan):
    # Given a batch posted at config version 1 by the meter, then the meter removed (v2) and
    # registered again (v3): its registration now starts at v3
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    idx, tree, _ = post_batch(d, rs)
    admin = d.admin
    assert d.h.send([d.program.update_config(admin=admin.pubkey(), remove_meter=d.meter.pubkey())], [admin]).ok
    assert d.h.send([d.program.update_config(admin=admin.pubkey(), add_meter=d.meter.pubkey())], [admin]).ok
    m = d.h.config().meters[0]
    assert m.key == d.meter.pubkey() and m.since_version == 3
    before = d.h.snapshot(_accounts(d, c, p))
    # When the old batch is settled / Then MeterRetired: what the key signed in its earlier term (e.g.
    # while compromised) stays void
    r = settle(d, idx, tree, 0, rs[0], p.token_account)
    assert not r.ok and r.error.name == "MeterRetired", r.logs[-3:]
    unchanged(d, _accounts(d, c, p), before)
