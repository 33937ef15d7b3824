"""What SBPF v0 runs exactly as LLVM's BPF back end meant it, instruction by instruction.

An eBPF instruction is 8 bytes: opcode, dst|src<<4 registers, a signed 16-bit offset and a signed
32-bit immediate (lddw takes two slots). The v0 virtual machine accepts several encodings that it then
executes differently from upstream eBPF, silently: 32-bit ALU results are sign-extended instead of
zero-extended, the v4 forms that hide in the offset field (sdiv/smod, movsx) run as their unsigned or
plain cousins, and so on. `refusal()` names those forms so the relinker can refuse them before they
become wrong arithmetic on chain.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

INSN_SIZE = 8
MM_PROGRAM_START = 0x1_0000_0000  # where the v0 loader maps the ELF image (file offset == vaddr)

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
_JMP_CONDITIONAL = {op | src | CLS_JMP for op in (0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0xA0, 0xB0, 0xC0, 0xD0)
                    for src in (0x00, 0x08)}
_ALU64_TWO_FORMS = {0x00, 0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x90, 0xA0, 0xB0, 0xC0}


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


def refusal(insn: Insn) -> str | None:
    """Why SBPF v0 would not run `insn` as LLVM meant it, or None when it is safe.

    `lddw`'s second slot is not passed here (the caller skips it).
    """
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
    if cls == CLS_ALU64:
        base = op & 0xF0
        if base == 0xD0:
            return f"bswap (opcode {op:#04x}, cpu v4) does not exist in SBPF v0; compile for cpu v2"
        if base in (0x30, 0x90) and insn.off != 0:
            kind = "sdiv" if base == 0x30 else "smod"
            return (f"signed division {kind} (opcode {op:#04x} with off={insn.off}, cpu v4): SBPF v0 "
                    f"ignores the offset and divides UNSIGNED; compile for cpu v2 and avoid signed division")
        if base == 0xB0 and insn.off != 0:
            return (f"sign-extending move movsx (opcode {op:#04x} with off={insn.off}, cpu v4): SBPF v0 "
                    f"runs it as a plain mov; compile for cpu v2")
        if base == 0x80:
            return None if op == 0x87 and insn.off == 0 else f"malformed neg (opcode {op:#04x})"
        if base in _ALU64_TWO_FORMS:
            if insn.off != 0:
                return f"{name} (opcode {op:#04x}) with a non-zero offset field ({insn.off}) is a v4 form"
            return None
        return f"unknown ALU64 opcode {op:#04x}"
    if cls == CLS_LDX:
        if op in _MEM_LOADS:
            return None
        if op & 0xE0 == 0x80:
            return (f"sign-extending load ldsx (opcode {op:#04x}, mode MEMSX, cpu v4): SBPF v0 does not "
                    f"sign-extend; compile for cpu v2")
        return f"load with unsupported mode (opcode {op:#04x})"
    if cls in (CLS_ST, CLS_STX):
        if op in _MEM_STORES_IMM or op in _MEM_STORES_REG:
            return None
        if op & 0xE0 == 0xC0:
            return (f"atomic operation (opcode {op:#04x}, mode ATOMIC, imm {insn.imm:#x}): SBPF v0 has no "
                    f"atomics; do not use atomic types in the program")
        return f"store with unsupported mode (opcode {op:#04x})"
    if cls == CLS_LD:
        if op == LDDW:
            return None
        return f"legacy packet load (opcode {op:#04x}) does not exist in SBPF"
    if cls == CLS_JMP:
        if op in _JMP_CONDITIONAL or op in (0x05, CALL, EXIT):
            return None
        if op == CALLX:
            return None
        return f"unknown jump opcode {op:#04x}"
    return f"unknown opcode {op:#04x}"  # pragma: no cover - every class is handled above
