"""prepare_settle: creates whichever of Epoch / ProviderEpoch settle would write is missing, canonical
bumps only, idempotent and permissionless; settle after it creates nothing, so every settle stays under
the 30,000 CU target whatever the PDA seeds (review item: first settle at 30.6k-33.5k CU). The Channel is
never created here: the customer opens it (consent), and a pair it never opened is refused."""
import hashlib

from contracts import pda
from contracts.testing import post_batch, receipt_chain, settle, with_account

from .conftest import unchanged
from .test_attacks_pda import non_canonical


def _prep(d, c, p, epoch=None, payer=None):
    payer = payer or d.h.payer
    ep = d.h.current_epoch() if epoch is None else epoch
    return d.h.send([d.program.prepare_settle(payer=payer.pubkey(), customer_wallet=c.pubkey,
                                              provider_wallet=p.pubkey, epoch=ep)], [payer])


def _addrs(d, c, p, ep=0):
    return [d.program.channel_address(c.pubkey, p.pubkey), d.program.epoch_address(ep),
            d.program.provider_epoch_address(p.pubkey, ep)]


def test_prepare_creates_what_is_missing_and_is_idempotent(d, chan):
    c, p = chan
    # Given a pair whose customer opened the channel and that never settled, When anyone prepares it
    stranger = d.h.new_wallet()
    r = _prep(d, c, p, payer=stranger)
    # Then Epoch and an empty ProviderEpoch exist at the canonical addresses
    assert r.ok, r.logs
    ev = r.event("SettlementPrepared")
    assert (ev.epoch_created, ev.provider_epoch_created) == (True, True)
    ch_addr, e_addr, pe_addr = _addrs(d, c, p)
    assert d.h.account(ch_addr)[1].limit_per_epoch == 2**64 - 1
    assert d.h.account(e_addr)[1].number == 0
    pe = d.h.account(pe_addr)[1]
    assert pe.provider == p.pubkey and pe.revenue == 0
    assert d.h.account(d.program.provider_address(p.pubkey))[1].unclaimed_epochs == 0
    # When it is sent again, Then nothing changes
    before = d.h.snapshot([ch_addr, e_addr, pe_addr])
    r = _prep(d, c, p)
    assert r.ok
    ev = r.event("SettlementPrepared")
    assert (ev.epoch_created, ev.provider_epoch_created) == (False, False)
    unchanged(d, [ch_addr, e_addr, pe_addr], before)


def test_prepare_refuses_a_channel_the_customer_never_opened(d):
    # Given a registered customer and provider whose customer never opened their channel
    c, p = d.customer(deposit=1_000_000), d.provider(stake=2_000_000)
    addrs = _addrs(d, c, p)
    before = d.h.snapshot(addrs)
    # When anyone prepares a settlement for the pair / Then ChannelNotOpened and nothing is created
    r = _prep(d, c, p, payer=d.h.new_wallet())
    assert not r.ok and r.error.name == "ChannelNotOpened", r.logs[-3:]
    unchanged(d, addrs, before)


def test_settle_after_prepare_creates_nothing_and_stays_under_30k_cu(d, chan):
    c, p = chan
    # Given a batch of 2,048 receipts: the deepest proof (11 levels) a legacy transaction carries
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    filler = [hashlib.sha256(i.to_bytes(4, "little")).digest() for i in range(2047)]
    idx, tree, _ = post_batch(d, rs, extra_ids=filler)
    assert len(tree.proof(0)) == 11
    # When the crank sends [prepare_settle, settle] as the client builds it
    ixs = d.program.prepared_settle(payer=d.h.payer.pubkey(), batch_index=idx, receipt=rs[0], proof=tree.proof(0),
                                    payout=p.token_account, treasury=d.treasury, mint=d.mint, epoch=0)
    r = d.h.send(ixs, [d.h.payer])
    assert r.ok, r.logs
    # Then the settle instruction itself ran without creating anything, well under 30,000 CU
    settle_cu = [int(line.split(" consumed ")[1].split(" of ")[0]) for line in r.logs
                 if line.startswith(f"Program {d.h.program_id} consumed")]
    assert len(settle_cu) == 2 and settle_cu[1] <= 30_000, settle_cu
    assert not any("CreateAccount" in line or line.startswith("Program 11111111111111111111111111111111 invoke")
                   for line in r.logs[r.logs.index(f"Program {d.h.program_id} invoke [1]", 1):])
    # and the revenue makes the epoch unclaimed exactly once
    prov = d.h.account(d.program.provider_address(p.pubkey))[1]
    assert prov.unclaimed_epochs == 1 and prov.last_revenue_epoch == 0
    assert d.h.account(d.program.provider_epoch_address(p.pubkey, 0))[1].revenue == 100_000


