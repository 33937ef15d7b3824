//! Channel: one per (customer wallet, provider wallet). Seeds ["channel", customer, provider].
//! Created only by the customer's own set_channel_limit: the Channel is the customer's on-chain
//! consent to be billed by that provider, and settle / prepare_settle refuse a pair without one
//! (ChannelNotOpened). A limit of 0 withdraws consent (after the settlement window, like any decrease).

use super::Hash;
use crate::sdk::account::State;
use crate::sdk::hash::discriminator;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::types::{I64, U64};

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
    /// A lowered limit waiting to take effect (meaningful only while pending_limit_at != 0).
    pub pending_limit: U64,
    /// When pending_limit takes effect: set_channel_limit time + config.settlement_window (0 = none).
    pub pending_limit_at: I64,
}

impl Channel {
    /// The per-epoch limit in force at `now`. A pending decrease that is due is applied here (and
    /// cleared), so every reader sees the same limit whether or not anyone wrote it in between.
    #[inline(always)]
    pub fn limit_at(&mut self, now: i64) -> u64 {
        let at = self.pending_limit_at.get();
        if at != 0 && now >= at {
            self.limit_per_epoch = self.pending_limit;
            self.pending_limit.set(0);
            self.pending_limit_at.set(0);
        }
        self.limit_per_epoch.get()
    }
}

impl State for Channel {
    const DISCRIMINATOR: [u8; 8] = discriminator(b"account:Channel");
    const LEN: usize = core::mem::size_of::<Channel>();
}
