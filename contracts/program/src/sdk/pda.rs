//! Program-derived addresses. The program never searches for a bump: bumps are passed in or read
//! from account data and checked here once. At creation the bump must also be canonical
//! (`require_canonical_bump`), so that each PDA type has exactly one address per set of seeds.
//!
//! Derivation is done here rather than with sol_create_program_address (1,500 CU per call):
//! address = sha256(seeds ++ [bump] ++ program_id ++ "ProgramDerivedAddress"), valid iff that hash is
//! not an edwards25519 point. sol_sha256 (~85 CU + 1 CU per 2 bytes) plus sol_curve_validate_point
//! (159 CU) compute exactly the runtime's rule (both use curve25519-dalek's decompression) for about
//! a fifth of the cost, which matters because proving a bump canonical derives every higher bump.

use super::hash::sha256;
use super::pubkey::{keq, Pubkey};
use super::syscalls::{sol_curve_validate_point, SolBytes};
use crate::error::Error;

/// Most seeds any PDA of this program has, bump included.
pub const MAX_SEEDS: usize = 4;

const PDA_MARKER: &[u8] = b"ProgramDerivedAddress";
const CURVE25519_EDWARDS: u64 = 0;

/// The hash input of a derivation: the seeds, a bump slot, the program id and the marker.
struct Preimage {
    parts: [SolBytes; MAX_SEEDS + 2],
    /// Index of the bump slot; the slice count is bump_at + 3.
    bump_at: usize,
}

impl Preimage {
    #[inline(always)]
    fn new(seeds: &[&[u8]], program_id: &Pubkey) -> Result<Preimage, Error> {
        let n = seeds.len();
        if n + 1 > MAX_SEEDS {
            return Err(Error::WrongPda);
        }
        let mut parts = [SolBytes { addr: core::ptr::null(), len: 0 }; MAX_SEEDS + 2];
        let mut i = 0;
        while i < n {
            parts[i] = SolBytes::of(seeds[i]);
            i += 1;
        }
        parts[n + 1] = SolBytes::of(program_id);
        parts[n + 2] = SolBytes::of(PDA_MARKER);
        Ok(Preimage { parts, bump_at: n })
    }

    /// create_program_address(seeds ++ [bump]): the address, or None where the runtime refuses it
    /// (the hash lies on the curve, so someone could hold its private key).
    #[inline(always)]
    fn derive(&mut self, bump: &[u8; 1]) -> Option<[u8; 32]> {
        self.parts[self.bump_at] = SolBytes::of(bump);
        let h = sha256(&self.parts[..self.bump_at + 3]);
        let mut unused = 0u8;
        // SAFETY: h is 32 readable bytes; the syscall writes nothing for validation.
        let on_curve = unsafe { sol_curve_validate_point(CURVE25519_EDWARDS, h.as_ptr(), &mut unused) } == 0;
        if on_curve {
            None
        } else {
            Some(h)
        }
    }

    /// No bump above `bump` derives a valid address.
    #[inline(always)]
    fn none_above(&mut self, bump: u8) -> bool {
        let mut b = bump;
        while b < u8::MAX {
            b += 1;
            if self.derive(&[b]).is_some() {
                return false;
            }
        }
        true
    }
}

/// Require `addr == create_program_address(seeds ++ [bump], program_id)` with a canonical bump.
#[inline(never)]
pub fn check_pda(addr: &Pubkey, seeds: &[&[u8]], bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    let mut pre = Preimage::new(seeds, program_id)?;
    match pre.derive(&[bump]) {
        Some(a) if keq(&a, addr) => {}
        _ => return Err(Error::WrongPda),
    }
    if !pre.none_above(bump) {
        return Err(Error::WrongPda);
    }
    Ok(())
}

/// Require that `bump` is the canonical bump of `seeds` (the one find_program_address returns): no
/// higher bump derives a valid PDA. Without this, one set of seeds has ~128 valid addresses, so a
/// second Config (with its own admin and arbiter), a second Channel of the same pair (whose
/// settled_amount starts at zero: every receipt paid again) or a second Customer, Provider, Epoch...
/// could be created, while the program identifies existing accounts by owner, type and stored keys.
/// Run only when an account is created; a canonical bump costs on average one derivation (~330 CU).
#[inline(never)]
pub fn require_canonical_bump(seeds: &[&[u8]], bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    let mut pre = Preimage::new(seeds, program_id)?;
    if !pre.none_above(bump) {
        return Err(Error::WrongPda);
    }
    Ok(())
}
