"""propose_slash: admin only, amount bounded by the unencumbered stake, PDA indexed by slash_count."""

from ._slash_helpers import propose


def test_proposal_reserves_stake_and_emits(d):
    # Given a staked provider
    p = d.provider(stake=2_000_000)
    # When the admin proposes a slash
    r = propose(d, p, amount=600_000)
    # Then the Slash account records it, the amount is reserved, the deadline is the contest window away
    assert r.ok, r.logs
    _, s = d.h.account(d.program.slash_address(p.pubkey, 0))
    assert (s.amount, s.state, s.beneficiary) == (600_000, 0, d.treasury)
    assert s.contest_deadline == d.h.now() + d.params["contest_window"]
    _, prov = d.h.account(d.program.provider_address(p.pubkey))
    assert prov.pending_slash == 600_000 and prov.slash_count == 1
    assert r.event("SlashProposed").amount == 600_000


def test_only_admin_proposes_and_pda_index_is_checked(d):
    p = d.provider(stake=2_000_000)
    other = d.h.new_wallet()
    r = d.h.send([d.program.propose_slash(admin=other.pubkey(), provider_wallet=p.pubkey, index=0, amount=1,
                                          evidence_hash=bytes(32), beneficiary=d.treasury)], [other])
    assert not r.ok and r.error.name == "Unauthorized"
    assert propose(d, p, amount=10).ok
    r = propose(d, p, amount=10, index=0)  # substituted PDA: index 0 is taken, the next is 1
    assert not r.ok and r.error.name == "WrongPda"
    assert propose(d, p, amount=10, index=1).ok


def test_slash_too_large(d):
    p = d.provider(stake=100)
    r = propose(d, p, amount=101)
    assert not r.ok and r.error.name == "SlashTooLarge"
    r = propose(d, p, amount=2**64 - 1)
    assert not r.ok and r.error.name == "SlashTooLarge"


def test_beneficiary_of_foreign_mint_fails(d):
    p = d.provider(stake=100)
    other_mint = d.h.create_mint(d.admin.pubkey())
    r = propose(d, p, amount=1, beneficiary=d.h.create_token_account(other_mint, d.admin.pubkey()))
    assert not r.ok and r.error.name == "WrongMint"
