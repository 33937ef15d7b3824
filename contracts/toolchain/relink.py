"""Relinks one relocatable BPF object (ET_REL, as rustc/LLVM emit it) into an SBPF v3 (default) or v0
program.

Phases: read the object (elf_object.py); refuse writable data; keep only the sections reachable from
`entrypoint` through relocations; lay out one `.text` and one `.rodata`; refuse instruction forms the
target version runs differently (sbpf.py) and put callx registers where it reads them; resolve every
relocation; write the image (elf_image_v3.py, or elf_image.py for v0). Every finding is collected before
RelinkError is raised.

Relocation rules (BPF relocations are REL: the addend sits in the patched field; V(S) = the run-time
address of symbol S: v3 rodata at 0 + offset, v3 code at 1<<32 + offset, v0 anything at 1<<32 + file offset):
  R_BPF_64_64    lddw            value = V(S) + A, split across the two imm halves
  R_BPF_64_ABS64 data (vtables)  value = V(S) + A, 8 bytes
  R_BPF_64_32    call, defined   target = S + (imm + 1) * 8; imm = (target - P - 8) / 8 (pc-relative);
                                 v3: src = 1 (internal call)
  R_BPF_64_32    call, syscall   v3: src = 0, imm = murmur3-32(name): no relocation left at all
                                 v0: imm stays -1; a dynamic R_BPF_64_32 names the syscall for the loader
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from pathlib import Path

from . import elf_image, elf_image_v3
from .elf_image import Image, ImageLayout, SyscallSite, align
from .elf_object import SHN_ABS, SHN_COMMON, ObjectFile, Reloc, Section
from .errors import RelinkError
from .sbpf import CALL, CALLX, INSN_SIZE, LDDW, SUPPORTED_VERSIONS, Insn, refusal
from .symbols import describe
from .syscalls import HINTS, KNOWN_SYSCALLS, UNAVAILABLE_IN_V3, syscall_hash

DEFAULT_SBPF_VERSION = 3
PSEUDO_CALL = 1  # `call` src field: 1 = internal (pc-relative) call, 0 = syscall by hash (v3)
R_BPF_NONE, R_BPF_64_64, R_BPF_64_ABS64, R_BPF_64_ABS32, R_BPF_64_NODYLD32, R_BPF_64_32 = 0, 1, 2, 3, 4, 10
RELOC_NAMES = {1: "R_BPF_64_64", 2: "R_BPF_64_ABS64", 3: "R_BPF_64_ABS32", 4: "R_BPF_64_NODYLD32",
               10: "R_BPF_64_32"}
ENTRYPOINT = "entrypoint"
_SELF_CALL_V0 = "a call to itself cannot be encoded in SBPF v0 (v0 reads imm -1 as an unresolved syscall)"
_SELF_CALL = ("a call to itself (imm -1) is refused: -1 marks an unresolved call, and the Solana CLI's "
              "local verifier (sbpf LocalVerifier) rejects it at deploy")
_SYSCALL_BY_HASH = {syscall_hash(name): name for name in KNOWN_SYSCALLS}


def _unavailable(name: str) -> str:
    return (f"syscall `{name}` is not registered for SBPF v3 programs ({UNAVAILABLE_IN_V3[name]}): v3 deployment "
            f"does not check syscalls, so the call would fail only when it runs")


@dataclass
class RelinkReport:
    """What went into the image, for progress lines and tests."""

    text_size: int
    rodata_size: int
    functions_kept: int
    sections_dropped: int
    syscalls: list[str]
    sbpf_version: int = DEFAULT_SBPF_VERSION


class _Linker:
    def __init__(self, obj: ObjectFile, version: int):
        self.obj = obj
        self.version = version
        self.problems: list[str] = []
        self.offset: dict[int, int] = {}  # section index -> offset inside .text or .rodata
        self.addr: dict[int, int] = {}  # section index -> virtual address at run time
        self.sites: list[SyscallSite] = []
        self.syscalls: list[str] = []

    def refuse(self, message: str) -> None:
        self.problems.append(message)

    # ---- sections -------------------------------------------------------------------------------
    def check_writable(self) -> None:
        # Refused wherever it is: v0 and v3 map the image read-only, so a mutable global would fault at run time.
        for sec in self.obj.sections.values():
            if sec.writable and sec.size > 0 and not sec.name.startswith(".data.rel.ro"):
                owners = ", ".join(describe(n) for n in self.obj.symbols_in(sec))
                self.refuse(f"writable section {sec.name} ({sec.size} bytes)"
                            f"{' holding ' + owners if owners else ''}: SBPF programs cannot have mutable "
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
        if self.version == 0:
            layout = elf_image.plan_layout(text_size, rodata_align, rodata_size > 0)
        else:
            layout = elf_image_v3.plan_layout(text_size, rodata_align, rodata_size > 0, rodata_size)
        text, rodata = bytearray(text_size), bytearray(rodata_size)
        for secs, buf, base in ((text_secs, text, layout.text_vaddr), (data_secs, rodata, layout.rodata_vaddr)):
            for sec in secs:
                at = self.offset[sec.index]
                self.addr[sec.index] = base + at
                if not sec.nobits:
                    buf[at: at + sec.size] = sec.data
        return layout, text, rodata

    # ---- instructions ---------------------------------------------------------------------------
    def check_instructions(self, sec: Section, text: bytearray) -> None:
        base, off = self.offset[sec.index], 0
        relocated = {rel.offset for rel in sec.relocs}
        while off + INSN_SIZE <= sec.size:
            insn = Insn.decode(text, base + off)
            if insn.opcode == LDDW:
                if off + 2 * INSN_SIZE > sec.size or text[base + off + INSN_SIZE] != 0:
                    self.refuse(f"{self.obj.where(sec, off)}: lddw without its second slot")
                off += 2 * INSN_SIZE
                continue
            reason = refusal(insn, self.version)
            if reason is None and insn.opcode == CALL and off not in relocated:
                reason = self.unrelocated_call_refusal(sec, off, insn)
            if reason:
                self.refuse(f"{self.obj.where(sec, off)}: {reason}")
            elif insn.opcode == CALLX:
                # LLVM encodes the register in dst, as SBPF v3 reads it; SBPF v0 reads it from imm.
                reg = insn.dst if insn.dst else insn.imm
                if not 0 <= reg <= 9:
                    self.refuse(f"{self.obj.where(sec, off)}: callx through register r{reg}")
                else:
                    fixed = Insn(CALLX, 0, 0, insn.off, reg) if self.version == 0 else Insn(CALLX, reg, 0, insn.off, 0)
                    text[base + off: base + off + INSN_SIZE] = fixed.encode()
            off += INSN_SIZE

    def unrelocated_call_refusal(self, sec: Section, off: int, insn: Insn) -> str | None:
        """A `call` the assembler already resolved (no relocation): check what the VM will make of it."""
        if insn.src == PSEUDO_CALL:
            target = off + (insn.imm + 1) * INSN_SIZE
            if insn.imm == -1:
                return _SELF_CALL if self.version == 3 else _SELF_CALL_V0
            if not 0 <= target < sec.size:
                return f"internal call to {target - off:+#x} bytes from here, outside section {sec.name}"
            return None
        if self.version == 0:
            return None  # v0 (no static syscalls) looks a src=0 imm up among the loader's functions
        if insn.src == 0:
            name = _SYSCALL_BY_HASH.get(insn.imm & 0xFFFFFFFF)
            if name is None:
                return (f"call with src=0 and imm {insn.imm & 0xFFFFFFFF:#010x}, which is not the hash of a "
                        f"known syscall: SBPF v3 would fail only when it runs")
            if name in UNAVAILABLE_IN_V3:
                return _unavailable(name)
            if name not in self.syscalls:
                self.syscalls.append(name)
            return None
        return f"call with src={insn.src}: SBPF v3 knows src=0 (syscall) and src=1 (internal call)"

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
                if self.version == 3 and sym.name in UNAVAILABLE_IN_V3:
                    return self.refuse(f"{here}: {_unavailable(sym.name)}")
                if self.version == 0:
                    struct.pack_into("<i", buf, at + 4, -1)  # the loader resolves the dynamic relocation
                else:
                    buf[at + 1] &= 0x0F  # src = 0: a syscall, keyed by the hash in imm
                    struct.pack_into("<I", buf, at + 4, syscall_hash(sym.name))
                self.sites.append(SyscallSite(at, sym.name))
                if sym.name not in self.syscalls:
                    self.syscalls.append(sym.name)
                return None
            hint = HINTS.get(sym.name, "it is neither defined in the program nor a Solana syscall")
            return self.refuse(f"{here}: undefined symbol {describe(sym.name)}: {hint}")
        s = (self.addr[sym.section] if sym.section is not None else 0) + sym.value
        if rel.type == R_BPF_64_64:
            value = s + struct.unpack_from("<I", buf, at + 4)[0]
            struct.pack_into("<I", buf, at + 4, value & 0xFFFFFFFF)
            struct.pack_into("<I", buf, at + 4 + INSN_SIZE, value >> 32)
        elif rel.type == R_BPF_64_ABS64:
            struct.pack_into("<Q", buf, at, s + struct.unpack_from("<Q", buf, at)[0])
        else:  # a call to a function of this object: pc-relative in v0 and v3 alike
            if sym.section is None or not self.obj.sections[sym.section].executable:
                return self.refuse(f"{here}: call to {describe(sym.name)}, which is not code")
            target = s + (struct.unpack_from("<i", buf, at + 4)[0] + 1) * INSN_SIZE
            rel_pc = (target - (layout.text_vaddr + at) - INSN_SIZE) // INSN_SIZE
            if rel_pc == -1:
                return self.refuse(f"{here}: {_SELF_CALL if self.version == 3 else _SELF_CALL_V0}")
            if self.version == 3:
                buf[at + 1] = (buf[at + 1] & 0x0F) | (PSEUDO_CALL << 4)
            struct.pack_into("<i", buf, at + 4, rel_pc)
        return None


def relink(obj_bytes: bytes, sbpf_version: int = DEFAULT_SBPF_VERSION) -> tuple[bytes, RelinkReport]:
    """Turn an ET_REL BPF object into SBPF v3 (or v0) program bytes; RelinkError lists everything refused."""
    if sbpf_version not in SUPPORTED_VERSIONS:
        raise RelinkError([f"SBPF version {sbpf_version} is not supported: choose "
                           f"{' or '.join(map(str, SUPPORTED_VERSIONS))}"])
    obj = ObjectFile(obj_bytes)
    entry = obj.defined(ENTRYPOINT)
    if entry is None or entry.section not in obj.sections or not obj.sections[entry.section].executable:
        raise RelinkError([f"no `{ENTRYPOINT}` function defined in the object: the program must export "
                           f"`#[no_mangle] pub unsafe extern \"C\" fn entrypoint(input: *mut u8) -> u64`"])
    linker = _Linker(obj, sbpf_version)
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
    writer = elf_image.write_image if sbpf_version == 0 else elf_image_v3.write_image
    image = writer(Image(bytes(text), bytes(rodata), layout, entry_offset, linker.sites))
    report = RelinkReport(len(text), len(rodata), sum(len(s.funcs) for s in text_secs),
                          len(obj.sections) - len(kept), linker.syscalls, sbpf_version)
    return image, report


def relink_file(obj_path: Path, out_path: Path, sbpf_version: int = DEFAULT_SBPF_VERSION) -> RelinkReport:
    image, report = relink(Path(obj_path).read_bytes(), sbpf_version)
    Path(out_path).write_bytes(image)
    return report
