"""Writes the SBPF v0 shared object the Solana loader accepts, from already-linked text and rodata
(elf_image_v3.py writes the v3 one; both share the dataclasses and helpers here).

Layout (every file offset equals its virtual address, as the v0 loader requires):

    ELF header | program headers | .text | .rodata | .dynamic | .dynsym | .dynstr | .rel.dyn
    | .shstrtab | section headers

The only dynamic relocations are R_BPF_64_32 on syscall `call`s (imm stays -1; the loader writes the
murmur3 hash of the name). Everything else is resolved here, so the image does not depend on how the
loader treats R_BPF_64_RELATIVE in data (v0 reads only 32 bits of those).
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field

EM_BPF = 247
ET_DYN = 3
R_BPF_64_32 = 10

PT_LOAD, PT_DYNAMIC = 1, 2
PF_X, PF_W, PF_R = 1, 2, 4
SHT_PROGBITS, SHT_STRTAB, SHT_DYNAMIC, SHT_REL, SHT_DYNSYM = 1, 3, 6, 9, 11
SHF_ALLOC, SHF_EXECINSTR = 0x2, 0x4
DT_NULL, DT_STRTAB, DT_SYMTAB, DT_STRSZ, DT_SYMENT = 0, 5, 6, 10, 11
DT_REL, DT_RELSZ, DT_RELENT, DT_TEXTREL, DT_FLAGS = 17, 18, 19, 22, 30
DF_TEXTREL = 0x4
STB_GLOBAL, STT_NOTYPE, STT_FUNC = 1, 0, 2

EHDR_SIZE, PHDR_SIZE, SHDR_SIZE, SYM_SIZE, REL_SIZE, DYN_SIZE = 64, 56, 64, 24, 16, 16
MM_PROGRAM_START = 0x1_0000_0000  # where the v0 loader maps the file (file offset == vaddr)


def align(value: int, alignment: int) -> int:
    return (value + alignment - 1) // alignment * alignment


@dataclass
class ImageLayout:
    """Addresses chosen before the text is patched (calls and lddw need final addresses).

    `*_addr` are file offsets, `*_vaddr` the addresses the program sees at run time (v0: the loader maps
    the file at MM_PROGRAM_START, so vaddr = MM_PROGRAM_START + offset; v3: rodata at 0, code at 1<<32).
    """

    text_addr: int
    rodata_addr: int
    rodata_align: int
    text_vaddr: int = 0
    rodata_vaddr: int = 0


@dataclass
class SyscallSite:
    offset: int  # offset of the `call` instruction inside .text
    name: str


@dataclass
class Image:
    text: bytes
    rodata: bytes
    layout: ImageLayout
    entry_offset: int  # offset of `entrypoint` inside .text
    syscall_sites: list[SyscallSite] = field(default_factory=list)


def plan_layout(text_size: int, rodata_align: int, has_rodata: bool) -> ImageLayout:
    phnum = 4 if has_rodata else 3
    text_addr = align(EHDR_SIZE + phnum * PHDR_SIZE, 8)
    rodata_align = max(rodata_align, 8)
    rodata_addr = align(text_addr + text_size, rodata_align)
    return ImageLayout(text_addr, rodata_addr, rodata_align, MM_PROGRAM_START + text_addr,
                       MM_PROGRAM_START + rodata_addr)


class _StrTab:
    def __init__(self) -> None:
        self.data = bytearray(b"\0")
        self.index: dict[str, int] = {"": 0}

    def add(self, name: str) -> int:
        if name not in self.index:
            self.index[name] = len(self.data)
            self.data += name.encode() + b"\0"
        return self.index[name]


def write_image(image: Image) -> bytes:
    lay = image.layout
    has_rodata = len(image.rodata) > 0
    out = bytearray()

    def pad_to(offset: int) -> None:
        assert offset >= len(out)
        out.extend(b"\0" * (offset - len(out)))

    # ---- contents, in address order -------------------------------------------------------------
    pad_to(lay.text_addr)  # headers are written last, over this zero prefix
    out += image.text
    text_range = (lay.text_addr, len(image.text))
    if has_rodata:
        pad_to(lay.rodata_addr)
        out += image.rodata
    rodata_range = (lay.rodata_addr, len(image.rodata))

    dynstr = _StrTab()
    syscall_names: list[str] = []
    for site in image.syscall_sites:
        if site.name not in syscall_names:
            syscall_names.append(site.name)
    # dynsym: null, entrypoint, then one undefined GLOBAL per syscall, in first-use order
    sym_index = {name: 2 + i for i, name in enumerate(syscall_names)}
    dynsym = bytearray(SYM_SIZE)
    text_shndx = 1
    dynsym += struct.pack("<IBBHQQ", dynstr.add("entrypoint"), (STB_GLOBAL << 4) | STT_FUNC, 0,
                          text_shndx, lay.text_addr + image.entry_offset, 0)
    for name in syscall_names:
        dynsym += struct.pack("<IBBHQQ", dynstr.add(name), (STB_GLOBAL << 4) | STT_NOTYPE, 0, 0, 0, 0)

    rel = bytearray()
    for site in sorted(image.syscall_sites, key=lambda s: s.offset):
        rel += struct.pack("<QQ", lay.text_addr + site.offset, (sym_index[site.name] << 32) | R_BPF_64_32)

    n_dyn = 4 + (4 if rel else 0) + 2  # the entries below, DT_FLAGS and DT_NULL included
    dynamic_addr = align(len(out), 8)
    dynsym_addr = dynamic_addr + n_dyn * DYN_SIZE
    dynstr_addr = dynsym_addr + len(dynsym)
    rel_addr = align(dynstr_addr + len(dynstr.data), 8)
    entries = [(DT_SYMTAB, dynsym_addr), (DT_STRTAB, dynstr_addr), (DT_STRSZ, len(dynstr.data)),
               (DT_SYMENT, SYM_SIZE)]
    if rel:
        # The parser demands DT_RELSZ != 0 whenever DT_REL is present, so an image without syscalls
        # carries no DT_REL at all.
        entries += [(DT_REL, rel_addr), (DT_RELSZ, len(rel)), (DT_RELENT, REL_SIZE), (DT_TEXTREL, 0)]
    entries.append((DT_FLAGS, DF_TEXTREL if rel else 0))
    entries.append((DT_NULL, 0))
    assert len(entries) == n_dyn
    pad_to(dynamic_addr)
    for tag, val in entries:
        out += struct.pack("<qQ", tag, val)
    out += dynsym
    out += dynstr.data
    if rel:
        pad_to(rel_addr)
        out += rel
    dyn_end = len(out)

    sections = []  # (name, type, flags, addr, offset, size, link, info, align, entsize)
    sections.append(("", 0, 0, 0, 0, 0, 0, 0, 0, 0))
    sections.append((".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, lay.text_addr, lay.text_addr,
                     len(image.text), 0, 0, 8, 0))
    if has_rodata:
        sections.append((".rodata", SHT_PROGBITS, SHF_ALLOC, lay.rodata_addr, lay.rodata_addr,
                         len(image.rodata), 0, 0, lay.rodata_align, 0))
    dynstr_idx = len(sections) + 2
    dynsym_idx = len(sections) + 1
    sections.append((".dynamic", SHT_DYNAMIC, SHF_ALLOC, dynamic_addr, dynamic_addr, n_dyn * DYN_SIZE,
                     dynstr_idx, 0, 8, DYN_SIZE))
    sections.append((".dynsym", SHT_DYNSYM, SHF_ALLOC, dynsym_addr, dynsym_addr, len(dynsym),
                     dynstr_idx, 1, 8, SYM_SIZE))
    sections.append((".dynstr", SHT_STRTAB, SHF_ALLOC, dynstr_addr, dynstr_addr, len(dynstr.data),
                     0, 0, 1, 0))
    if rel:
        sections.append((".rel.dyn", SHT_REL, SHF_ALLOC, rel_addr, rel_addr, len(rel), dynsym_idx, 0, 8,
                         REL_SIZE))
    shoff = append_section_headers(out, sections)

    # ---- headers -----------------------------------------------------------------------------------
    phdrs = [(PT_LOAD, PF_R | PF_X, *text_range)]
    if has_rodata:
        phdrs.append((PT_LOAD, PF_R, *rodata_range))
    phdrs.append((PT_LOAD, PF_R, dynamic_addr, dyn_end - dynamic_addr))
    phdrs.append((PT_DYNAMIC, PF_R, dynamic_addr, n_dyn * DYN_SIZE))
    header = elf_header(0, lay.text_addr + image.entry_offset, [(t, f, a, a, a, n) for t, f, a, n in phdrs],
                        shoff, len(sections) + 1)
    assert len(header) <= lay.text_addr, "program headers overlap .text"
    out[: len(header)] = header
    return bytes(out)


SectionHeader = tuple  # (name, type, flags, addr, offset, size, link, info, align, entsize)


def append_section_headers(out: bytearray, sections: list[SectionHeader]) -> int:
    """Append .shstrtab and the section header table (`sections` plus .shstrtab, last); return e_shoff.

    The loaders read program headers; section headers are for tools (objdump, pyelftools, explorers).
    """
    shstr = _StrTab()
    for sec in sections:
        shstr.add(sec[0])
    shstr.add(".shstrtab")
    shstrtab_offset = len(out)
    out += shstr.data
    table = [*sections, (".shstrtab", SHT_STRTAB, 0, 0, shstrtab_offset, len(shstr.data), 0, 0, 1, 0)]
    shoff = align(len(out), 8)
    out.extend(b"\0" * (shoff - len(out)))
    for name, typ, flags, addr, offset, size, link, info, salign, entsize in table:
        out += struct.pack("<IIQQQQIIQQ", shstr.index[name], typ, flags, addr, offset, size, link, info,
                           salign, entsize)
    return shoff


def elf_header(e_flags: int, entry: int, phdrs: list[tuple[int, int, int, int, int, int]], shoff: int,
               shnum: int) -> bytes:
    """ELF header + program headers, each phdr (type, flags, offset, vaddr, paddr, size): filesz == memsz.

    .shstrtab is the last section (e_shstrndx = shnum - 1), as append_section_headers writes it.
    """
    header = bytearray(b"\x7fELF" + bytes([2, 1, 1, 0]) + bytes(8))  # 64-bit, little endian, version 1, SYSV ABI
    header += struct.pack("<HHIQQQIHHHHHH", ET_DYN, EM_BPF, 1, entry, EHDR_SIZE, shoff, e_flags, EHDR_SIZE,
                          PHDR_SIZE, len(phdrs), SHDR_SIZE, shnum, shnum - 1)
    for ptype, flags, offset, vaddr, paddr, size in phdrs:
        header += struct.pack("<IIQQQQQQ", ptype, flags, offset, vaddr, paddr, size, size, 8)
    return bytes(header)
