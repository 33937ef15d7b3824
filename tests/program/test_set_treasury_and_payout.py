"""Treasury and payout accounts can be changed (security review finding 9).

Before: both were fixed at initialize / register_provider, so a treasury or payout account closed or
frozen by its owner made every settlement (and claim) touching it fail for good. Now the admin can name a
new treasury (set_treasury) and a provider a new payout account (set_payout), with the same mint and owner
checks as at creation. Both apply at once: only the signer's own income goes there (slashes record their
beneficiary when proposed)."""
from contracts.testing import post_batch, receipt_chain, settle, with_account

from .conftest import unchanged


def test_admin_moves_the_treasury_and_fees_follow(d, chan):
    c, p = chan
    new = d.fund(d.h.new_wallet(), 0)
    r = d.h.send([d.program.set_treasury(admin=d.admin.pubkey(), treasury=new)], [d.admin])
    assert r.ok, r.logs[-3:]
    ev = r.event("TreasuryChanged")
    assert (ev.old_treasury, ev.new_treasury) == (d.treasury, new)
    assert d.h.config().treasury == new
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1_000_000])
    idx, tree, _ = post_batch(d, rs)
    # the old treasury is refused, the new one gets the fee
    assert settle(d, idx, tree, 0, rs[0], p.token_account).error.name == "WrongTokenAccount"
    ix = d.program.settle(payer=d.h.payer.pubkey(), batch_index=idx, receipt=rs[0], proof=tree.proof(0),
                          payout=p.token_account, treasury=new, mint=d.mint, epoch=0)
    r = d.h.send([ix], [d.h.payer])
    assert r.ok and d.h.token_balance(new) == r.event("Settled").fee > 0


def test_treasury_change_is_checked(d):
    cfg = d.program.config_address()
    other_mint = d.h.create_mint(d.mint_authority.pubkey())
    stranger = d.h.new_wallet()
    cases = [
        (d.program.set_treasury(admin=stranger.pubkey(), treasury=d.fund(stranger, 0)), [stranger], "Unauthorized"),
        (d.program.set_treasury(admin=d.admin.pubkey(), treasury=d.h.create_token_account(other_mint, d.admin.pubkey())),
         [d.admin], "WrongMint"),
        (d.program.set_treasury(admin=d.admin.pubkey(), treasury=d.program.rewards_address()), [d.admin],
         "WrongTokenAccount"),  # a program vault
        (d.program.set_treasury(admin=d.admin.pubkey(), treasury=d.program.customer_address(stranger.pubkey())),
         [d.admin], "WrongTokenAccount"),  # not a token account
    ]
    unsigned = with_account(d.program.set_treasury(admin=d.admin.pubkey(), treasury=d.fund(d.admin, 0)), 0,
                            d.admin.pubkey(), signer=False)
    cases.append((unsigned, [d.h.payer], "MissingSignature"))
    before = d.h.snapshot([cfg])
    for ix, signers, error in cases:
        r = d.h.send([ix], signers)
        assert not r.ok and r.error.name == error, (error, r.logs[-3:])
        unchanged(d, [cfg], before)


def test_provider_moves_its_payout_and_settlements_follow(d, chan):
    c, p = chan
    new = d.fund(p.kp, 0)
    r = d.h.send([d.program.set_payout(wallet=p.pubkey, payout=new)], [p.kp])
    assert r.ok and r.event("PayoutChanged").new_payout == new
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1_000_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).error.name == "WrongTokenAccount"
    r = settle(d, idx, tree, 0, rs[0], new)
    assert r.ok and d.h.token_balance(new) == r.event("Settled").provider_amount


def test_payout_change_is_checked(d, chan):
    c, p = chan
    prov = d.program.provider_address(p.pubkey)
    other_mint = d.h.create_mint(d.mint_authority.pubkey())
    thief = d.h.new_wallet()
    before = d.h.snapshot([prov])
    cases = [
        (d.program.set_payout(wallet=p.pubkey, payout=d.fund(thief, 0)), [p.kp], "WrongTokenAccount"),  # not its own
        (d.program.set_payout(wallet=p.pubkey, payout=d.h.create_token_account(other_mint, p.pubkey)), [p.kp],
         "WrongMint"),
        (with_account(d.program.set_payout(wallet=thief.pubkey(), payout=d.fund(thief, 0)), 2, prov, writable=True),
         [thief], "Unauthorized"),  # someone else's Provider account
    ]
    for ix, signers, error in cases:
        r = d.h.send([ix], signers)
        assert not r.ok and r.error.name == error, (error, r.logs[-3:])
        unchanged(d, [prov], before)
