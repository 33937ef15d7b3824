//! Provider: one per provider wallet. Seeds ["provider", wallet]. Its stake vault is the SPL token
//! account at ["stake", wallet] whose authority is the Config PDA.

use crate::sdk::account::State;
use crate::sdk::hash::discriminator;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::types::{I64, U64};

#[repr(C)]
pub struct Provider {
    pub discriminator: [u8; 8],
    pub wallet: Pubkey,
    pub stake_vault: Pubkey,
    /// Token account (owned by the wallet) that receives settlements and rewards.
    pub payout: Pubkey,
    pub bump: u8,
    pub stake_bump: u8,
    /// Amount of the pending unstake request (0 = none).
    pub unstake_amount: U64,
    pub unstake_requested_at: I64,
    /// Sum of proposed, not yet executed or rejected slashes: withdraw_stake leaves it in the vault.
    pub pending_slash: U64,
    /// Number of slashes ever proposed = index of the next Slash PDA.
    pub slash_count: U64,
    /// ProviderEpoch accounts with revenue that are not claimed yet.
    pub unclaimed_epochs: U64,
    /// The most recent epoch in which this provider earned revenue.
    pub last_revenue_epoch: U64,
    pub total_revenue: U64,
}

impl State for Provider {
    const DISCRIMINATOR: [u8; 8] = discriminator(b"account:Provider");
    const LEN: usize = core::mem::size_of::<Provider>();
}
