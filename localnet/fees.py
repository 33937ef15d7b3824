"""The fee rules of the runtime, for the RPC methods that quote fees without executing (getFeeForMessage,
getRecentPrioritizationFees): 5,000 lamports per signature (own and precompile-checked) plus the priority fee,
compute-unit price x compute-unit limit, in micro-lamports, rounded up.

The compute-unit limit is the SetComputeUnitLimit value (at most 1.4M) or, without one, 3,000 per builtin
instruction and 200,000 per other instruction (Agave's ComputeBudgetInstructionDetails). Tests compare every
quote with what LiteSVM's runtime charged (meta.fee) for the same message.
"""
from __future__ import annotations

from typing import Any, Sequence

COMPUTE_BUDGET_PROGRAM = "ComputeBudget111111111111111111111111111111"
MAX_COMPUTE_UNIT_LIMIT = 1_400_000
DEFAULT_INSTRUCTION_LIMIT = 200_000
BUILTIN_INSTRUCTION_LIMIT = 3_000
MICRO_LAMPORTS_PER_LAMPORT = 1_000_000
# Builtins that were not migrated to core BPF programs (stake, config, address lookup table were: they count
# as ordinary programs).
BUILTINS = frozenset({
    "11111111111111111111111111111111", "Vote111111111111111111111111111111111111111", COMPUTE_BUDGET_PROGRAM,
    "BPFLoader1111111111111111111111111111111111", "BPFLoader2111111111111111111111111111111111",
    "BPFLoaderUpgradeab1e11111111111111111111111", "LoaderV411111111111111111111111111111111111",
    "Ed25519SigVerify111111111111111111111111111", "KeccakSecp256k11111111111111111111111111111",
    "Secp256r1SigVerify1111111111111111111111111", "ZkE1Gama1Proof11111111111111111111111111111",
})
_SET_LIMIT, _SET_PRICE = 2, 3


def compute_budget(instructions: Sequence[Any], keys: Sequence[str]) -> tuple[int, int]:
    """(compute-unit limit, compute-unit price in micro-lamports) a message requests."""
    limit = price = None
    builtin = other = 0
    for ix in instructions:
        prog = keys[ix.program_id_index]
        if prog == COMPUTE_BUDGET_PROGRAM:
            data = bytes(ix.data)
            if data[:1] == bytes([_SET_LIMIT]) and len(data) == 5:
                limit = int.from_bytes(data[1:5], "little")
            elif data[:1] == bytes([_SET_PRICE]) and len(data) == 9:
                price = int.from_bytes(data[1:9], "little")
        if prog in BUILTINS:
            builtin += 1
        else:
            other += 1
    if limit is None:
        limit = builtin * BUILTIN_INSTRUCTION_LIMIT + other * DEFAULT_INSTRUCTION_LIMIT
    return min(limit, MAX_COMPUTE_UNIT_LIMIT), price or 0


def prioritization_fee(limit: int, price: int) -> int:
    return -(-limit * price // MICRO_LAMPORTS_PER_LAMPORT)
