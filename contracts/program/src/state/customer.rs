//! Customer: one per customer wallet. Seeds ["customer", wallet]. Its escrow vault is the SPL token
//! account at ["escrow", wallet] whose authority is the Config PDA.

use crate::sdk::account::State;
use crate::sdk::hash::discriminator;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::types::{I64, U64};

#[repr(C)]
pub struct Customer {
    pub discriminator: [u8; 8],
    pub wallet: Pubkey,
    pub escrow: Pubkey,
    pub bump: u8,
    pub escrow_bump: u8,
    /// Amount of the pending withdrawal request (0 = none).
    pub withdrawal_amount: U64,
    pub withdrawal_requested_at: I64,
    /// Token account the top-up crank pulls from (zero = auto top-up off).
    pub top_up_source: Pubkey,
    /// top_up may run only while the escrow balance is below this.
    pub top_up_threshold: U64,
    /// Amount one top_up pulls (capped by the delegated allowance).
    pub top_up_amount: U64,
    pub total_deposited: U64,
    pub total_settled: U64,
}

impl State for Customer {
    const DISCRIMINATOR: [u8; 8] = discriminator(b"account:Customer");
    const LEN: usize = core::mem::size_of::<Customer>();
}
