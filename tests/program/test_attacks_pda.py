"""Attacks with non-canonical PDA bumps. One set of seeds derives a valid PDA for about half of the 256
bumps; the program identifies existing accounts by owner, type and stored keys, so a second account of
the same type and keys at another bump would be a second Config (another admin and arbiter), a second
Channel of a pair (settled_amount back at zero), a second Customer, Provider, Epoch... Every creation
therefore requires the canonical bump (the one find_program_address returns), and these tests prove
each creation path refuses any other bump with WrongPda and moves nothing. The one exception is a Batch,
whose seeds (its index, = Config.batch_count) are used for one creation only: any valid bump once per
index, never a second batch of an index (`test_no_second_batch_per_index_whatever_the_bump`).

Before the fix (security review G, finding 1) the first two tests were full exploits: a replayed
receipt paid twice through a second Channel, and a second Config let anyone propose, uphold and then
execute (through the real Config) a slash of any provider's stake to their own token account."""
from solders.pubkey import Pubkey

from contracts import pda
from contracts.client.gen.instructions import INSTRUCTIONS
from contracts.client.instructions import SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID
from contracts.merkle import MerkleTree
from contracts.testing import DEFAULT_PARAMS, post_batch, receipt_chain, settle, with_account

from .conftest import unchanged


def non_canonical(seeds: list[bytes], program_id: Pubkey) -> tuple[Pubkey, int]:
    """The valid PDA of `seeds` with the highest bump below the canonical one."""
    _, canonical = Pubkey.find_program_address(seeds, program_id)
    for b in range(canonical - 1, -1, -1):
        try:
            return Pubkey.create_program_address(seeds + [bytes([b])], program_id), b
        except Exception:  # on the curve: not a PDA
            continue
    raise AssertionError("no second bump")


def _settle_ix(d, idx, tree, receipt, payout, channel=None, epoch=None, provider_epoch=None):
    """settle with the canonical accounts except those given as (address, bump)."""
    prog, cw, pw = d.program, receipt.customer, receipt.provider
    ep = d.h.current_epoch()
    ch = channel or pda.channel(d.h.program_id, cw, pw)
    e = epoch or pda.epoch(d.h.program_id, ep)
    pe = provider_epoch or pda.provider_epoch(d.h.program_id, pw, ep)
    return prog.build(
        "settle",
        dict(payer=d.h.payer.pubkey(), config=prog.config_address(), batch=prog.batch_address(idx),
             customer=prog.customer_address(cw), escrow=prog.escrow_address(cw), provider=prog.provider_address(pw),
             stake_vault=prog.stake_address(pw), payout=payout, treasury=d.treasury, mint=d.mint, channel=ch[0],
             epoch=e[0], provider_epoch=pe[0], system_program=SYSTEM_PROGRAM_ID, token_program=TOKEN_PROGRAM_ID),
        dict(receipt=list(receipt.encode()), proof=[list(s) for s in tree.proof(0)], epoch_bump=e[1],
             provider_epoch_bump=pe[1]),
    )


def _money(d, c, p):
    prog = d.program
    return [prog.escrow_address(c.pubkey), p.token_account, d.treasury, d.mint, prog.rewards_address(),
            prog.stake_address(p.pubkey), prog.customer_address(c.pubkey), prog.provider_address(p.pubkey),
            prog.channel_address(c.pubkey, p.pubkey), prog.config_address()]


def test_settled_receipt_cannot_be_paid_again_through_a_second_channel(d, chan):
    # Given a receipt already settled on the pair's channel
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1_000_000])
    idx, tree, _ = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    alt = non_canonical(pda.seeds_channel(c.pubkey, p.pubkey), d.h.program_id)
    addrs = _money(d, c, p) + [alt[0]]
    before = d.h.snapshot(addrs)
    # When anyone settles the same receipt against a Channel at a non-canonical bump
    r = d.h.send([_settle_ix(d, idx, tree, rs[0], p.token_account, channel=alt)], [d.h.payer])
    # Then it fails (settle creates no Channel: only the customer opens one, at the canonical PDA), no
    # second channel exists and no token moved
    assert not r.ok and r.error.name == "ChannelNotOpened", r.logs[-4:]
    unchanged(d, addrs, before)
    assert not d.h.exists(alt[0])


