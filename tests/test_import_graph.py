"""The dependency rule of ARCHITECTURE.md, checked: every import (module level or inside a function) from
one of solmeter's packages into another must point down the layers

    {contracts, db}  <  chain  <  {localnet, metering, auditor}  <  ledger  <  {dashboard, solmeter} (the application:
                                                                                the web dashboard, the CLI root)

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
         "solmeter": 4, "dashboard": 4}

# (importing file, imported package): the debt issue 16 pays off.
KNOWN_UPWARD = {
    # library command groups read settings and errors from the application package (move: an app layer)
    ("metering/agent_cli.py", "solmeter"),
    ("metering/cli.py", "solmeter"),
    ("localnet/cli.py", "solmeter"),
    ("auditor/cli.py", "solmeter"),
    ("auditor/errors.py", "solmeter"),
    ("ledger/cli_common.py", "solmeter"),
    ("ledger/deploy_cli.py", "solmeter"),
    ("ledger/operator_cli.py", "solmeter"),
    ("ledger/ops/deployment.py", "solmeter"),
    # the demo and `operator serve` mount the dashboard in the meter's app (move: both commands to the
    # application layer, which wires the meter, the engine and the dashboard together)
    ("ledger/demo.py", "dashboard"),
    ("ledger/operator_cli.py", "dashboard"),
}


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
