from contracts import pda


def test_register_creates_customer_and_escrow(d):
    c = d.customer()
    prog = d.program
    kind, cust = d.h.account(prog.customer_address(c.pubkey))
    assert kind == "Customer" and cust.wallet == c.pubkey and cust.escrow == prog.escrow_address(c.pubkey)
    assert cust.bump == pda.customer(d.h.program_id, c.pubkey)[1]
    escrow = d.h.token_account(prog.escrow_address(c.pubkey))
    assert escrow.mint == d.mint and escrow.owner == prog.config_address() and escrow.amount == 0


def test_event(d):
    kp = d.h.new_wallet()
    r = d.h.send([d.program.register_customer(wallet=kp.pubkey(), mint=d.mint)], [kp])
    assert r.ok
    d.h.track(d.mint, d.program.escrow_address(kp.pubkey()))
    assert r.event("CustomerRegistered").escrow == d.program.escrow_address(kp.pubkey())


def test_twice_fails(d):
    c = d.customer()
    r = d.h.send([d.program.register_customer(wallet=c.pubkey, mint=d.mint)], [c.kp])
    assert not r.ok and r.error.name == "AlreadyInitialized"


def test_substituted_pda_fails(d):
    kp, other = d.h.new_wallet(), d.h.new_wallet()
    ix = d.program.register_customer(wallet=kp.pubkey(), mint=d.mint)
    accs = {"wallet": kp.pubkey(), "config": d.program.config_address(),
            "customer": d.program.customer_address(other.pubkey()), "escrow": d.program.escrow_address(kp.pubkey()),
            "mint": d.mint, "system_program": ix.accounts[5].pubkey, "token_program": ix.accounts[6].pubkey}
    r = d.h.send([d.program.build("register_customer", accs, {"customer_bump": pda.customer(d.h.program_id, kp.pubkey())[1],
                                                             "escrow_bump": pda.escrow(d.h.program_id, kp.pubkey())[1]})], [kp])
    assert not r.ok and r.error.name == "WrongPda"


def test_foreign_mint_fails(d):
    kp = d.h.new_wallet()
    other = d.h.create_mint(kp.pubkey())
    r = d.h.send([d.program.register_customer(wallet=kp.pubkey(), mint=other)], [kp])
    assert not r.ok and r.error.name == "WrongMint"