def test_set_channel_limit_cannot_create_a_second_channel(d, chan):
    c, p = chan
    alt = non_canonical(pda.seeds_channel(c.pubkey, p.pubkey), d.h.program_id)
    prog = d.program
    ix = prog.build("set_channel_limit",
                    dict(wallet=c.pubkey, config=prog.config_address(), customer=prog.customer_address(c.pubkey),
                         provider=prog.provider_address(p.pubkey), channel=alt[0], system_program=SYSTEM_PROGRAM_ID),
                    dict(limit_per_epoch=5, channel_bump=alt[1]))
    r = d.h.send([ix], [c.kp])
    assert not r.ok and r.error.name == "WrongPda"
    assert not d.h.exists(alt[0])


def test_second_epoch_or_provider_epoch_cannot_be_created_by_settle(d, chan):
    # Given a posted receipt; a second Epoch (or ProviderEpoch) would let a provider credit revenue
    # that the funded Epoch does not count, or be counted as unclaimed twice
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1_000_000])
    idx, tree, _ = post_batch(d, rs)
    ep = d.h.current_epoch()
    alt_e = non_canonical(pda.seeds_epoch(ep), d.h.program_id)
    alt_pe = non_canonical(pda.seeds_provider_epoch(p.pubkey, ep), d.h.program_id)
    addrs = _money(d, c, p) + [alt_e[0], alt_pe[0]]
    before = d.h.snapshot(addrs)
    for kw in (dict(epoch=alt_e), dict(provider_epoch=alt_pe)):
        r = d.h.send([_settle_ix(d, idx, tree, rs[0], p.token_account, **kw)], [d.h.payer])
        assert not r.ok and r.error.name == "WrongPda", (kw, r.logs[-4:])
        unchanged(d, addrs, before)
    # and the canonical accounts still work
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok


def test_fund_epoch_cannot_create_a_second_epoch(d):
    funder = d.h.new_wallet()
    src = d.fund(funder, 1_000)
    alt = non_canonical(pda.seeds_epoch(0), d.h.program_id)
    prog = d.program
    ix = prog.build("fund_epoch",
                    dict(funder=funder.pubkey(), config=prog.config_address(), epoch=alt[0],
                         rewards_vault=prog.rewards_address(), source=src, mint=d.mint,
                         system_program=SYSTEM_PROGRAM_ID, token_program=TOKEN_PROGRAM_ID),
                    dict(epoch=0, amount=1_000, epoch_bump=alt[1]))
    r = d.h.send([ix], [funder])
    assert not r.ok and r.error.name == "WrongPda"
    assert d.h.token_balance(src) == 1_000 and not d.h.exists(alt[0])


def test_second_config_cannot_be_initialized(d):
    # Given a deployed program; an attacker with a second Config would be admin and arbiter of it:
    # propose and uphold a slash of any provider, then execute it through the real Config
    att = d.h.new_wallet()
    att_ta = d.fund(att, 0)
    cfg2 = non_canonical(pda.seeds_config(), d.h.program_id)
    rw2 = non_canonical(pda.seeds_rewards(), d.h.program_id)
    # When the attacker initializes at non-canonical config and rewards bumps (or either one)
    for c_pda, r_pda in ((cfg2, rw2), (cfg2, pda.rewards(d.h.program_id)), (pda.config(d.h.program_id), rw2)):
        ix = d.program.build(
            "initialize",
            dict(admin=att.pubkey(), config=c_pda[0], mint=d.mint, treasury=att_ta, rewards_vault=r_pda[0],
                 system_program=SYSTEM_PROGRAM_ID, token_program=TOKEN_PROGRAM_ID, program=d.h.program_id,
                 program_data=d.program.program_data_address()),
            dict(DEFAULT_PARAMS, meter=att.pubkey(), arbiter=att.pubkey(), config_bump=c_pda[1],
                 rewards_bump=r_pda[1]))
        r = d.h.send([ix], [att])
        # Then it fails: WrongPda for a non-canonical bump, AlreadyInitialized for the existing PDAs
        assert not r.ok and r.error.name in ("WrongPda", "AlreadyInitialized"), r.logs[-4:]
    assert not d.h.exists(cfg2[0]) and not d.h.exists(rw2[0])
    assert d.h.config().admin == d.admin.pubkey()


