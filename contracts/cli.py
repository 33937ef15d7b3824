"""`solmeter contracts ...`: build the on-chain program offline and check the committed binary."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer

from .toolchain.build import DEFAULT_OUT, PROGRAM_CRATE, PROGRAM_DIR, build_program, check_reproduces
from .toolchain.errors import ToolchainError

app = typer.Typer(help="The on-chain billing program: build it from Rust and check the committed binary.",
                  no_args_is_help=True)


@app.callback()
def _group() -> None:
    """The on-chain billing program: build it from Rust and check the committed binary."""


@app.command("build")
def build(
    program_dir: Path = typer.Option(PROGRAM_DIR, "--program-dir", help="Crate directory holding src/lib.rs."),
    out: Path = typer.Option(DEFAULT_OUT, "--out", help="Where to write the SBPF v0 shared object."),
    cache_dir: Optional[Path] = typer.Option(
        None, "--cache-dir", help="Cache for the compiled core library (default $SOLMETER_SBF_CACHE or .cache/sbf)."),
    check: bool = typer.Option(
        False, "--check", help="Rebuild into a temporary file and compare with --out byte for byte; write nothing."),
) -> None:
    """Build the billing program with the Debian Rust toolchain, relink it to SBPF v0 and print its sha256.

    The sha256 is the figure an auditor compares with the program deployed on chain.

    The build is reproducible: the same source gives the same bytes from any checkout path.
    """
    try:
        if check:
            result, same = check_reproduces(out, program_dir, PROGRAM_CRATE, cache_dir, log=typer.echo)
            if not same:
                typer.echo(f"error: {out} does not match a fresh build (fresh sha256 {result.sha256})", err=True)
                raise typer.Exit(1)
            typer.echo(f"{out} is reproduced byte for byte")
        else:
            result = build_program(program_dir, out, PROGRAM_CRATE, cache_dir, log=typer.echo)
    except ToolchainError as exc:
        first, _, detail = str(exc).partition("\n")
        if detail.strip():  # rustc's diagnostics precede the one-line summary
            typer.echo(detail.rstrip(), err=True)
        typer.echo(f"error: {first}", err=True)
        raise typer.Exit(1)
    typer.echo(f"sha256 {result.sha256}  {out.name}")
