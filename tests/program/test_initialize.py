from solders.pubkey import Pubkey

from contracts import pda
from contracts.testing import GENESIS_TS, Harness, deploy


def test_initialize_creates_config_and_rewards_vault_and_emits_event():
    # Given a fresh chain / When initialize runs
    d = deploy()
    cfg = d.h.config()
    # Then the config holds the parameters, version 1, the meter registered in version 1
    assert cfg.admin == d.admin.pubkey() and cfg.mint == d.mint and cfg.treasury == d.treasury
    assert (cfg.fee_bps, cfg.burn_bps, cfg.version, cfg.paused) == (100, 50, 1, False)
    assert cfg.genesis_ts == GENESIS_TS and cfg.meter_count == 1
    assert cfg.meters[0].key == d.meter.pubkey() and cfg.meters[0].since_version == 1
    assert cfg.bump == pda.config(d.h.program_id)[1]
    # and the rewards vault is a token account of the mint whose authority is the Config PDA
    vault = d.h.token_account(d.h.program.rewards_address())
    assert vault.mint == d.mint and vault.owner == d.h.program.config_address()
    d.conservation()


def test_initialize_event():
    h = Harness()
    h.set_time(GENESIS_TS)
    admin, meter, arb, ma = h.new_wallet(), h.new_wallet(), h.new_wallet(), h.new_wallet()
    mint = h.create_mint(ma.pubkey())
    treasury = h.create_token_account(mint, admin.pubkey())
    from contracts.testing import DEFAULT_PARAMS
    r = h.send([h.program.initialize(admin=admin.pubkey(), mint=mint, treasury=treasury, meter=meter.pubkey(),
                                     arbiter=arb.pubkey(), **DEFAULT_PARAMS)], [admin])
    assert r.ok
    ev = r.event("Initialized")
    assert ev.admin == admin.pubkey() and ev.meter == meter.pubkey() and ev.genesis_ts == GENESIS_TS


def test_second_initialize_fails():
    d = deploy()
    before = d.h.snapshot([d.program.config_address()])
    r = d.h.send([d.program.initialize(admin=d.admin.pubkey(), mint=d.mint, treasury=d.treasury,
                                       meter=d.meter.pubkey(), arbiter=d.arbiter.pubkey(), **d.params)], [d.admin])
    assert not r.ok and r.error.name == "AlreadyInitialized"
    assert d.h.snapshot([d.program.config_address()]) == before


def _init(h, admin, mint, treasury, **over):
    from contracts.testing import DEFAULT_PARAMS
    params = {**DEFAULT_PARAMS, **over}
    return h.send([h.program.initialize(admin=admin.pubkey(), mint=mint, treasury=treasury,
                                        meter=Pubkey.new_unique(), arbiter=Pubkey.new_unique(), **params)], [admin])


def _fresh():
    h = Harness()
    h.set_time(GENESIS_TS)
    admin, ma = h.new_wallet(), h.new_wallet()
    mint = h.create_mint(ma.pubkey())
    return h, admin, mint, h.create_token_account(mint, admin.pubkey())


def test_fee_above_bound_fails():
    h, admin, mint, treasury = _fresh()
    r = _init(h, admin, mint, treasury, fee_bps=1500, burn_bps=501)
    assert not r.ok and r.error.name == "FeeTooHigh"
    assert not h.exists(h.program.config_address())
    assert _init(h, admin, mint, treasury, fee_bps=1500, burn_bps=500).ok  # exactly the bound


def test_withdrawal_delay_must_exceed_settlement_window():
    h, admin, mint, treasury = _fresh()
    r = _init(h, admin, mint, treasury, withdrawal_delay=3600, settlement_window=3600)
    assert not r.ok and r.error.name == "InvalidConfig"


def test_treasury_of_foreign_mint_fails():
    h, admin, mint, _ = _fresh()
    other = h.create_mint(admin.pubkey())
    r = _init(h, admin, mint, h.create_token_account(other, admin.pubkey()))
    assert not r.ok and r.error.name == "WrongMint"


def test_substituted_config_pda_fails():
    h, admin, mint, treasury = _fresh()
    from contracts.testing import DEFAULT_PARAMS
    ix = h.program.initialize(admin=admin.pubkey(), mint=mint, treasury=treasury, meter=Pubkey.new_unique(),
                              arbiter=Pubkey.new_unique(), **DEFAULT_PARAMS)
    accounts = {"admin": admin.pubkey(), "config": Pubkey.new_unique(), "mint": mint, "treasury": treasury,
                "rewards_vault": h.program.rewards_address(),
                "system_program": ix.accounts[5].pubkey, "token_program": ix.accounts[6].pubkey,
                "program": h.program_id, "program_data": h.program.program_data_address()}
    args = dict(DEFAULT_PARAMS, meter=Pubkey.new_unique(), arbiter=Pubkey.new_unique(),
                config_bump=pda.config(h.program_id)[1], rewards_bump=pda.rewards(h.program_id)[1])
    r = h.send([h.program.build("initialize", accounts, args)], [admin])
    assert not r.ok and r.error.name == "WrongPda"


def test_every_period_is_bounded_at_initialize():
    # issue 11: a period of a second is no window, and an i64::MAX withdrawal delay would lock every
    # customer in; the same bounds as update_config (PROTOCOL.md, Parameters), plus the epoch length
    year = 365 * 86_400
    for bad in (dict(unstake_cooldown=0), dict(contest_window=59), dict(resolution_window=0),
                dict(withdrawal_delay=2**63 - 1), dict(withdrawal_delay=year + 1, batch_retention=year + 1),
                dict(epoch_length=0), dict(epoch_length=59), dict(epoch_length=year + 1),
                dict(batch_retention=7_199), dict(update_delay=2 * 86_400 - 1)):
        h, admin, mint, treasury = _fresh()
        r = _init(h, admin, mint, treasury, **bad)
        assert not r.ok and r.error.name == "InvalidConfig", bad
        assert not h.exists(h.program.config_address())
    h, admin, mint, treasury = _fresh()
    assert _init(h, admin, mint, treasury, epoch_length=60, settlement_window=60, withdrawal_delay=61,
                 unstake_cooldown=60, contest_window=60, resolution_window=60, batch_retention=61,
                 update_delay=122).ok


def test_treasury_must_not_be_a_program_vault():
    h, admin, mint, _ = _fresh()
    # a token account whose owner is the Config PDA would mix fees into balances the program accounts for
    r = _init(h, admin, mint, h.create_token_account(mint, h.program.config_address()))
    assert not r.ok and r.error.name == "WrongTokenAccount"
