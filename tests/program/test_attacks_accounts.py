"""Account substitution attacks, one instruction at a time. Each case takes a valid instruction built
by the client, replaces one account with what an attacker would pass (another customer's or provider's
account, an attacker's token account, a look-alike owned by another program, an account of another
type, the same account twice), and asserts the exact error and that no account changed. Tokens are
conserved after every test (the `d` fixture). docs/security-review.md maps each check to its case."""
import pytest
from solders.instruction import Instruction
from solders.pubkey import Pubkey

from contracts.client.instructions import SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID
from contracts.testing import post_batch, receipt_chain, settle, with_account

from ._slash_helpers import contest, execute, propose, resolve


class World:
    """Two customers and two providers with money everywhere, a posted batch for (c, p), revenue of
    p2 in epoch 0, a funded epoch 1, a channel (c2, p), a top-up source of c2 approved to the Config
    PDA, an attacker with a token account, and look-alike accounts owned by the system program."""

    def __init__(self, d):
        self.d, h, prog = d, d.h, d.program
        self.c = d.customer(deposit=10_000_000, wallet_tokens=1_000_000)
        self.c2 = d.customer(deposit=10_000_000, wallet_tokens=5_000_000)
        self.p = d.provider(stake=2_000_000, wallet_tokens=1_000_000)
        self.p2 = d.provider(stake=3_000_000, wallet_tokens=1_000_000)
        self.x = h.new_wallet()
        self.x_ta = d.fund(self.x, 1_000_000)
        self.other_mint = h.create_mint(d.mint_authority.pubkey())
        self.c_other_mint_ta = h.create_token_account(self.other_mint, self.c.pubkey)
        d.open_channel(self.c, self.p)
        d.open_channel(self.c2, self.p2)
        self.rs = receipt_chain(d, self.c.pubkey, self.p.pubkey, [1_000_000])
        self.idx, self.tree, r = post_batch(d, self.rs)
        assert r.ok
        rs2 = receipt_chain(d, self.c2.pubkey, self.p2.pubkey, [500_000])
        idx2, tree2, r = post_batch(d, rs2)
        assert r.ok and settle(d, idx2, tree2, 0, rs2[0], self.p2.token_account).ok
        assert h.send([prog.set_channel_limit(wallet=self.c2.pubkey, provider_wallet=self.p.pubkey,
                                              limit_per_epoch=10**12)], [self.c2.kp]).ok
        funder_ta = d.fund(self.x, 1_000)
        assert h.send([prog.fund_epoch(funder=self.x.pubkey(), epoch=1, source=funder_ta, mint=d.mint,
                                       amount=1_000)], [self.x]).ok
        assert h.send([prog.configure_auto_top_up(wallet=self.c2.pubkey, source=self.c2.token_account,
                                                  threshold=10**12, amount=1_000_000)], [self.c2.kp]).ok
        assert h.approve(self.c2.token_account, prog.config_address(), self.c2.kp, 5_000_000).ok
        # look-alikes: exact copies of real program accounts, owned by the system program
        self.fake_config = self._copy(prog.config_address())
        self.fake_batch = self._copy(prog.batch_address(self.idx))

    def _copy(self, addr):
        fake = Pubkey.new_unique()
        self.d.h._set(fake, bytes(self.d.h.raw(addr).data), SYSTEM_PROGRAM_ID)
        return fake

    def watched(self):
        prog, d = self.d.program, self.d
        keys = [prog.config_address(), prog.rewards_address(), d.mint, d.treasury, self.x_ta]
        for party in (self.c, self.c2, self.p, self.p2):
            keys += [party.token_account, prog.customer_address(party.pubkey), prog.escrow_address(party.pubkey),
                     prog.provider_address(party.pubkey), prog.stake_address(party.pubkey)]
        keys += [prog.channel_address(self.c.pubkey, self.p.pubkey), prog.channel_address(self.c2.pubkey, self.p.pubkey),
                 prog.epoch_address(0), prog.epoch_address(1), prog.provider_epoch_address(self.p.pubkey, 0),
                 prog.provider_epoch_address(self.p2.pubkey, 0), prog.slash_address(self.p.pubkey, 0)]
        return keys

    def attack(self, ix, signers, pos, key, error, writable=None, signer=None):
        """Send `ix` with account `pos` replaced by `key`; assert `error` and that nothing changed."""
        watched = self.watched()
        before = self.d.h.snapshot(watched)
        r = self.d.h.send([with_account(ix, pos, key, signer, writable)], signers, payer=self.d.h.payer)
        assert not r.ok, f"attack succeeded: account {pos} -> {key}"
        assert r.error is not None and r.error.name == error, (pos, r.error, r.logs[-4:])
        assert self.d.h.snapshot(watched) == before, "a failed instruction changed state"

    def ok(self, ix, signers):
        r = self.d.h.send([ix], signers, payer=self.d.h.payer)
        assert r.ok, r.logs[-6:]
        return r


