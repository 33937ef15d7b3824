"""The syscalls a Solana program may leave undefined, and the hash the runtime knows each one by.

Every syscall is keyed by the murmur3-32 hash (seed 0) of its name. SBPF v0 leaves the hashing to the
loader (a dynamic relocation names the syscall and deployment fails on an unknown name); SBPF v3 has no
relocations, so the relinker writes the hash into the `call` itself, and the runtime finds out that a
hash is unknown only when that call is executed. Any other undefined symbol is a missing function
(memcpy, __multi3, ...), refused at build time with a hint.
"""
import struct

KNOWN_SYSCALLS = frozenset({
    "abort",
    "sol_panic_",
    "sol_log_",
    "sol_log_64_",
    "sol_log_compute_units_",
    "sol_log_pubkey",
    "sol_log_data",
    "sol_create_program_address",
    "sol_try_find_program_address",
    "sol_sha256",
    "sol_keccak256",
    "sol_blake3",
    "sol_secp256k1_recover",
    "sol_poseidon",
    "sol_big_mod_exp",
    "sol_curve_validate_point",
    "sol_curve_group_op",
    "sol_curve_multiscalar_mul",
    "sol_alt_bn128_group_op",
    "sol_alt_bn128_compression",
    "sol_get_clock_sysvar",
    "sol_get_epoch_schedule_sysvar",
    "sol_get_fees_sysvar",
    "sol_get_rent_sysvar",
    "sol_get_last_restart_slot",
    "sol_get_epoch_rewards_sysvar",
    "sol_get_sysvar",
    "sol_get_epoch_stake",
    "sol_memcpy_",
    "sol_memmove_",
    "sol_memcmp_",
    "sol_memset_",
    "sol_invoke_signed_c",
    "sol_invoke_signed_rust",
    "sol_alloc_free_",
    "sol_set_return_data",
    "sol_get_return_data",
    "sol_get_processed_sibling_instruction",
    "sol_get_stack_height",
    "sol_remaining_compute_units",
})

# Known names that Agave 4.1 (solders 0.29's LiteSVM) does not register for SBPF v3 programs under devnet's
# or mainnet's feature set (localnet/features, from the Explorer's gate list of 2026-08-20): a `call` to one
# of them is deployed without complaint (v3 deployment verifies no syscall) and fails with "unsupported BPF
# instruction" when it runs. tests/toolchain/test_syscalls.py executes every name under both sets (and
# under all gates, where only the fees sysvar stays out), so a cluster that activates one fails that test
# and the entry can go.
UNAVAILABLE_IN_V3 = {
    "sol_big_mod_exp": "its feature gate is active on neither devnet nor mainnet",
    "sol_blake3": "its feature gate is active on neither devnet nor mainnet",
    "sol_get_fees_sysvar": "the fees sysvar is gone under every feature set",
    "sol_remaining_compute_units": "its feature gate is active on neither devnet nor mainnet",
}

# Undefined symbols rustc/LLVM emit for constructs the BPF back end cannot lower, with the way out.
HINTS = {
    "memcpy": "variable-size copies must go through sol_memcpy_ (copy_from_slice of a runtime length)",
    "memmove": "variable-size moves must go through sol_memmove_",
    "memset": "variable-size fills must go through sol_memset_",
    "memcmp": "variable-size comparisons must go through sol_memcmp_ (== on slices)",
    "bcmp": "variable-size comparisons must go through sol_memcmp_ (== on slices)",
    "__multi3": "128-bit or overflow-checked multiplication: use mul-div on 32-bit halves",
    "__udivti3": "128-bit division is not available",
    "__umodti3": "128-bit division is not available",
}


def murmur3_32(data: bytes, seed: int = 0) -> int:
    """MurmurHash3 x86 32-bit, the hash SBPF keys syscalls (and v0 functions) by."""
    mask = 0xFFFFFFFF
    c1, c2 = 0xCC9E2D51, 0x1B873593
    h = seed & mask
    whole = len(data) // 4 * 4
    for (k,) in struct.iter_unpack("<I", data[:whole]):
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
        h = ((h << 13) | (h >> 19)) & mask
        h = (h * 5 + 0xE6546B64) & mask
    tail = data[whole:]
    if tail:
        k = int.from_bytes(tail, "little")
        k = (k * c1) & mask
        k = ((k << 15) | (k >> 17)) & mask
        h ^= (k * c2) & mask
    h ^= len(data)
    h ^= h >> 16
    h = (h * 0x85EBCA6B) & mask
    h ^= h >> 13
    h = (h * 0xC2B2AE35) & mask
    h ^= h >> 16
    return h


def syscall_hash(name: str) -> int:
    """The 32-bit key of syscall `name`: what an SBPF v3 `call` (src=0) carries in its immediate."""
    return murmur3_32(name.encode())
