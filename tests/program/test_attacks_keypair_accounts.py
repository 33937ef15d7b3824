"""Accounts created at an address nobody checked (issue 11, critical; security review finding 14).

The program used to create the Channel, Epoch and ProviderEpoch it writes on demand and checked only
that the bump was canonical, reasoning that CreateAccount needs the new account's signature and the
runtime grants it only when the seeds derive the address. That is wrong: a caller who passes a keypair
it holds in the account's slot and signs the transaction with it makes CreateAccount succeed at the
keypair's address. Each test below is the exploit as an outsider would run it; against the program
before the fix each one succeeded (money paid twice, a reward pool taken, an epoch claimed twice).
Now every account the program creates or trusts has its address derived from its seeds and compared,
so each attack fails and moves nothing. Conservation is checked after every test (the `d` fixture)."""
from solders.keypair import Keypair

from contracts.client.gen.instructions import INSTRUCTIONS
from contracts.testing import post_batch, receipt_chain, settle, with_account

from .conftest import open_channel, unchanged


def _pos(ix_name, account):
    """Index of `account` in instruction `ix_name`'s account list (from the generated client)."""
    return [a.name for a in INSTRUCTIONS[ix_name].ACCOUNTS].index(account)


def _settle_ix(d, idx, tree, receipt, payout, leaf=0):
    return d.program.settle(payer=d.h.payer.pubkey(), batch_index=idx, receipt=receipt, proof=tree.proof(leaf),
                            payout=payout, treasury=d.treasury, mint=d.mint, epoch=d.h.current_epoch())


def _fund(d, epoch, amount):
    funder = d.h.new_wallet()
    ta = d.fund(funder, amount)
    r = d.h.send([d.program.fund_epoch(funder=funder.pubkey(), epoch=epoch, source=ta, mint=d.mint, amount=amount)],
                 [funder])
    assert r.ok, r.logs[-4:]


def _claim(d, p, epoch, provider_epoch=None):
    ix = d.program.claim_rewards(wallet=p.pubkey, epoch=epoch, payout=p.token_account, mint=d.mint)
    if provider_epoch is not None:
        ix = with_account(ix, _pos("claim_rewards", "provider_epoch"), provider_epoch)
    return d.h.send([ix], [p.kp])


def _money(d, *parties):
    prog = d.program
    out = [d.treasury, d.mint, prog.rewards_address(), prog.config_address()]
    for x in parties:
        out += [x.token_account, prog.escrow_address(x.pubkey), prog.stake_address(x.pubkey),
                prog.customer_address(x.pubkey), prog.provider_address(x.pubkey)]
    return out


def _refused_with_keypair(d, ix, ix_name, slot, watched, errors, signers=None):
    """Send `ix` with account `slot` replaced by a fresh keypair that signs; assert one of `errors`,
    that nothing in `watched` changed and that no account exists at the keypair's address."""
    fake = Keypair()
    before = d.h.snapshot(watched + [fake.pubkey()])
    r = d.h.send([with_account(ix, _pos(ix_name, slot), fake.pubkey(), signer=True)], (signers or [d.h.payer]) + [fake])
    assert not r.ok, f"{ix_name} accepted a keypair as its {slot}"
    assert r.error is not None and r.error.name in errors, (slot, r.logs[-4:])
    unchanged(d, watched + [fake.pubkey()], before)
    assert not d.h.exists(fake.pubkey())


def test_settled_receipt_is_not_paid_again_through_a_keypair_channel(d, chan):
    # Given a receipt already settled on its channel
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1_000_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    escrow_after_first = d.h.token_balance(d.program.escrow_address(c.pubkey))
    # When anyone resends the settle with the Channel slot set to a fresh keypair it signs with
    # Then nothing is paid again and no account exists at the keypair's address
    _refused_with_keypair(d, _settle_ix(d, idx, tree, rs[0], p.token_account), "settle", "channel",
                          _money(d, c, p) + [d.program.channel_address(c.pubkey, p.pubkey)],
                          ("WrongPda", "ChannelNotOpened"))
    assert d.h.token_balance(d.program.escrow_address(c.pubkey)) == escrow_after_first


