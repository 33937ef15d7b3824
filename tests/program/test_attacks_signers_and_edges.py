"""Every authority's signature is required (the account passed without signing fails with
MissingSignature, nothing changes), malformed receipts and proofs, arithmetic at the i64/u64 edges,
clamped payouts that would be zero, and a clock before genesis."""
import pytest
from solders.instruction import AccountMeta, Instruction

from contracts.testing import make_receipt, post_batch, receipt_chain, settle, with_account

from ._slash_helpers import contest, propose


@pytest.fixture
def world(d):
    c = d.customer(deposit=1_000_000, wallet_tokens=1_000_000)
    p = d.provider(stake=2_000_000, wallet_tokens=1_000_000)
    d.open_channel(c, p)
    return c, p


def _unsigned(d, ix, pos):
    """`ix` with account `pos` not signing, sent by the harness payer alone."""
    return d.h.send([with_account(ix, pos, ix.accounts[pos].pubkey, signer=False)], [d.h.payer])


def test_every_authority_must_sign(d, world):
    c, p = world
    prog, m = d.program, d.mint
    assert propose(d, p, amount=1).ok
    k = d.h.new_wallet()
    cases = {
        "update_config": prog.update_config(admin=d.admin.pubkey(), fee_bps=1),
        "register_customer": prog.register_customer(wallet=k.pubkey(), mint=m),
        "register_provider": prog.register_provider(wallet=k.pubkey(), payout=d.fund(k, 0), mint=m),
        "deposit": prog.deposit(wallet=c.pubkey, source=c.token_account, mint=m, amount=1),
        "request_withdrawal": prog.request_withdrawal(wallet=c.pubkey, amount=1),
        "withdraw": prog.withdraw(wallet=c.pubkey, destination=c.token_account, mint=m),
        "set_channel_limit": prog.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=1),
        "configure_auto_top_up": prog.configure_auto_top_up(wallet=c.pubkey, source=c.token_account, threshold=1,
                                                            amount=1),
        "stake": prog.stake(wallet=p.pubkey, source=p.token_account, mint=m, amount=1),
        "request_unstake": prog.request_unstake(wallet=p.pubkey, amount=1),
        "withdraw_stake": prog.withdraw_stake(wallet=p.pubkey, destination=p.token_account, mint=m),
        "post_batch": prog.post_batch(meter=d.meter.pubkey(), index=0, root=bytes(32), count=1, total=0,
                                      config_version=d.h.config().version),
        "fund_epoch": prog.fund_epoch(funder=c.pubkey, epoch=0, source=c.token_account, mint=m, amount=1),
        "claim_rewards": prog.claim_rewards(wallet=p.pubkey, epoch=0, payout=p.token_account, mint=m),
        "propose_slash": prog.propose_slash(admin=d.admin.pubkey(), provider_wallet=p.pubkey, index=1, amount=1,
                                            evidence_hash=bytes(32), beneficiary=d.treasury),
        "contest_slash": prog.contest_slash(wallet=p.pubkey, index=0, evidence_hash=bytes(32)),
        "resolve_slash": prog.resolve_slash(arbiter=d.arbiter.pubkey(), provider_wallet=p.pubkey, index=0,
                                            uphold=True),
    }
    watched = [prog.config_address(), prog.customer_address(c.pubkey), prog.escrow_address(c.pubkey),
               c.token_account, prog.provider_address(p.pubkey), prog.stake_address(p.pubkey), p.token_account,
               prog.slash_address(p.pubkey, 0), prog.customer_address(k.pubkey()), prog.provider_address(k.pubkey()),
               prog.batch_address(0), prog.epoch_address(0), prog.channel_address(c.pubkey, p.pubkey)]
    before = d.h.snapshot(watched)
    for name, ix in cases.items():
        r = _unsigned(d, ix, 0)
        assert not r.ok and r.error is not None and r.error.name == "MissingSignature", (name, r.error)
    assert d.h.snapshot(watched) == before


def test_initialize_admin_must_sign():
    from contracts.testing import DEFAULT_PARAMS, Harness
    h = Harness()
    admin = h.new_wallet()
    mint = h.create_mint(admin.pubkey())
    ix = h.program.initialize(admin=admin.pubkey(), mint=mint, treasury=h.create_token_account(mint, admin.pubkey()),
                              meter=admin.pubkey(), arbiter=admin.pubkey(), **DEFAULT_PARAMS)
    r = h.send([with_account(ix, 0, admin.pubkey(), False, True)], [h.payer])
    assert not r.ok and r.error.name == "MissingSignature"
    assert not h.exists(h.program.config_address())


