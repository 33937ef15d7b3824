"""register_provider: Provider PDA, stake vault owned by the Config PDA, payout of the wallet."""


def test_register_provider_and_stake(d):
    p = d.provider(stake=3_000_000)
    kind, prov = d.h.account(d.program.provider_address(p.pubkey))
    assert kind == "Provider" and prov.wallet == p.pubkey and prov.payout == p.token_account
    vault = d.h.token_account(d.program.stake_address(p.pubkey))
    assert vault.owner == d.program.config_address() and vault.amount == 3_000_000


def test_payout_must_be_providers_own_token_account(d):
    kp = d.h.new_wallet()
    someone = d.fund(d.h.new_wallet(), 0)
    r = d.h.send([d.program.register_provider(wallet=kp.pubkey(), payout=someone, mint=d.mint)], [kp])
    assert not r.ok and r.error.name == "WrongTokenAccount"


def test_twice_fails(d):
    p = d.provider()
    r = d.h.send([d.program.register_provider(wallet=p.pubkey, payout=p.token_account, mint=d.mint)], [p.kp])
    assert not r.ok and r.error.name == "AlreadyInitialized"


def test_payout_look_alike_owned_by_another_program_is_refused(d):
    # A copy of a real token account's bytes in an account the SPL Token program does not own is no
    # token account: settlements to it would fail (or go nowhere)
    from solders.pubkey import Pubkey

    kp = d.h.new_wallet()
    real = d.fund(kp, 0)
    fake = Pubkey.new_unique()
    d.h._set(fake, bytes(d.h.raw(real).data), Pubkey.from_string("11111111111111111111111111111111"))
    r = d.h.send([d.program.register_provider(wallet=kp.pubkey(), payout=fake, mint=d.mint)], [kp])
    assert not r.ok and r.error.name == "WrongTokenAccount"
    assert not d.h.exists(d.program.provider_address(kp.pubkey()))
