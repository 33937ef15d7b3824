"""Reading a relocatable BPF object (ET_REL) with pyelftools into plain data the relinker works on,
and naming places in it (function + offset) for error messages."""
from __future__ import annotations

import io
from dataclasses import dataclass, field

from elftools.common.exceptions import ELFError
from elftools.elf.constants import SH_FLAGS
from elftools.elf.elffile import ELFFile

from .elf_image import EM_BPF
from .errors import RelinkError
from .symbols import describe

SHN_UNDEF, SHN_ABS, SHN_COMMON = 0, 0xFFF1, 0xFFF2
_SPECIAL_SHNDX = {"SHN_UNDEF": SHN_UNDEF, "SHN_ABS": SHN_ABS, "SHN_COMMON": SHN_COMMON}


@dataclass(frozen=True)
class Reloc:
    offset: int  # within the section it patches
    type: int
    symbol: int  # index into ObjectFile.symbols


@dataclass
class Section:
    index: int
    name: str
    flags: int
    size: int
    align: int
    data: bytes
    nobits: bool
    relocs: list[Reloc] = field(default_factory=list)
    funcs: list[tuple[int, int, str]] = field(default_factory=list)  # (start, size, name), sorted

    @property
    def executable(self) -> bool:
        return bool(self.flags & SH_FLAGS.SHF_EXECINSTR)

    @property
    def writable(self) -> bool:
        return bool(self.flags & SH_FLAGS.SHF_WRITE)


@dataclass(frozen=True)
class Symbol:
    name: str
    shndx: int | str  # section index, SHN_UNDEF / SHN_ABS / SHN_COMMON, or another SHN_* name
    value: int
    kind: str  # STT_FUNC, STT_OBJECT, STT_SECTION, STT_NOTYPE, ...
    bind: str  # STB_GLOBAL, STB_LOCAL, STB_WEAK
    size: int

    @property
    def section(self) -> int | None:
        """Index of the section defining the symbol, None when undefined, absolute or common."""
        if isinstance(self.shndx, int) and self.shndx not in (SHN_UNDEF, SHN_ABS, SHN_COMMON):
            return self.shndx
        return None


class ObjectFile:
    """The allocated sections (with their relocations and functions) and the symbol table of an ET_REL."""

    def __init__(self, data: bytes):
        try:
            elf = ELFFile(io.BytesIO(data))
        except ELFError as exc:
            raise RelinkError([f"not an ELF object: {exc}"]) from None
        if elf.elfclass != 64 or not elf.little_endian or elf["e_machine"] not in ("EM_BPF", EM_BPF):
            raise RelinkError([f"not a 64-bit little-endian BPF object (machine {elf['e_machine']})"])
        if elf["e_type"] != "ET_REL":
            raise RelinkError([f"expected a relocatable object (ET_REL), got {elf['e_type']}"])
        self.sections: dict[int, Section] = {}
        self.symbols: list[Symbol] = []
        rel_sections = []
        for index, sec in enumerate(elf.iter_sections()):
            kind = sec["sh_type"]
            if kind == "SHT_SYMTAB":
                for sym in sec.iter_symbols():
                    shndx = _SPECIAL_SHNDX.get(sym["st_shndx"], sym["st_shndx"])
                    self.symbols.append(Symbol(sym.name, shndx, sym["st_value"], sym["st_info"]["type"],
                                               sym["st_info"]["bind"], sym["st_size"]))
            elif kind == "SHT_REL":
                rel_sections.append(sec)
            elif kind == "SHT_RELA":
                raise RelinkError([f"section {sec.name}: RELA relocations are not produced by the BPF "
                                   f"back end; this object was not built for bpfel"])
            elif sec["sh_flags"] & SH_FLAGS.SHF_ALLOC:
                nobits = kind == "SHT_NOBITS"
                self.sections[index] = Section(index, sec.name, sec["sh_flags"], sec["sh_size"],
                                               max(sec["sh_addralign"], 1), b"" if nobits else sec.data(), nobits)
        for rel in rel_sections:
            target = self.sections.get(rel["sh_info"])
            if target is None:
                continue  # relocations of debug info / BTF: not part of the program image
            target.relocs.extend(Reloc(r["r_offset"], r["r_info_type"], r["r_info_sym"])
                                 for r in rel.iter_relocations())
        for sym in self.symbols:
            sec = self.sections.get(sym.section) if sym.section is not None else None
            if sec is not None and sec.executable and sym.kind == "STT_FUNC" and sym.name:
                sec.funcs.append((sym.value, sym.size, sym.name))
        for sec in self.sections.values():
            sec.funcs.sort()
            sec.relocs.sort(key=lambda r: r.offset)

    def defined(self, name: str) -> Symbol | None:
        """The definition of `name`, a global one preferred over a local one."""
        found = [s for s in self.symbols if s.name == name and s.section is not None]
        found.sort(key=lambda s: s.bind != "STB_GLOBAL")
        return found[0] if found else None

    def symbols_in(self, sec: Section) -> list[str]:
        return sorted({s.name for s in self.symbols if s.shndx == sec.index and s.name and s.kind != "STT_SECTION"})

    def where(self, sec: Section, offset: int) -> str:
        """``function `f` at offset 0x18 (section .text.f+0x18)``: what every refusal names."""
        if not sec.executable:
            return f"section {sec.name} at offset {offset:#x}"
        best = None
        for start, size, name in sec.funcs:
            if start <= offset and (offset < start + size or size == 0):
                best = (start, name)
        if best is None:
            for sym in self.symbols:  # assembly without .type/.size: the nearest preceding label
                if (sym.shndx == sec.index and sym.kind in ("STT_NOTYPE", "STT_FUNC") and sym.name
                        and sym.value <= offset and (best is None or sym.value >= best[0])):
                    best = (sym.value, sym.name)
        if best is None:
            return f"section {sec.name} at offset {offset:#x}"
        return f"function {describe(best[1])} at offset {offset - best[0]:#x} (section {sec.name}+{offset:#x})"
