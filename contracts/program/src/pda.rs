//! PDA seeds of the billing program. Mirrors contracts/pda.py: integers in seeds are u64
//! little-endian; the bump is always the last seed. Bumps come from account data or arguments and are
//! checked, never searched for on-chain.
//!
//! The rule for the whole program: every account it creates or trusts has its address derived from
//! its seeds and compared. At creation (`check_pda`, the functions below) with the full runtime rule
//! and the canonical bump (a Batch: the runtime rule alone, its index being used once; see `batch`);
//! for an account that exists (`Seeded::require_at`, through `load_pda`) with the bump it stored.
//! Nothing is inferred from who could sign a CPI: a caller can pass a keypair it holds in any account
//! slot and sign with it.

use crate::error::Error;
use crate::sdk::account::{load, load_mut, AccountInfo};
use crate::sdk::pda::{check_address, check_pda, require_derived};
use crate::sdk::pubkey::Pubkey;
use crate::state::{Batch, Channel, Config, Customer, Epoch, PriceBook, Provider, ProviderEpoch, Slash};

pub const CONFIG: &[u8] = b"config";
pub const CUSTOMER: &[u8] = b"customer";
pub const ESCROW: &[u8] = b"escrow";
pub const PROVIDER: &[u8] = b"provider";
pub const STAKE: &[u8] = b"stake";
pub const CHANNEL: &[u8] = b"channel";
pub const BATCH: &[u8] = b"batch";
pub const EPOCH: &[u8] = b"epoch";
pub const PROVIDER_EPOCH: &[u8] = b"provider_epoch";
pub const SLASH: &[u8] = b"slash";
pub const REWARDS: &[u8] = b"rewards";
pub const PRICE_BOOK: &[u8] = b"price_book";

#[inline(always)]
pub fn config(addr: &Pubkey, bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    check_pda(addr, &[CONFIG], bump, program_id)
}
#[inline(always)]
pub fn rewards(addr: &Pubkey, bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    check_pda(addr, &[REWARDS], bump, program_id)
}
/// One wallet-keyed PDA: customer, escrow, provider or stake (`prefix` is the seed constant).
#[inline(always)]
pub fn of_wallet(prefix: &[u8], addr: &Pubkey, wallet: &Pubkey, bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    check_pda(addr, &[prefix, wallet], bump, program_id)
}
pub struct Seeds2<'a> {
    pub a: &'a Pubkey,
    pub b: &'a Pubkey,
}
#[inline(always)]
pub fn channel(addr: &Pubkey, keys: &Seeds2, bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    check_pda(addr, &[CHANNEL, keys.a, keys.b], bump, program_id)
}
/// The new Batch of `index` (= Config.batch_count): create_program_address with the meter's bump, no
/// canonical-bump proof. One batch per index holds without it: post_batch takes the index from the one
/// Config and advances batch_count in the same instruction, and nothing else creates a Batch or lowers
/// batch_count, so each index is created once, at whichever valid bump. Saves the proof's derivation per
/// bump above the canonical one (346 CU each: 54.5 % of indexes were above post_batch's 3,000 CU).
#[inline(always)]
pub fn batch(addr: &Pubkey, index: u64, bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    check_address(addr, &[BATCH, &index.to_le_bytes()], bump, program_id)
}
#[inline(always)]
pub fn epoch(addr: &Pubkey, n: u64, bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    check_pda(addr, &[EPOCH, &n.to_le_bytes()], bump, program_id)
}
#[inline(always)]
pub fn provider_epoch(addr: &Pubkey, wallet: &Pubkey, n: u64, bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    check_pda(addr, &[PROVIDER_EPOCH, wallet, &n.to_le_bytes()], bump, program_id)
}
#[inline(always)]
pub fn slash(addr: &Pubkey, wallet: &Pubkey, index: u64, bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    check_pda(addr, &[SLASH, wallet, &index.to_le_bytes()], bump, program_id)
}
#[inline(always)]
pub fn price_book(addr: &Pubkey, version: u64, bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    check_pda(addr, &[PRICE_BOOK, &version.to_le_bytes()], bump, program_id)
}

/// A state account that lives at the PDA of seeds it stores (keys, numbers, bump).
pub trait Seeded {
    /// Require that `addr` is the PDA of this account's stored seeds and bump (WrongPda).
    fn require_at(&self, addr: &Pubkey, program_id: &Pubkey) -> Result<(), Error>;
}

impl Seeded for Config {
    #[inline(always)]
    fn require_at(&self, addr: &Pubkey, program_id: &Pubkey) -> Result<(), Error> {
        require_derived(addr, &[CONFIG], self.bump, program_id)
    }
}
impl Seeded for Customer {
    #[inline(always)]
    fn require_at(&self, addr: &Pubkey, program_id: &Pubkey) -> Result<(), Error> {
        require_derived(addr, &[CUSTOMER, &self.wallet], self.bump, program_id)
    }
}
impl Seeded for Provider {
    #[inline(always)]
    fn require_at(&self, addr: &Pubkey, program_id: &Pubkey) -> Result<(), Error> {
        require_derived(addr, &[PROVIDER, &self.wallet], self.bump, program_id)
    }
}
impl Seeded for Channel {
    #[inline(always)]
    fn require_at(&self, addr: &Pubkey, program_id: &Pubkey) -> Result<(), Error> {
        require_derived(addr, &[CHANNEL, &self.customer, &self.provider], self.bump, program_id)
    }
}
impl Seeded for Batch {
    #[inline(always)]
    fn require_at(&self, addr: &Pubkey, program_id: &Pubkey) -> Result<(), Error> {
        require_derived(addr, &[BATCH, &self.index.0], self.bump, program_id)
    }
}
impl Seeded for Epoch {
    #[inline(always)]
    fn require_at(&self, addr: &Pubkey, program_id: &Pubkey) -> Result<(), Error> {
        require_derived(addr, &[EPOCH, &self.number.0], self.bump, program_id)
    }
}
impl Seeded for ProviderEpoch {
    #[inline(always)]
    fn require_at(&self, addr: &Pubkey, program_id: &Pubkey) -> Result<(), Error> {
        require_derived(addr, &[PROVIDER_EPOCH, &self.provider, &self.epoch.0], self.bump, program_id)
    }
}
impl Seeded for Slash {
    #[inline(always)]
    fn require_at(&self, addr: &Pubkey, program_id: &Pubkey) -> Result<(), Error> {
        require_derived(addr, &[SLASH, &self.provider, &self.index.0], self.bump, program_id)
    }
}
impl Seeded for PriceBook {
    #[inline(always)]
    fn require_at(&self, addr: &Pubkey, program_id: &Pubkey) -> Result<(), Error> {
        require_derived(addr, &[PRICE_BOOK, &self.version.0], self.bump, program_id)
    }
}

/// A checked view of an existing state account (owner, size, discriminator) whose address is the PDA
/// of its own stored seeds. Callers then compare the stored keys with the ones they expect.
#[inline(always)]
pub fn load_pda<T: crate::sdk::account::State + Seeded>(a: &AccountInfo, program_id: &Pubkey) -> Result<&'static mut T, Error> {
    let t = load::<T>(a, program_id)?;
    t.require_at(a.key(), program_id)?;
    Ok(t)
}

/// `load_pda`, writable.
#[inline(always)]
pub fn load_pda_mut<T: crate::sdk::account::State + Seeded>(a: &AccountInfo, program_id: &Pubkey) -> Result<&'static mut T, Error> {
    let t = load_mut::<T>(a, program_id)?;
    t.require_at(a.key(), program_id)?;
    Ok(t)
}
