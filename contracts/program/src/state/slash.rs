//! Slash: a proposed penalty on a provider's stake. Seeds ["slash", provider wallet, index u64 LE].

use super::Hash;
use crate::sdk::account::State;
use crate::sdk::hash::discriminator;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::types::{I64, U64};

/// Proposed by the admin; contestable until contest_deadline (inclusive), executable after it.
pub const SLASH_PROPOSED: u8 = 0;
/// Contested by the provider; the recorded arbiter may resolve it until resolve_deadline (inclusive),
/// after which anyone may let it lapse (lapse_slash: Rejected).
pub const SLASH_CONTESTED: u8 = 1;
/// Upheld by the arbiter; executable at once.
pub const SLASH_UPHELD: u8 = 2;
/// Rejected by the arbiter, or lapsed unresolved; final.
pub const SLASH_REJECTED: u8 = 3;
/// Executed: tokens moved; final.
pub const SLASH_EXECUTED: u8 = 4;

#[repr(C)]
pub struct Slash {
    pub discriminator: [u8; 8],
    pub provider: Pubkey,
    pub index: U64,
    pub bump: u8,
    pub amount: U64,
    pub evidence_hash: Hash,
    /// Token account of the mint that receives the slashed stake (treasury or harmed customer).
    pub beneficiary: Pubkey,
    pub state: u8,
    pub proposed_at: I64,
    pub contest_deadline: I64,
    pub contest_evidence_hash: Hash,
    /// The arbiter in force when the slash was proposed: only it may resolve this slash, whatever
    /// update_config does later (the admin cannot make itself the judge of a pending appeal).
    pub arbiter: Pubkey,
    /// contest_deadline + the resolution window in force when proposed: the arbiter resolves until
    /// then; a contest still unresolved after it lapses (the slash is rejected).
    pub resolve_deadline: I64,
}

impl State for Slash {
    const DISCRIMINATOR: [u8; 8] = discriminator(b"account:Slash");
    const LEN: usize = core::mem::size_of::<Slash>();
}
