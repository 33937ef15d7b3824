from contracts.testing import with_account

from .conftest import unchanged

U64_MAX = 2**64 - 1


def test_deposit_moves_tokens_into_escrow(d):
    c = d.customer(wallet_tokens=5_000_000)
    r = d.h.send([d.program.deposit(wallet=c.pubkey, source=c.token_account, mint=d.mint, amount=3_000_000)], [c.kp])
    assert r.ok, r.logs
    assert d.h.token_balance(d.program.escrow_address(c.pubkey)) == 3_000_000
    assert d.h.token_balance(c.token_account) == 2_000_000
    ev = r.event("Deposited")
    assert ev.amount == 3_000_000 and ev.escrow_balance == 3_000_000


def test_wrong_signer_fails(d):
    c = d.customer(wallet_tokens=1_000_000)
    thief = d.h.new_wallet()
    thief_ta = d.fund(thief, 1_000_000)
    # the thief signs and pays from its own account into the victim's escrow record: refused
    r = d.h.send([d.program.build("deposit", {
        "wallet": thief.pubkey(), "config": d.program.config_address(), "customer": d.program.customer_address(c.pubkey),
        "escrow": d.program.escrow_address(c.pubkey), "source": thief_ta, "mint": d.mint,
        "token_program": d.program.deposit(wallet=c.pubkey, source=c.token_account, mint=d.mint, amount=1).accounts[6].pubkey,
    }, {"amount": 1})], [thief])
    assert not r.ok and r.error.name == "Unauthorized"


def test_foreign_mint_token_account_fails(d):
    c = d.customer()
    other_mint = d.h.create_mint(c.pubkey)
    foreign = d.h.create_token_account(other_mint, c.pubkey)
    r = d.h.send([d.program.deposit(wallet=c.pubkey, source=foreign, mint=d.mint, amount=1)], [c.kp])
    assert not r.ok and r.error.name == "WrongMint"


def test_foreign_token_account_fails(d):
    c = d.customer()
    someone = d.h.new_wallet()
    theirs = d.fund(someone, 100)
    r = d.h.send([d.program.deposit(wallet=c.pubkey, source=theirs, mint=d.mint, amount=1)], [c.kp])
    assert not r.ok and r.error.name == "WrongTokenAccount"


def test_substituted_escrow_fails(d):
    c1 = d.customer(wallet_tokens=100)
    c2 = d.customer()
    ix = d.program.deposit(wallet=c1.pubkey, source=c1.token_account, mint=d.mint, amount=10)
    r = d.h.send([with_account(ix, 3, d.program.escrow_address(c2.pubkey), False, True)], [c1.kp])
    assert not r.ok and r.error.name == "WrongTokenAccount"


def test_zero_and_u64_max_amounts(d):
    c = d.customer(wallet_tokens=100)
    r = d.h.send([d.program.deposit(wallet=c.pubkey, source=c.token_account, mint=d.mint, amount=0)], [c.kp])
    assert not r.ok and r.error.name == "ZeroAmount"
    addrs = [c.token_account, d.program.escrow_address(c.pubkey), d.program.customer_address(c.pubkey)]
    before = d.h.snapshot(addrs)
    r = d.h.send([d.program.deposit(wallet=c.pubkey, source=c.token_account, mint=d.mint, amount=U64_MAX)], [c.kp])
    assert not r.ok  # the token program refuses: insufficient funds
    unchanged(d, addrs, before)
