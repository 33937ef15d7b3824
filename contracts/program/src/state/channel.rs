//! Channel: one per (customer wallet, provider wallet). Seeds ["channel", customer, provider].
//! Created by the first settle or by the customer's set_channel_limit.

use super::Hash;
use crate::sdk::account::State;
use crate::sdk::hash::discriminator;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::types::U64;

#[repr(C)]
pub struct Channel {
    pub discriminator: [u8; 8],
    pub customer: Pubkey,
    pub provider: Pubkey,
    pub bump: u8,
    /// Cumulative amount already paid out of escrow for this channel.
    pub settled_amount: U64,
    pub last_seq: U64,
    pub last_receipt_id: Hash,
    /// Customer-set cap on what may settle per epoch (u64::MAX = no limit).
    pub limit_per_epoch: U64,
    /// Epoch that `spent_in_epoch` counts for.
    pub spent_epoch: U64,
    pub spent_in_epoch: U64,
}

impl State for Channel {
    const DISCRIMINATOR: [u8; 8] = discriminator(b"account:Channel");
    const LEN: usize = core::mem::size_of::<Channel>();
}
