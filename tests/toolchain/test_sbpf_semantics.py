"""Why the relinker refuses what it refuses: SBPF really runs these forms differently from eBPF.

Each program below is written straight into an image (bypassing the relinker's checks) and run in
LiteSVM. Under eBPF semantics every one returns 0 (success); under SBPF v0 and v3 each returns something
else, and the relinker refuses every one of them for that version. If a future runtime ran one as eBPF
does, its test would fail and the refusal could be revisited. v3 runs need solders >= 0.29.
"""
from __future__ import annotations

import pytest
from toolchain_support import V3_SOLDERS, Svm, solders_version

from contracts.toolchain import RelinkError, elf_image, elf_image_v3
from contracts.toolchain.elf_image import Image
from contracts.toolchain.sbpf import Insn, refusal

EXIT = Insn(0x95, 0, 0, 0, 0)


def image(version: int, *insns: Insn) -> bytes:
    text = b"".join(i.encode() for i in (*insns, EXIT))
    writer = elf_image if version == 0 else elf_image_v3
    return writer.write_image(Image(text, b"", writer.plan_layout(len(text), 8, False), 0, []))


CASES = {
    # (u32)0x7fffffff + 1 = 0x80000000, zero-extended by eBPF: >> 32 gives 0.
    "add32": [Insn(0xB7, 0, 0, 0, 0x7FFFFFFF), Insn(0x04, 0, 0, 0, 1), Insn(0x77, 0, 0, 0, 32)],
    # (u32)0 - 1 = 0xffffffff: >> 32 gives 0.
    "sub32": [Insn(0xB7, 0, 0, 0, 0), Insn(0x14, 0, 0, 0, 1), Insn(0x77, 0, 0, 0, 32)],
    # (u32)0x10000 * 0x8000 = 0x80000000: >> 32 gives 0.
    "mul32": [Insn(0xB7, 0, 0, 0, 0x10000), Insn(0x24, 0, 0, 0, 0x8000), Insn(0x77, 0, 0, 0, 32)],
    # -6 s/ 3 = -2; + 2 = 0.
    "sdiv": [Insn(0xB7, 0, 0, 0, -6), Insn(0x37, 0, 0, 1, 3), Insn(0x07, 0, 0, 0, 2)],
    # (s8)0xff = -1; + 1 = 0.
    "movsx": [Insn(0xB7, 1, 0, 0, 0xFF), Insn(0xBF, 0, 1, 8, 0), Insn(0x07, 0, 0, 0, 1)],
    # The caller keeps 0x1234 at r10-8, calls a function that writes 0 at its r10-4104 (beyond its own
    # 4 KiB frame), then returns its value - 0x1234: 0 when the frames are apart, as in eBPF.
    "stack": [Insn(0xB7, 1, 0, 0, 0x1234), Insn(0x7B, 10, 1, -8, 0), Insn(0x85, 0, 1, 0, 3),
              Insn(0x79, 0, 10, -8, 0), Insn(0x17, 0, 0, 0, 0x1234), EXIT,
              Insn(0xB7, 1, 0, 0, 0), Insn(0x7B, 10, 1, -4104, 0)],
}

# What each version does instead, where the relinker refuses the program for it. add32/sub32/mul32: the
# sign-extended 0xffffffff80000000 (or all ones) >> 32; sdiv: an unsigned quotient + 2 =
# 0x5555555555555555 (too large for a custom code: the runtime reports InvalidError); movsx: a plain mov,
# 0xff + 1. stack: v3 frames touch, so the write lands silently on the caller's value: 0 - 0x1234
# (InvalidError again); v0 puts an unmapped gap between frames where the runtime enables gaps, as Agave
# 4.1 (solders 0.29) does (access violation), but Agave 2.2's LiteSVM (solders 0.26) does not.
V0_STACK = "ProgramFailedToComplete" if solders_version() >= V3_SOLDERS else "InvalidError"
OUTCOMES = {
    ("add32", 0): "Custom(4294967295)", ("add32", 3): "Custom(4294967295)",
    ("sub32", 0): "Custom(4294967295)", ("sub32", 3): "Custom(4294967295)",
    ("mul32", 0): "Custom(4294967295)", ("mul32", 3): "Custom(4294967295)",
    ("sdiv", 0): "InvalidError", ("sdiv", 3): "InvalidError",
    ("movsx", 0): "Custom(256)", ("movsx", 3): "Custom(256)",
    ("stack", 0): V0_STACK, ("stack", 3): "InvalidError",
}


@pytest.fixture(params=[0, 3], ids=["v0", "v3"])
def version(request):
    if request.param == 3:
        request.getfixturevalue("v3_runtime")
    return request.param


@pytest.mark.parametrize("name", CASES)
def test_sbpf_differs_from_ebpf(name, version):
    insns = CASES[name]
    out = Svm(image(version, *insns)).run(b"")
    assert not out.ok, f"{name}: SBPF v{version} now runs it like eBPF"
    assert OUTCOMES[name, version] in out.error, out.error
    if name == "stack" and version == 0 and solders_version() >= V3_SOLDERS:
        assert any("Access violation in stack" in line for line in out.logs), out.logs
    assert any(refusal(i, version) for i in insns), f"the relinker must refuse {name} for v{version}"


def test_the_same_program_in_safe_forms_succeeds(version):
    """Control: the eBPF meaning of the add32 case, written with 64-bit ops, returns 0."""
    out = Svm(image(version, Insn(0xB7, 0, 0, 0, 0x7FFFFFFF), Insn(0x07, 0, 0, 0, 1),
                    Insn(0x57, 0, 0, 0, -1),  # and64 with imm -1 sign-extends to all ones: a no-op
                    Insn(0x77, 0, 0, 0, 32))).run(b"")
    assert out.ok, out.error


def test_a_call_within_the_frame_keeps_the_callers_stack(version):
    """Control for "stack": the same two functions, the callee writing inside its own frame (r10-8)."""
    insns = [*CASES["stack"][:-1], Insn(0x7B, 10, 1, -8, 0)]
    assert not any(refusal(i, version) for i in insns)
    out = Svm(image(version, *insns)).run(b"")
    assert out.ok, out.error


def test_relink_error_is_an_exception_with_problems():
    err = RelinkError(["a", "b", "c"])
    assert str(err) == "a (and 2 more problems)" and err.problems == ["a", "b", "c"]
