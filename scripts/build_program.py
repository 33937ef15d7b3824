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

from contracts.toolchain.build import PROGRAM_CRATE, PROGRAM_DIR  # noqa: E402
from contracts.toolchain.command import build_command  # noqa: E402
from contracts.toolchain.relink import DEFAULT_SBPF_VERSION  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--program-dir", type=Path, default=PROGRAM_DIR,
                        help="crate directory holding src/lib.rs (default: contracts/program)")
    parser.add_argument("--crate-name", default=PROGRAM_CRATE, help="crate name (default: %(default)s)")
    parser.add_argument("--out", type=Path, default=None,
                        help="where to write the .so (default: contracts/build/solmeter_billing.so)")
    parser.add_argument("--cache-dir", type=Path, default=None,
                        help="cache for the compiled core library (default: $SOLMETER_SBF_CACHE or .cache/sbf)")
    parser.add_argument("--check", action="store_true",
                        help="rebuild into a temporary file and compare it with --out byte for byte; write nothing")
    parser.add_argument("--sbpf-version", type=int, default=DEFAULT_SBPF_VERSION,
                        help="SBPF version of the output: 3 (default; what every cluster deploys) or 0 (the "
                             "legacy format devnet refuses to deploy since SIMD-0500; needs --out)")
    args = parser.parse_args(argv)

    def err(line: str) -> None:
        print(line, file=sys.stderr)

    return build_command(args.program_dir, args.crate_name, args.out, args.cache_dir, args.check, args.sbpf_version,
                         lambda line: print(line, flush=True), err)


if __name__ == "__main__":
    sys.exit(main())
