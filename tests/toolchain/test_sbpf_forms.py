"""Instruction-form rules (contracts/toolchain/sbpf.py) on hand-encoded instructions, for SBPF v0 and
v3, and symbol names."""
from __future__ import annotations

import pytest

from contracts.toolchain.sbpf import Insn, refusal
from contracts.toolchain.symbols import demangle


def insn(opcode: int, dst: int = 1, src: int = 2, off: int = 0, imm: int = 0) -> Insn:
    return Insn(opcode, dst, src, off, imm)


BOTH = pytest.mark.parametrize("version", [0, 3])


@BOTH
@pytest.mark.parametrize("opcode", [0x07, 0x0F, 0x1F, 0x27, 0x3F, 0x4F, 0x57, 0x67, 0x77, 0x87, 0x9F, 0xAF,
                                    0xB7, 0xBF, 0xC7, 0xCF])
def test_alu64_forms_are_accepted(opcode, version):
    assert refusal(insn(opcode), version) is None


@pytest.mark.parametrize("opcode", [0x04, 0x0C, 0x14, 0x24, 0x34, 0x3C, 0x84, 0x94, 0xA4, 0xB4, 0xBC, 0xC4])
def test_every_alu32_form_is_refused_for_v0(opcode):
    assert "32-bit ALU" in refusal(insn(opcode), 0)


@pytest.mark.parametrize("opcode", [0x04, 0x0C, 0x14, 0x1C, 0x24, 0x2C])
def test_sign_extended_alu32_forms_are_refused_for_v3(opcode):
    # interpreter.rs: add32/sub32/mul32 go through `sign_extension`, which zero-extends only in v2.
    assert "SBPF v3 sign-extends" in refusal(insn(opcode), 3)


@pytest.mark.parametrize("opcode", [0x34, 0x3C, 0x44, 0x4C, 0x54, 0x5C, 0x64, 0x6C, 0x74, 0x7C, 0x84, 0x94, 0x9C,
                                    0xA4, 0xAC, 0xB4, 0xBC, 0xC4, 0xCC])
def test_zero_extended_alu32_forms_are_accepted_for_v3(opcode):
    # fixtures/asm/v3_forms.s runs each of them against its eBPF meaning (test_v3_programs.py).
    assert refusal(insn(opcode), 3) is None


@pytest.mark.parametrize("opcode,off,word", [(0x3C, 1, "sdiv32"), (0x9C, 1, "smod32"), (0xBC, 8, "movsx32"),
                                              (0x4C, 1, "non-zero offset"), (0x8C, 0, "malformed neg32"), (0xE4, 0, "unknown ALU")])
def test_v4_alu32_forms_are_refused_for_v3(opcode, off, word):
    assert word in refusal(insn(opcode, off=off), 3)


@BOTH
@pytest.mark.parametrize("opcode,imm", [(0xD4, 16), (0xD4, 32), (0xD4, 64), (0xDC, 16), (0xDC, 32), (0xDC, 64)])
def test_le_be_conversions_are_accepted(opcode, imm, version):
    # BPF_END in the ALU class zero-extends in eBPF and SBPF v0/v3 alike (relocs.s runs be16 in LiteSVM).
    assert refusal(insn(opcode, imm=imm), version) is None


@BOTH
def test_le_be_with_a_bad_width_is_refused(version):
    assert refusal(insn(0xDC, imm=8), version) is not None


@pytest.mark.parametrize("opcode", [0x06, 0x16, 0x1E, 0x26, 0x56, 0xA6, 0xD6])
def test_jmp32_class_is_refused_for_v0(opcode):
    assert "32-bit jump" in refusal(insn(opcode), 0)


@pytest.mark.parametrize("opcode", [0x16, 0x1E, 0x26, 0x2E, 0x36, 0x3E, 0x46, 0x4E, 0x56, 0x5E, 0x66, 0x6E,
                                    0x76, 0x7E, 0xA6, 0xAE, 0xB6, 0xBE, 0xC6, 0xCE, 0xD6, 0xDE])
def test_conditional_jmp32_is_accepted_for_v3(opcode):
    assert refusal(insn(opcode), 3) is None


@pytest.mark.parametrize("opcode,word", [(0x06, "gotol"), (0x86, "unknown"), (0x96, "unknown")])
def test_other_jmp32_forms_are_refused_for_v3(opcode, word):
    assert word in refusal(insn(opcode), 3)


