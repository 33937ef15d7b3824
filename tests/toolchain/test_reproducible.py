"""The committed contracts/build/solmeter_billing.so is what the committed source builds, byte for byte.

Skips only where the Rust toolchain is absent (CI installs it). If this fails after a change to
contracts/program, rebuild: .venv/bin/python scripts/build_program.py
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest

from contracts.toolchain.build import DEFAULT_OUT, REPO_ROOT, check_reproduces

pytestmark = pytest.mark.toolchain
REBUILD = "rebuild with `.venv/bin/python scripts/build_program.py` and commit contracts/build/"


def test_committed_program_is_reproduced(toolchain):
    assert DEFAULT_OUT.is_file(), f"{DEFAULT_OUT} is missing: {REBUILD}"
    result, same = check_reproduces()
    assert same, f"{DEFAULT_OUT} differs from a fresh build (sha256 {result.sha256}): {REBUILD}"


def test_committed_program_has_no_absolute_paths(toolchain):
    image = DEFAULT_OUT.read_bytes()
    for leak in (str(REPO_ROOT), str(toolchain.library), "/work/", "/usr/src/", "/home/", "/root/", "/tmp/"):
        assert leak.encode() not in image, f"{leak} appears in {DEFAULT_OUT}"


@pytest.mark.slow
def test_another_checkout_with_a_cold_cache_reproduces(toolchain, tmp_path):
    """A copy of the tree elsewhere, with its own core cache, checks the committed binary as identical."""
    checkout = tmp_path / "elsewhere" / "solmeter"
    shutil.copytree(REPO_ROOT / "contracts", checkout / "contracts",
                    ignore=shutil.ignore_patterns("__pycache__", "client", "idl", "keys"))
    shutil.copytree(REPO_ROOT / "scripts", checkout / "scripts", ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, "SOLMETER_SBF_CACHE": str(tmp_path / "cold-cache")}
    proc = subprocess.run([sys.executable, "scripts/build_program.py", "--check"], cwd=checkout, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "reproduced byte for byte" in proc.stdout
    assert "building core" in proc.stdout  # the cold cache really rebuilt core
