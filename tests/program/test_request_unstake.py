"""request_unstake: records the amount and time; the stake stays in the vault."""
from contracts.testing import with_account


def test_request_records_and_stake_stays(d):
    # Given a staked provider
    p = d.provider(stake=2_000_000)
    # When it requests to unstake
    r = d.h.send([d.program.request_unstake(wallet=p.pubkey, amount=700)], [p.kp])
    # Then the request is recorded, nothing moves yet
    assert r.ok and r.event("UnstakeRequested").amount == 700
    _, prov = d.h.account(d.program.provider_address(p.pubkey))
    assert prov.unstake_amount == 700 and prov.unstake_requested_at == d.h.now()
    assert d.h.token_balance(d.program.stake_address(p.pubkey)) == 2_000_000


def test_zero_and_foreign_signer_refused(d):
    p = d.provider(stake=10)
    r = d.h.send([d.program.request_unstake(wallet=p.pubkey, amount=0)], [p.kp])
    assert not r.ok and r.error.name == "ZeroAmount"
    other = d.h.new_wallet()
    ix = d.program.request_unstake(wallet=p.pubkey, amount=1)
    r = d.h.send([with_account(ix, 0, other.pubkey(), True, False)], [other])
    assert not r.ok and r.error.name == "Unauthorized"
