//! Config: the program's single global account. Seeds ["config"].

use super::Flag;
use crate::sdk::account::State;
use crate::sdk::hash::discriminator;
use crate::sdk::pubkey::{keq, Pubkey};
use crate::sdk::types::{I64, U16, U64};

/// How many meter keys may be registered at once (rotation: add the new key, then remove the old).
pub const MAX_METERS: usize = 4;
/// Upper bound on fee_bps + burn_bps (20 %).
pub const MAX_FEE_PLUS_BURN_BPS: u16 = 2000;
pub const BPS_DENOMINATOR: u64 = 10_000;

/// A registered meter key and the config version in which it was registered: receipts of batches
/// with an older config version cannot have come from it.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct MeterKey {
    pub key: Pubkey,
    pub since_version: U64,
}

#[repr(C)]
pub struct Config {
    pub discriminator: [u8; 8],
    pub admin: Pubkey,
    pub mint: Pubkey,
    /// Token account of `mint` that receives fees (and slashes that go to the treasury).
    pub treasury: Pubkey,
    /// Key that resolves contested slashes.
    pub arbiter: Pubkey,
    /// Rewards vault PDA ["rewards"]: token account of `mint`, authority the Config PDA.
    pub rewards_vault: Pubkey,
    /// Incremented by every update_config; receipts and batches carry it.
    pub version: U64,
    pub fee_bps: U16,
    pub burn_bps: U16,
    pub decimals: u8,
    pub paused: Flag,
    pub bump: u8,
    pub rewards_bump: u8,
    pub min_stake: U64,
    /// Seconds between request_withdrawal and withdraw; always > settlement_window.
    pub withdrawal_delay: I64,
    /// Seconds within which the meter settles issued receipts.
    pub settlement_window: I64,
    /// Seconds between request_unstake and withdraw_stake.
    pub unstake_cooldown: I64,
    /// Seconds after propose_slash during which the provider may contest.
    pub contest_window: I64,
    /// Seconds per reward epoch; epoch n = (unix_timestamp - genesis_ts) / epoch_length.
    pub epoch_length: I64,
    pub genesis_ts: I64,
    /// Number of batches posted so far = index of the next batch.
    pub batch_count: U64,
    pub meter_count: u8,
    pub meters: [MeterKey; MAX_METERS],
}

impl State for Config {
    const DISCRIMINATOR: [u8; 8] = discriminator(b"account:Config");
    const LEN: usize = core::mem::size_of::<Config>();
}

impl Config {
    /// The registered meter entry for `key`, if any.
    #[inline(always)]
    pub fn meter(&self, key: &Pubkey) -> Option<&MeterKey> {
        let n = self.meter_count as usize;
        let mut i = 0;
        while i < n && i < MAX_METERS {
            if keq(&self.meters[i].key, key) {
                return Some(&self.meters[i]);
            }
            i += 1;
        }
        None
    }
}
