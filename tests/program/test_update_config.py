from solders.pubkey import Pubkey

from .conftest import unchanged

U64_MAX = 2**64 - 1


def test_admin_updates_fees_and_version_increments(d):
    # Fees apply at once; min_stake (a protective parameter) is staged for update_delay
    r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), fee_bps=200, burn_bps=100, min_stake=U64_MAX)],
                 [d.admin])
    assert r.ok, r.logs
    cfg = d.h.config()
    assert (cfg.fee_bps, cfg.burn_bps, cfg.version) == (200, 100, 2)
    assert cfg.params.min_stake == d.params["min_stake"]
    assert cfg.pending.min_stake == U64_MAX and cfg.pending_at == d.h.now() + d.params["update_delay"]
    ev = r.event("ConfigUpdated")
    assert ev.version == 2 and ev.fee_bps == 200
    assert ev.pending.min_stake == U64_MAX and ev.pending_at == cfg.pending_at


def test_non_admin_fails(d):
    other = d.h.new_wallet()
    before = d.h.snapshot([d.program.config_address()])
    r = d.h.send([d.program.update_config(admin=other.pubkey(), fee_bps=0)], [other])
    assert not r.ok and r.error.name == "Unauthorized"
    unchanged(d, [d.program.config_address()], before)


def test_fee_above_bound_fails_and_changes_nothing(d):
    before = d.h.snapshot([d.program.config_address()])
    r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), fee_bps=2001)], [d.admin])
    assert not r.ok and r.error.name == "FeeTooHigh"
    unchanged(d, [d.program.config_address()], before)


def test_meter_rotation(d):
    new = Pubkey.new_unique()
    r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), add_meter=new)], [d.admin])
    assert r.ok
    cfg = d.h.config()
    assert cfg.meter_count == 2 and cfg.meters[1].key == new and cfg.meters[1].since_version == 2
    r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), remove_meter=d.meter.pubkey())], [d.admin])
    assert r.ok and r.event("ConfigUpdated").removed_meter == d.meter.pubkey()
    cfg = d.h.config()
    assert cfg.meter_count == 1 and cfg.meters[0].key == new and cfg.version == 3
    r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), remove_meter=d.meter.pubkey())], [d.admin])
    assert not r.ok and r.error.name == "NotAMeter"


def test_meter_list_full(d):
    for _ in range(3):
        assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), add_meter=Pubkey.new_unique())], [d.admin]).ok
    r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), add_meter=Pubkey.new_unique())], [d.admin])
    assert not r.ok and r.error.name == "MeterListFull"


def test_admin_handover(d):
    new_admin = d.h.new_wallet()
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), new_admin=new_admin.pubkey())], [d.admin]).ok
    r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), fee_bps=1)], [d.admin])
    assert not r.ok and r.error.name == "Unauthorized"
    assert d.h.send([d.program.update_config(admin=new_admin.pubkey(), fee_bps=1)], [new_admin]).ok


def test_pause_blocks_updates_except_unpause(d):
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), paused=True)], [d.admin]).ok
    assert d.h.config().paused
    r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), fee_bps=10)], [d.admin])
    assert not r.ok and r.error.name == "Paused"
    r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), fee_bps=10, paused=False)], [d.admin])
    assert r.ok and not d.h.config().paused and d.h.config().fee_bps == 10


def test_window_bounds_on_update(d):
    # every window and delay within [60 s, 365 days]; withdrawal delay above the settlement window,
    # whichever side moves; retention >= withdrawal delay; update_delay >= 2 x the longest exit
    year = 365 * 86_400
    for bad in (dict(settlement_window=7200), dict(withdrawal_delay=3600), dict(unstake_cooldown=-1),
                dict(unstake_cooldown=0), dict(unstake_cooldown=59), dict(contest_window=0), dict(contest_window=1),
                dict(settlement_window=0), dict(resolution_window=59), dict(resolution_window=year + 1),
                dict(withdrawal_delay=2**63 - 1), dict(withdrawal_delay=year + 1, update_delay=4 * year),
                dict(contest_window=year + 1), dict(batch_retention=7199), dict(batch_retention=year + 1),
                dict(update_delay=2 * 86_400 - 1), dict(update_delay=2 * year + 1),
                dict(unstake_cooldown=2 * 86_400)):  # needs update_delay >= 4 days too
        before = d.h.snapshot([d.program.config_address()])
        r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), **bad)], [d.admin])
        assert not r.ok and r.error.name == "InvalidConfig", bad
        unchanged(d, [d.program.config_address()], before)
    r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), settlement_window=7000, withdrawal_delay=7001)],
                 [d.admin])
    assert r.ok and d.h.config().pending.settlement_window == 7000
    assert d.h.config().params.settlement_window == d.params["settlement_window"]
    r = d.h.send([d.program.update_config(admin=d.admin.pubkey(), unstake_cooldown=year, update_delay=2 * year,
                                          batch_retention=year, withdrawal_delay=year, settlement_window=60,
                                          contest_window=year, resolution_window=year)], [d.admin])
    assert r.ok, r.logs[-3:]
