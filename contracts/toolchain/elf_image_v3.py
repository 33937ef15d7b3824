"""Writes the SBPF v3 program the strict ELF parser accepts (anza-xyz/sbpf src/elf.rs
`load_with_strict_parser`, SIMD-0189), from already-linked and fully resolved text and rodata.

    ELF header | PT_LOAD R (rodata, vaddr 0) | PT_LOAD X (code, vaddr 1<<32) | rodata | text
    | .shstrtab | section headers

What the parser demands, and how this file meets it:
- e_flags 3, e_machine EM_BPF, ELFCLASS64 little endian, OS ABI 0, e_phoff 64, e_phentsize 56;
- the program headers are exactly [PT_LOAD PF_R at vaddr 0,] PT_LOAD PF_X at vaddr 1<<32, in that order;
  the rodata one is left out when there is no read-only data;
- each segment starts where the previous one (or the program header table) ends: offsets contiguous,
  8-aligned, filesz == memsz, sizes multiples of 8 (rodata is zero-padded to 8), p_paddr == p_vaddr;
- e_entry is the virtual address of `entrypoint`, 8-aligned and inside the code segment.
There is no dynamic section, no symbol table and no relocation: syscalls and calls are encoded in the
instructions, every address in lddw and in data is final. Section headers are written for tools only.

The first RODATA_GUARD bytes of the read-only segment stay zero, so that no object has address 0: Rust
and LLVM assume a reference is never null (Option<&T> uses 0 for None).
"""
from __future__ import annotations

from .elf_image import (
    EHDR_SIZE, PF_R, PF_X, PHDR_SIZE, PT_LOAD, SHF_ALLOC, SHF_EXECINSTR, SHT_PROGBITS, Image, ImageLayout,
    append_section_headers, align, elf_header)

E_FLAGS_SBPF_V3 = 3
MM_RODATA_START = 0
MM_BYTECODE_START = 1 << 32
RODATA_GUARD = 8


def plan_layout(text_size: int, rodata_align: int, has_rodata: bool, rodata_size: int = 0) -> ImageLayout:
    """File offsets and virtual addresses of the two segments.

    `rodata_addr`/`rodata_vaddr` are where the linked rodata starts (after the guard), aligned to the
    strictest alignment any rodata section asked for.
    """
    rodata_align = max(rodata_align, 8)
    phnum = 2 if has_rodata else 1
    segment_start = EHDR_SIZE + phnum * PHDR_SIZE  # 176 or 120: both 8-aligned
    if not has_rodata:
        return ImageLayout(segment_start, segment_start, rodata_align, MM_BYTECODE_START, MM_RODATA_START)
    guard = max(RODATA_GUARD, rodata_align)
    rodata_segment = align(guard + rodata_size, 8)
    return ImageLayout(segment_start + rodata_segment, segment_start + guard, rodata_align, MM_BYTECODE_START,
                       MM_RODATA_START + guard)


def write_image(image: Image) -> bytes:
    lay = image.layout
    has_rodata = len(image.rodata) > 0
    phnum = 2 if has_rodata else 1
    segment_start = EHDR_SIZE + phnum * PHDR_SIZE
    out = bytearray(segment_start)  # headers are written last, over this zero prefix
    phdrs, sections = [], [("", 0, 0, 0, 0, 0, 0, 0, 0, 0)]
    if has_rodata:
        out.extend(bytes(lay.rodata_addr - segment_start))  # the guard: nothing lives at address 0
        out += image.rodata
        out.extend(bytes(lay.text_addr - len(out)))  # pad the segment to a multiple of 8
        assert len(out) == lay.text_addr, "rodata overlaps the code segment"
        size = lay.text_addr - segment_start
        phdrs.append((PT_LOAD, PF_R, segment_start, MM_RODATA_START, MM_RODATA_START, size))
        sections.append((".rodata", SHT_PROGBITS, SHF_ALLOC, MM_RODATA_START, segment_start, size, 0, 0,
                         lay.rodata_align, 0))
    assert len(out) == lay.text_addr and len(image.text) % 8 == 0
    out += image.text
    phdrs.append((PT_LOAD, PF_X, lay.text_addr, lay.text_vaddr, lay.text_vaddr, len(image.text)))
    sections.append((".text", SHT_PROGBITS, SHF_ALLOC | SHF_EXECINSTR, lay.text_vaddr, lay.text_addr,
                     len(image.text), 0, 0, 8, 0))
    shoff = append_section_headers(out, sections)
    header = elf_header(E_FLAGS_SBPF_V3, lay.text_vaddr + image.entry_offset, phdrs, shoff, len(sections) + 1)
    assert len(header) == segment_start
    out[:segment_start] = header
    return bytes(out)
