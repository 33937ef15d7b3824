"""Slash lifecycles (pure): the honest paths pass; each rule broken is caught by the named check."""
from __future__ import annotations

from dataclasses import replace

import pytest
from solders.pubkey import Pubkey

from auditor.slashes import check_provider_revenue, check_slashes, replay_slash
from auditor.views import ProviderView, SlashEvent, SlashView

W, BEN = Pubkey.new_unique(), Pubkey.new_unique()
DEADLINE = 1_000


def ev(name, t, index=0, **kw):
    return SlashEvent(name, index, f"sig-{name}-{t}", t, **kw)


RESOLVE_BY = DEADLINE + 5_000


def proposed(index=0, amount=500, t=0):
    return ev("proposed", t, index, amount=amount, beneficiary=BEN, contest_deadline=DEADLINE,
              resolve_deadline=RESOLVE_BY)


def account(index=0, amount=500, state=4):
    return SlashView(W, index, amount, BEN, state, DEADLINE)


HONEST = {
    "uncontested, executed after the window": ([proposed(), ev("executed", DEADLINE + 1, amount=500, beneficiary=BEN)], 4),
    "contested and rejected": ([proposed(), ev("contested", 10), ev("resolved", 20, upheld=False)], 3),
    "contested, upheld, executed early": ([proposed(), ev("contested", 10), ev("resolved", 20, upheld=True),
                                           ev("executed", 30, amount=400, beneficiary=BEN)], 4),
    "open": ([proposed()], 0),
    "contested, resolved at the arbiter's last second": ([proposed(), ev("contested", 10),
                                                          ev("resolved", RESOLVE_BY, upheld=True, lapsed=False)], 2),
    "contested, lapsed after the arbiter's deadline": ([proposed(), ev("contested", 10),
                                                        ev("resolved", RESOLVE_BY + 1, upheld=False, lapsed=True)], 3),
}


@pytest.mark.parametrize("case", sorted(HONEST))
def test_honest_lifecycles_pass(case):
    events, state = HONEST[case]
    got, _, bad = replay_slash(events)
    assert (got, bad) == (state, [])
    pending = 500 if state in (0, 1, 2) else 0
    checks = check_slashes(ProviderView(W, pending, 1, 0), {0: account(state=state)}, events)
    assert not [c for c in checks if c.failed], checks


BROKEN = {
    "executed inside the contest window": [proposed(), ev("executed", DEADLINE, amount=500, beneficiary=BEN)],
    "executed after rejection": [proposed(), ev("contested", 10), ev("resolved", 20, upheld=False),
                                 ev("executed", 30, amount=500, beneficiary=BEN)],
    "contested after the deadline": [proposed(), ev("contested", DEADLINE + 1)],
    "resolved without a contest": [proposed(), ev("resolved", 20, upheld=True)],
    "paid more than proposed": [proposed(), ev("executed", DEADLINE + 1, amount=501, beneficiary=BEN)],
    "paid someone else": [proposed(), ev("executed", DEADLINE + 1, amount=500, beneficiary=Pubkey.new_unique())],
    "executed twice": [proposed(), ev("executed", DEADLINE + 1, amount=500, beneficiary=BEN),
                       ev("executed", DEADLINE + 2, amount=500, beneficiary=BEN)],
    "step before the proposal": [ev("contested", 5), proposed(t=6)],
    "resolved after the arbiter's deadline": [proposed(), ev("contested", 10),
                                              ev("resolved", RESOLVE_BY + 1, upheld=True, lapsed=False)],
    "lapsed while the arbiter could still resolve": [proposed(), ev("contested", 10),
                                                     ev("resolved", RESOLVE_BY, upheld=False, lapsed=True)],
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_broken_rules_are_caught(case):
    events = BROKEN[case]
    state, _, bad = replay_slash(events)
    assert bad, case
    checks = check_slashes(ProviderView(W, 0 if state in (3, 4) else 500, 1, 0),
                           {0: account(state=state if state is not None else 0)}, events)
    assert "slash.lifecycle" in {c.name for c in checks if c.failed}


def test_accounts_and_pending_against_events():
    events = HONEST["contested and rejected"][0]
    prov = ProviderView(W, 0, 1, 0)
    ok = check_slashes(prov, {0: account(state=3)}, events)
    assert not [c for c in ok if c.failed]
    names = lambda cs: {c.name for c in cs if c.failed}  # noqa: E731
    assert names(check_slashes(prov, {0: account(state=2)}, events)) == {"slash.state", "provider.pending_slash"}
    assert names(check_slashes(prov, {0: account(state=3, amount=499)}, events)) == {"slash.state"}
    assert names(check_slashes(prov, {0: None}, events)) == {"slash.account"}
    assert names(check_slashes(replace(prov, pending_slash=7), {0: account(state=3)}, events)) == {
        "provider.pending_slash"}
    assert names(check_slashes(prov, {0: account(state=3)}, [])) == {"slash.state"}  # no events at all
    assert names(check_slashes(prov, {0: account(state=3)}, events + [proposed(index=5)])) == {"slash.state"}


def test_no_slashes_and_unknown_times():
    assert [c.name for c in check_slashes(ProviderView(W, 0, 0, 0), {}, [])] == ["slash.none"]
    events = [replace(e, block_time=None) for e in HONEST["uncontested, executed after the window"][0]]
    checks = check_slashes(ProviderView(W, 0, 1, 0), {0: account(state=4)}, events)
    assert not [c for c in checks if c.failed]
    assert any(c.name == "slash.timing" and c.status == "skip" for c in checks)


def test_provider_revenue():
    assert check_provider_revenue(ProviderView(W, 0, 0, 100), 100).status == "pass"
    assert check_provider_revenue(ProviderView(W, 0, 0, 100), 99).failed
