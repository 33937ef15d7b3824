#!/usr/bin/env python3
"""Mutation testing: remove or weaken one security check at a time and require a named test to fail.

Mutant lists live in tests/mutation/mutants_<area>.py (area = program, meter, ...), each a module with
MUTANTS = [dict(id, file, find, replace, tests, why), ...] (format: docs/security-review.md, "Mutation
testing"). For every mutant, in a temporary copy of the tree (never in place): replace the one occurrence
of `find` in `file` by `replace`, rebuild the on-chain program when the file is Rust, run the named tests,
and report KILLED (a named test failed) or SURVIVED. Before any mutant, the named tests must pass on the
unmutated copy, or a "kill" would mean nothing.

    .venv/bin/python scripts/mutation.py                  # every area
    .venv/bin/python scripts/mutation.py --area program   # one area
    .venv/bin/python scripts/mutation.py --only settle-cum-equal --only settle-replay-equal
    .venv/bin/python scripts/mutation.py --list

Exit status 1 when a mutant survived, a `find` text does not occur exactly once, a mutant does not build,
or its tests cannot run (a collection error is not a kill).
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import queue
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
MUTANT_DIR = REPO / "tests" / "mutation"
PROGRAM_SO = Path("contracts/build/solmeter_billing.so")
KEYS = ("id", "file", "find", "replace", "tests", "why")
TEST_TIMEOUT_S = 600
# pytest's exit statuses: 0 all passed, 1 some test failed; anything else (interrupted, internal or
# usage error, nothing collected) means the tests did not run as named.
PYTEST_FAILED = 1


@dataclass(frozen=True)
class Mutant:
    area: str
    id: str
    file: str
    find: str
    replace: str
    tests: tuple[str, ...]
    why: str

    @property
    def rust(self) -> bool:
        return self.file.endswith(".rs")


class MutationError(Exception):
    """A mutant list that cannot be used as written."""


def areas() -> list[str]:
    return sorted(p.stem[len("mutants_"):] for p in MUTANT_DIR.glob("mutants_*.py"))


def load(area: str) -> list[Mutant]:
    path = MUTANT_DIR / f"mutants_{area}.py"
    if not path.exists():
        raise MutationError(f"no mutant list for area {area!r} ({path} does not exist; areas: {', '.join(areas())})")
    spec = importlib.util.spec_from_file_location(f"mutants_{area}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = []
    for i, m in enumerate(getattr(module, "MUTANTS", None) or []):
        missing = [k for k in KEYS if k not in m]
        if missing:
            raise MutationError(f"{path.name}: mutant #{i} lacks {', '.join(missing)}")
        if not m["tests"]:
            raise MutationError(f"{path.name}: mutant {m['id']} names no test")
        out.append(Mutant(area, m["id"], m["file"], m["find"], m["replace"], tuple(m["tests"]), m["why"]))
    if not out:
        raise MutationError(f"{path.name} defines no MUTANTS")
    return out


def check_definitions(mutants: list[Mutant]) -> list[str]:
    """Problems that make a mutant list unusable: duplicate ids, files that do not exist, `find` texts
    that do not occur exactly once, a replacement equal to the original."""
    problems, seen = [], set()
    for m in mutants:
        if m.id in seen:
            problems.append(f"{m.id}: duplicate id")
        seen.add(m.id)
        path = REPO / m.file
        if not path.exists():
            problems.append(f"{m.id}: {m.file} does not exist")
            continue
        n = path.read_text().count(m.find)
        if n != 1:
            problems.append(f"{m.id}: the find text occurs {n} times in {m.file} (must be exactly once)")
        if m.find == m.replace:
            problems.append(f"{m.id}: replace is the same as find")
        for t in m.tests:
            if not (REPO / t.split("::")[0]).exists():
                problems.append(f"{m.id}: test file {t.split('::')[0]} does not exist")
    return problems


def copy_tree(dest: Path) -> None:
    """Tracked files and untracked ones git does not ignore (what a commit would hold), plus the
    program's build cache so a rebuild does not compile the core library again."""
    files = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                           check=True, capture_output=True).stdout.split(b"\0")
    for raw in files:
        if not raw:
            continue
        rel = raw.decode()
        src = REPO / rel
        if not src.is_file():
            continue  # deleted in the work tree but still in the index
        target = dest / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def run(cmd: list[str], cwd: Path, timeout: float) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(cwd), PYTHONDONTWRITEBYTECODE="1")
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def pytest(tree: Path, tests: tuple[str, ...]) -> subprocess.CompletedProcess:
    return run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider", *tests], tree, TEST_TIMEOUT_S)


def build(tree: Path, cache: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, "scripts/build_program.py", "--cache-dir", str(cache)], tree, TEST_TIMEOUT_S)


def last_line(text: str) -> str:
    lines = [x for x in text.strip().splitlines() if x.strip()]
    return lines[-1] if lines else ""


def first_failure(out: str) -> str:
    for line in out.splitlines():
        if line.startswith("FAILED "):
            return line[len("FAILED "):].split(" - ")[0]
    return last_line(out)


