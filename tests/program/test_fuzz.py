"""Randomized instructions: random instruction data (random bytes, or a real discriminator followed by
random or real arguments) with random account lists drawn from every account in play, signed by random
key holders. After every transaction: a failed one changed nothing; no program vault lost tokens (there
is no valid receipt, due withdrawal, unstake or slash to pay); no wallet token account lost tokens
unless its owner signed; and tokens are conserved."""
import hashlib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.instruction import AccountMeta, Instruction

from contracts.client.gen.instructions import INSTRUCTIONS
from contracts.testing import deploy, post_batch, receipt_chain

IX_NAMES = list(INSTRUCTIONS)
DISCS = [hashlib.sha256(f"global:{n}".encode()).digest()[:8] for n in IX_NAMES]

_world = {}


def world():
    if not _world:
        d = deploy()
        c = d.customer(deposit=5_000_000, wallet_tokens=1_000_000)
        c2 = d.customer(deposit=1_000_000, wallet_tokens=1_000_000)
        p = d.provider(stake=2_000_000, wallet_tokens=1_000_000)
        rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000, 200_000])
        idx, tree, _ = post_batch(d, rs)
        prog = d.program
        keys = [prog.config_address(), prog.rewards_address(), d.mint, d.treasury, prog.batch_address(idx),
                prog.batch_address(idx + 1), prog.channel_address(c.pubkey, p.pubkey), prog.epoch_address(0),
                prog.provider_epoch_address(p.pubkey, 0), prog.slash_address(p.pubkey, 0)]
        for party in (c, c2, p):
            keys += [party.pubkey, party.token_account, prog.customer_address(party.pubkey),
                     prog.escrow_address(party.pubkey), prog.provider_address(party.pubkey),
                     prog.stake_address(party.pubkey)]
        from contracts.client import SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID
        keys += [SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID]
        signers = [d.admin, d.meter, d.arbiter, c.kp, c2.kp, p.kp]
        vaults = {prog.escrow_address(x.pubkey) for x in (c, c2)} | {prog.stake_address(p.pubkey), prog.rewards_address()}
        wallets = {c.token_account: c.kp, c2.token_account: c2.kp, p.token_account: p.kp}
        legit = [
            (prog.settle(payer=d.h.payer.pubkey(), batch_index=idx, receipt=rs[1], proof=tree.proof(1),
                         payout=p.token_account, treasury=d.treasury, mint=d.mint, epoch=0), [d.h.payer]),
            (prog.withdraw(wallet=c.pubkey, destination=c.token_account, mint=d.mint), [c.kp]),
            (prog.withdraw_stake(wallet=p.pubkey, destination=p.token_account, mint=d.mint), [p.kp]),
            (prog.top_up(customer_wallet=c.pubkey, source=c.token_account, mint=d.mint), [d.meter]),
            (prog.claim_rewards(wallet=p.pubkey, epoch=0, payout=p.token_account, mint=d.mint), [p.kp]),
            (prog.deposit(wallet=c.pubkey, source=c.token_account, mint=d.mint, amount=1), [c.kp]),
            (prog.stake(wallet=p.pubkey, source=p.token_account, mint=d.mint, amount=1), [p.kp]),
            (prog.request_withdrawal(wallet=c2.pubkey, amount=5), [c2.kp]),
            (prog.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=9), [c.kp]),
            (prog.configure_auto_top_up(wallet=c.pubkey, source=c.token_account, threshold=1, amount=1), [c.kp]),
            (prog.prepare_settle(payer=d.h.payer.pubkey(), customer_wallet=c2.pubkey, provider_wallet=p.pubkey,
                                 epoch=0), [d.h.payer]),
        ]
        _world.update(d=d, keys=keys, signers=signers, vaults=vaults, wallets=wallets, legit=legit)
    return _world


@st.composite
def transactions(draw):
    w = world()
    mode = draw(st.integers(0, 4))
    if mode == 0:
        # a well-formed instruction of the client with its accounts in a random order
        ix, signers = draw(st.sampled_from(w["legit"]))
        metas = draw(st.permutations(list(ix.accounts)))
        return bytes(ix.data), metas, signers
    if mode == 1:
        # the right accounts in the right order with random arguments after the real discriminator
        ix, signers = draw(st.sampled_from(w["legit"]))
        data = bytes(ix.data[:8]) + draw(st.binary(max_size=48))
        return data, list(ix.accounts), signers
    n_acc = draw(st.integers(0, 16))
    accs = [draw(st.sampled_from(w["keys"])) for _ in range(n_acc)]
    signer_idx = draw(st.lists(st.integers(0, len(w["signers"]) - 1), min_size=1, max_size=3, unique=True))
    signers = [w["signers"][i] for i in signer_idx]
    signer_keys = {s.pubkey() for s in signers}
    metas = [AccountMeta(k, k in signer_keys and draw(st.booleans()), draw(st.booleans())) for k in accs]
    # The first signer pays; the others sign only where an account asks for their signature.
    marked = {m.pubkey for m in metas if m.is_signer}
    signers = [signers[0]] + [s for s in signers[1:] if s.pubkey() in marked]
    kind = draw(st.integers(0, 2))
    if kind == 0:
        data = draw(st.binary(max_size=400))
    else:
        data = draw(st.sampled_from(DISCS)) + draw(st.binary(max_size=320 if kind == 1 else 40))
    return data, metas, signers


@settings(max_examples=300, deadline=None, suppress_health_check=list(HealthCheck))
@given(transactions())
def test_random_instructions_move_no_tokens_where_they_should_not(tx):
    w = world()
    d = w["d"]
    data, metas, signers = tx
    tracked = list(w["keys"])
    before = d.h.snapshot(tracked)
    balances = {k: d.h.token_balance(k) for k in list(w["vaults"]) + list(w["wallets"]) + [d.treasury]}
    r = d.h.send([Instruction(d.h.program_id, data, metas)], signers)
    if not r.ok:
        after = d.h.snapshot(tracked)
        payer = signers[0].pubkey()
        for k in tracked:  # the fee payer's lamports pay the fee even for a failed transaction
            b, a = before[k], after[k]
            if k == payer and a is not None and b is not None:
                assert a[1:] == b[1:] and a[0] == b[0] - 5000 * len(signers)
            else:
                assert a == b, f"failed transaction changed {k}"
    settled = [e.data for e in r.events if e.name == "Settled"] if r.ok else []
    for v in w["vaults"]:
        paid = sum(e.amount for e in settled if d.program.escrow_address(e.customer) == v)
        # the only way out of a vault here is settling the one valid receipt, exactly its amount
        assert d.h.token_balance(v) == balances[v] - paid or (not paid and d.h.token_balance(v) >= balances[v]), \
            "a vault lost tokens"
    signed = {s.pubkey() for s in signers}
    for ta, owner in w["wallets"].items():
        if d.h.token_balance(ta) < balances[ta]:
            assert owner.pubkey() in signed, "a wallet lost tokens without signing"
    assert d.h.token_balance(d.treasury) == balances[d.treasury] + sum(e.fee for e in settled) or not settled
    assert d.h.token_balance(d.treasury) >= balances[d.treasury]
    d.conservation()
