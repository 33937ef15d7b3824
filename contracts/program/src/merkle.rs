//! Merkle proof verification for receipt batches. Mirrors contracts/merkle.py:
//!     leaf(receipt_id) = sha256(0x00 || receipt_id)
//!     node(a, b)       = sha256(0x01 || min(a, b) || max(a, b))   (bytewise order)
//! A proof is the list of sibling hashes from the leaf upwards; at most 32 of them.

use crate::sdk::hash::sha256;
use crate::sdk::pubkey::keq;
use crate::sdk::syscalls::SolBytes;

pub const MAX_PROOF_LEN: usize = 32;
const LEAF_PREFIX: [u8; 1] = [0x00];
const NODE_PREFIX: [u8; 1] = [0x01];

#[inline(always)]
pub fn leaf_hash(receipt_id: &[u8; 32]) -> [u8; 32] {
    sha256(&[SolBytes::of(&LEAF_PREFIX), SolBytes::of(receipt_id)])
}

/// a <= b in bytewise (lexicographic) order, compared as four big-endian u64 words.
#[inline(always)]
pub fn le_bytes32(a: &[u8; 32], b: &[u8; 32]) -> bool {
    let mut i = 0;
    while i < 4 {
        // SAFETY: i * 8 + 8 <= 32.
        let x = u64::from_be(unsafe { core::ptr::read_unaligned(a.as_ptr().add(i * 8) as *const u64) });
        let y = u64::from_be(unsafe { core::ptr::read_unaligned(b.as_ptr().add(i * 8) as *const u64) });
        if x != y {
            return x < y;
        }
        i += 1;
    }
    true
}

#[inline(always)]
pub fn node_hash(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let (lo, hi) = if le_bytes32(a, b) { (a, b) } else { (b, a) };
    sha256(&[SolBytes::of(&NODE_PREFIX), SolBytes::of(lo), SolBytes::of(hi)])
}

/// Verify `proof` (concatenated 32-byte siblings) for `receipt_id` against `root`.
#[inline(never)]
pub fn verify(receipt_id: &[u8; 32], proof: &[u8], root: &[u8; 32]) -> bool {
    if proof.len() % 32 != 0 || proof.len() / 32 > MAX_PROOF_LEN {
        return false;
    }
    let mut h = leaf_hash(receipt_id);
    let n = proof.len() / 32;
    let mut i = 0;
    while i < n {
        // SAFETY: i < n and proof.len() == 32 * n.
        let sib = unsafe { &*(proof.as_ptr().add(i * 32) as *const [u8; 32]) };
        h = node_hash(&h, sib);
        i += 1;
    }
    keq(&h, root)
}