def test_customer_cannot_open_a_channel_at_a_keypair_address(d, chan):
    # A second Channel of the pair at a keypair address would start at settled_amount 0 (and its own
    # limit), so the customer's set_channel_limit derives and compares the address too.
    c, p = chan
    ix = d.program.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=10)
    _refused_with_keypair(d, ix, "set_channel_limit", "channel", [d.program.channel_address(c.pubkey, p.pubkey)],
                          ("WrongPda",), signers=[c.kp])


def test_keypair_epoch_cannot_take_the_reward_pool(d):
    # Given a funded epoch, an honest provider with revenue in it, and an attacker provider
    c = d.customer(deposit=10_000_000)
    honest, attacker = d.provider(stake=1_000_000), d.provider(stake=1_000_000)
    open_channel(d, c, honest)
    open_channel(d, c, attacker)
    _fund(d, 0, 1_000_000)
    rs = receipt_chain(d, c.pubkey, honest.pubkey, [100_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], honest.token_account).ok
    # When the attacker settles its own receipt into an Epoch at a keypair address it signs with
    mine = receipt_chain(d, c.pubkey, attacker.pubkey, [100_000])
    midx, mtree, _ = post_batch(d, mine)
    # Then the settle fails and the real epoch is the only one
    _refused_with_keypair(d, _settle_ix(d, midx, mtree, mine[0], attacker.token_account), "settle", "epoch",
                          _money(d, c, honest, attacker) + [d.program.epoch_address(0)], ("WrongPda",))
    # and once settled properly the pool is shared pro rata: neither provider can take all of it
    assert settle(d, midx, mtree, 0, mine[0], attacker.token_account).ok
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    a, h = _claim(d, attacker, 0), _claim(d, honest, 0)
    assert a.ok and h.ok, (a.logs[-4:], h.logs[-4:])
    assert a.event("RewardsClaimed").amount == h.event("RewardsClaimed").amount == 500_000


def test_keypair_provider_epoch_cannot_claim_an_epoch_twice(d, chan):
    # Given a provider with revenue in a funded epoch
    c, p = chan
    _fund(d, 0, 1_000_000)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000, 300_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    # When it settles its next receipt into a ProviderEpoch at a keypair address it signs with
    # Then it fails: no second ProviderEpoch of (provider, epoch) exists to claim from
    _refused_with_keypair(d, _settle_ix(d, idx, tree, rs[1], p.token_account, leaf=1), "settle", "provider_epoch",
                          _money(d, c, p) + [d.program.provider_epoch_address(p.pubkey, 0)], ("WrongPda",))
    # and the epoch is claimed once, for the whole pool (the only provider), and never again
    assert settle(d, idx, tree, 1, rs[1], p.token_account).ok
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    first = _claim(d, p, 0)
    assert first.ok and first.event("RewardsClaimed").amount == 1_000_000
    again = _claim(d, p, 0)
    assert not again.ok and again.error.name == "AlreadyClaimed"


def test_prepare_settle_and_fund_epoch_cannot_create_at_keypair_addresses(d, chan):
    c, p = chan
    prog = d.program
    prep = prog.prepare_settle(payer=d.h.payer.pubkey(), customer_wallet=c.pubkey, provider_wallet=p.pubkey, epoch=0)
    for slot in ("epoch", "provider_epoch"):
        _refused_with_keypair(d, prep, "prepare_settle", slot, [prog.epoch_address(0)], ("WrongPda",))
    funder = d.h.new_wallet()
    src = d.fund(funder, 1_000)
    ix = prog.fund_epoch(funder=funder.pubkey(), epoch=0, source=src, mint=d.mint, amount=1_000)
    _refused_with_keypair(d, ix, "fund_epoch", "epoch", [src, prog.rewards_address()], ("WrongPda",), signers=[funder])


def _plant(d, real):
    """A copy of the program account at `real`, owned by the program, at a fresh non-PDA address: what
    the old bug left behind on a deployment that ran it (an account created at a keypair's address)."""
    from solders.pubkey import Pubkey

    fake = Pubkey.new_unique()
    d.h._set(fake, bytes(d.h.raw(real).data), d.h.program_id)
    return fake


