//! update_config: admin-only changes. Every call increments config.version. While paused, only a call
//! that unpauses is accepted. Accounts: admin (signer), config (writable).
//!
//! Two kinds of change. Fees, the admin key, meter keys and the pause flag apply at once (fees are
//! bounded and move with the config version, which receipts, the ledger and the auditor key on; meter
//! keys and pause are the operator's emergency levers). The protective parameters (`Params`: arbiter,
//! min_stake, withdrawal_delay, settlement_window, unstake_cooldown, contest_window,
//! resolution_window, batch_retention, update_delay) are staged in `Config.pending` and take effect
//! `update_delay` (the one in force) later: a staged change is announced by ConfigUpdated, and
//! update_delay >= 2 x the longest exit (withdrawal delay, unstake cooldown), so every customer and
//! provider can leave under the rules they joined under. A later update stages on top of what is
//! pending and restarts the wait. A due staged change is promoted into `params` by the next
//! update_config; every reader uses `Config::params_at(now)`, so nobody depends on that write.

use super::common::{after, now};
use crate::error::Error;
use crate::events::{i64le, u16le, u64le, ConfigUpdated};
use crate::pda::load_pda_mut;
use crate::sdk::account::{require_key, require_signer, AccountInfo};
use crate::sdk::borsh::Reader;
use crate::sdk::log::{emit, Event};
use crate::sdk::math::add;
use crate::sdk::pubkey::{keq, Pubkey};
use crate::sdk::types::I64;
use crate::state::config::{MeterKey, Params, MAX_FEE_PLUS_BURN_BPS, MAX_METERS, MAX_PERIOD, MIN_PERIOD, NO_PARAMS};
use crate::state::Config;

#[inline(always)]
fn period(p: &I64) -> bool {
    let v = p.get();
    (MIN_PERIOD..=MAX_PERIOD).contains(&v)
}

/// fee_bps + burn_bps within the bound.
#[inline(always)]
pub fn validate_fees(cfg: &Config) -> Result<(), Error> {
    if cfg.fee_bps.get() as u64 + cfg.burn_bps.get() as u64 > MAX_FEE_PLUS_BURN_BPS as u64 {
        return Err(Error::FeeTooHigh);
    }
    Ok(())
}

/// The bounds every set of protective parameters satisfies (PROTOCOL.md, Parameters): each window and
/// delay within [MIN_PERIOD, MAX_PERIOD]; withdrawal_delay > settlement_window (receipts issued before
/// a withdrawal request stay payable); batch_retention >= withdrawal_delay (a batch outlives the escrow
/// lock of every receipt in it); update_delay in [2 x max(withdrawal_delay, unstake_cooldown),
/// 2 x MAX_PERIOD] (a change is announced long enough ahead for anyone to notice it and leave).
#[inline(never)]
pub fn validate_params(p: &Params) -> Result<(), Error> {
    let wd = p.withdrawal_delay.get();
    let cd = p.unstake_cooldown.get();
    let exit = if wd > cd { wd } else { cd };
    let ud = p.update_delay.get();
    let rt = p.batch_retention.get();
    if !period(&p.settlement_window)
        || !period(&p.withdrawal_delay)
        || wd <= p.settlement_window.get()
        || !period(&p.unstake_cooldown)
        || !period(&p.contest_window)
        || !period(&p.resolution_window)
        || rt < wd
        || rt > MAX_PERIOD
        || ud < 2 * exit
        || ud > 2 * MAX_PERIOD
    {
        return Err(Error::InvalidConfig);
    }
    Ok(())
}

/// Read an Option<i64> argument into `field`; whether it was Some.
#[inline(always)]
fn opt_i64(r: &mut Reader, field: &mut I64) -> Result<bool, Error> {
    if r.option()? {
        field.set(r.i64()?);
        return Ok(true);
    }
    Ok(false)
}

pub fn process(program_id: &Pubkey, accounts: &[AccountInfo], data: &[u8]) -> Result<(), Error> {
    let [admin, config, ..] = accounts else {
        return Err(Error::NotEnoughAccounts);
    };
    require_signer(admin)?;
    let cfg = load_pda_mut::<Config>(config, program_id)?;
    require_key(admin, &cfg.admin, Error::Unauthorized)?;

    let t = now();
    let at = cfg.pending_at.get();
    if at != 0 && t >= at {
        cfg.params = cfg.pending;
        cfg.pending = NO_PARAMS;
        cfg.pending_at.set(0);
    }
    let mut next = if cfg.pending_at.get() != 0 { cfg.pending } else { cfg.params };
    let mut staged = false;

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
        next.min_stake.set(r.u64()?);
        staged = true;
    }
    staged |= opt_i64(&mut r, &mut next.withdrawal_delay)?;
    staged |= opt_i64(&mut r, &mut next.settlement_window)?;
    staged |= opt_i64(&mut r, &mut next.unstake_cooldown)?;
    staged |= opt_i64(&mut r, &mut next.contest_window)?;
    staged |= opt_i64(&mut r, &mut next.resolution_window)?;
    staged |= opt_i64(&mut r, &mut next.batch_retention)?;
    staged |= opt_i64(&mut r, &mut next.update_delay)?;
    if r.option()? {
        next.arbiter = *r.pubkey()?;
        staged = true;
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
    validate_fees(cfg)?;
    if staged {
        validate_params(&next)?;
        cfg.pending = next;
        cfg.pending_at.set(after(t, cfg.params.update_delay.get())?);
    }
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
        pending: cfg.pending,
        pending_at: i64le(cfg.pending_at.get()),
    });
    Ok(())
}
