"""What SBPF v0 and v3 run exactly as LLVM's BPF back end meant it, instruction by instruction.

An eBPF instruction is 8 bytes: opcode, dst|src<<4 registers, a signed 16-bit offset and a signed
32-bit immediate (lddw takes two slots). The SBPF virtual machine accepts several encodings that it then
executes differently from upstream eBPF, silently: add32/sub32/mul32 results are sign-extended instead
of zero-extended (v0 and v3 alike; only v2 zero-extends), the v4 forms that hide in the offset field
(sdiv/smod, movsx) run as their unsigned or plain cousins, and so on. `refusal(insn, version)` names
those forms so the relinker can refuse them before they become wrong arithmetic on chain.

The rules follow anza-xyz/sbpf 0.21 (what Agave 4.1 and solders 0.29's LiteSVM run): src/program.rs
(what each SBPFVersion enables), src/verifier.rs (what deployment accepts) and src/interpreter.rs (what
each opcode computes). v3 = the v0 instruction set plus JMP32 (SIMD-0377), `callx dst`, static syscalls
(SIMD-0178) and fixed 4 KiB stack frames without the v0 guard gaps between them.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

INSN_SIZE = 8
MM_PROGRAM_START = 0x1_0000_0000  # v0: where the loader maps the ELF image; v3: where the code segment starts
STACK_FRAME_SIZE = 4096  # the runtime's fixed frame (and LLVM's -bpf-stack-size, see build.py)
FRAME_POINTER = 10
SUPPORTED_VERSIONS = (0, 3)

# opcode classes (low 3 bits)
CLS_LD, CLS_LDX, CLS_ST, CLS_STX, CLS_ALU, CLS_JMP, CLS_JMP32, CLS_ALU64 = range(8)

LDDW = 0x18
CALL = 0x85
CALLX = 0x8D
EXIT = 0x95

_ALU_OPS = {
    0x00: "add", 0x10: "sub", 0x20: "mul", 0x30: "div", 0x40: "or", 0x50: "and", 0x60: "lsh",
    0x70: "rsh", 0x80: "neg", 0x90: "mod", 0xA0: "xor", 0xB0: "mov", 0xC0: "arsh", 0xD0: "end",
}
_JMP_OPS = {
    0x00: "ja", 0x10: "jeq", 0x20: "jgt", 0x30: "jge", 0x40: "jset", 0x50: "jne", 0x60: "jsgt",
    0x70: "jsge", 0x80: "call", 0x90: "exit", 0xA0: "jlt", 0xB0: "jle", 0xC0: "jslt", 0xD0: "jsle",
}
_SIZES = {0x00: "w", 0x08: "h", 0x10: "b", 0x18: "dw"}

# Memory access: only mode MEM (0x60) with any size. Loads and stores of all four sizes.
_MEM_LOADS = {0x61, 0x69, 0x71, 0x79}
_MEM_STORES_IMM = {0x62, 0x6A, 0x72, 0x7A}
_MEM_STORES_REG = {0x63, 0x6B, 0x73, 0x7B}
_CONDITIONS = (0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0)
_JMP_CONDITIONAL = {op | src | CLS_JMP for op in _CONDITIONS for src in (0x00, 0x08)}
_JMP32_CONDITIONAL = {op | src | CLS_JMP32 for op in _CONDITIONS for src in (0x00, 0x08)}
_ALU64_TWO_FORMS = {0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xA0, 0xB0, 0xC0}
# ALU32 operations whose 32-bit result SBPF v0/v3 sign-extend (interpreter.rs `sign_extension`).
_ALU32_SIGN_EXTENDED = {0x00: "add32", 0x10: "sub32", 0x20: "mul32"}
# ALU32 operations SBPF v3 zero-extends exactly like eBPF (div/mod unsigned, shifts masked like eBPF).
_ALU32_ZERO_EXTENDED = {0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xA0, 0xB0, 0xC0}
_MEM_WIDTH = {0x00: 4, 0x08: 2, 0x10: 1, 0x18: 8}


@dataclass(frozen=True)
class Insn:
    opcode: int
    dst: int
    src: int
    off: int
    imm: int

    @classmethod
    def decode(cls, raw: bytes, at: int = 0) -> "Insn":
        opcode, regs, off, imm = struct.unpack_from("<BBhi", raw, at)
        return cls(opcode, regs & 0x0F, regs >> 4, off, imm)

    def encode(self) -> bytes:
        return struct.pack("<BBhi", self.opcode, (self.src << 4) | self.dst, self.off, self.imm)


def mnemonic(insn: Insn) -> str:
    """A short human name for error messages (not a disassembler)."""
    op = insn.opcode
    cls = op & 0x07
    if cls in (CLS_ALU, CLS_ALU64):
        name = _ALU_OPS.get(op & 0xF0, f"alu?{op & 0xF0:#x}")
        return name + ("32" if cls == CLS_ALU else "")
    if cls in (CLS_JMP, CLS_JMP32):
        name = _JMP_OPS.get(op & 0xF0, f"jmp?{op & 0xF0:#x}")
        return name + ("32" if cls == CLS_JMP32 else "")
    if op == LDDW:
        return "lddw"
    size = _SIZES.get(op & 0x18, "?")
    kind = {CLS_LD: "ld", CLS_LDX: "ldx", CLS_ST: "st", CLS_STX: "stx"}[cls]
    return f"{kind}{size}"


def refusal(insn: Insn, version: int = 3) -> str | None:
    """Why SBPF `version` (0 or 3) would not run `insn` as LLVM meant it, or None when it is safe.

    `lddw`'s second slot is not passed here (the caller skips it); `call` is checked by the relinker,
    which knows whether a relocation names its target.
    """
    if version not in SUPPORTED_VERSIONS:
        raise ValueError(f"unsupported SBPF version {version}: expected one of {SUPPORTED_VERSIONS}")
    reason = _refusal_v0(insn) if version == 0 else _refusal_v3(insn)
    if reason is None and insn.opcode & 0x07 in (CLS_LDX, CLS_ST, CLS_STX):
        return _stack_refusal(insn)
    return reason


def _refusal_v0(insn: Insn) -> str | None:
    op = insn.opcode
    cls = op & 0x07
    name = mnemonic(insn)
    if cls == CLS_ALU:
        # le/be (BPF_END, class ALU) zero-extend exactly like SBPF v0's LE/BE: the one safe ALU-class form.
        if op in (0xD4, 0xDC) and insn.imm in (16, 32, 64):
            return None
        return (f"32-bit ALU instruction {name} (opcode {op:#04x}): SBPF v0 sign-extends 32-bit results "
                f"where eBPF zero-extends them; compile for cpu v2 or v1 (no alu32)")
    if cls == CLS_JMP32:
        return (f"32-bit jump {name} (opcode {op:#04x}, cpu v3/v4): SBPF v0 has no JMP32 class; "
                f"compile for cpu v2 or v1")
    return _refusal_common(insn, "v0")


def _refusal_v3(insn: Insn) -> str | None:
    op = insn.opcode
    cls = op & 0x07
    name = mnemonic(insn)
    if cls == CLS_ALU:
        base = op & 0xF0
        if op in (0xD4, 0xDC):
            return None if insn.imm in (16, 32, 64) else f"{name} with width {insn.imm} (must be 16, 32 or 64)"
        if base in _ALU32_SIGN_EXTENDED:
            return (f"32-bit ALU instruction {name} (opcode {op:#04x}): SBPF v3 sign-extends the 32-bit result "
                    f"of add32/sub32/mul32 where eBPF zero-extends it (only SBPF v2 zero-extends); "
                    f"compile without alu32 (cpu v2)")
        return _alu_refusal(insn, "v3", "32", _ALU32_ZERO_EXTENDED)
    if cls == CLS_JMP32:
        if op & 0xF0 == 0x00:
            return (f"gotol / ja32 (opcode {op:#04x}, cpu v4): SBPF v3 has no long jump; "
                    f"compile for cpu v2 or v3")
        if op in _JMP32_CONDITIONAL:
            return None
        return f"unknown 32-bit jump opcode {op:#04x}"
    return _refusal_common(insn, "v3")


def _stack_refusal(insn: Insn) -> str | None:
    """An access through r10 outside the function's own frame, [r10 - 4096, r10).

    SBPF v3 frames are contiguous, so such an access silently reads or overwrites the caller's (or the
    next callee's) frame. v0 separates frames by unmapped 4 KiB gaps only where the runtime enables them:
    Agave 4.1 (solders 0.29) does and faults, Agave 2.2's LiteSVM (solders 0.26) does not, and the write
    lands on the caller (test_sbpf_semantics.py shows both). Refused for both versions.
    """
    base = insn.src if insn.opcode & 0x07 == CLS_LDX else insn.dst
    if base != FRAME_POINTER:
        return None
    width = _MEM_WIDTH[insn.opcode & 0x18]
    if -STACK_FRAME_SIZE <= insn.off and insn.off + width <= 0:
        return None
    return (f"stack access {mnemonic(insn)} at r10{insn.off:+d} outside the function's {STACK_FRAME_SIZE}-byte "
            f"frame: SBPF v3 has no gaps between stack frames (v0 only where the runtime enables them), so it "
            f"would silently reach another function's frame")


def _alu_refusal(insn: Insn, version: str, bits: str, accepted: set[int]) -> str | None:
    """ALU64 (bits "") or v3's ALU32 (bits "32"): the v4 forms hidden in the offset field, neg, the rest."""
    op, base = insn.opcode, insn.opcode & 0xF0
    if base in (0x30, 0x90) and insn.off != 0:
        kind = ("sdiv" if base == 0x30 else "smod") + bits
        return (f"signed division {kind} (opcode {op:#04x} with off={insn.off}, cpu v4): SBPF {version} "
                f"ignores the offset and divides UNSIGNED; compile for cpu v2 and avoid signed division")
    if base == 0xB0 and insn.off != 0:
        return (f"sign-extending move movsx{bits} (opcode {op:#04x} with off={insn.off}, cpu v4): SBPF {version} "
                f"runs it as a plain mov{bits}; compile for cpu v2")
    if base == 0x80:  # neg has no register form
        return None if op & 0x08 == 0 and insn.off == 0 else f"malformed neg{bits} (opcode {op:#04x})"
    if base in accepted:
        if insn.off != 0:
            return f"{mnemonic(insn)} (opcode {op:#04x}) with a non-zero offset field ({insn.off}) is a v4 form"
        return None
    return f"unknown ALU{bits or '64'} opcode {op:#04x}"


