//! update_config: admin-only changes of fees, limits, windows, arbiter, admin, meter keys and the
//! pause flag. Every call increments config.version. While paused, only a call that unpauses is
//! accepted. Accounts: admin (signer), config (writable).

use crate::error::Error;
use crate::events::{u16le, u64le, ConfigUpdated};
use crate::sdk::account::{load_mut, require_signer, require_key, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::add;
use crate::sdk::pubkey::{keq, Pubkey};
use crate::state::config::{MeterKey, MAX_FEE_PLUS_BURN_BPS, MAX_METERS};
use crate::state::Config;

/// The invariants every config satisfies after initialize and after every update.
#[inline(never)]
pub fn validate(cfg: &Config) -> Result<(), Error> {
    let fee = cfg.fee_bps.get() as u64;
    let burn = cfg.burn_bps.get() as u64;
    if fee + burn > MAX_FEE_PLUS_BURN_BPS as u64 {
        return Err(Error::FeeTooHigh);
    }
    let settlement_window = cfg.settlement_window.get();
    if settlement_window <= 0
        || cfg.withdrawal_delay.get() <= settlement_window
        || cfg.unstake_cooldown.get() < 0
        || cfg.contest_window.get() <= 0
        || cfg.epoch_length.get() <= 0
    {
        return Err(Error::InvalidConfig);
    }
    Ok(())
}

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [admin, config, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    require_signer(admin)?;
    let cfg = load_mut::<Config>(config, program_id)?;
    require_key(admin, &cfg.admin, Error::Unauthorized)?;

    let mut r = Reader::new(data);
    // Fields are applied as they are read; any later error fails the whole instruction, so a
    // partial update never persists.
    let was_paused = cfg.paused != 0;
    if r.option()? {
        cfg.fee_bps.set(r.u16()?);
    }
    if r.option()? {
        cfg.burn_bps.set(r.u16()?);
    }
    if r.option()? {
        cfg.min_stake.set(r.u64()?);
    }
    if r.option()? {
        cfg.withdrawal_delay.set(r.i64()?);
    }
    if r.option()? {
        cfg.settlement_window.set(r.i64()?);
    }
    if r.option()? {
        cfg.unstake_cooldown.set(r.i64()?);
    }
    if r.option()? {
        cfg.contest_window.set(r.i64()?);
    }
    if r.option()? {
        cfg.arbiter = *r.pubkey()?;
    }
    if r.option()? {
        cfg.admin = *r.pubkey()?;
    }
    let version = add(cfg.version.get(), 1)?;
    let mut added = [0u8; 32];
    if r.option()? {
        let k = r.pubkey()?;
        if cfg.meter(k).is_none() {
            let n = cfg.meter_count as usize;
            if n >= MAX_METERS {
                return Err(Error::MeterListFull);
            }
            cfg.meters[n] = MeterKey { key: *k, since_version: u64le(version) };
            cfg.meter_count += 1;
            added = *k;
        }
    }
    let mut removed = [0u8; 32];
    if r.option()? {
        let k = r.pubkey()?;
        let n = cfg.meter_count as usize;
        let mut i = 0;
        let mut found = false;
        while i < n && i < MAX_METERS {
            if keq(&cfg.meters[i].key, k) {
                // Swap-remove: order of meter keys carries no meaning.
                cfg.meters[i] = cfg.meters[n - 1];
                cfg.meters[n - 1] = MeterKey { key: [0u8; 32], since_version: u64le(0) };
                cfg.meter_count -= 1;
                found = true;
                break;
            }
            i += 1;
        }
        if !found {
            return Err(Error::NotAMeter);
        }
        removed = *k;
    }
    let mut unpauses = false;
    if r.option()? {
        let p = r.bool()?;
        unpauses = !p;
        cfg.paused = p as u8;
    }
    r.finish()?;
    if was_paused && !unpauses {
        return Err(Error::Paused);
    }
    validate(cfg)?;
    cfg.version.set(version);

    emit(&ConfigUpdated {
        discriminator: ConfigUpdated::DISCRIMINATOR,
        admin: cfg.admin,
        version: u64le(version),
        fee_bps: u16le(cfg.fee_bps.get()),
        burn_bps: u16le(cfg.burn_bps.get()),
        paused: cfg.paused,
        meter_count: cfg.meter_count,
        added_meter: added,
        removed_meter: removed,
    });
    Ok(())
}
