"""Relinks one relocatable BPF object (ET_REL, as rustc/LLVM emit it) into an SBPF v0 program.

Phases: read the object (elf_object.py); refuse writable data; keep only the sections reachable from
`entrypoint` through relocations; lay out one `.text` and one `.rodata`; refuse instruction forms SBPF v0
runs differently (sbpf.py) and move callx registers; resolve every relocation, leaving only syscall calls
to the loader; write the image (elf_image.py). Every finding is collected before RelinkError is raised.

Relocation rules (BPF relocations are REL: the addend sits in the patched field; MM = MM_PROGRAM_START):
  R_BPF_64_64    lddw            value = MM + S + A, split across the two imm halves
  R_BPF_64_ABS64 data (vtables)  value = MM + S + A, 8 bytes
  R_BPF_64_32    call, defined   target = S + (imm + 1) * 8; imm = (target - P - 8) / 8 (pc-relative)
  R_BPF_64_32    call, syscall   imm stays -1; a dynamic R_BPF_64_32 names the syscall
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from .elf_image import Image, ImageLayout, SyscallSite, align, plan_layout, write_image
from .elf_object import SHN_ABS, SHN_COMMON, ObjectFile, Reloc, Section
from .errors import RelinkError
from .sbpf import CALL, CALLX, INSN_SIZE, LDDW, MM_PROGRAM_START, Insn, refusal
from .symbols import describe
from .syscalls import HINTS, KNOWN_SYSCALLS

R_BPF_NONE, R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_NODYLD32, R_BPF_64_32 = 0, 1, 2, 3, 4, 10
RELOC_NAMES = {1: "R_BPF_64_64", 2: "R_BPF_64_ABS64", 3: "R_BPF_64_ABS32", 4: "R_BPF_64_NODYLD32",
               10: "R_BPF_64_32"}
ENTRYPOINT = "entrypoint"


@dataclass
class RelinkReport:
    """What went into the image, for progress lines and tests."""

    text_size: int
    rodata_size: int
    functions_kept: int
    sections_dropped: int
    syscalls: list[str]


class _Linker:
    def __init__(self, obj: ObjectFile):
        self.obj = obj
        self.problems: list[str] = []
        self.offset: dict[int, int] = {}  # section index -> offset inside .text or .rodata
        self.addr: dict[int, int] = {}  # section index -> file offset == virtual address
        self.sites: list[SyscallSite] = []
        self.syscalls: list[str] = []

    def refuse(self, message: str) -> None:
        self.problems.append(message)

    # ---- sections -------------------------------------------------------------------------------
    def check_writable(self) -> None:
        # Refused wherever it is: v0 maps the image read-only, so a mutable global would fault at run time.
        for sec in self.obj.sections.values():
            if sec.writable and sec.size > 0 and not sec.name.startswith(".data.rel.ro"):
                owners = ", ".join(describe(n) for n in self.obj.symbols_in(sec))
                self.refuse(f"writable section {sec.name} ({sec.size} bytes)"
                            f"{' holding ' + owners if owners else ''}: SBPF v0 programs cannot have mutable "
                            f"globals (static mut, atomics, interior mutability in statics)")

    def live_sections(self, root: int) -> list[Section]:
        """Sections reachable from `root` through relocations (calls, lddw, pointer tables), in file order."""
        live, todo = set(), [root]
        while todo:
            idx = todo.pop()
            if idx in live:
                continue
            live.add(idx)
            for rel in self.obj.sections[idx].relocs:
                target = self.obj.symbols[rel.symbol].section if rel.symbol < len(self.obj.symbols) else None
                if target in self.obj.sections and target not in live:
                    todo.append(target)
        return [self.obj.sections[i] for i in sorted(live)]

    def layout(self, text_secs: list[Section], data_secs: list[Section]) -> tuple[ImageLayout, bytearray, bytearray]:
        text_size = 0
        for sec in text_secs:
            if sec.size % INSN_SIZE:
                self.refuse(f"section {sec.name}: size {sec.size} is not a whole number of instructions")
            text_size = align(text_size, max(sec.align, INSN_SIZE))
            self.offset[sec.index] = text_size
            text_size += sec.size
        rodata_size, rodata_align = 0, 1
        for sec in data_secs:
            rodata_size = align(rodata_size, sec.align)
            rodata_align = max(rodata_align, sec.align)
            self.offset[sec.index] = rodata_size
            rodata_size += sec.size
        layout = plan_layout(text_size, rodata_align, rodata_size > 0)
        text, rodata = bytearray(text_size), bytearray(rodata_size)
        for secs, buf, base in ((text_secs, text, layout.text_addr), (data_secs, rodata, layout.rodata_addr)):
            for sec in secs:
                at = self.offset[sec.index]
                self.addr[sec.index] = base + at
                if not sec.nobits:
                    buf[at: at + sec.size] = sec.data
        return layout, text, rodata

    # ---- instructions ---------------------------------------------------------------------------
    def check_instructions(self, sec: Section, text: bytearray) -> None:
        base, off = self.offset[sec.index], 0
        while off + INSN_SIZE <= sec.size:
            insn = Insn.decode(text, base + off)
            if insn.opcode == LDDW:
                if off + 2 * INSN_SIZE > sec.size or text[base + off + INSN_SIZE] != 0:
                    self.refuse(f"{self.obj.where(sec, off)}: lddw without its second slot")
                off += 2 * INSN_SIZE
                continue
            reason = refusal(insn)
            if reason:
                self.refuse(f"{self.obj.where(sec, off)}: {reason}")
            elif insn.opcode == CALLX:
                # LLVM encodes the register in dst; SBPF v0 reads it from imm.
                reg = insn.dst if insn.dst else insn.imm
                if not 0 <= reg <= 9:
                    self.refuse(f"{self.obj.where(sec, off)}: callx through register r{reg}")
                else:
                    text[base + off: base + off + INSN_SIZE] = Insn(CALLX, 0, 0, insn.off, reg).encode()
            off += INSN_SIZE

    # ---- relocations ----------------------------------------------------------------------------
    def relocate(self, sec: Section, rel: Reloc, text: bytearray, rodata: bytearray, layout: ImageLayout) -> None:
        sym = self.obj.symbols[rel.symbol]
        here = self.obj.where(sec, rel.offset)
        buf = text if sec.executable else rodata
        at = self.offset[sec.index] + rel.offset  # position of the patched field's instruction/word in buf
        type_name = RELOC_NAMES.get(rel.type, f"type {rel.type}")
        if rel.type not in (R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_32):
            return self.refuse(f"{here}: unsupported relocation {type_name} against {describe(sym.name or '?')}")
        if rel.offset + (2 * INSN_SIZE if rel.type == R_BPF_64_64 else 8) > sec.size:
            return self.refuse(f"{here}: {type_name} outside its section")
        if rel.type != R_BPF_64_ABS64 and not sec.executable:
            return self.refuse(f"{here}: {type_name} outside code")
        if rel.type == R_BPF_64_ABS64 and sec.executable:
            return self.refuse(f"{here}: R_BPF_64_ABS64 inside code")
        expected = {R_BPF_64_64: LDDW, R_BPF_64_32: CALL}.get(rel.type)
        if expected is not None and buf[at] != expected:
            return self.refuse(f"{here}: {type_name} on opcode {buf[at]:#04x} instead of "
                               f"{'lddw' if expected == LDDW else 'call'}")
        if sym.shndx == SHN_COMMON:
            return self.refuse(f"{here}: {describe(sym.name)} is a common (writable) symbol")
        if sym.section is None and sym.shndx != SHN_ABS:  # undefined
            if rel.type == R_BPF_64_32 and sym.name in KNOWN_SYSCALLS:
                struct.pack_into("<i", buf, at + 4, -1)
                self.sites.append(SyscallSite(layout.text_addr + at, sym.name))
                if sym.name not in self.syscalls:
                    self.syscalls.append(sym.name)
                return None
            hint = HINTS.get(sym.name, "it is neither defined in the program nor a Solana syscall")
            return self.refuse(f"{here}: undefined symbol {describe(sym.name)}: {hint}")
        s = (self.addr[sym.section] if sym.section is not None else 0) + sym.value
        if rel.type == R_BPF_64_64:
            value = MM_PROGRAM_START + s + struct.unpack_from("<I", buf, at + 4)[0]
            struct.pack_into("<I", buf, at + 4, value & 0xFFFFFFFF)
            struct.pack_into("<I", buf, at + 4 + INSN_SIZE, value >> 32)
        elif rel.type == R_BPF_64_ABS64:
            struct.pack_into("<Q", buf, at, MM_PROGRAM_START + s + struct.unpack_from("<Q", buf, at)[0])
        else:  # a call to a function of this object: SBPF v0 calls are pc-relative
            if sym.section is None or not self.obj.sections[sym.section].executable:
                return self.refuse(f"{here}: call to {describe(sym.name)}, which is not code")
            target = s + (struct.unpack_from("<i", buf, at + 4)[0] + 1) * INSN_SIZE
            rel_pc = (target - (layout.text_addr + at) - INSN_SIZE) // INSN_SIZE
            if rel_pc == -1:  # v0 reads imm -1 as "unresolved syscall"
                return self.refuse(f"{here}: a call to itself cannot be encoded in SBPF v0")
            struct.pack_into("<i", buf, at + 4, rel_pc)
        return None


def relink(obj_bytes: bytes) -> tuple[bytes, RelinkReport]:
    """Turn an ET_REL BPF object into SBPF v0 program bytes; RelinkError lists everything refused."""
    obj = ObjectFile(obj_bytes)
    entry = obj.defined(ENTRYPOINT)
    if entry is None or entry.section not in obj.sections or not obj.sections[entry.section].executable:
        raise RelinkError([f"no `{ENTRYPOINT}` function defined in the object: the program must export "
                           f"`#[no_mangle] pub unsafe extern \"C\" fn entrypoint(input: *mut u8) -> u64`"])
    linker = _Linker(obj)
    linker.check_writable()
    kept = linker.live_sections(entry.section)
    text_secs = [s for s in kept if s.executable]
    data_secs = [s for s in kept if not s.executable]
    layout, text, rodata = linker.layout(text_secs, data_secs)
    for sec in text_secs:
        linker.check_instructions(sec, text)
    for sec in kept:
        for rel in sec.relocs:
            if rel.type != R_BPF_NONE:
                linker.relocate(sec, rel, text, rodata, layout)
    if linker.problems:
        raise RelinkError(linker.problems)
    entry_offset = linker.offset[entry.section] + entry.value
    image = write_image(Image(bytes(text), bytes(rodata), layout, entry_offset, linker.sites))
    report = RelinkReport(len(text), len(rodata), sum(len(s.funcs) for s in text_secs),
                          len(obj.sections) - len(kept), linker.syscalls)
    return image, report


def relink_file(obj_path: Path, out_path: Path) -> RelinkReport:
    image, report = relink(Path(obj_path).read_bytes())
    Path(out_path).write_bytes(image)
    return report
