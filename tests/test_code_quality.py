"""The habits the code keeps, checked with the rest of the suite (so `.ci/run` runs them): ruff's rule
set and mypy's strict typing of the pure cores, both configured in pyproject.toml."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing():
    p = _run("ruff", "check", "--no-cache", ".")
    assert p.returncode == 0, p.stdout + p.stderr


def test_mypy_strict_on_the_pure_cores():
    p = _run("mypy", "--no-incremental", "--cache-dir", "/dev/null")
    assert p.returncode == 0, p.stdout + p.stderr
