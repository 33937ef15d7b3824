"""contest_slash: the provider itself, within the contest window."""
from contracts.testing import with_account

from ._slash_helpers import contest, execute, propose


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
    r = d.h.send([with_account(ix, 3, d.program.slash_address(p.pubkey, 0), False, True)], [q.kp])
    assert not r.ok and r.error.name == "Unauthorized"
    # nor can anyone contest in the slashed provider's name (its Provider account, another signer): a
    # stranger's contest would hand the decision to the arbiter against the provider's own choice
    ix = d.program.contest_slash(wallet=p.pubkey, index=0, evidence_hash=bytes(32))
    r = d.h.send([with_account(ix, 0, q.pubkey, True, False)], [q.kp])
    assert not r.ok and r.error.name == "Unauthorized"
    assert d.h.account(d.program.slash_address(p.pubkey, 0))[1].state == 0


def test_pause_cannot_run_out_the_contest_window(d):
    # Given a proposed slash, and the admin (who proposes slashes) pausing the program at once
    p = d.provider(stake=2_000_000)
    assert propose(d, p).ok
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), paused=True)], [d.admin]).ok
    # When the provider contests within the window while paused
    d.h.set_time(d.h.now() + d.params["contest_window"] // 2)
    r = contest(d, p)
    # Then the contest is accepted: the slash now waits for the arbiter
    assert r.ok, r.logs[-4:]
    _, s = d.h.account(d.program.slash_address(p.pubkey, 0))
    assert s.state == 1
    # and after unpausing past the deadline the admin cannot execute it without the arbiter
    d.h.set_time(d.h.now() + d.params["contest_window"])
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), paused=False)], [d.admin]).ok
    stake = d.program.stake_address(p.pubkey)
    before = d.h.snapshot([stake, d.treasury])
    r = execute(d, p)
    assert not r.ok and r.error.name == "SlashWrongState"
    assert d.h.snapshot([stake, d.treasury]) == before


def test_contest_while_paused_still_checks_window_and_wallet(d):
    p = d.provider(stake=2_000_000)
    assert propose(d, p).ok
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), paused=True)], [d.admin]).ok
    d.h.set_time(d.h.now() + d.params["contest_window"] + 1)
    r = contest(d, p)
    assert not r.ok and r.error.name == "ContestWindowClosed"