def test_look_alike_config_of_another_program_cannot_propose_a_slash(d):
    # Given a provider and an account holding a copy of the Config bytes with the attacker as admin,
    # owned by another program (anyone can write such bytes into an account they own)
    p = d.provider(stake=2_000_000)
    att = d.h.new_wallet()
    att_ta = d.fund(att, 0)
    data = bytearray(d.h.raw(d.program.config_address()).data)
    data[8:40] = bytes(att.pubkey())   # admin
    data[152:184] = bytes(att.pubkey())  # params.arbiter
    fake = Pubkey.new_unique()
    d.h._set(fake, bytes(data), SYSTEM_PROGRAM_ID)
    slash, bump = pda.slash(d.h.program_id, p.pubkey, 0)
    prog = d.program
    ix = prog.build("propose_slash",
                    dict(admin=att.pubkey(), config=fake, provider=prog.provider_address(p.pubkey),
                         stake_vault=prog.stake_address(p.pubkey), slash=slash, beneficiary=att_ta,
                         system_program=SYSTEM_PROGRAM_ID),
                    dict(amount=2_000_000, evidence_hash=[0] * 32, slash_bump=bump))
    before = d.h.snapshot([prog.provider_address(p.pubkey), slash])
    # When the attacker proposes a slash with it; Then WrongOwner and nothing is created
    r = d.h.send([ix], [att])
    assert not r.ok and r.error.name == "WrongOwner"
    unchanged(d, [prog.provider_address(p.pubkey), slash], before)


def test_second_customer_or_provider_cannot_be_registered(d):
    # Given registered parties; a second Provider account of the same wallet would hold stake that
    # slashes proposed against the first never reserve, and its own unclaimed-epoch count
    c = d.customer(deposit=0)
    p = d.provider(stake=0)
    pid, prog = d.h.program_id, d.program
    for who, name, s1, s2, extra in (
        (c, "register_customer", pda.seeds_customer, pda.seeds_escrow, {}),
        (p, "register_provider", pda.seeds_provider, pda.seeds_stake, {"payout": p.token_account}),
    ):
        a1 = non_canonical(s1(who.pubkey), pid)
        a2 = non_canonical(s2(who.pubkey), pid)
        if name == "register_customer":
            accs = dict(wallet=who.pubkey, config=prog.config_address(), customer=a1[0], escrow=a2[0], mint=d.mint,
                        system_program=SYSTEM_PROGRAM_ID, token_program=TOKEN_PROGRAM_ID)
            args = dict(customer_bump=a1[1], escrow_bump=a2[1])
        else:
            accs = dict(wallet=who.pubkey, config=prog.config_address(), provider=a1[0], stake_vault=a2[0],
                        payout=extra["payout"], mint=d.mint, system_program=SYSTEM_PROGRAM_ID,
                        token_program=TOKEN_PROGRAM_ID)
            args = dict(provider_bump=a1[1], stake_bump=a2[1])
        r = d.h.send([prog.build(name, accs, args)], [who.kp])
        assert not r.ok and r.error.name == "WrongPda", (name, r.logs[-4:])
        assert not d.h.exists(a1[0]) and not d.h.exists(a2[0])


def test_slash_needs_its_canonical_bump(d):
    p = d.provider(stake=1_000)
    prog = d.program
    alt_s = non_canonical(pda.seeds_slash(p.pubkey, 0), d.h.program_id)
    ix = prog.build("propose_slash",
                    dict(admin=d.admin.pubkey(), config=prog.config_address(), provider=prog.provider_address(p.pubkey),
                         stake_vault=prog.stake_address(p.pubkey), slash=alt_s[0], beneficiary=d.treasury,
                         system_program=SYSTEM_PROGRAM_ID),
                    dict(amount=1, evidence_hash=[0] * 32, slash_bump=alt_s[1]))
    r = d.h.send([ix], [d.admin])
    assert not r.ok and r.error.name == "WrongPda"
    assert not d.h.exists(alt_s[0])


def _valid_bumps(seeds: list[bytes], program_id: Pubkey) -> dict[int, Pubkey]:
    """Every bump that derives a PDA of `seeds` (about half of the 256), with its address."""
    out = {}
    for b in range(256):
        try:
            out[b] = Pubkey.create_program_address(seeds + [bytes([b])], program_id)
        except Exception:  # on the curve: not a PDA
            continue
    return out


def _post_at(d, bump, addr, tree=None, total=0, keypair=None):
    """post_batch with `addr` (or `keypair`, signing for its slot) as the batch and `bump` as batch_bump;
    the client always sends the canonical pair."""
    prog = d.program
    root, count = (tree.root, len(tree)) if tree is not None else (bytes([1]) * 32, 1)
    ix = prog.build("post_batch", dict(meter=d.meter.pubkey(), config=prog.config_address(), batch=addr,
                                       system_program=SYSTEM_PROGRAM_ID),
                    dict(root=root, count=count, total=total, batch_bump=bump, config_version=d.h.config().version))
    if keypair is None:
        return d.h.send([ix], [d.meter])
    return d.h.send([with_account(ix, 2, keypair.pubkey(), signer=True)], [d.meter, keypair])


