"""contest_slash: the provider itself, within the contest window."""
from solders.instruction import AccountMeta, Instruction

from ._slash_helpers import contest, propose


def test_provider_contests_in_time(d):
    # Given a proposed slash / When the provider contests before the deadline
    p = d.provider(stake=2_000_000)
    assert propose(d, p).ok
    d.h.set_time(d.h.now() + d.params["contest_window"])
    r = contest(d, p)
    # Then the slash is contested with the provider's evidence
    assert r.ok and bytes(r.event("SlashContested").evidence_hash) == b"\x22" * 32
    _, s = d.h.account(d.program.slash_address(p.pubkey, 0))
    assert s.state == 1 and bytes(s.contest_evidence_hash) == b"\x22" * 32


def test_contested_late_fails(d):
    p = d.provider(stake=2_000_000)
    assert propose(d, p).ok
    d.h.set_time(d.h.now() + d.params["contest_window"] + 1)
    r = contest(d, p)
    assert not r.ok and r.error.name == "ContestWindowClosed"


def test_another_provider_cannot_contest(d):
    p = d.provider(stake=2_000_000)
    assert propose(d, p).ok
    q = d.provider(stake=1)
    ix = d.program.contest_slash(wallet=q.pubkey, index=0, evidence_hash=bytes(32))
    metas = list(ix.accounts)
    metas[3] = AccountMeta(d.program.slash_address(p.pubkey, 0), False, True)
    r = d.h.send([Instruction(ix.program_id, ix.data, metas)], [q.kp])
    assert not r.ok and r.error.name == "Unauthorized"
