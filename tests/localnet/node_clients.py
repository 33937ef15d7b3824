"""JavaScript clients (@solana/web3.js, @solana/kit) for the compatibility tests: each lives in a folder here
with its package.json and scripts, npm-installed once per machine into $TMPDIR/solmeter-<name>-<version> (or
the directory an environment variable names)."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent


def npm_dir(folder: str, package: str, env_var: str) -> Path:
    """The install directory for tests/localnet/<folder> (package.json pins `package`), scripts copied in."""
    if shutil.which("node") is None or shutil.which("npm") is None:
        pytest.fail(f"node and npm are needed for the {package} check (apt-get install nodejs npm)", pytrace=False)
    src = HERE / folder
    version = json.loads((src / "package.json").read_text())["dependencies"][package]
    cache = Path(os.environ.get(env_var, Path(tempfile.gettempdir()) / f"solmeter-{folder}-{version}"))
    cache.mkdir(parents=True, exist_ok=True)
    for f in src.iterdir():
        if f.suffix in (".json", ".mjs"):
            shutil.copy(f, cache / f.name)
    if not (cache / "node_modules" / Path(*package.split("/"))).exists():
        r = subprocess.run(["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts"], cwd=cache,
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            pytest.fail(f"npm install {package}@{version} failed: {r.stderr[-500:]}", pytrace=False)
    return cache


def run_script(cache: Path, script: str, *args: str, timeout: int = 180) -> dict:
    """Runs a script that prints one JSON object as its last line; returns it."""
    r = subprocess.run(["node", script, *args], cwd=cache, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads(r.stdout.strip().splitlines()[-1])
