//! ProviderEpoch: one provider's revenue in one epoch. Seeds ["provider_epoch", provider wallet,
//! number u64 LE].

use super::Flag;
use crate::sdk::account::State;
use crate::sdk::hash::discriminator;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::types::U64;

#[repr(C)]
pub struct ProviderEpoch {
    pub discriminator: [u8; 8],
    pub provider: Pubkey,
    pub epoch: U64,
    pub bump: u8,
    pub revenue: U64,
    pub claimed: Flag,
    pub reward: U64,
}

impl State for ProviderEpoch {
    const DISCRIMINATOR: [u8; 8] = discriminator(b"account:ProviderEpoch");
    const LEN: usize = core::mem::size_of::<ProviderEpoch>();
}