def test_prepare_refuses_non_canonical_bumps(d, chan):
    c, p = chan
    pid, prog = d.h.program_id, d.program
    ep = (0).to_bytes(8, "little")
    canon = {"epoch": pda.epoch(pid, 0), "provider_epoch": pda.provider_epoch(pid, p.pubkey, 0)}
    seeds = {"epoch": [b"epoch", ep], "provider_epoch": [b"provider_epoch", bytes(p.pubkey), ep]}
    for name in canon:
        accs = {k: v for k, v in canon.items()}
        accs[name] = non_canonical(seeds[name], pid)
        ix = prog.build("prepare_settle",
                        dict(payer=d.h.payer.pubkey(), config=prog.config_address(), customer=prog.customer_address(c.pubkey),
                             provider=prog.provider_address(p.pubkey), channel=prog.channel_address(c.pubkey, p.pubkey),
                             epoch=accs["epoch"][0], provider_epoch=accs["provider_epoch"][0],
                             system_program=pda_system()),
                        dict(epoch=0, epoch_bump=accs["epoch"][1], provider_epoch_bump=accs["provider_epoch"][1]))
        watched = [a for a, _ in accs.values()]
        before = d.h.snapshot(watched)
        r = d.h.send([ix], [d.h.payer])
        assert not r.ok and r.error.name == "WrongPda", (name, r.logs)
        unchanged(d, watched, before)


def pda_system():
    from contracts.client.instructions import SYSTEM_PROGRAM_ID
    return SYSTEM_PROGRAM_ID


def test_prepare_checks_existing_accounts_and_parties(d, chan):
    c, p = chan
    prog = d.program
    other = d.customer(deposit=0)
    d.open_channel(other, p)
    assert _prep(d, other, p).ok
    # an existing channel of another pair in the channel slot
    ix = prog.prepare_settle(payer=d.h.payer.pubkey(), customer_wallet=c.pubkey, provider_wallet=p.pubkey, epoch=0)
    r = d.h.send([with_account(ix, 4, prog.channel_address(other.pubkey, p.pubkey), False, True)], [d.h.payer])
    assert not r.ok and r.error.name == "ReceiptChannelMismatch"
    # an unregistered wallet as customer (its Customer PDA holds nothing)
    ghost = d.h.new_wallet()
    ix = prog.prepare_settle(payer=d.h.payer.pubkey(), customer_wallet=ghost.pubkey(), provider_wallet=p.pubkey, epoch=0)
    r = d.h.send([ix], [d.h.payer])
    assert not r.ok and r.error.name in ("WrongOwner", "WrongAccountType")
    # a closed epoch
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    r = _prep(d, c, p, epoch=0)
    assert not r.ok and r.error.name == "EpochClosed"
    # an existing Epoch of another number in the epoch slot
    assert _prep(d, c, p, epoch=1).ok
    ix = prog.prepare_settle(payer=d.h.payer.pubkey(), customer_wallet=c.pubkey, provider_wallet=p.pubkey, epoch=2)
    r = d.h.send([with_account(ix, 5, prog.epoch_address(1), False, True)], [d.h.payer])
    assert not r.ok and r.error.name in ("WrongPda", "CpiFailed")


def test_an_empty_provider_epoch_opened_by_a_stranger_does_not_hold_back_unstaking():
    from contracts.testing import deploy
    d = deploy(unstake_cooldown=60)
    c = d.customer(deposit=1_000_000)
    p = d.provider(stake=2_000_000)
    d.open_channel(c, p)
    # Given a stranger opened this epoch's ProviderEpoch for the provider, which earns nothing in it
    assert _prep(d, c, p, payer=d.h.new_wallet()).ok
    # When the epoch closes and the provider (below min stake after the unstake) leaves
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    assert d.h.send([d.program.request_unstake(wallet=p.pubkey, amount=2_000_000)], [p.kp]).ok
    d.h.set_time(d.h.now() + 60)
    r = d.h.send([d.program.withdraw_stake(wallet=p.pubkey, destination=p.token_account, mint=d.mint)], [p.kp])
    # Then no unclaimed epoch blocks it
    assert r.ok, r.logs
    d.conservation()


def test_claiming_an_empty_provider_epoch_pays_nothing_and_keeps_the_count(d, chan):
    c, p = chan
    q = d.provider(stake=2_000_000)
    d.open_channel(c, q)
    assert _prep(d, c, p).ok  # empty for p
    rs = receipt_chain(d, c.pubkey, q.pubkey, [100_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], q.token_account).ok  # q earns in epoch 0
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    r = d.h.send([d.program.claim_rewards(wallet=p.pubkey, epoch=0, payout=p.token_account, mint=d.mint)], [p.kp])
    assert r.ok and r.event("RewardsClaimed").amount == 0
    assert d.h.account(d.program.provider_address(p.pubkey))[1].unclaimed_epochs == 0
    r = d.h.send([d.program.claim_rewards(wallet=q.pubkey, epoch=0, payout=q.token_account, mint=d.mint)], [q.kp])
    assert r.ok and d.h.account(d.program.provider_address(q.pubkey))[1].unclaimed_epochs == 0


def test_settle_still_creates_missing_epoch_accounts_for_callers_that_do_not_prepare(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    idx, tree, _ = post_batch(d, rs)
    r = settle(d, idx, tree, 0, rs[0], p.token_account)
    assert r.ok and all(d.h.exists(a) for a in _addrs(d, c, p))
    assert d.h.account(d.program.provider_address(p.pubkey))[1].unclaimed_epochs == 1
