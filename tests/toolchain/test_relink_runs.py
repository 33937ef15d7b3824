"""What the relinker accepts loads and runs in LiteSVM, and has the shape the SBPF v0 loader wants.

fixtures/asm/relocs.s needs every relocation kind: R_BPF_64_64 (lddw of rodata and of a function),
R_BPF_64_32 to a syscall and to a function in another section, R_BPF_64_ABS64 (a function table in
.rodata) and callx. Each path returns a different value, so a wrong relocation shows as a wrong number.
"""
from __future__ import annotations

import io

import pytest
from elftools.elf.elffile import ELFFile
from toolchain_support import ASM, Svm

from contracts.toolchain import relink

MM_PROGRAM_START = 0x1_0000_0000


@pytest.fixture(scope="module")
def relocs_so():
    image, report = relink((ASM / "relocs.o").read_bytes())
    return image, report


@pytest.fixture(scope="module")
def svm(relocs_so):
    return Svm(relocs_so[0])


@pytest.mark.parametrize("selector,custom_error", [(0, 769), (1, 1283), (3, 7)])
def test_each_path_returns_its_value(svm, selector, custom_error):
    out = svm.run(bytes([selector]))
    assert not out.ok
    assert f"Custom({custom_error})" in out.error
    assert "Program log: hello relink" in out.logs  # lddw into .rodata + the sol_log_ syscall


def test_success_path(svm):
    out = svm.run(bytes([2]))
    assert out.ok, out.error
    assert "Program log: hello relink" in out.logs
    assert out.compute_units > 0


def test_elf_shape(relocs_so):
    image, report = relocs_so
    elf = ELFFile(io.BytesIO(image))
    assert elf["e_type"] == "ET_DYN" and elf["e_machine"] == "EM_BPF" and elf["e_flags"] == 0
    names = [s.name for s in elf.iter_sections()]
    assert names == ["", ".text", ".rodata", ".dynamic", ".dynsym", ".dynstr", ".rel.dyn", ".shstrtab"]
    for sec in elf.iter_sections():
        if sec["sh_flags"] & 0x2:  # SHF_ALLOC: file offset == virtual address, nothing writable
            assert sec["sh_addr"] == sec["sh_offset"]
            assert not sec["sh_flags"] & 0x1
    text = elf.get_section_by_name(".text")
    entry = [s for s in elf.get_section_by_name(".dynsym").iter_symbols() if s.name == "entrypoint"][0]
    assert elf["e_entry"] == entry["st_value"] == text["sh_addr"]
    rels = list(elf.get_section_by_name(".rel.dyn").iter_relocations())
    assert [r["r_info_type"] for r in rels] == [10]  # only the syscall is left to the loader
    assert [p["p_type"] for p in elf.iter_segments()] == ["PT_LOAD", "PT_LOAD", "PT_LOAD", "PT_DYNAMIC"]
    assert report.syscalls == ["sol_log_"]
    assert report.sections_dropped == 1  # .text.unused, whose 32-bit instruction is therefore harmless


def test_function_table_holds_absolute_program_addresses(relocs_so):
    image, _ = relocs_so
    elf = ELFFile(io.BytesIO(image))
    rodata = elf.get_section_by_name(".rodata").data()
    text = elf.get_section_by_name(".text")
    table = [int.from_bytes(rodata[16 + 8 * i: 24 + 8 * i], "little") for i in range(3)]
    for address in table:
        assert MM_PROGRAM_START + text["sh_addr"] < address < MM_PROGRAM_START + text["sh_addr"] + text["sh_size"]


def test_callx_register_moved_to_imm(relocs_so):
    image, _ = relocs_so
    elf = ELFFile(io.BytesIO(image))
    code = elf.get_section_by_name(".text").data()
    callx = [code[i:i + 8] for i in range(0, len(code), 8) if code[i] == 0x8D]
    assert len(callx) == 2
    for raw in callx:
        assert raw[1] == 0 and int.from_bytes(raw[4:8], "little") == 1  # `callx r1`


def test_relink_is_deterministic(relocs_so):
    assert relink((ASM / "relocs.o").read_bytes())[0] == relocs_so[0]


def test_program_without_syscalls_has_no_dynamic_relocations():
    """No DT_REL at all (the loader refuses DT_REL with DT_RELSZ 0), and the program still runs."""
    obj = (ASM / "refused_alu32_add.o").read_bytes()
    # Patch the refused `w1 += w2` (0x0c) into `r1 += r2` (0x0f): a valid program with no syscall.
    at = obj.index(bytes([0x0C, 0x21]))
    image, report = relink(obj[:at] + b"\x0f" + obj[at + 1:])
    elf = ELFFile(io.BytesIO(image))
    assert elf.get_section_by_name(".rel.dyn") is None
    assert report.syscalls == []
    assert Svm(image).run(b"").ok
