"""Build orchestration: find the Debian Rust toolchain, build `core` once (cached), compile the program
crate to one BPF object, relink it into SBPF v3 (or v0 on request) and write the .so atomically.

Only the standard library and pyelftools are used, so scripts/build_program.py runs without the
solmeter package installed. Reproducibility comes from: a fixed compiler (the cache key includes
`rustc -vV`), fixed flags, a clean environment, and --remap-path-prefix for every absolute path that
could reach the binary (the crate directory and the Rust library sources), so panic locations read
`contracts/program/src/...` and `/rustc/<commit>/library/...` whatever the checkout path.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .errors import BuildError, ToolchainMissing
from .relink import DEFAULT_SBPF_VERSION, RelinkReport, relink
from .target import BASE_TARGET, TARGET_NAME, derive_spec

REPO_ROOT = Path(__file__).resolve().parents[2]
PROGRAM_DIR = REPO_ROOT / "contracts" / "program"
PROGRAM_CRATE = "solmeter_billing"
DEFAULT_OUT = REPO_ROOT / "contracts" / "build" / f"{PROGRAM_CRATE}.so"
DEFAULT_RUSTC = "/usr/bin/rustc"  # Debian's rustc-web; a rustup rustc earlier on PATH is a different compiler
INSTALL_HINT = "install the Debian packages: apt-get install rustc-web cargo-web rust-web-src"

# Bumped when the way core is built changes, so stale caches are not reused.
CORE_RECIPE = "core-bitcode-v1"
CORE_FLAGS = ["-C", "opt-level=3", "-C", "panic=abort", "-C", "codegen-units=1", "-C", "linker-plugin-lto",
              "-Zforce-unstable-if-unmarked"]
PROGRAM_FLAGS = ["-C", "opt-level=3", "-C", "panic=abort", "-C", "codegen-units=1", "-C", "lto=fat",
                 "-C", "debuginfo=0", "-C", "llvm-args=-bpf-stack-size=4096",
                 "-C", "target-feature=+allows-misaligned-mem-access"]
COMPILER_BUILTINS_RS = ("#![feature(compiler_builtins)]\n#![compiler_builtins]\n#![no_builtins]\n#![no_std]\n"
                        "#![allow(internal_features)]\n")

Log = Callable[[str], None]


def _silent(_: str) -> None:
    pass


@dataclass(frozen=True)
class Toolchain:
    rustc: Path
    version_text: str  # `rustc -vV`, part of the cache key
    release: str
    commit: str
    library: Path  # Rust library sources (core/, ...), resolved

    @property
    def remapped_library(self) -> str:
        return f"/rustc/{self.commit}/library"


@dataclass(frozen=True)
class BuildResult:
    path: Path
    sha256: str
    size: int
    core_from_cache: bool
    report: RelinkReport


def _env() -> dict[str, str]:
    # A fixed environment: nothing from the caller's shell (RUSTFLAGS, locale, ...) can change the output.
    return {"PATH": "/usr/bin:/bin", "LC_ALL": "C", "RUSTC_BOOTSTRAP": "1",
            "HOME": os.environ.get("HOME", "/nonexistent")}


def _run(cmd: list[str], what: str, cwd: Path | None = None) -> str:
    proc = subprocess.run(cmd, capture_output=True, text=True, env=_env(), cwd=cwd)
    if proc.returncode != 0:
        first = next((ln for ln in proc.stderr.splitlines() if ln.startswith("error")), proc.stderr.strip())
        first = re.sub(r"^error(\[E\d+\])?: ", "", first)
        raise BuildError(f"{what} failed: {first}\n{_compiler_messages(proc.stderr)}")
    return proc.stderr


def find_toolchain(rustc: str | os.PathLike | None = None) -> Toolchain:
    """The Debian Rust compiler and its library sources, or ToolchainMissing naming what to install."""
    rustc_path = Path(rustc or os.environ.get("SOLMETER_RUSTC") or DEFAULT_RUSTC)
    if not rustc_path.is_file() or not os.access(rustc_path, os.X_OK):
        raise ToolchainMissing(f"Rust compiler not found at {rustc_path}: {INSTALL_HINT}")
    try:
        proc = subprocess.run([str(rustc_path), "-vV"], capture_output=True, text=True, env=_env(), timeout=60)
    except OSError as exc:
        raise ToolchainMissing(f"cannot run {rustc_path} ({exc}): {INSTALL_HINT}") from None
    if proc.returncode != 0:
        raise ToolchainMissing(f"{rustc_path} -vV failed: {proc.stderr.strip()}: {INSTALL_HINT}")
    fields = dict(ln.split(": ", 1) for ln in proc.stdout.splitlines() if ": " in ln)
    release, commit = fields.get("release", "?"), fields.get("commit-hash", "unknown")
    sysroot = subprocess.run([str(rustc_path), "--print", "sysroot"], capture_output=True, text=True,
                             env=_env()).stdout.strip()
    candidates = [Path(sysroot) / "lib/rustlib/src/rust/library", Path(f"/usr/src/rustc-{release}/library")]
    library = next((c.resolve() for c in candidates if (c / "core/src/lib.rs").is_file()), None)
    if library is None:
        raise ToolchainMissing(f"Rust library sources for rustc {release} not found "
                               f"(looked in {', '.join(map(str, candidates))}): {INSTALL_HINT}")
    return Toolchain(rustc_path, proc.stdout, release, commit, library)


def default_cache_dir() -> Path:
    """$SOLMETER_SBF_CACHE, else .cache/sbf in a source checkout, else the user's cache directory."""
    if os.environ.get("SOLMETER_SBF_CACHE"):
        return Path(os.environ["SOLMETER_SBF_CACHE"])
    if (REPO_ROOT / "pyproject.toml").is_file():
        return REPO_ROOT / ".cache" / "sbf"
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "solmeter" / "sbf"


