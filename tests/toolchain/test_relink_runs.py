"""What the relinker accepts loads and runs in LiteSVM, for SBPF v3 (the default) and v0, and has the
shape each loader wants.

fixtures/asm/relocs.s needs every relocation kind: R_BPF_64_64 (lddw of rodata and of a function),
R_BPF_64_32 to a syscall and to a function in another section, R_BPF_64_ABS64 (a function table in
.rodata) and callx. Each path returns a different value, so a wrong relocation shows as a wrong number.
v3 runs need solders >= 0.29 (the `v3_runtime` fixture); v0 runs on 0.26 and 0.29 alike.
"""
from __future__ import annotations

import io
import struct

import pytest
from elftools.elf.elffile import ELFFile
from toolchain_support import ASM, Svm, v3_calls

from contracts.toolchain import RelinkError, relink
from contracts.toolchain.syscalls import syscall_hash

MM_PROGRAM_START = 0x1_0000_0000
RELOCS = (ASM / "relocs.o").read_bytes()


@pytest.fixture(scope="module", params=[3, 0], ids=["v3", "v0"])
def version(request):
    if request.param == 3:
        request.getfixturevalue("v3_runtime")
    return request.param


@pytest.fixture(scope="module")
def svm(version):
    return Svm(relink(RELOCS, version)[0])


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


def test_v3_elf_shape():
    """What anza-xyz/sbpf's strict parser (SIMD-0189) demands, field by field."""
    image, report = relink(RELOCS)
    elf = ELFFile(io.BytesIO(image))
    assert elf["e_type"] == "ET_DYN" and elf["e_machine"] == "EM_BPF" and elf["e_flags"] == 3
    assert elf["e_phoff"] == 64 and elf["e_phentsize"] == 56 and elf["e_ident"]["EI_OSABI"] == "ELFOSABI_SYSV"
    segments = list(elf.iter_segments())
    assert [(s["p_type"], s["p_flags"], s["p_vaddr"]) for s in segments] == [
        ("PT_LOAD", 4, 0), ("PT_LOAD", 1, MM_PROGRAM_START)]  # PF_R rodata at 0, PF_X code at 1<<32
    offset = 64 + 2 * 56
    for seg in segments:  # contiguous from the end of the program headers, 8-aligned, filesz == memsz
        assert seg["p_offset"] == offset and seg["p_paddr"] == seg["p_vaddr"]
        assert seg["p_filesz"] == seg["p_memsz"] and seg["p_filesz"] % 8 == 0
        offset += seg["p_filesz"]
    rodata, code = segments
    assert code["p_vaddr"] <= elf["e_entry"] < code["p_vaddr"] + code["p_memsz"] and elf["e_entry"] % 8 == 0
    assert elf["e_entry"] == MM_PROGRAM_START  # entrypoint is the first function of relocs.s
    assert not elf.get_section_by_name(".dynamic") and not elf.get_section_by_name(".dynsym")
    assert not any(s["sh_type"] in ("SHT_REL", "SHT_RELA", "SHT_DYNAMIC") for s in elf.iter_sections())
    assert [s.name for s in elf.iter_sections()] == ["", ".rodata", ".text", ".shstrtab"]
    assert rodata.data()[:8] == bytes(8)  # nothing lives at address 0
    assert rodata.data()[8:20] == b"hello relink"
    assert report.syscalls == ["sol_log_"] and report.sbpf_version == 3
    assert report.sections_dropped == 1  # .text.unused, whose 32-bit instruction is therefore harmless


def test_v3_call_encodings():
    """Syscall: src=0, imm = murmur3 of the name; internal call: src=1, pc-relative; callx: register in dst;
    lddw of rodata: its address from 0 (after the 8-byte guard); lddw of a function: 1<<32 + offset."""
    image, _ = relink(RELOCS)
    code = ELFFile(io.BytesIO(image)).get_section_by_name(".text").data()
    insns = [struct.unpack_from("<BBhi", code, i) for i in range(0, len(code), 8)]
    calls = [(regs, imm) for op, regs, _, imm in insns if op == 0x85]
    assert calls == [(0x00, syscall_hash("sol_log_")), (0x10, 2)]  # add_one starts 3 instructions on
    assert [(regs, imm) for op, regs, _, imm in insns if op == 0x8D] == [(0x01, 0), (0x01, 0)]  # callx r1
    assert insns[1][3] == 8 and insns[2][3] == 0  # r1 = message ll: rodata address 8 (guard)
    assert insns[6][3] == 8 + 16  # r1 = table ll: message (12 bytes, aligned to 8) + the guard
    seven = insns[13][3] | insns[14][3] << 32
    assert seven == MM_PROGRAM_START + 0xE8  # r1 = seven ll: a code address
    assert v3_calls(image) == (["sol_log_"], [20])  # add_one follows the 20 instructions of entrypoint


