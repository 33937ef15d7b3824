//! Program-derived addresses. The program never searches for a bump (find_program_address costs
//! 1,500 CU per bump tried): bumps are passed in or read from account data and checked here once.
//! At creation the bump must also be canonical (`require_canonical_bump`), so that each PDA type has
//! exactly one address per set of seeds.

use super::pubkey::{keq, Pubkey};
use super::syscalls::{sol_create_program_address, SolBytes};
use crate::error::Error;

/// Most seeds any PDA of this program has, bump included.
pub const MAX_SEEDS: usize = 4;

/// Require `addr == create_program_address(seeds ++ [bump], program_id)`.
#[inline(never)]
pub fn check_pda(addr: &Pubkey, seeds: &[&[u8]], bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    let bump_seed = [bump];
    let mut sb = [SolBytes { addr: core::ptr::null(), len: 0 }; MAX_SEEDS];
    let n = seeds.len();
    if n + 1 > MAX_SEEDS {
        return Err(Error::WrongPda);
    }
    let mut i = 0;
    while i < n {
        sb[i] = SolBytes::of(seeds[i]);
        i += 1;
    }
    sb[n] = SolBytes::of(&bump_seed);
    let mut out = [0u8; 32];
    // SAFETY: sb holds n + 1 valid slices; out has 32 bytes.
    let rc = unsafe { sol_create_program_address(sb.as_ptr(), (n + 1) as u64, program_id.as_ptr(), out.as_mut_ptr()) };
    if rc != 0 || !keq(&out, addr) {
        return Err(Error::WrongPda);
    }
    require_canonical_bump(seeds, bump, program_id)
}

/// Require that `bump` is the canonical bump of `seeds` (the one find_program_address returns): no
/// higher bump derives a valid PDA. Without this, one set of seeds has ~128 valid addresses, so a
/// second Config (with its own admin and arbiter), a second Channel of the same pair (whose
/// settled_amount starts at zero: every receipt paid again) or a second Customer, Provider, Epoch...
/// could be created, while the program identifies existing accounts by owner, type and stored keys.
/// Run only when an account is created; a canonical bump costs on average one extra syscall.
#[inline(never)]
pub fn require_canonical_bump(seeds: &[&[u8]], bump: u8, program_id: &Pubkey) -> Result<(), Error> {
    let n = seeds.len();
    if n + 1 > MAX_SEEDS {
        return Err(Error::WrongPda);
    }
    let mut sb = [SolBytes { addr: core::ptr::null(), len: 0 }; MAX_SEEDS];
    let mut i = 0;
    while i < n {
        sb[i] = SolBytes::of(seeds[i]);
        i += 1;
    }
    let mut out = [0u8; 32];
    let mut b = bump;
    while b < u8::MAX {
        b += 1;
        let higher = [b];
        sb[n] = SolBytes::of(&higher);
        // SAFETY: sb holds n + 1 valid slices; out has 32 bytes.
        let rc = unsafe { sol_create_program_address(sb.as_ptr(), (n + 1) as u64, program_id.as_ptr(), out.as_mut_ptr()) };
        if rc == 0 {
            return Err(Error::WrongPda);
        }
    }
    Ok(())
}
