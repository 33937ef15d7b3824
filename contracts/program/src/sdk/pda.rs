//! Program-derived addresses. The program never searches for a bump (find_program_address costs
//! 1,500 CU per bump tried): bumps are passed in or read from account data and checked here once.

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
    Ok(())
}
