"""The relinker refuses, naming function and offset, every form the target SBPF version (v3 by default,
or v0) would run differently or not at all, and accepts what that version runs like eBPF.

The objects are committed (fixtures/asm/*.o, made from the .s beside them by make_fixtures.py), so these
tests run without any toolchain or runtime.
"""
from __future__ import annotations

import struct

import pytest
from refused_forms import ALL, INSTRUCTION_FORMS
from toolchain_support import ASM

from contracts.toolchain import RelinkError, relink


REFUSALS = [(form, version) for form in ALL for version in sorted(form.refused_by)]
ACCEPTANCES = [(form, version) for form in ALL for version in form.accepted_by]


@pytest.mark.parametrize("form,version", REFUSALS, ids=[f"{f.name}-v{v}" for f, v in REFUSALS])
def test_refused(form, version):
    with pytest.raises(RelinkError) as info:
        relink((ASM / f"refused_{form.name}.o").read_bytes(), version)
    message = str(info.value)
    for word in form.words(version):
        assert word in message, f"{word!r} missing from: {message}"
    assert "\n" not in message  # one line for the CLI


@pytest.mark.parametrize("form,version", ACCEPTANCES, ids=[f"{f.name}-v{v}" for f, v in ACCEPTANCES])
def test_accepted_where_that_version_runs_it_as_compiled(form, version):
    """The other side of each version-specific refusal: a check that refused these would be too broad."""
    image, _ = relink((ASM / f"refused_{form.name}.o").read_bytes(), version)
    assert image[48:52] == version.to_bytes(4, "little")  # e_flags


def test_every_instruction_form_has_a_fixture():
    assert {f.name for f in INSTRUCTION_FORMS} >= {
        "alu32_add", "sub32", "mul32", "mov32", "jmp32", "sdiv", "smod", "movsx", "ldsx", "bswap", "atomic_add",
        "stack_below_frame", "unavailable_syscall", "unknown_syscall_hash"}
    assert all(set(f.refused_by) | set(f.accepted_by) for f in ALL)


@pytest.mark.parametrize("version", [3, 0])
def test_all_problems_are_listed(version):
    """Two refused functions in one object: the message counts the rest, `problems` holds each."""
    obj = bytearray((ASM / "relocs.o").read_bytes())
    # Turn relocs.s's reachable `r0 += 1` in add_one and `r0 -= ...` in place of a `r0 = <imm>` in f0
    # into 32-bit forms both versions sign-extend (add32, sub32).
    text = bytes(obj)
    add = bytes([0x07, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00])
    mov = bytes([0xB7, 0x00, 0x00, 0x00, 0x02, 0x01, 0x00, 0x00])
    obj[text.index(add)] = 0x04  # add64 imm -> add32 imm
    obj[text.index(mov)] = 0x14  # mov64 imm -> sub32 imm
    with pytest.raises(RelinkError) as info:
        relink(bytes(obj), version)
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
