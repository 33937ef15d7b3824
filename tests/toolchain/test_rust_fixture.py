"""A Rust crate built by the real pipeline (core bitcode + fat LTO + relinker) runs in LiteSVM, as
SBPF v3 (the default; solders >= 0.29) and as v0.

The fixture (fixtures/rust_relocs) uses what rustc emits for the billing program's constructs: a
function-pointer table and `&dyn` vtables (R_BPF_64_ABS64 in .data.rel.ro, callx), syscalls, strings in
.rodata, non-inlined helpers, a panic handler calling sol_panic_ with a remapped source location.
"""
from __future__ import annotations

import shutil
import struct

import pytest
from toolchain_support import RUST_FIXTURE, Svm

from contracts.toolchain.build import REPO_ROOT, build_program, default_cache_dir

pytestmark = pytest.mark.toolchain
SHOWN = "tests/toolchain/fixtures/rust_relocs"
MASK = (1 << 64) - 1


@pytest.fixture(scope="module")
def built(toolchain, tmp_path_factory):
    out = tmp_path_factory.mktemp("rust") / "rust_relocs.so"
    return build_program(RUST_FIXTURE, out, "rust_relocs")


@pytest.fixture(scope="module")
def built_v0(toolchain, tmp_path_factory):
    out = tmp_path_factory.mktemp("rust") / "rust_relocs_v0.so"
    return build_program(RUST_FIXTURE, out, "rust_relocs", sbpf_version=0)


@pytest.fixture(scope="module", params=[3, 0], ids=["v3", "v0"])
def svm(request):
    if request.param == 3:
        request.getfixturevalue("v3_runtime")
        return Svm(request.getfixturevalue("built").path.read_bytes())
    return Svm(request.getfixturevalue("built_v0").path.read_bytes())


def test_both_versions_come_from_the_same_object(built, built_v0):
    assert built.path.read_bytes()[48:52] == (3).to_bytes(4, "little")
    assert built_v0.path.read_bytes()[48:52] == bytes(4)
    assert built.report.text_size == built_v0.report.text_size and built.report.syscalls == built_v0.report.syscalls


@pytest.mark.parametrize("op,a,b,expected", [
    (0, 6, 7, 13),
    (0, MASK, 2, 1),
    (1, 3, 5, (3 - 5) & MASK),
    (2, 6, 7, 42),
    (2, 1 << 40, 1 << 30, 0),
    (3, 0xFF, 0x40, ((0xFF << 7) ^ (0x40 >> 3)) & MASK),
])
def test_function_pointer_table(svm, op, a, b, expected):
    account = svm.account(16)
    out = svm.run(bytes([0, op]) + struct.pack("<QQ", a, b), [account])
    assert out.ok, out.error
    assert out.return_data == struct.pack("<Q", expected)
    assert "Program log: ops table" in out.logs
    assert bytes(svm.svm.get_account(account).data) == struct.pack("<Q", expected) + bytes(8)


@pytest.mark.parametrize("index,area,name", [(0, 49, b"square"), (1, 15, b"rectangle"), (2, 12, b"triangle")])
def test_dyn_trait_vtables(svm, index, area, name):
    out = svm.run(bytes([1, index]))
    assert out.ok, out.error
    assert out.return_data == struct.pack("<Q", area) + name
    assert f"Program log: {name.decode()}" in out.logs


def test_panic_reports_the_repo_relative_location(svm):
    out = svm.run(bytes([0, 9]) + bytes(16))  # index 9 of a 4-entry table
    assert not out.ok
    assert any(f"Panicked in {SHOWN}/src/lib.rs at " in line for line in out.logs), out.logs


def test_no_absolute_path_leaks(built, toolchain):
    image = built.path.read_bytes()
    for leak in (str(REPO_ROOT), str(toolchain.library), str(default_cache_dir()), "/work/", "/usr/src/", "/root/"):
        assert leak.encode() not in image, leak
    assert f"{SHOWN}/src/lib.rs".encode() in image


def test_same_bytes_from_another_path(built, tmp_path):
    """Another checkout of the crate (another absolute path) builds the identical binary."""
    elsewhere = tmp_path / "some" / "other" / "checkout" / "rust_relocs"
    shutil.copytree(RUST_FIXTURE, elsewhere)
    again = build_program(elsewhere, tmp_path / "again.so", "rust_relocs", display_path=SHOWN)
    assert again.path.read_bytes() == built.path.read_bytes()
    assert again.sha256 == built.sha256
    assert again.core_from_cache