@pytest.fixture
def w(d):
    return World(d)


def test_settle_substitutions(w):
    d, prog, c, c2, p, p2 = w.d, w.d.program, w.c, w.c2, w.p, w.p2
    ix = prog.settle(payer=d.h.payer.pubkey(), batch_index=w.idx, receipt=w.rs[0], proof=w.tree.proof(0),
                     payout=p.token_account, treasury=d.treasury, mint=d.mint, epoch=0)
    s = [d.h.payer]
    w.attack(ix, s, 0, w.x.pubkey(), "MissingSignature", signer=False)
    w.attack(ix, s, 1, w.fake_config, "WrongOwner")               # Config look-alike
    w.attack(ix, s, 1, prog.customer_address(c.pubkey), "WrongAccountType", writable=False)
    w.attack(ix, s, 2, w.fake_batch, "WrongOwner")                # Batch of another program
    w.attack(ix, s, 2, prog.epoch_address(1), "WrongAccountType")  # another type
    w.attack(ix, s, 3, prog.customer_address(c2.pubkey), "ReceiptChannelMismatch")
    w.attack(ix, s, 3, prog.provider_address(p.pubkey), "WrongAccountType")
    w.attack(ix, s, 4, prog.escrow_address(c2.pubkey), "WrongTokenAccount")
    w.attack(ix, s, 5, prog.provider_address(p2.pubkey), "ReceiptChannelMismatch")
    w.attack(ix, s, 6, prog.stake_address(p2.pubkey), "WrongTokenAccount")  # another provider's stake
    w.attack(ix, s, 6, w.x_ta, "WrongTokenAccount")                # stake vault: attacker's account
    w.attack(ix, s, 7, w.x_ta, "WrongTokenAccount")                # payout: attacker's account
    w.attack(ix, s, 7, p2.token_account, "WrongTokenAccount")      # payout: another provider's
    w.attack(ix, s, 7, prog.escrow_address(c.pubkey), "WrongTokenAccount")  # same account twice
    w.attack(ix, s, 8, w.x_ta, "WrongTokenAccount")                # treasury replaced
    w.attack(ix, s, 9, w.other_mint, "WrongMint")
    w.attack(ix, s, 10, prog.channel_address(c2.pubkey, p.pubkey), "ReceiptChannelMismatch")
    w.attack(ix, s, 10, prog.channel_address(c.pubkey, p2.pubkey), "ChannelNotOpened")  # never opened
    w.attack(ix, s, 11, prog.epoch_address(1), "WrongPda")         # Epoch of another number
    w.attack(ix, s, 12, prog.provider_epoch_address(p2.pubkey, 0), "WrongPda")
    w.attack(ix, s, 13, TOKEN_PROGRAM_ID, "WrongProgram")
    w.attack(ix, s, 14, SYSTEM_PROGRAM_ID, "WrongProgram")
    w.attack(ix, s, 4, prog.escrow_address(c.pubkey), "NotWritable", writable=False)
    w.attack(ix, s, 3, prog.customer_address(c.pubkey), "NotWritable", writable=False)
    w.ok(ix, s)