def test_no_second_batch_per_index_whatever_the_bump(d):
    """post_batch checks the batch address against the meter's bump without the canonical-bump proof
    (issue 12: the proof cost 346 CU per bump above the canonical one). Uniqueness rests on the index
    instead: it is Config.batch_count, which the same instruction advances. So any valid bump is accepted
    once per index, and after that no bump of that index (nor a keypair) makes a second Batch."""
    prog, pid = d.program, d.h.program_id
    bumps0 = _valid_bumps(pda.seeds_batch(0), pid)
    alt0 = non_canonical(pda.seeds_batch(0), pid)
    # Given batch 0 posted at a valid bump below the canonical one (the meter's choice: accepted)
    r = _post_at(d, alt0[1], alt0[0])
    assert r.ok, r.logs[-4:]
    assert d.h.account(alt0[0])[1].index == 0 and d.h.config().batch_count == 1
    # When index 0 is posted again at every other valid bump, the canonical one included
    watched = [prog.config_address(), *bumps0.values()]
    before = d.h.snapshot(watched)
    for b, addr in bumps0.items():
        if b != alt0[1]:
            r = _post_at(d, b, addr)
            # Then each is refused: the index is batch_count (now 1), whose seeds derive none of them
            assert not r.ok and r.error.name == "WrongPda", (b, r.logs[-3:])
    # and a keypair in the batch slot, signing for itself, is refused too
    kp = d.h.new_wallet()
    r = _post_at(d, pda.batch(pid, 1)[1], kp.pubkey(), keypair=kp)
    assert not r.ok and r.error.name == "WrongPda"
    unchanged(d, watched, before)
    assert [b for b, a in bumps0.items() if d.h.exists(a)] == [alt0[1]]  # one Batch of index 0
    # The next index at its canonical bump (what the client sends) lands; index 1 at another bump after it does not
    idx, _, r = post_batch(d, receipt_chain(d, d.customer().pubkey, d.provider().pubkey, [1]))
    assert r.ok and idx == 1
    alt1 = non_canonical(pda.seeds_batch(1), pid)
    r = _post_at(d, alt1[1], alt1[0])
    assert not r.ok and r.error.name == "WrongPda" and not d.h.exists(alt1[0])
    # Once batch 0 is closed its index stays used up, at every bump
    d.h.set_time(d.h.now() + d.params["batch_retention"])
    assert d.h.send([with_account(prog.close_batch(meter=d.meter.pubkey(), index=0), 2, alt0[0])], [d.meter]).ok
    for b, addr in bumps0.items():
        r = _post_at(d, b, addr)
        assert not r.ok and r.error.name == "WrongPda"
    assert not any(d.h.exists(a) for a in bumps0.values()) and d.h.config().batch_count == 2


def test_a_batch_at_a_non_canonical_bump_pays_each_receipt_once(d):
    """The bump gives the meter nothing: a batch at another valid bump settles only receipts under its
    root, and only once (the Channel's seq and cumulative amount guard payment, not the batch address)."""
    c, p = d.customer(deposit=1_000_000), d.provider(stake=DEFAULT_PARAMS["min_stake"])
    d.open_channel(c, p)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [1_000, 3_000])
    tree = MerkleTree([r.receipt_id for r in rs])
    addr, bump = non_canonical(pda.seeds_batch(0), d.h.program_id)
    assert _post_at(d, bump, addr, tree=tree, total=4_000).ok
    slot = [a.name for a in INSTRUCTIONS["settle"].ACCOUNTS].index("batch")

    def settle_at(leaf):
        ix = d.program.settle(payer=d.h.payer.pubkey(), batch_index=0, receipt=rs[leaf], proof=tree.proof(leaf),
                              payout=p.token_account, treasury=d.treasury, mint=d.mint, epoch=d.h.current_epoch())
        return d.h.send([with_account(ix, slot, addr)], [d.h.payer])

    assert settle_at(1).ok
    assert d.h.account(d.program.channel_address(c.pubkey, p.pubkey))[1].settled_amount == 3_000
    for leaf, error in ((1, "ReplayedReceipt"), (0, "ReplayedReceipt")):
        r = settle_at(leaf)
        assert not r.ok and r.error.name == error, r.logs[-3:]
