"""resolve_slash: only the arbiter, only contested slashes; upheld or rejected."""
from ._slash_helpers import contest, execute, propose, resolve


def test_upheld_by_arbiter_pays_harmed_customer(d):
    # Given a contested slash whose beneficiary is a harmed customer
    p = d.provider(stake=2_000_000)
    victim = d.customer(wallet_tokens=0)
    assert propose(d, p, beneficiary=victim.token_account).ok
    assert contest(d, p).ok
    r = execute(d, p, beneficiary=victim.token_account)
    assert not r.ok and r.error.name == "SlashWrongState"  # waits for the arbiter
    # When a non-arbiter resolves / Then it is refused
    r = resolve(d, p, True, signer=d.admin)
    assert not r.ok and r.error.name == "NotArbiter"
    # When the arbiter upholds / Then it can be executed at once
    r = resolve(d, p, True)
    assert r.ok and r.event("SlashResolved").upheld
    assert execute(d, p, beneficiary=victim.token_account).ok
    assert d.h.token_balance(victim.token_account) == 500_000


def test_rejected_slash_releases_stake(d):
    p = d.provider(stake=2_000_000)
    assert propose(d, p, amount=2_000_000).ok
    assert not propose(d, p, amount=1, index=1).ok  # everything already reserved: SlashTooLarge
    assert contest(d, p).ok
    assert resolve(d, p, False).ok
    _, prov = d.h.account(d.program.provider_address(p.pubkey))
    assert prov.pending_slash == 0
    r = execute(d, p)
    assert not r.ok and r.error.name == "SlashWrongState"


def test_uncontested_slash_cannot_be_resolved(d):
    p = d.provider(stake=2_000_000)
    assert propose(d, p).ok
    r = resolve(d, p, False)
    assert not r.ok and r.error.name == "SlashWrongState"
