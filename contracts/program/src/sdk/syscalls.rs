//! Solana syscalls the program uses. The loader resolves each by the murmur3 hash of its name, so the
//! names must match the runtime's exactly.
#![allow(dead_code)]

/// A (pointer, length) pair as the runtime's C ABI expects for byte slices.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SolBytes {
    pub addr: *const u8,
    pub len: u64,
}

impl SolBytes {
    #[inline(always)]
    pub fn of(s: &[u8]) -> SolBytes {
        SolBytes { addr: s.as_ptr(), len: s.len() as u64 }
    }
}

extern "C" {
    pub fn sol_log_(message: *const u8, len: u64);
    pub fn sol_log_64_(a: u64, b: u64, c: u64, d: u64, e: u64);
    pub fn sol_log_data(data: *const SolBytes, data_len: u64);
    pub fn sol_panic_(file: *const u8, len: u64, line: u64, column: u64) -> !;
    pub fn sol_sha256(vals: *const SolBytes, val_len: u64, hash_result: *mut u8) -> u64;
    pub fn sol_create_program_address(
        seeds: *const SolBytes,
        seeds_len: u64,
        program_id: *const u8,
        address: *mut u8,
    ) -> u64;
    /// 0 when the 32 bytes at `point` are a valid point of the curve `curve_id` (0 = edwards25519).
    pub fn sol_curve_validate_point(curve_id: u64, point: *const u8, result: *mut u8) -> u64;
    pub fn sol_invoke_signed_c(
        instruction: *const u8,
        account_infos: *const u8,
        account_infos_len: u64,
        signers_seeds: *const u8,
        signers_seeds_len: u64,
    ) -> u64;
    pub fn sol_get_clock_sysvar(addr: *mut u8) -> u64;
    pub fn sol_memcpy_(dst: *mut u8, src: *const u8, n: u64);
}

/// Write a message to the program log.
#[inline(always)]
pub fn log(msg: &str) {
    // SAFETY: the runtime reads exactly `len` bytes from `msg`.
    unsafe { sol_log_(msg.as_ptr(), msg.len() as u64) }
}