def test_withdraw_substitutions(w):
    d, prog, c, c2 = w.d, w.d.program, w.c, w.c2
    w.ok(prog.request_withdrawal(wallet=c.pubkey, amount=10_000_000), [c.kp])
    d.h.set_time(d.h.now() + d.params["withdrawal_delay"])
    ix = prog.withdraw(wallet=c.pubkey, destination=c.token_account, mint=d.mint)
    w.attack(ix, [c.kp], 1, w.fake_config, "WrongOwner")
    w.attack(ix, [c.kp], 2, prog.customer_address(c2.pubkey), "Unauthorized")
    w.attack(ix, [c.kp], 3, prog.escrow_address(c2.pubkey), "WrongTokenAccount")  # drain another escrow
    w.attack(ix, [c.kp], 4, w.x_ta, "WrongTokenAccount")              # pay someone else
    w.attack(ix, [c.kp], 4, prog.escrow_address(c.pubkey), "WrongTokenAccount")  # same account twice
    w.attack(ix, [c.kp], 4, w.c_other_mint_ta, "WrongMint")
    w.attack(ix, [c.kp], 5, w.other_mint, "WrongMint")
    w.attack(ix, [c.kp], 6, SYSTEM_PROGRAM_ID, "WrongProgram")
    # the other customer signs with its own customer account but the victim's escrow
    ix2 = prog.withdraw(wallet=c2.pubkey, destination=c2.token_account, mint=d.mint)
    w.attack(ix2, [c2.kp], 3, prog.escrow_address(c.pubkey), "WrongTokenAccount")
    w.ok(ix, [c.kp])


def test_deposit_stake_fund_same_account_twice(w):
    d, prog, c, p = w.d, w.d.program, w.c, w.p
    ix = prog.deposit(wallet=c.pubkey, source=c.token_account, mint=d.mint, amount=1)
    w.attack(ix, [c.kp], 4, prog.escrow_address(c.pubkey), "WrongTokenAccount")
    ix = prog.stake(wallet=p.pubkey, source=p.token_account, mint=d.mint, amount=1)
    w.attack(ix, [p.kp], 3, prog.stake_address(w.p2.pubkey), "WrongTokenAccount")
    w.attack(ix, [p.kp], 4, prog.stake_address(p.pubkey), "WrongTokenAccount")
    w.attack(ix, [p.kp], 2, prog.provider_address(w.p2.pubkey), "Unauthorized")
    src = d.fund(w.x, 10)
    ix = prog.fund_epoch(funder=w.x.pubkey(), epoch=1, source=src, mint=d.mint, amount=10)
    w.attack(ix, [w.x], 3, w.x_ta, "WrongTokenAccount")              # rewards vault replaced
    w.attack(ix, [w.x], 4, prog.rewards_address(), "WrongTokenAccount")  # same account twice
    w.attack(ix, [w.x], 2, prog.provider_epoch_address(w.p2.pubkey, 0), "WrongAccountType")


def test_top_up_cannot_pull_another_customers_allowance(w):
    # c2 approved the Config PDA on its source; a top_up for c naming c2's source must not pull it
    d, prog, c, c2 = w.d, w.d.program, w.c, w.c2
    assert d.h.send([prog.configure_auto_top_up(wallet=c.pubkey, source=c.token_account, threshold=10**12,
                                                amount=1_000)], [c.kp]).ok
    ix = prog.top_up(customer_wallet=c.pubkey, source=c.token_account, mint=d.mint)
    w.attack(ix, [d.h.payer], 3, c2.token_account, "WrongTokenAccount")
    w.attack(ix, [d.h.payer], 2, prog.escrow_address(c2.pubkey), "WrongTokenAccount")
    w.attack(ix, [d.h.payer], 4, w.other_mint, "WrongMint")
    # and c's own source has no allowance for the Config PDA
    r = d.h.send([ix], [d.h.payer])
    assert not r.ok and r.error.name == "NoAllowance"
    # c2's top-up into c2's escrow works and is capped by c2's settings
    r = w.ok(prog.top_up(customer_wallet=c2.pubkey, source=c2.token_account, mint=d.mint), [d.h.payer])
    assert r.event("ToppedUp").amount == 1_000_000


