//! The Epoch and ProviderEpoch accounts that settle, prepare_settle and fund_epoch write: loaded and
//! matched when they exist, created when they do not. A creation checks the address against the seeds
//! (`pda::epoch` / `pda::provider_epoch`: create_program_address with the canonical bump) before the
//! CreateAccount CPI: the CPI's signature proves nothing, since a caller may pass a keypair it holds
//! and sign for it (a second Epoch would keep revenue out of the funded epoch's total, a second
//! ProviderEpoch would claim the epoch twice).

use super::common::{create_state, is_uncreated, require_payer};
use crate::error::Error;
use crate::pda::{self, load_pda_mut};
use crate::sdk::account::{require_writable, AccountInfo};
use crate::sdk::cpi::SignerSeed;
use crate::sdk::pubkey::{keq, Pubkey};
use crate::state::{Epoch, ProviderEpoch};

/// An epoch number and the bump of its PDA (and, for a ProviderEpoch, the provider wallet).
pub struct EpochKey<'a> {
    pub number: u64,
    pub bump: u8,
    pub wallet: &'a Pubkey,
}

/// The Epoch account of `key.number`: loaded and matched, or created.
#[inline(never)]
pub fn open_epoch(payer: &AccountInfo, epoch: &AccountInfo, key: &EpochKey, program_id: &Pubkey) -> Result<&'static mut Epoch, Error> {
    require_writable(epoch)?;
    if is_uncreated(epoch) {
        require_payer(payer)?;
        pda::epoch(epoch.key(), key.number, key.bump, program_id)?;
        let n = key.number.to_le_bytes();
        let b = [key.bump];
        let seeds = [SignerSeed::of(pda::EPOCH), SignerSeed::of(&n), SignerSeed::of(&b)];
        let e = create_state::<Epoch>(payer, epoch, &seeds, program_id)?;
        e.number.set(key.number);
        e.bump = key.bump;
        return Ok(e);
    }
    let e = load_pda_mut::<Epoch>(epoch, program_id)?;
    if e.number.get() != key.number {
        return Err(Error::WrongPda);
    }
    Ok(e)
}

/// The ProviderEpoch of (provider wallet, epoch): loaded and matched, or created (with no revenue;
/// settle counts it as an unclaimed epoch when its first revenue arrives).
#[inline(never)]
pub fn open_provider_epoch(
    payer: &AccountInfo,
    pe: &AccountInfo,
    key: &EpochKey,
    program_id: &Pubkey,
) -> Result<&'static mut ProviderEpoch, Error> {
    let wallet = key.wallet;
    require_writable(pe)?;
    if is_uncreated(pe) {
        require_payer(payer)?;
        pda::provider_epoch(pe.key(), wallet, key.number, key.bump, program_id)?;
        let n = key.number.to_le_bytes();
        let b = [key.bump];
        let seeds = [SignerSeed::of(pda::PROVIDER_EPOCH), SignerSeed::of(wallet), SignerSeed::of(&n), SignerSeed::of(&b)];
        let p = create_state::<ProviderEpoch>(payer, pe, &seeds, program_id)?;
        p.provider = *wallet;
        p.epoch.set(key.number);
        p.bump = key.bump;
        return Ok(p);
    }
    let p = load_pda_mut::<ProviderEpoch>(pe, program_id)?;
    if !keq(&p.provider, wallet) || p.epoch.get() != key.number {
        return Err(Error::WrongPda);
    }
    Ok(p)
}
