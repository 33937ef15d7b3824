"""Issue 16: whoever settles what the meter issues goes through metering's settlement port
(metering/settlement.py), never metering's tables. This walks every import (module level or inside a
function) of ledger/ and auditor/ and fails on one of a module that defines metering tables (metering.models
today: any module of metering/ with a `__tablename__` or a `Table(...)`).

dashboard/ is allowed for now (it reads receipts, batches and usage for its pages straight from the tables);
db/__init__.py (the bottom database package) names metering.models only as a string, to register the tables
for migrations."""
from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHECKED = ("ledger", "auditor")


def _defines_tables(tree: ast.AST) -> bool:
    for node in ast.walk(tree):
        if isinstance(node, ast.ClassDef) and any(
                isinstance(st, (ast.Assign, ast.AnnAssign)) and any(
                    isinstance(t, ast.Name) and t.id == "__tablename__"
                    for t in (st.targets if isinstance(st, ast.Assign) else [st.target]))
                for st in node.body):
            return True
        if isinstance(node, ast.Call) and (getattr(node.func, "id", None) == "Table"
                                           or getattr(node.func, "attr", None) == "Table"):
            return True
    return False


def table_modules() -> set[str]:
    """The dotted names of metering's modules that define tables."""
    out = set()
    for f in sorted((ROOT / "metering").rglob("*.py")):
        if _defines_tables(ast.parse(f.read_text(), str(f))):
            parts = list(f.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            out.add(".".join(parts))
    return out


def imported_modules(source: str, name: str = "<source>") -> set[str]:
    """Every module an import statement in `source` can bind (for `from a import b`: a and a.b)."""
    out = set()
    for node in ast.walk(ast.parse(source, name)):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            out.add(node.module)
            out |= {f"{node.module}.{a.name}" for a in node.names}
    return out


def violations(sources: dict[str, str], tables: set[str]) -> list[str]:
    return sorted(f"{path} imports {mod}" for path, src in sources.items()
                  for mod in imported_modules(src, path) if mod in tables)


def _checked_sources() -> dict[str, str]:
    return {f.relative_to(ROOT).as_posix(): f.read_text() for pkg in CHECKED for f in sorted((ROOT / pkg).rglob("*.py"))}


def test_ledger_and_auditor_never_import_metering_tables():
    found = violations(_checked_sources(), table_modules())
    assert not found, ("metering's tables are the meter's: use metering.settlement's port (SettlementPort) "
                       "instead: " + ", ".join(found))


def test_the_table_modules_are_found():
    assert "metering.models" in table_modules()
    assert "metering.settlement" not in table_modules()


def test_the_rule_catches_each_form_of_import():
    tables = {"metering.models"}
    for src in ("from metering.models import ReceiptRow\n", "import metering.models\n",
                "import metering.models as m\n", "from metering import models\n",
                "def f():\n    from metering.models import Batch, Customer\n"):
        assert violations({"ledger/x.py": src}, tables) == ["ledger/x.py imports metering.models"], src
    for src in ("from metering.settlement import SqlSettlement\n", "from metering import settlement\n",
                "import metering\n", "from .models import Intent\n"):
        assert violations({"ledger/x.py": src}, tables) == [], src
