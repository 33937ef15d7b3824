"""The syscalls a Solana program may leave undefined: the runtime resolves them by name.

The loader looks each one up by murmur3-32 hash of its name; any other undefined symbol is a
missing function (memcpy, __multi3, ...) that would fail only at deploy time, so the relinker refuses
it at build time instead.
"""

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