def test_v0_elf_shape():
    image, report = relink(RELOCS, 0)
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
    assert report.syscalls == ["sol_log_"] and report.sbpf_version == 0
    assert report.sections_dropped == 1


@pytest.mark.parametrize("version", [3, 0])
def test_function_table_holds_absolute_code_addresses(version):
    image, _ = relink(RELOCS, version)
    elf = ELFFile(io.BytesIO(image))
    rodata = elf.get_section_by_name(".rodata").data()
    text = elf.get_section_by_name(".text")
    # v3: the .rodata section is the whole segment from address 0 (guard, message, table);
    # v0: .rodata is mapped at MM + its file offset, and so is .text.
    table_at, code_start = (8 + 16, text["sh_addr"]) if version == 3 else (16, MM_PROGRAM_START + text["sh_addr"])
    table = [int.from_bytes(rodata[table_at + 8 * i: table_at + 8 + 8 * i], "little") for i in range(3)]
    for address in table:
        assert code_start < address < code_start + text["sh_size"]


def test_callx_register_where_each_version_reads_it():
    for version, expect in ((0, (0x00, 1)), (3, (0x01, 0))):  # v0: register in imm; v3: in dst, imm 0
        image, _ = relink(RELOCS, version)
        code = ELFFile(io.BytesIO(image)).get_section_by_name(".text").data()
        callx = [(code[i + 1], int.from_bytes(code[i + 4:i + 8], "little")) for i in range(0, len(code), 8)
                 if code[i] == 0x8D]
        assert callx == [expect, expect]


@pytest.mark.parametrize("version", [3, 0])
def test_relink_is_deterministic(version):
    assert relink(RELOCS, version)[0] == relink(bytes(RELOCS), version)[0]


def test_unsupported_version_is_refused():
    with pytest.raises(RelinkError, match="SBPF version 2 is not supported: choose 0 or 3"):
        relink(RELOCS, 2)


def _syscall_free_program() -> bytes:
    obj = (ASM / "refused_alu32_add.o").read_bytes()
    # Patch the refused `w1 += w2` (0x0c) into `r1 += r2` (0x0f): a valid program with no syscall.
    at = obj.index(bytes([0x0C, 0x21]))
    return obj[:at] + b"\x0f" + obj[at + 1:]


def test_v0_program_without_syscalls_has_no_dynamic_relocations():
    """No DT_REL at all (the loader refuses DT_REL with DT_RELSZ 0), and the program still runs."""
    image, report = relink(_syscall_free_program(), 0)
    elf = ELFFile(io.BytesIO(image))
    assert elf.get_section_by_name(".rel.dyn") is None
    assert report.syscalls == []
    assert Svm(image).run(b"").ok


def test_v3_program_without_rodata_has_only_the_code_segment(v3_runtime):
    image, report = relink(_syscall_free_program())
    elf = ELFFile(io.BytesIO(image))
    assert [(s["p_flags"], s["p_offset"], s["p_vaddr"]) for s in elf.iter_segments()] == [(1, 64 + 56, MM_PROGRAM_START)]
    assert report.rodata_size == 0 and report.syscalls == []
    assert Svm(image).run(b"").ok


V3_FORMS = (ASM / "v3_forms.o").read_bytes()


@pytest.mark.parametrize("cluster", ["devnet", "mainnet"])
def test_v3_runs_the_32_bit_forms_it_accepts_as_ebpf_does(v3_runtime, cluster):
    """fixtures/asm/v3_forms.s: zero-extending ALU32 forms and JMP32, each checked against its eBPF
    meaning (a failing check exits with its number)."""
    out = Svm(relink(V3_FORMS)[0], cluster).run(b"")
    assert out.ok, out.error


def test_v0_refuses_the_same_32_bit_forms():
    with pytest.raises(RelinkError) as info:
        relink(V3_FORMS, 0)
    problems = info.value.problems
    assert sum("32-bit ALU" in p for p in problems) == 11 and sum("32-bit jump" in p for p in problems) == 3, problems