def test_withdraw_stake_substitutions(w):
    d, prog, p, p2 = w.d, w.d.program, w.p, w.p2
    w.ok(prog.request_unstake(wallet=p.pubkey, amount=2_000_000), [p.kp])
    d.h.set_time(d.h.now() + d.params["unstake_cooldown"])
    ix = prog.withdraw_stake(wallet=p.pubkey, destination=p.token_account, mint=d.mint)
    w.attack(ix, [p.kp], 2, prog.provider_address(p2.pubkey), "Unauthorized")
    w.attack(ix, [p.kp], 3, prog.stake_address(p2.pubkey), "WrongTokenAccount")
    w.attack(ix, [p.kp], 4, w.x_ta, "WrongTokenAccount")
    w.attack(ix, [p.kp], 4, prog.stake_address(p.pubkey), "WrongTokenAccount")
    w.attack(ix, [p.kp], 5, w.other_mint, "WrongMint")
    w.ok(ix, [p.kp])


def test_claim_rewards_substitutions(w):
    d, prog, p, p2 = w.d, w.d.program, w.p, w.p2
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    ix = prog.claim_rewards(wallet=p2.pubkey, epoch=0, payout=p2.token_account, mint=d.mint)
    s = [p2.kp]
    w.attack(ix, s, 2, prog.provider_address(p.pubkey), "Unauthorized")
    w.attack(ix, s, 3, prog.stake_address(p.pubkey), "WrongTokenAccount")
    w.attack(ix, s, 4, prog.provider_epoch_address(p.pubkey, 0), "WrongOwner")  # p has none: uncreated
    w.attack(ix, s, 5, prog.epoch_address(1), "WrongPda")                        # funded epoch 1
    w.attack(ix, s, 6, w.x_ta, "WrongTokenAccount")
    w.attack(ix, s, 7, w.x_ta, "WrongTokenAccount")
    w.attack(ix, s, 7, prog.rewards_address(), "WrongTokenAccount")              # same account twice
    w.attack(ix, s, 8, w.other_mint, "WrongMint")
    # p signs for p2's ProviderEpoch through its own Provider
    ix_p = prog.claim_rewards(wallet=p.pubkey, epoch=0, payout=p.token_account, mint=d.mint)
    w.attack(ix_p, [p.kp], 4, prog.provider_epoch_address(p2.pubkey, 0), "WrongPda")
    w.ok(ix, s)


def test_slash_substitutions_and_state_order(w):
    d, prog, p, p2 = w.d, w.d.program, w.p, w.p2
    ix = prog.propose_slash(admin=d.admin.pubkey(), provider_wallet=p.pubkey, index=0, amount=1_000,
                            evidence_hash=bytes(32), beneficiary=d.treasury)
    w.attack(ix, [d.admin], 3, prog.stake_address(p2.pubkey), "WrongTokenAccount")
    w.attack(ix, [d.admin], 1, w.fake_config, "WrongOwner")
    w.attack(ix, [d.admin], 5, w.c_other_mint_ta, "WrongMint")
    w.ok(ix, [d.admin])
    # resolve: only a contested slash, only the arbiter, only with the slash's own provider
    r = resolve(d, p, uphold=True)
    assert not r.ok and r.error.name == "SlashWrongState"
    assert contest(d, p).ok
    r = resolve(d, p, uphold=True, signer=d.admin)
    assert not r.ok and r.error.name == "NotArbiter"
    rix = prog.resolve_slash(arbiter=d.arbiter.pubkey(), provider_wallet=p.pubkey, index=0, uphold=True)
    w.attack(rix, [d.arbiter], 2, prog.provider_address(p2.pubkey), "WrongPda")
    w.attack(rix, [d.arbiter], 1, w.fake_config, "WrongOwner")
    # execute: contested and unresolved is not executable, even long after the window
    d.h.set_time(d.h.now() + 10 * d.params["contest_window"])
    r = execute(d, p)
    assert not r.ok and r.error.name == "SlashWrongState"
    assert resolve(d, p, uphold=True).ok
    eix = prog.execute_slash(provider_wallet=p.pubkey, index=0, beneficiary=d.treasury, mint=d.mint)
    s = [d.h.payer]
    w.attack(eix, s, 1, prog.provider_address(p2.pubkey), "WrongPda")
    w.attack(eix, s, 3, prog.stake_address(p2.pubkey), "WrongTokenAccount")   # another provider pays
    w.attack(eix, s, 4, w.x_ta, "WrongTokenAccount")
    w.attack(eix, s, 5, w.other_mint, "WrongMint")
    w.attack(eix, s, 0, w.fake_config, "WrongOwner")
    w.ok(eix, s)
    # executed is final: neither a second execution nor a late resolve
    r = execute(d, p)
    assert not r.ok and r.error.name == "SlashWrongState"
    r = resolve(d, p, uphold=False)
    assert not r.ok and r.error.name == "SlashWrongState"
    _, prov = d.h.account(prog.provider_address(p.pubkey))
    assert prov.pending_slash == 0