def _target_spec(tc: Toolchain) -> str:
    proc = subprocess.run([str(tc.rustc), "-Zunstable-options", "--print", "target-spec-json", "--target",
                           BASE_TARGET], capture_output=True, text=True, env=_env())
    if proc.returncode != 0:
        raise BuildError(f"rustc cannot print the {BASE_TARGET} target spec: {proc.stderr.strip()}")
    return derive_spec(proc.stdout)


def _atomic_write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@dataclass(frozen=True)
class Sysroot:
    root: Path
    spec: Path
    from_cache: bool


def ensure_core(tc: Toolchain, cache_dir: Path, log: Log = _silent) -> Sysroot:
    """A sysroot holding core (as LLVM bitcode) and an empty compiler_builtins, built once per key."""
    spec_text = _target_spec(tc)
    key_src = "\n".join([CORE_RECIPE, TARGET_NAME, tc.version_text, spec_text, " ".join(CORE_FLAGS),
                         str(tc.library)])
    key = hashlib.sha256(key_src.encode()).hexdigest()[:16]
    cache_dir = Path(cache_dir).resolve()
    spec = cache_dir / f"{key}-target" / f"{TARGET_NAME}.json"
    if not spec.is_file() or spec.read_text() != spec_text:
        _atomic_write(spec, spec_text.encode())
    root = cache_dir / f"{key}-sysroot"
    libdir = Path("lib") / "rustlib" / TARGET_NAME / "lib"
    if (root / libdir / "libcore.rlib").is_file() and (root / libdir / "libcompiler_builtins.rlib").is_file():
        return Sysroot(root, spec, True)

    log(f"building core for {TARGET_NAME} with rustc {tc.release} (once; cached in {cache_dir})")
    tmp = Path(tempfile.mkdtemp(dir=cache_dir, prefix=f".{key}-building-"))
    try:
        lib = tmp / libdir
        lib.mkdir(parents=True)
        remap = f"--remap-path-prefix={tc.library}={tc.remapped_library}"
        _run([str(tc.rustc), "-Zunstable-options", "--edition", crate_edition(tc.library / "core"),
              "--crate-name", "core", "--crate-type", "rlib", "--target", str(spec), *CORE_FLAGS, remap,
              "-o", str(lib / "libcore.rlib"), str(tc.library / "core" / "src" / "lib.rs")], "building core")
        cb = tmp / "compiler_builtins.rs"
        cb.write_text(COMPILER_BUILTINS_RS)
        _run([str(tc.rustc), "-Zunstable-options", "--edition", "2024", "--crate-name", "compiler_builtins",
              "--crate-type", "rlib", "--target", str(spec), "--sysroot", str(tmp), *CORE_FLAGS,
              "-o", str(lib / "libcompiler_builtins.rlib"), str(cb)], "building compiler_builtins")
        cb.unlink()
        try:
            os.rename(tmp, root)
        except OSError:
            if not (root / libdir / "libcore.rlib").is_file():  # lost a race only if the winner finished
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return Sysroot(root, spec, False)


_KNOWN_NOISE = "warning: unstable feature specified for `-Ctarget-feature`: `allows-misaligned-mem-access`"


def _compiler_messages(stderr: str) -> str:
    """rustc's warnings minus the one our own flags always cause."""
    blocks = [b for b in stderr.strip().split("\n\n") if b.strip() and not b.startswith(_KNOWN_NOISE)]
    blocks = [b for b in blocks if not re.fullmatch(r"warning: \d+ warnings? emitted", b.strip())]
    return "\n\n".join(blocks)


