"""Protective parameters change only after update_delay, and are bounded (issue 11, medium).

The admin proposes slashes; before the fix it could also change the arbiter, the windows and the delays
with immediate effect: make itself arbiter of an appeal under way, shorten the contest window to a second,
or lock every customer in with an i64::MAX withdrawal delay. Now update_config stages arbiter, min_stake,
the windows, the delays and the retention in Config.pending; they take effect update_delay later
(>= 2 x the longest exit), and every value is bounded. Fees, meters, admin and pause still apply at once."""
from contracts.client import params_at
from contracts.testing import deploy

from ._slash_helpers import contest, execute, propose, resolve
from .conftest import unchanged


def _update(d, **kw):
    return d.h.send([d.program.update_config(admin=d.admin.pubkey(), **kw)], [d.admin])


def test_admin_cannot_make_itself_judge_of_a_running_appeal():
    # Given a contested slash judged by the independent arbiter, whose resolution window outlasts the
    # update delay (so only the recorded arbiter, not a deadline, stands in the admin's way)
    d = deploy(resolution_window=3 * 86_400)
    p = d.provider(stake=2_000_000)
    assert propose(d, p).ok and contest(d, p).ok
    # When the admin names itself arbiter and waits until the change is in force
    assert _update(d, arbiter=d.admin.pubkey()).ok
    d.h.set_time(d.h.now() + d.params["update_delay"])
    assert params_at(d.h.config(), d.h.now()).arbiter == d.admin.pubkey()
    # Then it still cannot uphold this slash: the Slash names the arbiter in force when it was proposed
    watched = [d.program.slash_address(p.pubkey, 0), d.program.stake_address(p.pubkey)]
    before = d.h.snapshot(watched)
    r = resolve(d, p, True, signer=d.admin)
    assert not r.ok and r.error.name == "NotArbiter", r.logs[-3:]
    unchanged(d, watched, before)
    # while the recorded arbiter still decides it
    assert resolve(d, p, False).ok
    d.conservation()


def test_arbiter_change_is_announced_update_delay_ahead(d):
    # Given the admin stages itself as arbiter
    p = d.provider(stake=2_000_000)
    r = _update(d, arbiter=d.admin.pubkey())
    assert r.ok
    at = r.event("ConfigUpdated").pending_at
    assert at == d.h.now() + d.params["update_delay"] and r.event("ConfigUpdated").pending.arbiter == d.admin.pubkey()
    # When it proposes a slash before the change is in force
    d.h.set_time(at - 1)
    assert propose(d, p).ok and contest(d, p).ok
    # Then the independent arbiter judges it, not the admin
    slash = d.h.account(d.program.slash_address(p.pubkey, 0))[1]
    assert slash.arbiter == d.arbiter.pubkey()
    assert resolve(d, p, True, signer=d.admin).error.name == "NotArbiter"
    assert resolve(d, p, False).ok


def test_contest_window_cannot_be_cut_to_a_second(d):
    p = d.provider(stake=2_000_000)
    # a one-second window is refused outright
    r = _update(d, contest_window=1)
    assert not r.ok and r.error.name == "InvalidConfig"
    # the shortest accepted window is staged; a slash proposed meanwhile keeps the window in force
    assert _update(d, contest_window=60).ok
    assert propose(d, p).ok
    slash = d.h.account(d.program.slash_address(p.pubkey, 0))[1]
    assert slash.contest_deadline == d.h.now() + d.params["contest_window"]
    d.h.set_time(d.h.now() + 61)
    assert execute(d, p).error.name == "ContestWindowOpen"
    assert contest(d, p).ok


def test_withdrawal_delay_cannot_lock_customers_in(d, chan):
    c, _ = chan
    # i64::MAX (and anything above 365 days) is refused
    for bad in (2**63 - 1, 365 * 86_400 + 1):
        r = _update(d, withdrawal_delay=bad, update_delay=2 * 365 * 86_400)
        assert not r.ok and r.error.name == "InvalidConfig", bad
    # a long but bounded delay is staged: a customer who requests when it is announced leaves under the
    # delay in force, before the new one applies
    year = 365 * 86_400
    assert _update(d, withdrawal_delay=year, batch_retention=year, update_delay=2 * year).ok
    assert d.h.send([d.program.request_withdrawal(wallet=c.pubkey, amount=1_000)], [c.kp]).ok
    d.h.set_time(d.h.now() + d.params["withdrawal_delay"])
    r = d.h.send([d.program.withdraw(wallet=c.pubkey, destination=c.token_account, mint=d.mint)], [c.kp])
    assert r.ok, r.logs[-3:]


def test_staged_changes_apply_at_pending_at_and_are_promoted(d):
    t0 = d.h.now()
    assert _update(d, settlement_window=1_800).ok
    # a second staged change builds on the pending one and restarts the wait
    d.h.set_time(t0 + 100)
    assert _update(d, contest_window=7_200).ok
    cfg = d.h.config()
    assert (cfg.pending.settlement_window, cfg.pending.contest_window) == (1_800, 7_200)
    assert cfg.pending_at == t0 + 100 + d.params["update_delay"]
    assert params_at(cfg, cfg.pending_at - 1).settlement_window == d.params["settlement_window"]
    assert params_at(cfg, cfg.pending_at).settlement_window == 1_800
    # in force from pending_at on for every instruction (a lowered channel limit waits the new window)
    c, p = d.customer(deposit=1_000), d.provider()
    d.open_channel(c, p)
    d.h.set_time(cfg.pending_at)
    r = d.h.send([d.program.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=1)], [c.kp])
    assert r.event("ChannelLimitSet").effective_at == d.h.now() + 1_800
    # and the next update_config promotes it into params
    assert _update(d, fee_bps=10).ok
    cfg = d.h.config()
    assert cfg.params.settlement_window == 1_800 and cfg.params.contest_window == 7_200 and cfg.pending_at == 0


def test_fees_meters_and_pause_still_apply_at_once(d):
    new_meter = d.h.new_wallet()
    assert _update(d, fee_bps=300, add_meter=new_meter.pubkey()).ok
    cfg = d.h.config()
    assert cfg.fee_bps == 300 and cfg.meter_count == 2 and cfg.pending_at == 0
