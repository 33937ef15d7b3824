//! Batch: a Merkle root of receipt ids posted by a meter. Seeds ["batch", index u64 LE]. The meter
//! key that posted it also paid its rent (post_batch takes one account for both), and only it may
//! close the batch (close_batch) once posted_at + batch_retention has passed; the root stays public in
//! the post_batch transaction's BatchPosted event.

use super::Hash;
use crate::sdk::account::State;
use crate::sdk::hash::discriminator;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::types::{I64, U64};

#[repr(C)]
pub struct Batch {
    pub discriminator: [u8; 8],
    pub index: U64,
    pub root: Hash,
    pub count: U64,
    pub total: U64,
    pub meter: Pubkey,
    /// Config version when posted: every receipt in the batch must carry it.
    pub config_version: U64,
    pub posted_at: I64,
    pub bump: u8,
}

impl State for Batch {
    const DISCRIMINATOR: [u8; 8] = discriminator(b"account:Batch");
    const LEN: usize = core::mem::size_of::<Batch>();
}
