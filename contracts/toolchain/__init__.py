"""The offline SBF toolchain: builds the on-chain program from Rust with the Debian rustc and relinks it
into an SBPF v3 program (or, on request, the legacy v0 shared object; see docs/arch-toolchain.md)."""
from .errors import BuildError, RelinkError, ToolchainError, ToolchainMissing
from .relink import RelinkReport, relink, relink_file

__all__ = ["BuildError", "RelinkError", "RelinkReport", "ToolchainError", "ToolchainMissing", "relink",
           "relink_file"]
