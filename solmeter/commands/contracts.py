"""`solmeter contracts ...`: build the on-chain program offline and check the committed binary."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from contracts.toolchain.build import PROGRAM_CRATE, PROGRAM_DIR
from contracts.toolchain.command import build_command
from contracts.toolchain.relink import DEFAULT_SBPF_VERSION

app = typer.Typer(help="The on-chain billing program: build it from Rust and check the committed binary.",
                  no_args_is_help=True)


@app.callback()
def _group() -> None:
    """The on-chain billing program: build it from Rust and check the committed binary."""


@app.command("build")
def build(
    program_dir: Path = typer.Option(PROGRAM_DIR, "--program-dir", help="Crate directory holding src/lib.rs."),
    out: Optional[Path] = typer.Option(
        None, "--out", help="Where to write the shared object (default contracts/build/solmeter_billing.so)."),
    cache_dir: Optional[Path] = typer.Option(
        None, "--cache-dir", help="Cache for the compiled core library (default $SOLMETER_SBF_CACHE or .cache/sbf)."),
    check: bool = typer.Option(
        False, "--check", help="Rebuild into a temporary file and compare with --out byte for byte; write nothing."),
    sbpf_version: int = typer.Option(
        DEFAULT_SBPF_VERSION, "--sbpf-version",
        help="3 (default: what every cluster deploys) or 0 (legacy; devnet refuses to deploy it; needs --out)."),
) -> None:
    """Build the billing program with the Debian Rust toolchain, relink it to SBPF v3 and print its sha256.

    The sha256 is the figure an auditor compares with the program deployed on chain.

    The build is reproducible: the same source gives the same bytes from any checkout path.
    """
    status = build_command(program_dir, PROGRAM_CRATE, out, cache_dir, check, sbpf_version, typer.echo,
                           lambda line: typer.echo(line, err=True))
    if status:
        raise typer.Exit(status)
