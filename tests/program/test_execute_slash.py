"""execute_slash: after the contest window when uncontested; never early; never twice."""
from ._slash_helpers import execute, propose


def test_uncontested_slash_executes_after_window(d):
    # Given an uncontested proposal
    p = d.provider(stake=2_000_000)
    assert propose(d, p).ok
    # When executed inside the window / Then refused (executed early)
    r = execute(d, p)
    assert not r.ok and r.error.name == "ContestWindowOpen"
    # When executed after the window / Then the treasury receives the slashed stake
    d.h.set_time(d.h.now() + d.params["contest_window"] + 1)
    r = execute(d, p)
    assert r.ok and r.event("SlashExecuted").amount == 500_000
    assert d.h.token_balance(d.treasury) == 500_000
    assert d.h.token_balance(d.program.stake_address(p.pubkey)) == 1_500_000
    r = execute(d, p)
    assert not r.ok and r.error.name == "SlashWrongState"


def test_beneficiary_must_be_the_proposed_one(d):
    p = d.provider(stake=2_000_000)
    assert propose(d, p).ok
    d.h.set_time(d.h.now() + d.params["contest_window"] + 1)
    thief = d.fund(d.h.new_wallet(), 0)
    r = execute(d, p, beneficiary=thief)
    assert not r.ok and r.error.name == "WrongTokenAccount"
