"""The dependency rule of ARCHITECTURE.md, checked: every import (module level or inside a function) from
one of solmeter's packages into another must point down the layers

    {contracts, db}  <  chain  <  {localnet, metering, auditor}  <  ledger  <  dashboard  <  solmeter (the application:
                                                                                           the CLI root, the command
                                                                                           groups, the demo)

(packages of one layer do not import each other). The imports that break the rule today are listed in
KNOWN_UPWARD, each with the file that makes it: issue 16's re-layering removes them one by one. The test
fails on any upward import not in the list, and on a listed one that is gone (so the list only shrinks)."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# db (engine, sessions, Base, migrations) imports nothing of ours: it names the packages that own tables and
# revisions by strings (db.MODEL_MODULES, db.MIGRATION_OWNERS), which this test, reading imports, does not see.
LAYER = {"contracts": 0, "db": 0, "chain": 1, "localnet": 2, "metering": 2, "auditor": 2, "ledger": 3,
         "dashboard": 4, "solmeter": 5}

# (importing file, imported package): the debt issue 16 paid off; an entry here is an upward import tolerated
# for now, and the list only shrinks.
KNOWN_UPWARD: set[tuple[str, str]] = set()


def imports_between_packages() -> set[tuple[str, str]]:
    out = set()
    for pkg in LAYER:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            rel = f.relative_to(ROOT).as_posix()
            for node in ast.walk(ast.parse(f.read_text(), rel)):
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in LAYER and top != pkg:
                        out.add((rel, top))
    return out


def upward(edges: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {(f, to) for f, to in edges if LAYER[to] >= LAYER[f.split("/")[0]]}


def test_no_new_upward_import():
    new = sorted(upward(imports_between_packages()) - KNOWN_UPWARD)
    assert not new, "imports against the layers (ARCHITECTURE.md, 'Dependencies'): " + ", ".join(
        f"{f} imports {to}" for f, to in new)


def test_the_list_of_known_upward_imports_only_shrinks():
    gone = sorted(KNOWN_UPWARD - upward(imports_between_packages()))
    assert not gone, "no longer imported, remove from KNOWN_UPWARD: " + ", ".join(f"{f} -> {to}" for f, to in gone)


def test_the_rule_catches_an_upward_import():
    assert upward({("contracts/receipt.py", "metering"), ("metering/x.py", "auditor"),
                   ("ledger/x.py", "metering")}) == {("contracts/receipt.py", "metering"), ("metering/x.py", "auditor")}


# ---- no import cycles between our modules ---------------------------------------------------------------------

def _modules() -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package's __init__) for every module of our packages."""
    out = {}
    for pkg in LAYER:
        for f in sorted((ROOT / pkg).rglob("*.py")):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            is_pkg = parts[-1] == "__init__"
            out[".".join(parts[:-1] if is_pkg else parts)] = (f, is_pkg)
    return out


def module_imports() -> dict[str, set[str]]:
    """Every import of one of our modules by another, at module level or inside a function (a function-local
    import only hides a cycle until that function runs): `from .x import y` names x.y when y is a module, else
    x; importing a package's module runs the package's __init__, so `from pkg import y` names pkg or pkg.y."""
    mods = _modules()
    edges: dict[str, set[str]] = {m: set() for m in mods}
    for m, (f, is_pkg) in mods.items():
        for node in ast.walk(ast.parse(f.read_text(), str(f))):
            if isinstance(node, ast.Import):
                edges[m].update(a.name for a in node.names if a.name in mods)
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = m.split(".") if is_pkg else m.split(".")[:-1]
                    base = base[:len(base) - (node.level - 1)]
                    target = ".".join(base + ([node.module] if node.module else []))
                else:
                    target = node.module or ""
                for a in node.names:
                    sub = f"{target}.{a.name}"
                    if sub in mods:
                        edges[m].add(sub)
                    elif target in mods:
                        edges[m].add(target)
    return edges


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on: set[str] = set()
    out: list[list[str]] = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on.add(root)
        while work:
            v, it = work[-1]
            w = next(it, None)
            if w is not None:
                if w not in index:
                    index[w] = low[w] = len(index)
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(edges.get(w, ())))))
                elif w in on:
                    low[v] = min(low[v], index[w])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[v])
            if low[v] == index[v]:
                comp = []
                while True:
                    w = stack.pop()
                    on.discard(w)
                    comp.append(w)
                    if w == v:
                        break
                if len(comp) > 1:
                    out.append(sorted(comp))
    return out


def test_no_import_cycle():
    found = cycles(module_imports())
    assert not found, "modules that import each other (directly or round a loop): " + "; ".join(
        " <-> ".join(c) for c in found)


def test_the_cycle_rule_catches_a_cycle_through_a_package_init():
    # the shape metering.evidence had: a function-local import of the package whose service imports it back
    edges = {"metering.evidence": {"metering.ingest"}, "metering.ingest": {"metering.ingest.service"},
             "metering.ingest.service": {"metering.evidence", "contracts.evidence"}, "contracts.evidence": set()}
    assert cycles(edges) == [["metering.evidence", "metering.ingest", "metering.ingest.service"]]
    assert cycles({"a": {"b"}, "b": set()}) == []
