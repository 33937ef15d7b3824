//! Every event the program emits, one per state change. Each struct's bytes are the Borsh encoding of
//! the event in the IDL (discriminator sha256("event:<Name>")[..8] first). contracts/idl/generate.py
//! reads these definitions.

use crate::sdk::hash::discriminator;
use crate::sdk::log::Event;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::types::{I64, U16, U64};
use crate::state::{Flag, Hash, Params};

macro_rules! event {
    ($name:ident, $pre:literal { $($field:ident : $ty:ty),* $(,)? }) => {
        #[repr(C)]
        pub struct $name {
            pub discriminator: [u8; 8],
            $(pub $field: $ty,)*
        }
        impl Event for $name {
            const DISCRIMINATOR: [u8; 8] = discriminator($pre);
        }
    };
}

#[inline(always)]
pub fn u64le(v: u64) -> U64 {
    U64(v.to_le_bytes())
}
#[inline(always)]
pub fn i64le(v: i64) -> I64 {
    I64(v.to_le_bytes())
}
#[inline(always)]
pub fn u16le(v: u16) -> U16 {
    U16(v.to_le_bytes())
}

event!(Initialized, b"event:Initialized" {
    admin: Pubkey, mint: Pubkey, treasury: Pubkey, meter: Pubkey, arbiter: Pubkey,
    fee_bps: U16, burn_bps: U16, genesis_ts: I64, epoch_length: I64,
});
event!(ConfigUpdated, b"event:ConfigUpdated" {
    admin: Pubkey, version: U64, fee_bps: U16, burn_bps: U16, paused: Flag, meter_count: u8,
    added_meter: Pubkey, removed_meter: Pubkey, pending: Params, pending_at: I64,
});
event!(CustomerRegistered, b"event:CustomerRegistered" { wallet: Pubkey, customer: Pubkey, escrow: Pubkey });
event!(Deposited, b"event:Deposited" { wallet: Pubkey, amount: U64, escrow_balance: U64 });
event!(WithdrawalRequested, b"event:WithdrawalRequested" {
    wallet: Pubkey, amount: U64, requested_at: I64, available_at: I64, expires_at: I64,
});
event!(Withdrawn, b"event:Withdrawn" { wallet: Pubkey, amount: U64, escrow_balance: U64 });
event!(ChannelLimitSet, b"event:ChannelLimitSet" {
    customer: Pubkey, provider: Pubkey, limit_per_epoch: U64, effective_at: I64, opened: Flag,
});
event!(AutoTopUpConfigured, b"event:AutoTopUpConfigured" {
    wallet: Pubkey, source: Pubkey, threshold: U64, amount: U64,
});
event!(ToppedUp, b"event:ToppedUp" { wallet: Pubkey, amount: U64, escrow_balance: U64 });
event!(ProviderRegistered, b"event:ProviderRegistered" {
    wallet: Pubkey, provider: Pubkey, stake_vault: Pubkey, payout: Pubkey,
});
event!(Staked, b"event:Staked" { wallet: Pubkey, amount: U64, stake_balance: U64 });
event!(UnstakeRequested, b"event:UnstakeRequested" {
    wallet: Pubkey, amount: U64, requested_at: I64, available_at: I64, expires_at: I64,
});
event!(StakeWithdrawn, b"event:StakeWithdrawn" { wallet: Pubkey, amount: U64, stake_balance: U64 });
event!(BatchPosted, b"event:BatchPosted" {
    index: U64, root: Hash, count: U64, total: U64, meter: Pubkey, config_version: U64,
});
event!(Settled, b"event:Settled" {
    customer: Pubkey, provider: Pubkey, batch_index: U64, seq: U64, receipt_id: Hash, cum_amount: U64,
    amount: U64, fee: U64, burned: U64, provider_amount: U64, epoch: U64, rewarded: Flag,
});
event!(EpochFunded, b"event:EpochFunded" { epoch: U64, amount: U64, reward_pool: U64 });
event!(RewardsClaimed, b"event:RewardsClaimed" {
    provider: Pubkey, epoch: U64, amount: U64, revenue: U64, total_revenue: U64,
});
event!(SlashProposed, b"event:SlashProposed" {
    provider: Pubkey, index: U64, amount: U64, evidence_hash: Hash, beneficiary: Pubkey, contest_deadline: I64,
    arbiter: Pubkey, resolve_deadline: I64,
});
event!(SlashContested, b"event:SlashContested" { provider: Pubkey, index: U64, evidence_hash: Hash });
event!(SlashResolved, b"event:SlashResolved" { provider: Pubkey, index: U64, upheld: Flag, lapsed: Flag });
event!(SlashExecuted, b"event:SlashExecuted" { provider: Pubkey, index: U64, amount: U64, beneficiary: Pubkey });
event!(SettlementPrepared, b"event:SettlementPrepared" {
    customer: Pubkey, provider: Pubkey, epoch: U64, epoch_created: Flag, provider_epoch_created: Flag,
});
event!(TreasuryChanged, b"event:TreasuryChanged" { admin: Pubkey, old_treasury: Pubkey, new_treasury: Pubkey });
event!(PayoutChanged, b"event:PayoutChanged" { wallet: Pubkey, old_payout: Pubkey, new_payout: Pubkey });
event!(BatchClosed, b"event:BatchClosed" { index: U64, root: Hash, meter: Pubkey, lamports: U64 });
event!(PriceBookPublished, b"event:PriceBookPublished" {
    version: U64, sha256: Hash, published_at: I64, admin: Pubkey,
});
