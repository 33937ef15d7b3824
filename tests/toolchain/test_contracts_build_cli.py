"""`solmeter contracts build` and scripts/build_program.py: help text, progress, one-line errors."""
from __future__ import annotations

import hashlib
import os
import subprocess
import sys

import pytest
from toolchain_support import RUST_FIXTURE
from typer.testing import CliRunner

from solmeter.commands.contracts import app
from contracts.toolchain.build import REPO_ROOT

SCRIPT = REPO_ROOT / "scripts" / "build_program.py"
runner = CliRunner()


def test_help_lists_build():
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    assert "build" in result.output and "sha256" in result.output


def test_build_help_is_real():
    result = runner.invoke(app, ["build", "--help"])
    assert result.exit_code == 0
    for word in ("--check", "--out", "--cache-dir", "--sbpf-version", "auditor"):
        assert word in result.output


def test_missing_toolchain_is_one_clear_line(monkeypatch, tmp_path):
    monkeypatch.setenv("SOLMETER_RUSTC", str(tmp_path / "no-rustc"))
    result = runner.invoke(app, ["build", "--out", str(tmp_path / "x.so")])
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1
    assert "rustc-web cargo-web rust-web-src" in lines[0]
    assert not (tmp_path / "x.so").exists()


def test_script_missing_toolchain_without_the_package_installed(tmp_path):
    """The script runs with only the repo on sys.path (python -S: no site-packages but pyelftools')."""
    env = {**os.environ, "SOLMETER_RUSTC": str(tmp_path / "no-rustc")}
    proc = subprocess.run([sys.executable, str(SCRIPT), "--out", str(tmp_path / "x.so")], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: Rust compiler not found at {tmp_path / 'no-rustc'}: install the Debian packages: "
        f"apt-get install rustc-web cargo-web rust-web-src"]


@pytest.mark.toolchain
def test_script_builds_and_prints_sha256(toolchain, tmp_path):
    out = tmp_path / "fixture.so"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--program-dir", str(RUST_FIXTURE), "--crate-name",
                           "rust_relocs", "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert proc.stdout.strip().splitlines()[-1] == f"sha256 {digest}  fixture.so"
    assert "relinking to SBPF v3" in proc.stdout
    assert out.read_bytes()[48:52] == (3).to_bytes(4, "little")  # e_flags


@pytest.mark.toolchain
def test_script_builds_v0_on_request(toolchain, tmp_path):
    """--sbpf-version 0: the legacy format, for showing a loader that refuses it (devnet, SIMD-0500)."""
    out = tmp_path / "legacy.so"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--program-dir", str(RUST_FIXTURE), "--crate-name",
                           "rust_relocs", "--out", str(out), "--sbpf-version", "0"], capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stderr
    assert "relinking to SBPF v0" in proc.stdout
    assert out.read_bytes()[48:52] == bytes(4)


def test_v0_without_out_is_refused_before_building(monkeypatch, tmp_path):
    """The committed .so is v3: a v0 build must name its own file (checked before the toolchain is even looked
    for, so this holds without rustc)."""
    monkeypatch.setenv("SOLMETER_RUSTC", str(tmp_path / "no-rustc"))
    for argv in (["build", "--sbpf-version", "0"], ["build", "--sbpf-version", "0", "--check"]):
        result = runner.invoke(app, argv)
        assert result.exit_code == 1
        assert result.output.strip().splitlines() == [
            "error: --sbpf-version 0 needs --out: solmeter_billing.so is the committed SBPF v3 program"]


@pytest.mark.parametrize("value", ["1", "2", "4"])
def test_unsupported_sbpf_version_is_one_clear_line(value, tmp_path):
    proc = subprocess.run([sys.executable, str(SCRIPT), "--sbpf-version", value, "--out", str(tmp_path / "x.so")],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        f"error: --sbpf-version {value} is not supported: choose 0 or 3 (3 is what every cluster deploys)"]
    assert not (tmp_path / "x.so").exists()


@pytest.mark.toolchain
def test_cli_check_detects_a_different_binary(toolchain, tmp_path):
    committed = tmp_path / "committed.so"
    committed.write_bytes(b"not the program")
    result = runner.invoke(app, ["build", "--program-dir", str(RUST_FIXTURE), "--out", str(committed), "--check"])
    assert result.exit_code == 1
    assert "does not match a fresh build" in result.output
    assert committed.read_bytes() == b"not the program"  # --check writes nothing


@pytest.mark.toolchain
def test_compile_error_ends_with_one_summary_line(toolchain, tmp_path):
    crate = tmp_path / "broken"
    (crate / "src").mkdir(parents=True)
    (crate / "src" / "lib.rs").write_text("#![no_std]\npub fn f() -> u64 { undefined_name }\n")
    result = runner.invoke(app, ["build", "--program-dir", str(crate), "--out", str(tmp_path / "x.so")])
    assert result.exit_code == 1
    last = result.output.strip().splitlines()[-1]
    assert last.startswith("error: compiling solmeter_billing failed:") and "undefined_name" in last
    assert not (tmp_path / "x.so").exists()


def test_missing_library_sources_names_the_package(tmp_path):
    """A rustc without rust-web-src: the error says which sources are missing and what to install."""
    from contracts.toolchain.build import find_toolchain
    from contracts.toolchain.errors import ToolchainMissing

    fake = tmp_path / "rustc"
    fake.write_text('#!/bin/sh\ncase "$1" in\n  -vV) printf "rustc 0.0.1\\nrelease: 0.0.1\\ncommit-hash: abc\\n";;\n'
                    f'  --print) echo {tmp_path / "sysroot"};;\nesac\n')
    fake.chmod(0o755)
    with pytest.raises(ToolchainMissing) as info:
        find_toolchain(fake)
    message = str(info.value)
    assert "Rust library sources for rustc 0.0.1 not found" in message
    assert message.endswith("apt-get install rustc-web cargo-web rust-web-src") and "\n" not in message
