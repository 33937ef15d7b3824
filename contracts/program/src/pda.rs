//! PDA seeds of the billing program. Mirrors contracts/pda.py: integers in seeds are u64
//! little-endian; the bump is always the last seed. Bumps come from account data or arguments and are
//! checked with create_program_address (never searched for on-chain).

use crate::error::Error;
use crate::sdk::pda::check_pda;
use crate::sdk::pubkey::Pubkey;

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
#[inline(always)]
pub fn batch(addr: &Pubkey, index: u64, bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    check_pda(addr, &[BATCH, &index.to_le_bytes()], bump, program_id)
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
