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


def test_contest_and_execute_windows_do_not_overlap(d):
    # Given two uncontested proposals with the same deadline
    from ._slash_helpers import contest

    a, b = d.provider(stake=2_000_000), d.provider(stake=2_000_000)
    assert propose(d, a).ok and propose(d, b).ok
    deadline = d.h.account(d.program.slash_address(a.pubkey, 0))[1].contest_deadline
    assert deadline == d.h.account(d.program.slash_address(b.pubkey, 0))[1].contest_deadline
    # When the deadline second comes / Then execution is still refused and a contest still accepted
    d.h.set_time(deadline)
    r = execute(d, a)
    assert not r.ok and r.error.name == "ContestWindowOpen"
    assert d.h.token_balance(d.program.stake_address(a.pubkey)) == 2_000_000
    assert contest(d, b).ok
    # and one second later it executes (and a contest would come too late)
    d.h.set_time(deadline + 1)
    assert execute(d, a).ok
