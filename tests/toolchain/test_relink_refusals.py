"""The relinker refuses, naming function and offset, every form SBPF v0 would run differently.

The objects are committed (fixtures/asm/*.o, made from the .s beside them by make_fixtures.py), so these
tests run without any toolchain.
"""
from __future__ import annotations

import struct

import pytest
from refused_forms import ALL, INSTRUCTION_FORMS
from toolchain_support import ASM

from contracts.toolchain import RelinkError, relink


@pytest.mark.parametrize("form", ALL, ids=[f.name for f in ALL])
def test_refused(form):
    with pytest.raises(RelinkError) as info:
        relink((ASM / f"refused_{form.name}.o").read_bytes())
    message = str(info.value)
    for word in form.expect:
        assert word in message, f"{word!r} missing from: {message}"
    assert "\n" not in message  # one line for the CLI


def test_every_instruction_form_has_a_fixture():
    assert {f.name for f in INSTRUCTION_FORMS} >= {
        "alu32_add", "mov32", "jmp32", "sdiv", "smod", "movsx", "ldsx", "bswap", "atomic_add"}


def test_all_problems_are_listed():
    """Two refused functions in one object: the message counts the rest, `problems` holds each."""
    obj = bytearray((ASM / "relocs.o").read_bytes())
    # Turn relocs.s's reachable `r0 += 1` in add_one and a `r0 = <imm>` in f0 into 32-bit forms.
    text = bytes(obj)
    add = bytes([0x07, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00])
    mov = bytes([0xB7, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00])
    for raw in (add, mov):
        at = text.index(raw)
        obj[at] = raw[0] & 0xF8 | 0x04  # ALU64 -> ALU (32-bit)
    with pytest.raises(RelinkError) as info:
        relink(bytes(obj))
    assert len(info.value.problems) == 2
    assert "(and 1 more problem)" in str(info.value)
    assert any("function `add_one` at offset 0x8" in p for p in info.value.problems)
    assert any("function `f0` at offset 0x0" in p for p in info.value.problems)


def test_not_an_elf_file():
    with pytest.raises(RelinkError, match="not an ELF object"):
        relink(b"definitely not ELF" * 10)


def test_a_linked_object_is_refused():
    obj = bytearray((ASM / "relocs.o").read_bytes())
    struct.pack_into("<H", obj, 16, 3)  # e_type = ET_DYN
    with pytest.raises(RelinkError, match="relocatable object"):
        relink(bytes(obj))


def test_an_x86_object_is_refused():
    obj = bytearray((ASM / "relocs.o").read_bytes())
    struct.pack_into("<H", obj, 18, 62)  # e_machine = EM_X86_64
    with pytest.raises(RelinkError, match="BPF object"):
        relink(bytes(obj))


def test_missing_entrypoint():
    obj = (ASM / "relocs.o").read_bytes().replace(b"entrypoint\0", b"entrypoinX\0")
    with pytest.raises(RelinkError, match="no `entrypoint` function"):
        relink(obj)


def test_relocation_on_the_wrong_instruction():
    """An R_BPF_64_64 whose lddw was replaced: the relocation is refused, naming function and offset."""
    obj = bytearray((ASM / "relocs.o").read_bytes())
    lddw = bytes([0x18, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00])  # `r1 = message ll` at entrypoint+0x8
    at = bytes(obj).index(lddw)
    obj[at] = 0xB7  # mov64 r1, imm
    obj[at + 8] = 0xB7  # and a second mov in place of lddw's second slot
    with pytest.raises(RelinkError) as info:
        relink(bytes(obj))
    assert info.value.problems == [
        "function `entrypoint` at offset 0x8 (section .text+0x8): R_BPF_64_64 on opcode 0xb7 instead of lddw"]
