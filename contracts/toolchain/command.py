"""The build command shared by scripts/build_program.py (argparse, runs without the solmeter package
installed) and `solmeter contracts build` (Typer): build or --check, progress lines, the sha256 line,
and every failure as `error: <one line>` (after rustc's own diagnostics, when there are any)."""
from __future__ import annotations

from pathlib import Path
from typing import Callable

from .build import DEFAULT_OUT, build_program, check_reproduces
from .errors import ToolchainError
from .relink import DEFAULT_SBPF_VERSION
from .sbpf import SUPPORTED_VERSIONS

Echo = Callable[[str], None]


def build_command(program_dir: Path, crate_name: str, out: Path | None, cache_dir: Path | None, check: bool,
                  sbpf_version: int, echo: Echo, echo_err: Echo) -> int:
    """Run the build (or the check) and return the exit status."""
    if sbpf_version not in SUPPORTED_VERSIONS:
        echo_err(f"error: --sbpf-version {sbpf_version} is not supported: choose "
                 f"{' or '.join(map(str, SUPPORTED_VERSIONS))} (3 is what every cluster deploys)")
        return 1
    if out is None:
        if sbpf_version != DEFAULT_SBPF_VERSION:
            # The committed program is SBPF v3; a v0 build (refused by devnet's loader) goes elsewhere.
            echo_err(f"error: --sbpf-version {sbpf_version} needs --out: {DEFAULT_OUT.name} is the committed "
                     f"SBPF v{DEFAULT_SBPF_VERSION} program")
            return 1
        out = DEFAULT_OUT
    try:
        if check:
            result, same = check_reproduces(out, program_dir, crate_name, cache_dir, log=echo,
                                            sbpf_version=sbpf_version)
            if not same:
                echo_err(f"error: {out} does not match a fresh build (fresh sha256 {result.sha256})")
                return 1
            echo(f"{out} is reproduced byte for byte")
        else:
            result = build_program(program_dir, out, crate_name, cache_dir, log=echo, sbpf_version=sbpf_version)
    except ToolchainError as exc:
        first, _, detail = str(exc).partition("\n")
        if detail.strip():  # rustc's own diagnostics precede the one-line summary
            echo_err(detail.rstrip())
        echo_err(f"error: {first}")
        return 1
    echo(f"sha256 {result.sha256}  {out.name}")
    return 0
