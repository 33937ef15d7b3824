//! PriceBook: the sha256 of one published price book version. Seeds ["price_book", version u64 LE].
//! Created by publish_price_book (admin); versions strictly increase (Config.price_book_version), and
//! an account is never changed or closed, so a receipt priced with version v can always be checked
//! against the hash committed for v.

use super::Hash;
use crate::sdk::account::State;
use crate::sdk::hash::discriminator;
use crate::sdk::types::{I64, U64};

#[repr(C)]
pub struct PriceBook {
    pub discriminator: [u8; 8],
    pub version: U64,
    /// sha256 of the price book file of this version (its canonical bytes, as published off-chain).
    pub sha256: Hash,
    pub published_at: I64,
    pub bump: u8,
}

impl State for PriceBook {
    const DISCRIMINATOR: [u8; 8] = discriminator(b"account:PriceBook");
    const LEN: usize = core::mem::size_of::<PriceBook>();
}
