"""The client libraries of the compatibility tests, installed once into cached folders beside the repository:
anchorpy 0.21.0 with its pins in a venv of its own (.venv-anchorpy: it cannot live in the main venv, whose
solders/solana are two years newer), and @coral-xyz/anchor from npm (tests/clients/anchor-ts, `npm ci` from
its package-lock.json). scripts/test.sh runs `python tests/clients/client_venvs.py` before the suite, so CI
installs them up front; the tests call the same functions, which do nothing when the install is current.

A folder is current when its stamp file holds the sha256 of what it was installed from (requirements.txt,
package-lock.json), so a changed pin reinstalls."""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
ANCHORPY_REQUIREMENTS = HERE / "anchorpy" / "requirements.txt"
ANCHOR_TS = HERE / "anchor-ts"
STAMP = ".solmeter-installed"


class InstallError(RuntimeError):
    """A client library could not be installed; str() says which and why."""


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> None:
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        raise InstallError(f"{what} failed ({' '.join(cmd)}): {(r.stderr or r.stdout)[-800:]}")


def anchorpy_python() -> Path:
    """The Python of the anchorpy venv ($SOLMETER_ANCHORPY_VENV, default .venv-anchorpy), installed if stale."""
    venv = Path(os.environ.get("SOLMETER_ANCHORPY_VENV", ROOT / ".venv-anchorpy"))
    python = venv / "bin" / "python"
    want = _digest(ANCHORPY_REQUIREMENTS)
    stamp = venv / STAMP
    if python.exists() and stamp.exists() and stamp.read_text() == want:
        return python
    if venv.exists():
        shutil.rmtree(venv)
    base = shutil.which("python3.11") or sys.executable
    _run([base, "-m", "venv", str(venv)], "creating the anchorpy venv")
    _run([str(python), "-m", "pip", "install", "-q", "-r", str(ANCHORPY_REQUIREMENTS)],
         "installing anchorpy 0.21.0 and its pins")
    _run([str(python), "-m", "pip", "check"], "pip check of the anchorpy venv")
    stamp.write_text(want)
    return python


def anchor_ts_dir() -> Path:
    """tests/clients/anchor-ts with node_modules installed by `npm ci` (exactly package-lock.json)."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise InstallError("node and npm are needed for the Anchor TS client (apt-get install nodejs npm)")
    want = _digest(ANCHOR_TS / "package-lock.json")
    stamp = ANCHOR_TS / "node_modules" / STAMP
    if stamp.exists() and stamp.read_text() == want:
        return ANCHOR_TS
    _run(["npm", "ci", "--no-audit", "--no-fund", "--ignore-scripts"], "npm ci of @coral-xyz/anchor", ANCHOR_TS)
    stamp.write_text(want)
    return ANCHOR_TS


if __name__ == "__main__":
    try:
        print(f"anchorpy venv: {anchorpy_python()}")
        print(f"anchor-ts: {anchor_ts_dir()}")
    except InstallError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(1)