def test_program_accounts_planted_at_keypair_addresses_are_refused_everywhere(d, chan):
    # Given a settled receipt and, for every account type settle trusts, a look-alike owned by the
    # program at an address that is not its PDA (exact bytes of the real one)
    c, p = chan
    _fund(d, 0, 1_000)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1_000_000, 2_000_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    prog = d.program
    planted = {"config": prog.config_address(), "batch": prog.batch_address(idx),
               "customer": prog.customer_address(c.pubkey), "provider": prog.provider_address(p.pubkey),
               "channel": prog.channel_address(c.pubkey, p.pubkey), "epoch": prog.epoch_address(0),
               "provider_epoch": prog.provider_epoch_address(p.pubkey, 0)}
    planted = {slot: _plant(d, real) for slot, real in planted.items()}
    watched = _money(d, c, p) + list(planted.values())
    before = d.h.snapshot(watched)
    # When the settled receipt (or, for the epoch accounts, which settle reads last, the next one) is sent
    # with any one of them in its slot
    for slot, fake in planted.items():
        leaf = 1 if slot in ("epoch", "provider_epoch") else 0
        ix = with_account(_settle_ix(d, idx, tree, rs[leaf], p.token_account, leaf=leaf), _pos("settle", slot), fake)
        r = d.h.send([ix], [d.h.payer])
        # Then the address check refuses it (a planted Channel would start the pair over) and nothing moves
        assert not r.ok and r.error is not None and r.error.name == "WrongPda", (slot, r.logs[-3:])
        unchanged(d, watched, before)
    # and a planted ProviderEpoch cannot claim the epoch a second time
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    assert _claim(d, p, 0).ok
    r = _claim(d, p, 0, provider_epoch=planted["provider_epoch"])
    assert not r.ok and r.error.name == "WrongPda"


def test_channel_of_an_older_layout_is_refused(d, chan):
    # A Channel written by an earlier build (145 bytes: before pending_limit / pending_limit_at) at the
    # real PDA: identity includes the exact size, so it is not read past its end
    c, p = chan
    addr = d.program.channel_address(c.pubkey, p.pubkey)
    d.h._set(addr, bytes(d.h.raw(addr).data)[:145], d.h.program_id)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1_000])
    idx, tree, _ = post_batch(d, rs)
    before = d.h.snapshot(_money(d, c, p) + [addr])
    r = settle(d, idx, tree, 0, rs[0], p.token_account)
    assert not r.ok and r.error.name == "WrongAccountType", r.logs[-3:]
    unchanged(d, _money(d, c, p) + [addr], before)


def test_registration_vaults_are_derived_and_compared(d):
    # The escrow / stake vault a registration creates must sit at its canonical PDA: a keypair in the
    # vault slot (signing for itself) or a non-canonical bump is refused, nothing is created
    from contracts import pda
    from contracts.client.instructions import SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID

    from .test_attacks_pda import non_canonical

    prog, pid = d.program, d.h.program_id
    for name, seeds_of, vault_slot in (("register_customer", pda.seeds_escrow, "escrow"),
                                       ("register_provider", pda.seeds_stake, "stake_vault")):
        w = d.h.new_wallet()
        payout = d.fund(w, 0)
        alt = non_canonical(seeds_of(w.pubkey()), pid)
        fake = Keypair()
        for addr, bump, signers in ((alt[0], alt[1], [w]), (fake.pubkey(), None, [w, fake])):
            if name == "register_customer":
                account, ab = pda.customer(pid, w.pubkey())
                accs = dict(wallet=w.pubkey(), config=prog.config_address(), customer=account, escrow=addr,
                            mint=d.mint, system_program=SYSTEM_PROGRAM_ID, token_program=TOKEN_PROGRAM_ID)
                canon = pda.escrow(pid, w.pubkey())[1]
                args = dict(customer_bump=ab, escrow_bump=canon if bump is None else bump)
            else:
                account, ab = pda.provider(pid, w.pubkey())
                accs = dict(wallet=w.pubkey(), config=prog.config_address(), provider=account, stake_vault=addr,
                            payout=payout, mint=d.mint, system_program=SYSTEM_PROGRAM_ID,
                            token_program=TOKEN_PROGRAM_ID)
                canon = pda.stake(pid, w.pubkey())[1]
                args = dict(provider_bump=ab, stake_bump=canon if bump is None else bump)
            ix = prog.build(name, accs, args)
            if bump is None:
                ix = with_account(ix, _pos(name, vault_slot), addr, signer=True)
            r = d.h.send([ix], signers)
            assert not r.ok and r.error is not None and r.error.name == "WrongPda", (name, r.logs[-3:])
            assert not d.h.exists(addr) and not d.h.exists(account)
