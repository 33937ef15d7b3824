//! Program-derived addresses. The program never searches for a bump: bumps are passed in or read
//! from account data and checked here. At creation (`check_pda`) the address must be
//! create_program_address of the seeds and the bump must be canonical, so that each PDA type has
//! exactly one address per set of seeds; where the seeds themselves are used for one creation only
//! (a batch index), `check_address` skips the canonical proof; an existing account is checked against
//! the bump it stored (`require_derived`).
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

    /// `addr` is create_program_address(seeds ++ [bump]).
    #[inline(always)]
    fn derives(&mut self, bump: u8, addr: &Pubkey) -> bool {
        match self.derive(&[bump]) {
            Some(a) if keq(&a, addr) => true,
            _ => false,
        }
    }
}

/// Require `addr == create_program_address(seeds ++ [bump], program_id)` with a canonical bump.
#[inline(never)]
pub fn check_pda(addr: &Pubkey, seeds: &[&[u8]], bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    let mut pre = Preimage::new(seeds, program_id)?;
    if !pre.derives(bump, addr) {
        return Err(Error::WrongPda);
    }
    if !pre.none_above(bump) {
        return Err(Error::WrongPda);
    }
    Ok(())
}

/// Require `addr == create_program_address(seeds ++ [bump], program_id)` for the bump as given: the
/// runtime's rule without the canonical-bump proof, which derives every bump above `bump` (one
/// sha256 and one curve check each: seed-dependent, 0 to several thousand CU). Sound only for seeds
/// the program creates an account at no more than once ever, whatever the bump: a Batch, whose index is
/// Config.batch_count, which the same post_batch advances (docs/security-review.md, "Batches: one per
/// index without the canonical-bump proof").
#[inline(never)]
pub fn check_address(addr: &Pubkey, seeds: &[&[u8]], bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    let mut pre = Preimage::new(seeds, program_id)?;
    if pre.derives(bump, addr) {
        Ok(())
    } else {
        Err(Error::WrongPda)
    }
}

/// Require `addr == sha256(seeds ++ [bump] ++ program_id ++ "ProgramDerivedAddress")`: the check for
/// an account that already exists, with the bump it stored. No curve check and no canonical-bump
/// search (~160 CU instead of 330+): the account holds this program's data, and the program creates
/// accounts only through `check_pda` (full runtime rule + canonical bump), so an existing account whose
/// address is this hash is the one account of these seeds. Nobody holds a private key for a hash
/// output, so no keypair account can sit at that address; and no program-owned account is accepted on
/// the strength of who could sign for it.
#[inline(never)]
pub fn require_derived(addr: &Pubkey, seeds: &[&[u8]], bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    let mut pre = Preimage::new(seeds, program_id)?;
    pre.parts[pre.bump_at] = SolBytes::of(core::slice::from_ref(&bump));
    let h = sha256(&pre.parts[..pre.bump_at + 3]);
    if keq(&h, addr) {
        Ok(())
    } else {
        Err(Error::WrongPda)
    }
}
