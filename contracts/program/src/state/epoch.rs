//! Epoch: reward pool and settled revenue of one epoch. Seeds ["epoch", number u64 LE].

use crate::sdk::account::State;
use crate::sdk::hash::discriminator;
use crate::sdk::types::U64;

#[repr(C)]
pub struct Epoch {
    pub discriminator: [u8; 8],
    pub number: U64,
    pub bump: u8,
    /// Tokens funded into the rewards vault for this epoch (the emission).
    pub reward_pool: U64,
    /// Sum of gross settled amounts in this epoch, over all providers.
    pub total_revenue: U64,
    /// Rewards claimed so far; never exceeds reward_pool.
    pub claimed: U64,
}

impl State for Epoch {
    const DISCRIMINATOR: [u8; 8] = discriminator(b"account:Epoch");
    const LEN: usize = core::mem::size_of::<Epoch>();
}
