//! Checks and steps shared by several instructions.

use crate::error::Error;
use crate::pda;
use crate::sdk::account::{init, load, require_uninitialized, require_writable, AccountInfo, State};
use crate::sdk::clock::unix_timestamp;
use crate::sdk::cpi::SignerSeed;
use crate::sdk::pubkey::{keq, Pubkey, SYSTEM_PROGRAM_ID};
use crate::sdk::system::CreateAccount;
use crate::state::Config;

/// The Config account, checked (owner, type) and not paused. Only one account of type Config can
/// exist: initialize creates it at the ["config"] PDA and nothing else creates one, so owner and
/// discriminator identify it (no create_program_address needed: 1,500 CU saved per instruction).
#[inline(always)]
pub fn active_config(a: &AccountInfo, program_id: &Pubkey) -> Result<&'static mut Config, Error> {
    let cfg = load::<Config>(a, program_id)?;
    if cfg.paused != 0 {
        return Err(Error::Paused);
    }
    Ok(cfg)
}

/// Signer seeds of the Config PDA, the token authority of every vault.
#[inline(always)]
pub fn config_seeds(bump: &[u8; 1]) -> [SignerSeed; 2] {
    [SignerSeed::of(pda::CONFIG), SignerSeed::of(bump)]
}

#[inline(always)]
pub fn now() -> i64 {
    unix_timestamp()
}

/// Epoch number of `now`: (now - genesis_ts) / epoch_length, in unsigned arithmetic (BPF has no
/// signed division).
#[inline(always)]
pub fn epoch_at(cfg: &Config, now: i64) -> Result<u64, Error> {
    let genesis = cfg.genesis_ts.get();
    let len = cfg.epoch_length.get();
    if now < genesis || len <= 0 {
        return Err(Error::ClockBeforeGenesis);
    }
    let elapsed = (now as u64).wrapping_sub(genesis as u64);
    Ok(elapsed / (len as u64))
}

/// `base + delta` seconds, checked.
#[inline(always)]
pub fn after(base: i64, delta: i64) -> Result<i64, Error> {
    base.checked_add(delta).ok_or(Error::ArithmeticOverflow)
}

#[inline(always)]
pub fn require_system_program(a: &AccountInfo) -> Result<(), Error> {
    if keq(a.key(), &SYSTEM_PROGRAM_ID) {
        Ok(())
    } else {
        Err(Error::WrongProgram)
    }
}

/// The payer of account creations: a writable signer.
#[inline(always)]
pub fn require_payer(a: &AccountInfo) -> Result<(), Error> {
    if !a.is_signer() {
        return Err(Error::MissingSignature);
    }
    require_writable(a)
}

/// Create a program-owned state account at a PDA whose address was already checked, and write its
/// discriminator. The rent-exempt lamports come from `payer`. Inlined: as a call it would take six
/// BPF argument registers (a slice counts two, plus the return slot) and BPF passes at most five.
#[inline(always)]
pub fn create_state<T: State>(
    payer: &AccountInfo,
    a: &AccountInfo,
    seeds: &[SignerSeed],
    program_id: &Pubkey,
) -> Result<&'static mut T, Error> {
    require_uninitialized(a)?;
    CreateAccount { payer, new_account: a, space: T::LEN, owner: program_id, seeds }.invoke()?;
    init::<T>(a)
}

/// Where a state account may be created on demand: whether it was created now.
#[inline(always)]
pub fn is_uncreated(a: &AccountInfo) -> bool {
    a.data_len() == 0 && keq(a.owner(), &SYSTEM_PROGRAM_ID)
}