def _refusal_common(insn: Insn, version: str) -> str | None:
    """The classes both versions run alike: ALU64, memory, lddw, 64-bit jumps."""
    op = insn.opcode
    cls = op & 0x07
    if cls == CLS_ALU64:
        if op & 0xF0 == 0xD0:
            return f"bswap (opcode {op:#04x}, cpu v4) does not exist in SBPF {version}; compile for cpu v2"
        return _alu_refusal(insn, version, "", _ALU64_TWO_FORMS)
    if cls == CLS_LDX:
        if op in _MEM_LOADS:
            return None
        if op & 0xE0 == 0x80:
            return (f"sign-extending load ldsx (opcode {op:#04x}, mode MEMSX, cpu v4): SBPF {version} does not "
                    f"sign-extend; compile for cpu v2")
        return f"load with unsupported mode (opcode {op:#04x})"
    if cls in (CLS_ST, CLS_STX):
        if op in _MEM_STORES_IMM or op in _MEM_STORES_REG:
            return None
        if op & 0xE0 == 0xC0:
            return (f"atomic operation (opcode {op:#04x}, mode ATOMIC, imm {insn.imm:#x}): SBPF {version} has no "
                    f"atomics; do not use atomic types in the program")
        return f"store with unsupported mode (opcode {op:#04x})"
    if cls == CLS_LD:
        if op == LDDW:
            return None
        return f"legacy packet load (opcode {op:#04x}) does not exist in SBPF"
    if cls == CLS_JMP:
        if op in _JMP_CONDITIONAL or op in (0x05, CALL, CALLX, EXIT):
            return None
        return f"unknown jump opcode {op:#04x}"
    return f"unknown opcode {op:#04x}"  # pragma: no cover - every class is handled by the callers