def baseline(tree: Path, mutants: list[Mutant], cache: Path) -> bool:
    """The unmutated tree builds to the committed program and passes every named test."""
    tests = tuple(dict.fromkeys(t for m in mutants for t in m.tests))
    print(f"== baseline: {len(tests)} named tests on the unmutated tree", flush=True)
    if any(m.rust for m in mutants):
        b = build(tree, cache)
        if b.returncode != 0:
            print(f"error: the unmutated program does not build:\n{b.stdout}{b.stderr}", file=sys.stderr)
            return False
        if (tree / PROGRAM_SO).read_bytes() != (REPO / PROGRAM_SO).read_bytes():
            print(f"error: {PROGRAM_SO} is not what the source builds: rebuild and commit it first", file=sys.stderr)
            return False
    base = pytest(tree, tests)
    if base.returncode != 0:
        print(f"error: the named tests fail without any mutant ({first_failure(base.stdout)}):\n"
              f"{base.stdout[-3000:]}", file=sys.stderr)
        return False
    return True


def try_mutant(tree: Path, m: Mutant, cache: Path, original_so: bytes) -> tuple[str, str]:
    """Apply `m` in `tree`, rebuild if needed, run its tests, restore the tree: (verdict, detail)."""
    path = tree / m.file
    source = path.read_text()
    path.write_text(source.replace(m.find, m.replace, 1))
    try:
        if m.rust:
            b = build(tree, cache)
            if b.returncode != 0:
                return "ERROR", f"does not build: {last_line(b.stderr or b.stdout)}"
        r = pytest(tree, m.tests)
        if r.returncode == 0:
            return "SURVIVED", ""
        if r.returncode == PYTEST_FAILED:
            return "KILLED", f"by {first_failure(r.stdout)}"
        return "ERROR", f"tests did not run (pytest exit {r.returncode}): {last_line(r.stdout)}"
    except subprocess.TimeoutExpired:
        return "ERROR", f"timed out after {TEST_TIMEOUT_S} s"
    finally:
        path.write_text(source)
        if m.rust:
            (tree / PROGRAM_SO).write_bytes(original_so)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--area", default="all", help=f"one of {', '.join(areas())}, or all (default)")
    ap.add_argument("--only", action="append", default=[], metavar="ID", help="run only this mutant (repeatable)")
    ap.add_argument("--list", action="store_true", help="list the mutants and exit")
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1),
                    help="mutants run at once, each in its own copy of the tree (default: %(default)s)")
    args = ap.parse_args(argv)

    try:
        chosen = areas() if args.area == "all" else [args.area]
        mutants = [m for a in chosen for m in load(a)]
    except MutationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    if args.only:
        unknown = sorted(set(args.only) - {m.id for m in mutants})
        if unknown:
            print(f"error: no mutant called {', '.join(unknown)}", file=sys.stderr)
            return 1
        mutants = [m for m in mutants if m.id in args.only]
    problems = check_definitions(mutants)
    if problems:
        for p in problems:
            print(f"error: {p}", file=sys.stderr)
        return 1
    if args.list:
        for m in mutants:
            print(f"{m.area:8} {m.id:40} {m.file}\n{'':49} {m.why}")
        return 0

    cache = Path(os.environ.get("SOLMETER_SBF_CACHE", REPO / ".cache" / "sbf"))
    started = time.monotonic()
    jobs = max(1, min(args.jobs, len(mutants)))
    with tempfile.TemporaryDirectory(prefix="solmeter-mutation-") as tmp:
        trees = [Path(tmp) / f"tree{j}" for j in range(jobs)]
        for t in trees:
            copy_tree(t)
        if not baseline(trees[0], mutants, cache):
            return 1
        for t in trees[1:]:
            shutil.copy2(trees[0] / PROGRAM_SO, t / PROGRAM_SO)
        original_so = (trees[0] / PROGRAM_SO).read_bytes()
        free: queue.Queue = queue.Queue()
        for t in trees:
            free.put(t)
        results: dict[str, list[str]] = {"KILLED": [], "SURVIVED": [], "ERROR": []}
        done = [0]

        def one(m: Mutant) -> None:
            tree = free.get()
            try:
                t0 = time.monotonic()
                verdict, detail = try_mutant(tree, m, cache, original_so)
            finally:
                free.put(tree)
            results[verdict].append(m.id)
            done[0] += 1
            print(f"[{done[0]}/{len(mutants)}] {verdict:8} {m.area}/{m.id} ({time.monotonic() - t0:.1f} s) {detail}"
                  + (f"\n           {m.why}" if verdict != "KILLED" else ""), flush=True)

        with ThreadPoolExecutor(max_workers=jobs) as pool:
            list(pool.map(one, mutants))

    total = time.monotonic() - started
    print(f"== {len(results['KILLED'])} killed, {len(results['SURVIVED'])} survived, {len(results['ERROR'])} "
          f"errors of {len(mutants)} mutants in {total:.0f} s")
    for verdict in ("SURVIVED", "ERROR"):
        if results[verdict]:
            print(f"{verdict}: {', '.join(results[verdict])}")
    return 0 if not results["SURVIVED"] and not results["ERROR"] else 1


if __name__ == "__main__":
    sys.exit(main())
