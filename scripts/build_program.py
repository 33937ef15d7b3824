#!/usr/bin/env python3
"""Build the on-chain billing program into contracts/build/solmeter_billing.so and print its sha256.

Runs without the solmeter package installed: it needs only pyelftools and the Debian Rust toolchain
(apt-get install rustc-web cargo-web rust-web-src). `solmeter contracts build` does the same.
"""
import argparse
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from contracts.toolchain.build import (  # noqa: E402
    DEFAULT_OUT, PROGRAM_CRATE, PROGRAM_DIR, build_program, check_reproduces)
from contracts.toolchain.errors import ToolchainError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--program-dir", type=Path, default=PROGRAM_DIR,
                        help="crate directory holding src/lib.rs (default: contracts/program)")
    parser.add_argument("--crate-name", default=PROGRAM_CRATE, help="crate name (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT,
                        help="where to write the .so (default: contracts/build/solmeter_billing.so)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="cache for the compiled core library (default: $SOLMETER_SBF_CACHE or .cache/sbf)")
    parser.add_argument("--check", action="store_true",
                        help="rebuild into a temporary file and compare it with --out byte for byte; write nothing")
    args = parser.parse_args(argv)

    def log(line: str) -> None:
        print(line, flush=True)

    try:
        if args.check:
            result, same = check_reproduces(args.out, args.program_dir, args.crate_name, args.cache_dir, log=log)
            if not same:
                print(f"error: {args.out} does not match a fresh build (fresh sha256 {result.sha256})",
                      file=sys.stderr)
                return 1
            print(f"{args.out} is reproduced byte for byte")
        else:
            result = build_program(args.program_dir, args.out, args.crate_name, args.cache_dir, log=log)
    except ToolchainError as exc:
        first, _, detail = str(exc).partition("\n")
        if detail.strip():  # rustc's own diagnostics precede the one-line summary
            print(detail.rstrip(), file=sys.stderr)
        print(f"error: {first}", file=sys.stderr)
        return 1
    print(f"sha256 {result.sha256}  {args.out.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
