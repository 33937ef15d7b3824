"""Instruction-form rules (contracts/toolchain/sbpf.py) on hand-encoded instructions, and symbol names."""
from __future__ import annotations

import pytest

from contracts.toolchain.sbpf import Insn, refusal
from contracts.toolchain.symbols import demangle


def insn(opcode: int, dst: int = 1, src: int = 2, off: int = 0, imm: int = 0) -> Insn:
    return Insn(opcode, dst, src, off, imm)


@pytest.mark.parametrize("opcode", [0x07, 0x0F, 0x1F, 0x27, 0x3F, 0x4F, 0x57, 0x67, 0x77, 0x87, 0x9F, 0xAF,
                                    0xB7, 0xBF, 0xC7, 0xCF])
def test_alu64_forms_are_accepted(opcode):
    assert refusal(insn(opcode)) is None


@pytest.mark.parametrize("opcode", [0x04, 0x0C, 0x14, 0x24, 0x34, 0x3C, 0x84, 0x94, 0xA4, 0xB4, 0xBC, 0xC4])
def test_every_alu32_form_is_refused(opcode):
    assert "32-bit ALU" in refusal(insn(opcode))


@pytest.mark.parametrize("opcode,imm", [(0xD4, 16), (0xD4, 32), (0xD4, 64), (0xDC, 16), (0xDC, 32), (0xDC, 64)])
def test_le_be_conversions_are_accepted(opcode, imm):
    # BPF_END in the ALU class zero-extends in both eBPF and SBPF v0 (relocs.s runs be16 in LiteSVM).
    assert refusal(insn(opcode, imm=imm)) is None


def test_le_be_with_a_bad_width_is_refused():
    assert refusal(insn(0xDC, imm=8)) is not None


@pytest.mark.parametrize("opcode", [0x06, 0x16, 0x1E, 0x26, 0x56, 0xA6, 0xD6])
def test_jmp32_class_is_refused(opcode):
    assert "32-bit jump" in refusal(insn(opcode))


@pytest.mark.parametrize("opcode,off,word", [(0x3F, 1, "sdiv"), (0x37, 1, "sdiv"), (0x9F, 1, "smod"),
                                              (0x97, 1, "smod"), (0xBF, 8, "movsx"), (0xBF, 32, "movsx")])
def test_v4_forms_hidden_in_the_offset_are_refused(opcode, off, word):
    assert word in refusal(insn(opcode, off=off))


@pytest.mark.parametrize("opcode", [0x81, 0x89, 0x91])
def test_sign_extending_loads_are_refused(opcode):
    assert "ldsx" in refusal(insn(opcode))


@pytest.mark.parametrize("opcode", [0xC3, 0xDB])
def test_atomics_are_refused(opcode):
    assert "atomic" in refusal(insn(opcode, imm=0xF1))


def test_bswap_is_refused():
    assert "bswap" in refusal(insn(0xD7, imm=64))


@pytest.mark.parametrize("opcode", [0x61, 0x69, 0x71, 0x79, 0x62, 0x6A, 0x72, 0x7A, 0x63, 0x6B, 0x73, 0x7B,
                                    0x05, 0x15, 0x1D, 0x25, 0x2D, 0x35, 0x45, 0x55, 0x5D, 0x65, 0x75, 0xA5,
                                    0xB5, 0xC5, 0xD5, 0xDD, 0x85, 0x8D, 0x95, 0x18])
def test_v0_memory_and_jump_forms_are_accepted(opcode):
    assert refusal(insn(opcode)) is None


@pytest.mark.parametrize("opcode", [0x20, 0x28, 0x30, 0x40, 0xE5, 0xF7, 0xE7])
def test_unknown_opcodes_are_refused(opcode):
    assert refusal(insn(opcode)) is not None


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