def crate_edition(crate_dir: Path) -> str:
    manifest = crate_dir / "Cargo.toml"
    if manifest.is_file():
        m = re.search(r'^\s*edition\s*=\s*"(\d{4})"', manifest.read_text(), re.M)
        if m:
            return m.group(1)
    return "2021"


def _display_path(crate_dir: Path, crate_name: str) -> str:
    try:
        return crate_dir.relative_to(REPO_ROOT).as_posix()
    except ValueError:
        return crate_name


def compile_object(tc: Toolchain, sysroot: Sysroot, crate_dir: Path, crate_name: str, work: Path,
                   log: Log = _silent, display_path: str | None = None) -> Path:
    """Compile `crate_dir/src/lib.rs` (with core, fat LTO) into one relocatable BPF object."""
    crate_dir = Path(crate_dir).resolve()
    lib_rs = crate_dir / "src" / "lib.rs"
    if not lib_rs.is_file():
        raise BuildError(f"program source not found: {lib_rs}")
    shown = display_path or _display_path(crate_dir, crate_name)
    obj, archive = work / f"{crate_name}.o", work / f"lib{crate_name}.a"
    # `obj,link` rather than `obj` alone: only then does fat LTO pull core's bitcode into the object.
    stderr = _run([str(tc.rustc), "-Zunstable-options", "--edition", crate_edition(crate_dir),
                   "--crate-name", crate_name, "--crate-type", "staticlib", "--target", str(sysroot.spec),
                   "--sysroot", str(sysroot.root), *PROGRAM_FLAGS,
                   f"--remap-path-prefix={crate_dir}={shown}",
                   f"--remap-path-prefix={tc.library}={tc.remapped_library}",
                   f"--emit=obj={obj},link={archive}", str(lib_rs)], f"compiling {shown}", cwd=work)
    messages = _compiler_messages(stderr)
    if messages:
        log(messages)
    return obj


def build_program(crate_dir: Path = PROGRAM_DIR, out: Path = DEFAULT_OUT, crate_name: str = PROGRAM_CRATE,
                  cache_dir: Path | None = None, rustc: str | None = None, log: Log = _silent,
                  display_path: str | None = None, sbpf_version: int = DEFAULT_SBPF_VERSION) -> BuildResult:
    """Build core (cached), compile the crate, relink to SBPF `sbpf_version` (3, or 0 for loaders that
    still take it) and write `out` atomically. The compiled object is the same for both versions."""
    tc = find_toolchain(rustc)
    cache = Path(cache_dir) if cache_dir else default_cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    sysroot = ensure_core(tc, cache, log)
    if sysroot.from_cache:
        log(f"core for {TARGET_NAME} (rustc {tc.release}) from cache {sysroot.root}")
    with tempfile.TemporaryDirectory(prefix="sbf-build-", dir=cache) as tmp:
        shown = display_path or _display_path(Path(crate_dir).resolve(), crate_name)
        log(f"compiling {shown} ({crate_name}, opt-level=3, fat LTO, cpu v2)")
        obj = compile_object(tc, sysroot, Path(crate_dir), crate_name, Path(tmp), log, display_path)
        log(f"relinking to SBPF v{sbpf_version}")
        image, report = relink(obj.read_bytes(), sbpf_version)
    _atomic_write(Path(out), image)
    digest = hashlib.sha256(image).hexdigest()
    log(f"wrote {out} ({len(image)} bytes; .text {report.text_size} B, .rodata {report.rodata_size} B, "
        f"syscalls: {', '.join(report.syscalls) or 'none'})")
    return BuildResult(Path(out), digest, len(image), sysroot.from_cache, report)


def check_reproduces(committed: Path = DEFAULT_OUT, crate_dir: Path = PROGRAM_DIR, crate_name: str = PROGRAM_CRATE,
                     cache_dir: Path | None = None, rustc: str | None = None, log: Log = _silent,
                     sbpf_version: int = DEFAULT_SBPF_VERSION) -> tuple[BuildResult, bool]:
    """Rebuild into a temporary file and say whether it equals `committed` byte for byte (writes nothing)."""
    committed = Path(committed)
    with tempfile.TemporaryDirectory(prefix="sbf-check-") as tmp:
        result = build_program(crate_dir, Path(tmp) / committed.name, crate_name, cache_dir, rustc, log,
                               sbpf_version=sbpf_version)
        same = committed.is_file() and committed.read_bytes() == result.path.read_bytes()
    return BuildResult(committed, result.sha256, result.size, result.core_from_cache, result.report), same


__all__ = ["BuildResult", "Toolchain", "build_program", "compile_object", "default_cache_dir",
           "check_reproduces", "ensure_core", "find_toolchain"]
