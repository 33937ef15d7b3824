"""Fixtures for the toolchain tests: the Rust toolchain, llvm-mc and a runtime that loads SBPF v3
(solders >= 0.29), each skipped (saying why) where absent; under CI every skip is a failure."""
from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

from contracts.toolchain.build import find_toolchain
from contracts.toolchain.errors import ToolchainMissing

from toolchain_support import v3_runtime_missing  # noqa: E402  (tests/toolchain is on sys.path)

# fixtures/refused_forms.py (the table of refused forms) is imported by the tests as a plain module.
sys.path.insert(0, str(Path(__file__).resolve().parent / "fixtures"))


@pytest.fixture(scope="session")
def toolchain():
    """The Debian Rust toolchain; tests that need it skip, saying so, where it is not installed."""
    try:
        return find_toolchain()
    except ToolchainMissing as exc:
        pytest.skip(f"Rust toolchain absent, cannot build from source: {exc}")


@pytest.fixture(scope="session")
def llvm_mc():
    path = shutil.which("llvm-mc-19")
    if path is None:
        pytest.skip("llvm-mc-19 absent (Debian package llvm-19): cannot reassemble the fixtures")
    return path


@pytest.fixture(scope="session")
def v3_runtime():
    """A LiteSVM that loads SBPF v3 programs: solders >= 0.29."""
    reason = v3_runtime_missing()
    if reason:
        pytest.skip(reason)