@pytest.mark.parametrize("field,value", [
    ("seq", 0),                                  # seq starts at 1
    ("prev_receipt_id", b"\x01" * 32),           # seq 1 has no predecessor
    ("period_end", 0),                           # ends before it starts
])
def test_malformed_receipt_is_refused(d, world, field, value):
    c, p = world
    good = make_receipt(d, c.pubkey, p.pubkey, 1, 100, bytes(32))
    enc = bytearray(good.encode())
    off = {"seq": 120, "prev_receipt_id": 184, "period_end": 136}[field]
    enc[off:off + (32 if field == "prev_receipt_id" else 8)] = (
        value if isinstance(value, bytes) else value.to_bytes(8, "little"))
    _refused_receipt(d, c, p, bytes(enc), "BadReceipt")


def test_receipt_with_wrong_tag_is_refused(d, world):
    c, p = world
    enc = bytearray(make_receipt(d, c.pubkey, p.pubkey, 1, 100, bytes(32)).encode())
    enc[15:16] = b"2"  # SOLMETER-RCPT-V2
    _refused_receipt(d, c, p, bytes(enc), "BadReceipt")


def _refused_receipt(d, c, p, enc, error, proof=None):
    import hashlib

    from contracts.merkle import MerkleTree

    rid = hashlib.sha256(enc).digest()
    tree = MerkleTree([rid])
    cfg = d.h.config()
    idx = cfg.batch_count
    assert d.h.send([d.program.post_batch(meter=d.meter.pubkey(), index=idx, root=tree.root, count=1, total=0,
                                          config_version=cfg.version)], [d.meter]).ok
    escrow = d.program.escrow_address(c.pubkey)
    before = d.h.snapshot([escrow, p.token_account, d.treasury])
    ix = d.program.settle(payer=d.h.payer.pubkey(), batch_index=idx, receipt=enc, proof=proof or tree.proof(0),
                          payout=p.token_account, treasury=d.treasury, mint=d.mint, epoch=0,
                          customer_wallet=c.pubkey, provider_wallet=p.pubkey)
    r = d.h.send([ix], [d.h.payer])
    assert not r.ok and r.error.name == error, r.logs[-4:]
    assert d.h.snapshot([escrow, p.token_account, d.treasury]) == before


def test_proof_longer_than_32_levels_is_refused(d, world):
    c, p = world
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100])
    idx, tree, _ = post_batch(d, rs)
    ix = d.program.settle(payer=d.h.payer.pubkey(), batch_index=idx, receipt=rs[0], proof=[bytes(32)] * 33,
                          payout=p.token_account, treasury=d.treasury, mint=d.mint, epoch=0)
    r = d.h.send([ix], [d.h.payer])
    assert not r.ok and r.error.name == "ProofTooLong"


def test_settle_before_genesis_is_refused(d, world):
    c, p = world
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100])
    idx, tree, _ = post_batch(d, rs)
    d.h.set_time(d.h.config().genesis_ts - 1)
    escrow = d.program.escrow_address(c.pubkey)
    before = d.h.snapshot([escrow, p.token_account])
    r = settle(d, idx, tree, 0, rs[0], p.token_account, epoch=0)
    assert not r.ok and r.error.name == "ClockBeforeGenesis"
    assert d.h.snapshot([escrow, p.token_account]) == before