def test_rejected_slash_is_final(w):
    d, p = w.d, w.p
    assert propose(d, p, amount=1_000).ok and contest(d, p).ok
    assert resolve(d, p, uphold=False).ok
    d.h.set_time(d.h.now() + 10 * d.params["contest_window"])
    stake = d.program.stake_address(p.pubkey)
    before = d.h.snapshot([stake, d.treasury])
    for r in (execute(d, p), resolve(d, p, uphold=True), contest(d, p)):
        assert not r.ok and r.error.name == "SlashWrongState"
    assert d.h.snapshot([stake, d.treasury]) == before


def test_set_channel_limit_substitutions(w):
    prog, c, p = w.d.program, w.c, w.p
    ix = prog.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=0)
    w.attack(ix, [c.kp], 4, prog.channel_address(w.c2.pubkey, p.pubkey), "ReceiptChannelMismatch")
    w.attack(ix, [c.kp], 3, prog.customer_address(c.pubkey), "WrongAccountType")  # a Customer as Provider
    w.attack(ix, [c.kp], 2, prog.customer_address(w.c2.pubkey), "Unauthorized")
    w.attack(ix, [c.kp], 5, TOKEN_PROGRAM_ID, "WrongProgram")


def test_malformed_instructions(w):
    d, prog, c = w.d, w.d.program, w.c
    ix = prog.request_withdrawal(wallet=c.pubkey, amount=5)
    watched = w.watched()
    before = d.h.snapshot(watched)
    cases = [
        (Instruction(ix.program_id, ix.data + b"\x00", ix.accounts), "InvalidInstructionData"),  # trailing byte
        (Instruction(ix.program_id, ix.data[:-1], ix.accounts), "InvalidInstructionData"),       # short
        (Instruction(ix.program_id, b"\x01" * 8 + ix.data[8:], ix.accounts), "UnknownInstruction"),
        (Instruction(ix.program_id, ix.data[:7], ix.accounts), "UnknownInstruction"),
        (Instruction(ix.program_id, ix.data, ix.accounts[:2]), "NotEnoughAccounts"),
    ]
    for bad, err in cases:
        r = d.h.send([bad], [c.kp])
        assert not r.ok and r.error.name == err, (err, r.error)
    # an Option tag other than 0/1 in update_config
    u = prog.update_config(admin=d.admin.pubkey(), fee_bps=1)
    data = bytearray(u.data)
    data[8] = 2
    r = d.h.send([Instruction(u.program_id, bytes(data), u.accounts)], [d.admin])
    assert not r.ok and r.error.name == "InvalidInstructionData"
    assert d.h.snapshot(watched) == before


def test_no_two_account_types_can_be_confused():
    # Identity of an existing account is owner + exact size + discriminator: every type differs in both
    from contracts.client.decode import ACCOUNT_NAMES, account_size
    from contracts.client.gen.accounts import BY_DISCRIMINATOR

    sizes = {n: account_size(n) for n in ACCOUNT_NAMES}
    assert len(set(sizes.values())) == len(ACCOUNT_NAMES), sizes
    discs = set(BY_DISCRIMINATOR)
    assert len(discs) == len(ACCOUNT_NAMES)
    # and none of them is the size of an SPL token account (165) or mint (82)
    assert not {165, 82} & set(sizes.values())


