//! Events as `sol_log_data` ("Program data: <base64>"): one slice holding the 8-byte discriminator
//! and the Borsh fields, which is how Anchor emits events and how anchorpy's EventParser reads them.

use super::syscalls::{sol_log_data, SolBytes};

/// An event: a `repr(C)` struct of alignment-1 fields whose first field is its discriminator
/// sha256("event:<Name>")[..8], so its bytes are the exact log payload.
pub trait Event: Sized {
    const DISCRIMINATOR: [u8; 8];
}

#[inline(always)]
pub fn emit<T: Event>(ev: &T) {
    let s = SolBytes { addr: ev as *const T as *const u8, len: core::mem::size_of::<T>() as u64 };
    // SAFETY: one slice over the event struct.
    unsafe { sol_log_data(&s as *const SolBytes, 1) };
}
