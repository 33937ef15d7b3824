//! The canonical receipt encoding, read in place. Mirrors contracts/receipt.py byte for byte
//! (tests/contracts/test_parity.py checks it); PROTOCOL.md "Receipt encoding" is normative.
//!
//! Layout (little-endian, 248 bytes): tag "SOLMETER-RCPT-V1" (16) | program_id (32) |
//! config_version u64 | customer (32) | provider (32) | seq u64 | period_start i64 | period_end i64 |
//! cum_gpu_ms u64 | cum_byte_seconds u128 | cum_egress_bytes u64 | cum_amount u64 |
//! prev_receipt_id (32) | detail_hash (32).   receipt_id = sha256(encoding).

use crate::error::Error;
use crate::sdk::hash::sha256;
use crate::sdk::pubkey::Pubkey;
use crate::sdk::syscalls::SolBytes;

pub const RECEIPT_LEN: usize = 248;
pub const TAG: &[u8; 16] = b"SOLMETER-RCPT-V1";

pub const OFF_PROGRAM_ID: usize = 16;
pub const OFF_CONFIG_VERSION: usize = 48;
pub const OFF_CUSTOMER: usize = 56;
pub const OFF_PROVIDER: usize = 88;
pub const OFF_SEQ: usize = 120;
pub const OFF_PERIOD_START: usize = 128;
pub const OFF_PERIOD_END: usize = 136;
pub const OFF_CUM_GPU_MS: usize = 144;
pub const OFF_CUM_BYTE_SECONDS: usize = 152;
pub const OFF_CUM_EGRESS_BYTES: usize = 168;
pub const OFF_CUM_AMOUNT: usize = 176;
pub const OFF_PREV_RECEIPT_ID: usize = 184;
pub const OFF_DETAIL_HASH: usize = 216;

/// A validated view of one receipt encoding.
pub struct Receipt<'a> {
    b: &'a [u8; RECEIPT_LEN],
}

#[inline(always)]
fn rd64(b: &[u8; RECEIPT_LEN], off: usize) -> u64 {
    // SAFETY: every offset used is a constant at least 8 bytes before the end.
    unsafe { core::ptr::read_unaligned(b.as_ptr().add(off) as *const u64) }
}

impl<'a> Receipt<'a> {
    /// Validate the same rules as contracts/receipt.py `Receipt.decode`: exact length, domain tag,
    /// seq >= 1, period_end >= period_start, prev_receipt_id zero exactly when seq == 1.
    #[inline(always)]
    pub fn parse(data: &'a [u8]) -> Result<Receipt<'a>, Error> {
        if data.len() != RECEIPT_LEN {
            return Err(Error::BadReceipt);
        }
        // SAFETY: length checked.
        let b = unsafe { &*(data.as_ptr() as *const [u8; RECEIPT_LEN]) };
        let r = Receipt { b };
        if rd64(b, 0) != u64::from_le_bytes(*b"SOLMETER") || rd64(b, 8) != u64::from_le_bytes(*b"-RCPT-V1") {
            return Err(Error::BadReceipt);
        }
        if r.seq() == 0 || r.period_end() < r.period_start() {
            return Err(Error::BadReceipt);
        }
        let prev = r.prev_receipt_id();
        let prev_zero = rd64(b, OFF_PREV_RECEIPT_ID) == 0
            && rd64(b, OFF_PREV_RECEIPT_ID + 8) == 0
            && rd64(b, OFF_PREV_RECEIPT_ID + 16) == 0
            && rd64(b, OFF_PREV_RECEIPT_ID + 24) == 0;
        let _ = prev;
        if (r.seq() == 1) != prev_zero {
            return Err(Error::BadReceipt);
        }
        Ok(r)
    }
    #[inline(always)]
    fn key_at(&self, off: usize) -> &'a Pubkey {
        unsafe { &*(self.b.as_ptr().add(off) as *const Pubkey) }
    }
    #[inline(always)]
    pub fn bytes(&self) -> &'a [u8; RECEIPT_LEN] {
        self.b
    }
    #[inline(always)]
    pub fn program_id(&self) -> &'a Pubkey {
        self.key_at(OFF_PROGRAM_ID)
    }
    #[inline(always)]
    pub fn config_version(&self) -> u64 {
        rd64(self.b, OFF_CONFIG_VERSION)
    }
    #[inline(always)]
    pub fn customer(&self) -> &'a Pubkey {
        self.key_at(OFF_CUSTOMER)
    }
    #[inline(always)]
    pub fn provider(&self) -> &'a Pubkey {
        self.key_at(OFF_PROVIDER)
    }
    #[inline(always)]
    pub fn seq(&self) -> u64 {
        rd64(self.b, OFF_SEQ)
    }
    #[inline(always)]
    pub fn period_start(&self) -> i64 {
        rd64(self.b, OFF_PERIOD_START) as i64
    }
    #[inline(always)]
    pub fn period_end(&self) -> i64 {
        rd64(self.b, OFF_PERIOD_END) as i64
    }
    #[inline(always)]
    pub fn cum_gpu_ms(&self) -> u64 {
        rd64(self.b, OFF_CUM_GPU_MS)
    }
    /// u128 as (low, high) u64 halves: BPF has no native u128 arithmetic and the program only
    /// carries this value, never computes with it.
    #[inline(always)]
    pub fn cum_byte_seconds(&self) -> (u64, u64) {
        (rd64(self.b, OFF_CUM_BYTE_SECONDS), rd64(self.b, OFF_CUM_BYTE_SECONDS + 8))
    }
    #[inline(always)]
    pub fn cum_egress_bytes(&self) -> u64 {
        rd64(self.b, OFF_CUM_EGRESS_BYTES)
    }
    #[inline(always)]
    pub fn cum_amount(&self) -> u64 {
        rd64(self.b, OFF_CUM_AMOUNT)
    }
    #[inline(always)]
    pub fn prev_receipt_id(&self) -> &'a [u8; 32] {
        self.key_at(OFF_PREV_RECEIPT_ID)
    }
    #[inline(always)]
    pub fn detail_hash(&self) -> &'a [u8; 32] {
        self.key_at(OFF_DETAIL_HASH)
    }
    /// receipt_id = sha256(encoding).
    #[inline(always)]
    pub fn id(&self) -> [u8; 32] {
        sha256(&[SolBytes::of(self.b)])
    }
}