def test_deadline_arithmetic_overflow_is_refused(d, world):
    # Delays are bounded (365 days), so an i64::MAX delay is refused outright (it would lock every
    # customer in); a deadline can then overflow only with a clock at the end of time.
    c, p = world
    big = 2**63 - 1
    for field in ("withdrawal_delay", "unstake_cooldown", "contest_window", "resolution_window", "update_delay"):
        r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), **{field: big})], [d.admin])
        assert not r.ok and r.error.name == "InvalidConfig", field
    cust = d.program.customer_address(c.pubkey)
    before = d.h.snapshot([cust])
    d.h.set_time(big - d.params["withdrawal_delay"] // 2)
    # When a deadline now + delay would overflow i64 / Then ArithmeticOverflow, nothing recorded
    r = d.h.send([d.program.request_withdrawal(wallet=c.pubkey, amount=1)], [c.kp])
    assert not r.ok and r.error.name == "ArithmeticOverflow"
    r = d.h.send([d.program.request_unstake(wallet=p.pubkey, amount=1)], [p.kp])
    assert not r.ok and r.error.name == "ArithmeticOverflow"
    r = propose(d, p, amount=1)
    assert not r.ok and r.error.name == "ArithmeticOverflow"
    assert d.h.snapshot([cust]) == before


def test_nothing_to_pay_is_refused(d, world):
    # withdraw from an empty escrow, withdraw_stake when the whole stake is reserved by a slash
    c, p = world
    e = d.customer(deposit=0)
    assert d.h.send([d.program.request_unstake(wallet=p.pubkey, amount=2_000_000)], [p.kp]).ok
    assert propose(d, p, amount=2_000_000).ok and contest(d, p).ok
    d.h.set_time(d.h.now() + d.params["unstake_cooldown"] - d.params["withdrawal_delay"])
    assert d.h.send([d.program.request_withdrawal(wallet=e.pubkey, amount=5)], [e.kp]).ok
    d.h.set_time(d.h.now() + d.params["withdrawal_delay"])
    r = d.h.send([d.program.withdraw(wallet=e.pubkey, destination=e.token_account, mint=d.mint)], [e.kp])
    assert not r.ok and r.error.name == "InsufficientFunds"
    stake = d.program.stake_address(p.pubkey)
    r = d.h.send([d.program.withdraw_stake(wallet=p.pubkey, destination=p.token_account, mint=d.mint)], [p.kp])
    assert not r.ok and r.error.name == "InsufficientFunds"
    assert d.h.token_balance(stake) == 2_000_000


def test_zero_amounts_and_remaining_key_checks(d, world):
    c, p = world
    prog, m = d.program, d.mint
    other = d.customer(deposit=0)
    other_mint = d.h.create_mint(d.mint_authority.pubkey())
    k = d.h.new_wallet()
    cases = [
        ([prog.stake(wallet=p.pubkey, source=p.token_account, mint=m, amount=0)], [p.kp], "ZeroAmount"),
        ([prog.fund_epoch(funder=c.pubkey, epoch=0, source=c.token_account, mint=m, amount=0)], [c.kp], "ZeroAmount"),
        ([prog.propose_slash(admin=d.admin.pubkey(), provider_wallet=p.pubkey, index=0, amount=0,
                             evidence_hash=bytes(32), beneficiary=d.treasury)], [d.admin], "ZeroAmount"),
        ([prog.register_provider(wallet=k.pubkey(), payout=d.h.create_token_account(other_mint, k.pubkey()),
                                 mint=m)], [k], "WrongMint"),
        ([prog.register_provider(wallet=k.pubkey(), payout=d.fund(k, 0), mint=other_mint)], [k], "WrongMint"),
        ([prog.fund_epoch(funder=c.pubkey, epoch=0, source=other.token_account, mint=m, amount=1)], [c.kp],
         "WrongTokenAccount"),
    ]
    # configure_auto_top_up through another customer's account, signed by c
    cfg_ix = prog.configure_auto_top_up(wallet=c.pubkey, source=c.token_account, threshold=1, amount=1)
    metas = list(cfg_ix.accounts)
    metas[2] = AccountMeta(prog.customer_address(other.pubkey), False, True)
    cases.append(([Instruction(cfg_ix.program_id, cfg_ix.data, metas)], [c.kp], "Unauthorized"))
    # post_batch with the Config read-only (batch_count must be written)
    pb = prog.post_batch(meter=d.meter.pubkey(), index=0, root=bytes(32), count=1, total=0,
                         config_version=d.h.config().version)
    metas = list(pb.accounts)
    metas[1] = AccountMeta(metas[1].pubkey, False, False)
    cases.append(([Instruction(pb.program_id, pb.data, metas)], [d.meter], "NotWritable"))
    watched = [prog.config_address(), p.token_account, c.token_account, prog.stake_address(p.pubkey),
               prog.rewards_address(), prog.customer_address(other.pubkey), prog.provider_address(k.pubkey()),
               prog.slash_address(p.pubkey, 0), prog.epoch_address(0)]
    before = d.h.snapshot(watched)
    for ixs, signers, err in cases:
        r = d.h.send(ixs, signers)
        assert not r.ok and r.error.name == err, (err, r.error)
    assert d.h.snapshot(watched) == before
