"""stake: tokens from the provider's own account into its stake vault."""
from contracts.testing import with_account


def test_stake_event_and_wrong_signer(d):
    p = d.provider(wallet_tokens=1_000)
    r = d.h.send([d.program.stake(wallet=p.pubkey, source=p.token_account, mint=d.mint, amount=400)], [p.kp])
    assert r.ok and r.event("Staked").stake_balance == 400
    other = d.provider(wallet_tokens=1_000)
    ix = d.program.stake(wallet=other.pubkey, source=other.token_account, mint=d.mint, amount=1)
    r = d.h.send([with_account(ix, 2, d.program.provider_address(p.pubkey), False, False)], [other.kp])
    assert not r.ok and r.error.name == "Unauthorized"
