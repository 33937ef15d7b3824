"""Why the relinker refuses what it refuses: SBPF v0 really runs these forms differently from eBPF.

Each program below is written straight into an image (bypassing the relinker's checks) and run in
LiteSVM. Under eBPF semantics every one returns 0 (success); under SBPF v0 each returns something else.
If a future runtime ran them as eBPF does, these tests would fail and the refusal could be revisited.
"""
from __future__ import annotations

import pytest
from toolchain_support import Svm

from contracts.toolchain import RelinkError
from contracts.toolchain.elf_image import Image, plan_layout, write_image
from contracts.toolchain.sbpf import Insn, refusal

EXIT = Insn(0x95, 0, 0, 0, 0)


def image(*insns: Insn) -> bytes:
    text = b"".join(i.encode() for i in (*insns, EXIT))
    return write_image(Image(text, b"", plan_layout(len(text), 8, False), 0, []))


CASES = {
    # (u32)0x7fffffff + 1 = 0x80000000, zero-extended by eBPF: >> 32 gives 0.
    "alu32 add": [Insn(0xB7, 0, 0, 0, 0x7FFFFFFF), Insn(0x04, 0, 0, 0, 1), Insn(0x77, 0, 0, 0, 32)],
    # -6 s/ 3 = -2; + 2 = 0.
    "sdiv": [Insn(0xB7, 0, 0, 0, -6), Insn(0x37, 0, 0, 1, 3), Insn(0x07, 0, 0, 0, 2)],
    # (s8)0xff = -1; + 1 = 0.
    "movsx": [Insn(0xB7, 1, 0, 0, 0xFF), Insn(0xBF, 0, 1, 8, 0), Insn(0x07, 0, 0, 0, 1)],
}


# What v0 returns instead: the sign-extended 0xffffffff80000000 >> 32; an unsigned quotient + 2 =
# 0x5555555555555555 (not a custom code: the runtime reports InvalidError); a plain mov, 0xff + 1.
V0_ERRORS = {"alu32 add": "Custom(4294967295)", "sdiv": "InvalidError", "movsx": "Custom(256)"}


@pytest.mark.parametrize("name", CASES)
def test_v0_differs_from_ebpf(name):
    insns = CASES[name]
    assert any(refusal(i) for i in insns), "the relinker must refuse this program"
    out = Svm(image(*insns)).run(b"")
    assert not out.ok, f"{name}: SBPF v0 now runs it like eBPF"
    assert V0_ERRORS[name] in out.error, out.error


def test_the_same_program_in_v0_safe_forms_succeeds():
    """Control: the eBPF meaning of the alu32 case, written with 64-bit ops, returns 0 in v0."""
    out = Svm(image(Insn(0xB7, 0, 0, 0, 0x7FFFFFFF), Insn(0x07, 0, 0, 0, 1),
                    Insn(0x57, 0, 0, 0, -1),  # and64 with imm -1 sign-extends to all ones: a no-op
                    Insn(0x77, 0, 0, 0, 32))).run(b"")
    assert out.ok, out.error


def test_relink_error_is_an_exception_with_problems():
    err = RelinkError(["a", "b", "c"])
    assert str(err) == "a (and 2 more problems)" and err.problems == ["a", "b", "c"]
