"""Syscalls under SBPF v3: the hash the relinker writes, which names the runtime really registers, and every
syscall the committed program calls executed once with real arguments.

SBPF v3 deployment verifies no syscall: a `call` whose hash the runtime does not know is deployed and fails
only when it runs ("unsupported BPF instruction"). So these tests run every name rather than trusting a
list. fixtures/asm/syscalls.s calls each syscall the billing program uses; it is relinked by the relinker
under test, so its hashes are the relinker's. Runs need solders >= 0.29 for v3 (`v3_runtime`).
"""
from __future__ import annotations

import base64
import hashlib
import struct

import pytest
from solders.clock import Clock
from toolchain_support import ASM, MEMO_PROGRAM, Svm, v3_calls

from contracts import PROGRAM_SO
from contracts.toolchain import elf_image_v3, relink
from contracts.toolchain.elf_image import Image
from contracts.toolchain.sbpf import Insn
from contracts.toolchain.syscalls import KNOWN_SYSCALLS, UNAVAILABLE_IN_V3, murmur3_32, syscall_hash

SYSCALLS_OBJ = (ASM / "syscalls.o").read_bytes()
UNSUPPORTED = "unsupported BPF instruction"


@pytest.mark.parametrize("data,expected", [
    (b"", 0), (b"a", 0x3C2569B2), (b"abc", 0xB3DD93FA), (b"abcd", 0x43ED676A), (b"hello world", 0x5E928F0F)])
def test_murmur3_reference_vectors(data, expected):
    assert murmur3_32(data) == expected


@pytest.mark.parametrize("name,key", [
    ("sol_log_", 0x207559BD), ("sol_panic_", 0x686093BB), ("abort", 0xB6FC1A11), ("entrypoint", 0x71E3CF81),
    ("sol_invoke_signed_c", 0xA22B9C85), ("sol_log_data", 0x7317B434), ("sol_sha256", 0x11F49D86)])
def test_syscall_keys_are_the_runtimes(name, key):
    """Values published with the SBPF v3 static-syscall definitions (solana-define-syscall)."""
    assert syscall_hash(name) == key


def test_every_syscall_of_the_committed_program_is_exercised_by_the_fixture():
    called, _ = v3_calls(PROGRAM_SO.read_bytes())
    assert called, "the committed program calls no syscall: not an SBPF v3 image?"
    assert set(called) <= KNOWN_SYSCALLS - set(UNAVAILABLE_IN_V3), called
    _, report = relink(SYSCALLS_OBJ)
    missing = set(called) - set(report.syscalls)
    assert not missing, f"add {sorted(missing)} to tests/toolchain/fixtures/asm/syscalls.s"


def _calls(name: str) -> bytes:
    """A v3 program that calls `name` (src=0, imm = its hash) with whatever is in r1-r5, then exits 0."""
    key = syscall_hash(name)
    text = b"".join(i.encode() for i in (Insn(0x85, 0, 0, 0, key - (1 << 32) if key >= 1 << 31 else key),
                                         Insn(0xB7, 0, 0, 0, 0), Insn(0x95, 0, 0, 0, 0)))
    return elf_image_v3.write_image(Image(text, b"", elf_image_v3.plan_layout(len(text), 8, False), 0, []))


@pytest.mark.parametrize("cluster,expected", [
    ("devnet", set(UNAVAILABLE_IN_V3)), ("mainnet", set(UNAVAILABLE_IN_V3)),
    ("all", {"sol_get_fees_sysvar"})])  # every gate active: the other three are merely not activated yet
def test_which_names_the_v3_runtime_registers(v3_runtime, cluster, expected):
    """Each known name is called once (arguments are garbage: any failure but "unsupported" means the
    runtime found the syscall). On the clusters, the ones the relinker refuses for v3 are exactly the
    unregistered ones."""
    unregistered = set()
    for name in sorted(KNOWN_SYSCALLS | {"sol_frobnicate_"}):
        out = Svm(_calls(name), cluster).run(b"")
        if any(UNSUPPORTED in line for line in out.logs):
            unregistered.add(name)
    assert unregistered == expected | {"sol_frobnicate_"}


@pytest.fixture(params=["v3-devnet", "v3-mainnet", "v0"])
def probe(request):
    version = 0 if request.param == "v0" else 3
    if version == 3:
        request.getfixturevalue("v3_runtime")
    cluster = request.param.split("-")[1] if version == 3 else None
    return Svm(relink(SYSCALLS_OBJ, version)[0], cluster)


def test_sol_log(probe):
    out = probe.run(bytes([0]))
    assert out.ok, out.logs
    assert "Program log: probe: sol_log_" in out.logs


def test_sol_log_data(probe):
    out = probe.run(bytes([1]))
    assert out.ok, out.logs
    assert f"Program data: {base64.b64encode(b'probe').decode()}" in out.logs


def test_sol_sha256(probe):
    out = probe.run(bytes([2]))
    assert out.ok, out.logs
    assert out.return_data == hashlib.sha256(b"abc").digest()


def test_sol_get_clock_sysvar(probe):
    probe.svm.set_clock(Clock(slot=77, epoch_start_timestamp=5, epoch=3, leader_schedule_epoch=4,
                              unix_timestamp=1_700_000_123))
    out = probe.run(bytes([3]))
    assert out.ok, out.logs
    assert struct.unpack("<QqQQq", out.return_data) == (77, 5, 3, 4, 1_700_000_123)


def test_sol_curve_validate_point(probe):
    assert probe.run(bytes([4])).ok  # the ed25519 base point
    off_curve = probe.run(bytes([5]))
    assert not off_curve.ok and "Custom(1)" in off_curve.error


def test_sol_panic(probe):
    out = probe.run(bytes([6]))
    assert not out.ok
    assert any("Panicked in probe.rs at 42:7" in line for line in out.logs), out.logs


def test_sol_invoke_signed_c(probe):
    out = probe.run(b"", readonly=[MEMO_PROGRAM])
    assert out.ok, out.logs
    assert f"Program {MEMO_PROGRAM} invoke [2]" in out.logs
    # Memo logs `Memo (len 5): "probe"` (solders 0.26) or `Memo (len 5)` then `probe` (0.29).
    assert any(line.startswith("Program log:") and "probe" in line for line in out.logs), out.logs
