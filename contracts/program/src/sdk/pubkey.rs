//! Public keys and the well-known program ids.

pub type Pubkey = [u8; 32];

/// Compare two keys as four u64 loads: `==` on [u8; 32] unrolls to ~1.5 KB of byte compares on BPF.
#[inline(always)]
pub fn keq(a: &Pubkey, b: &Pubkey) -> bool {
    let a = a.as_ptr() as *const u64;
    let b = b.as_ptr() as *const u64;
    // SAFETY: both point at 32 readable bytes; unaligned reads are allowed on the target.
    unsafe {
        core::ptr::read_unaligned(a) == core::ptr::read_unaligned(b)
            && core::ptr::read_unaligned(a.add(1)) == core::ptr::read_unaligned(b.add(1))
            && core::ptr::read_unaligned(a.add(2)) == core::ptr::read_unaligned(b.add(2))
            && core::ptr::read_unaligned(a.add(3)) == core::ptr::read_unaligned(b.add(3))
    }
}

#[inline(always)]
pub fn is_zero(a: &Pubkey) -> bool {
    keq(a, &[0u8; 32])
}

/// 11111111111111111111111111111111
pub const SYSTEM_PROGRAM_ID: Pubkey = [0u8; 32];

/// TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA
pub const TOKEN_PROGRAM_ID: Pubkey = [
    6, 221, 246, 225, 215, 101, 161, 147, 217, 203, 225, 70, 206, 235, 121, 172, 28, 180, 133, 237, 95, 91,
    55, 145, 58, 140, 245, 133, 126, 255, 0, 169,
];

/// BPFLoader1111111111111111111111111111111111 (deprecated loader: immutable programs)
pub const BPF_LOADER_DEPRECATED_ID: Pubkey = [
    2, 168, 246, 145, 78, 136, 161, 107, 189, 35, 149, 133, 95, 100, 4, 217, 180, 244, 86, 183, 130, 27, 176, 20,
    87, 73, 66, 140, 0, 0, 0, 0,
];

/// BPFLoader2111111111111111111111111111111111 (loader v2: immutable programs)
pub const BPF_LOADER_ID: Pubkey = [
    2, 168, 246, 145, 78, 136, 161, 110, 57, 90, 225, 40, 148, 143, 250, 105, 86, 147, 55, 104, 24, 221, 71, 67,
    82, 33, 243, 198, 0, 0, 0, 0,
];

/// BPFLoaderUpgradeab1e11111111111111111111111 (loader v3: program + ProgramData with an upgrade authority)
pub const BPF_LOADER_UPGRADEABLE_ID: Pubkey = [
    2, 168, 246, 145, 78, 136, 161, 176, 226, 16, 21, 62, 247, 99, 174, 43, 0, 194, 185, 61, 22, 193, 36, 210,
    192, 83, 122, 16, 4, 128, 0, 0,
];