def test_system_and_token_program_substitution(w):
    # A look-alike "token program" would receive the Config PDA's signature: every CPI target is pinned
    d, prog, c, p, x = w.d, w.d.program, w.c, w.p, w.x
    fake = Pubkey.new_unique()
    k = d.h.new_wallet()
    src = d.fund(x, 10)
    w.ok(prog.request_unstake(wallet=p.pubkey, amount=1), [p.kp])
    d.h.set_time(d.h.now() + d.params["unstake_cooldown"] + d.params["epoch_length"] - d.params["withdrawal_delay"])
    w.ok(prog.request_withdrawal(wallet=c.pubkey, amount=1), [c.kp])  # withdraw within its window
    d.h.set_time(d.h.now() + d.params["withdrawal_delay"])
    cases = [  # (instruction, signers, positions of [system_program, token_program] that exist)
        (prog.register_customer(wallet=k.pubkey(), mint=d.mint), [k], (5, 6)),
        (prog.register_provider(wallet=k.pubkey(), payout=d.fund(k, 0), mint=d.mint), [k], (6, 7)),
        (prog.deposit(wallet=c.pubkey, source=c.token_account, mint=d.mint, amount=1), [c.kp], (None, 6)),
        (prog.withdraw(wallet=c.pubkey, destination=c.token_account, mint=d.mint), [c.kp], (None, 6)),
        (prog.top_up(customer_wallet=w.c2.pubkey, source=w.c2.token_account, mint=d.mint), [d.h.payer], (None, 5)),
        (prog.stake(wallet=p.pubkey, source=p.token_account, mint=d.mint, amount=1), [p.kp], (None, 6)),
        (prog.withdraw_stake(wallet=p.pubkey, destination=p.token_account, mint=d.mint), [p.kp], (None, 6)),
        (prog.post_batch(meter=d.meter.pubkey(), index=2, root=bytes(32), count=1, total=0,
                         config_version=d.h.config().version), [d.meter], (3, None)),
        (prog.fund_epoch(funder=x.pubkey(), epoch=9, source=src, mint=d.mint, amount=10), [x], (6, 7)),
        (prog.claim_rewards(wallet=w.p2.pubkey, epoch=0, payout=w.p2.token_account, mint=d.mint), [w.p2.kp], (None, 9)),
        (prog.propose_slash(admin=d.admin.pubkey(), provider_wallet=p.pubkey, index=0, amount=1,
                            evidence_hash=bytes(32), beneficiary=d.treasury), [d.admin], (6, None)),
    ]
    for ix, signers, (sys_pos, tok_pos) in cases:
        for pos in (sys_pos, tok_pos):
            if pos is not None:
                w.attack(ix, signers, pos, fake, "WrongProgram", writable=False)
        w.ok(ix, signers)  # the genuine instruction goes through
    # execute_slash after an uncontested window
    d.h.set_time(d.h.now() + d.params["contest_window"] + 1)
    eix = prog.execute_slash(provider_wallet=p.pubkey, index=0, beneficiary=d.treasury, mint=d.mint)
    w.attack(eix, [d.h.payer], 6, fake, "WrongProgram", writable=False)
    w.ok(eix, [d.h.payer])


def test_initialize_mint_and_programs_are_checked():
    from contracts.testing import DEFAULT_PARAMS, Harness
    h = Harness()
    admin = h.new_wallet()
    mint = h.create_mint(admin.pubkey())
    ta = h.create_token_account(mint, admin.pubkey())
    ix = h.program.initialize(admin=admin.pubkey(), mint=mint, treasury=ta, meter=admin.pubkey(),
                              arbiter=admin.pubkey(), **DEFAULT_PARAMS)
    for pos, key, err in ((2, ta, "WrongMint"),            # a token account is not a mint
                          (3, mint, "WrongTokenAccount"),  # a mint is not a treasury token account
                          (5, TOKEN_PROGRAM_ID, "WrongProgram"), (6, Pubkey.new_unique(), "WrongProgram")):
        r = h.send([with_account(ix, pos, key)], [admin])
        assert not r.ok and r.error.name == err, (pos, r.error)
        assert not h.exists(h.program.config_address())
    assert h.send([ix], [admin]).ok
