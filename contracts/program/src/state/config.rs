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

/// Shortest window, delay or epoch the config accepts (seconds): a window of a second is no window.
pub const MIN_PERIOD: i64 = 60;
/// Longest window, delay, retention or epoch the config accepts (seconds, 365 days): an i64::MAX
/// withdrawal delay would lock every customer in, and every deadline `now + period` stays far from
/// overflow.
pub const MAX_PERIOD: i64 = 365 * 86_400;

/// The parameters that protect a counter-party of the admin: each one, changed at once, would let the
/// admin hurt customers or providers who already committed (lock them in, let the other side leave
/// early, judge its own appeal). update_config stages a change of any of them in `Config.pending`; it
/// takes effect `update_delay` later, which is long enough for anyone to leave under the rules in force.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct Params {
    /// Key that resolves contested slashes (recorded on each Slash when proposed).
    pub arbiter: Pubkey,
    /// Unencumbered stake a provider needs to earn and claim rewards.
    pub min_stake: U64,
    /// Seconds between request_withdrawal and withdraw; always > settlement_window. A request is
    /// honoured until twice this after it was made.
    pub withdrawal_delay: I64,
    /// Seconds within which the meter settles issued receipts (a lowered channel limit waits this).
    pub settlement_window: I64,
    /// Seconds between request_unstake and withdraw_stake.
    pub unstake_cooldown: I64,
    /// Seconds after propose_slash during which the provider may contest (recorded on each Slash).
    pub contest_window: I64,
    /// Seconds after the contest deadline during which the arbiter may resolve a contested slash
    /// (recorded on each Slash); a contest left unresolved then lapses in the provider's favour.
    pub resolution_window: I64,
    /// Seconds after post_batch before the meter may close a Batch (>= withdrawal_delay).
    pub batch_retention: I64,
    /// Seconds between an update_config that changes these parameters and the change taking effect
    /// (>= 2 x max(withdrawal_delay, unstake_cooldown): time to notice, then time to leave).
    pub update_delay: I64,
}

/// `Config.pending` when nothing is staged.
pub const NO_PARAMS: Params = Params {
    arbiter: [0u8; 32],
    min_stake: U64([0u8; 8]),
    withdrawal_delay: I64([0u8; 8]),
    settlement_window: I64([0u8; 8]),
    unstake_cooldown: I64([0u8; 8]),
    contest_window: I64([0u8; 8]),
    resolution_window: I64([0u8; 8]),
    batch_retention: I64([0u8; 8]),
    update_delay: I64([0u8; 8]),
};

#[repr(C)]
pub struct Config {
    pub discriminator: [u8; 8],
    pub admin: Pubkey,
    pub mint: Pubkey,
    /// Token account of `mint` that receives fees (and slashes that go to the treasury).
    pub treasury: Pubkey,
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
    /// The protective parameters in force (until `pending_at`).
    pub params: Params,
    /// Parameters staged by update_config, in force from `pending_at` on (meaningful only while
    /// pending_at != 0).
    pub pending: Params,
    pub pending_at: I64,
    /// Seconds per reward epoch; epoch n = (unix_timestamp - genesis_ts) / epoch_length.
    pub epoch_length: I64,
    pub genesis_ts: I64,
    /// Number of batches posted so far = index of the next batch.
    pub batch_count: U64,
    pub meter_count: u8,
    pub meters: [MeterKey; MAX_METERS],
    /// Latest price book version published with publish_price_book (0 = none yet).
    pub price_book_version: U64,
}

impl State for Config {
    const DISCRIMINATOR: [u8; 8] = discriminator(b"account:Config");
    const LEN: usize = core::mem::size_of::<Config>();
}

impl Config {
    /// The protective parameters in force at `now`: the staged ones once their time has come. Read-only,
    /// so every instruction sees the same values whether or not an update_config promoted them.
    #[inline(always)]
    pub fn params_at(&self, now: i64) -> &Params {
        let at = self.pending_at.get();
        if at != 0 && now >= at {
            &self.pending
        } else {
            &self.params
        }
    }

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
