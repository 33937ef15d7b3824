"""The rustc target the program is compiled for: upstream `bpfel-unknown-none` with two changes.

- "obj-is-bitcode": false — rustc must emit a real BPF object for the relinker, not LLVM bitcode;
- "cpu": "v2" — no alu32 / jmp32 (cpu v3) and no sdiv, movsx, ldsx, bswap (cpu v4). Both SBPF v0 and
  SBPF v3 sign-extend the results of add32/sub32/mul32, which LLVM's alu32 code relies on being
  zero-extended, so cpu v3 (= alu32 + jmp32) is wrong for SBPF v3 too; and LLVM emits JMP32 only on
  32-bit registers, i.e. only with alu32, so `+jmp32` alone changes nothing. One object serves both
  SBPF versions; the relinker still checks every instruction, this only keeps LLVM from choosing them.

The spec is derived from the installed rustc rather than committed, because its JSON schema follows the
compiler version; its text is part of the core cache key, so a changed spec rebuilds core.
"""
from __future__ import annotations

import json

TARGET_NAME = "bpfel-solana-sbf"  # rustc names the target after the spec file's stem
BASE_TARGET = "bpfel-unknown-none"
OVERRIDES = {"obj-is-bitcode": False, "cpu": "v2"}


def derive_spec(upstream_json: str) -> str:
    """The spec text written next to the cache (deterministic: sorted keys, fixed indentation)."""
    spec = json.loads(upstream_json)
    if spec.get("arch") != "bpf":
        raise ValueError(f"{BASE_TARGET} spec has arch {spec.get('arch')!r}, expected 'bpf'")
    spec.update(OVERRIDES)
    return json.dumps(spec, indent=2, sort_keys=True) + "\n"