@BOTH
@pytest.mark.parametrize("opcode,off,word", [(0x3F, 1, "sdiv"), (0x37, 1, "sdiv"), (0x9F, 1, "smod"),
                                              (0x97, 1, "smod"), (0xBF, 8, "movsx"), (0xBF, 32, "movsx")])
def test_v4_forms_hidden_in_the_offset_are_refused(opcode, off, word, version):
    assert word in refusal(insn(opcode, off=off), version)


@BOTH
@pytest.mark.parametrize("opcode", [0x81, 0x89, 0x91])
def test_sign_extending_loads_are_refused(opcode, version):
    assert "ldsx" in refusal(insn(opcode), version)


@BOTH
@pytest.mark.parametrize("opcode", [0xC3, 0xDB])
def test_atomics_are_refused(opcode, version):
    assert "atomic" in refusal(insn(opcode, imm=0xF1), version)


@BOTH
def test_bswap_is_refused(version):
    assert "bswap" in refusal(insn(0xD7, imm=64), version)


@BOTH
@pytest.mark.parametrize("opcode", [0x61, 0x69, 0x71, 0x79, 0x62, 0x6A, 0x72, 0x7A, 0x63, 0x6B, 0x73, 0x7B,
                                    0x05, 0x15, 0x1D, 0x25, 0x2D, 0x35, 0x45, 0x55, 0x5D, 0x65, 0x75, 0xA5,
                                    0xB5, 0xC5, 0xD5, 0xDD, 0x85, 0x8D, 0x95, 0x18])
def test_memory_and_jump_forms_are_accepted(opcode, version):
    assert refusal(insn(opcode), version) is None


@BOTH
@pytest.mark.parametrize("opcode,dst,src,off", [
    (0x7B, 10, 1, -4096), (0x7B, 10, 1, -8), (0x63, 10, 1, -4), (0x73, 10, 1, -1), (0x62, 10, 0, -4096),
    (0x79, 1, 10, -4096), (0x61, 1, 10, -4), (0x71, 1, 10, -1), (0x7B, 1, 10, 8), (0x79, 10, 1, 8)])
def test_stack_accesses_inside_the_frame_are_accepted(opcode, dst, src, off, version):
    # The last two: r10 is the value stored / the base is another register; only an r10 base counts.
    assert refusal(insn(opcode, dst=dst, src=src, off=off), version) is None


@BOTH
@pytest.mark.parametrize("opcode,dst,src,off", [
    (0x7B, 10, 1, -4104), (0x7B, 10, 1, -4097), (0x7B, 10, 1, -4), (0x7B, 10, 1, 0), (0x72, 10, 0, 0),
    (0x79, 1, 10, -4100), (0x61, 1, 10, -2), (0x69, 1, 10, 0), (0x63, 10, 1, 32767), (0x7A, 10, 0, -32768)])
def test_stack_accesses_outside_the_frame_are_refused(opcode, dst, src, off, version):
    assert "outside the function's 4096-byte frame" in refusal(insn(opcode, dst=dst, src=src, off=off), version)


@BOTH
@pytest.mark.parametrize("opcode", [0x20, 0x28, 0x30, 0x40, 0xE5, 0xF7, 0xE7])
def test_unknown_opcodes_are_refused(opcode, version):
    assert refusal(insn(opcode), version) is not None


def test_unsupported_version():
    with pytest.raises(ValueError, match="unsupported SBPF version 2"):
        refusal(insn(0x07), 2)


def test_encode_decode_round_trip():
    raw = insn(0x8D, dst=3, src=0, off=-2, imm=-1).encode()
    assert Insn.decode(raw) == insn(0x8D, dst=3, src=0, off=-2, imm=-1)


@pytest.mark.parametrize("mangled,pretty", [
    ("_RNvNtCs2DxGA1hvVcO_4core9panicking9panic_fmt", "core::panicking::panic_fmt"),
    ("_ZN4core9panicking9panic_fmt17h0123456789abcdefE", "core::panicking::panic_fmt"),
    ("entrypoint", "entrypoint"),
    ("_RINvXs_garbage", "_RINvXs_garbage"),
])
def test_demangle(mangled, pretty):
    assert demangle(mangled) == pretty
