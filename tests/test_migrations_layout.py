"""The Alembic history across the owners' folders (db.MIGRATION_OWNERS): one base, one head, the head is the
newest revision, and each revision file lives in the folder of the package whose tables it touches.

The ownership rule: a table belongs to the package of the model module that declares it (db.MODEL_MODULES),
or, for a table no model declares any more, to the package whose folder created it. A revision "touches"
every table whose name appears as a whole word in a string of its code (the module docstring left out): the
table arguments of op.* calls, raw SQL of op.execute and sa.text, f-string parts. Every table a revision
touches must belong to the owner of the folder it lives in."""
from __future__ import annotations

import ast
import io
import re
import shutil
from pathlib import Path

import pytest
from alembic import command
from alembic.script import ScriptDirectory

import db
from db import MIGRATION_OWNERS, MIGRATIONS_DIR, Base, alembic_config, load_models, version_locations


def _strings(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    doc = tree.body[0] if tree.body and isinstance(tree.body[0], ast.Expr) else None
    return [n.value for n in ast.walk(tree) if isinstance(n, ast.Constant) and isinstance(n.value, str)
            and not (doc is not None and n is doc.value)]


def _created_tables(path: Path) -> set[str]:
    out = set()
    for n in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "create_table"
                and n.args and isinstance(n.args[0], ast.Constant) and isinstance(n.args[0].value, str)):
            out.add(n.args[0].value)
    return out


def table_owners(folders: dict[str, Path]) -> dict[str, str]:
    """Table name -> owning package: from the models, then the tables only revisions know of."""
    load_models()
    owners = {}
    for mapper in Base.registry.mappers:
        table = getattr(mapper.class_, "__tablename__", None)
        if table:
            owners[table] = mapper.class_.__module__.split(".")[0]
    for owner, folder in folders.items():
        for f in sorted(folder.glob("*.py")):
            for table in _created_tables(f):
                owners.setdefault(table, owner)
    return owners


def misplaced_revisions(folders: dict[str, Path]) -> list[str]:
    """'file: tables (owner)' for each revision that touches tables of another package than its folder's."""
    owners = table_owners(folders)
    words = re.compile(r"(?<![A-Za-z0-9_])(" + "|".join(sorted(map(re.escape, owners), key=len, reverse=True))
                       + r")(?![A-Za-z0-9_])")
    bad = []
    for owner, folder in folders.items():
        for f in sorted(folder.glob("*.py")):
            touched = {m for s in _strings(f) for m in words.findall(s)}
            foreign = sorted(t for t in touched if owners[t] != owner)
            if not touched or foreign:
                bad.append(f"{owner}/migrations/{f.name}: touches "
                           + (", ".join(f"{t} ({owners[t]})" for t in foreign) if foreign else "no known table"))
    return bad


def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(alembic_config("sqlite://"))


def test_the_version_locations_are_the_owners_migrations_folders():
    locations = version_locations()
    assert [p.parent.name for p in locations] == list(MIGRATION_OWNERS)
    assert all(p.name == "migrations" and p.is_dir() for p in locations)
    assert not any((p / "versions").exists() for p in locations)  # no versions/ level: the folder is the history
    # db/migrations holds the environment and the template only: a revision there would be invisible
    assert sorted(p.name for p in MIGRATIONS_DIR.iterdir() if p.suffix in (".py", ".mako")) == [
        "env.py", "script.py.mako"]


def test_one_linear_history_with_one_base_and_one_head():
    script = _script()
    assert len(script.get_bases()) == 1
    assert len(script.get_heads()) == 1
    files = sorted((p for loc in version_locations() for p in loc.glob("*.py")), key=lambda p: p.name)
    revisions = list(reversed(list(script.walk_revisions())))  # base first
    assert len(revisions) == len(files)  # every file in an owner's folder is a revision of the history
    # one line, numbered in order: the newest file (by its number prefix) is the head
    assert [Path(r.path).name for r in revisions] == [p.name for p in files]
    assert all(r.down_revision == (revisions[i - 1].revision if i else None) for i, r in enumerate(revisions))


def test_alembic_heads_on_the_merged_locations_is_the_newest_revision():
    cfg = alembic_config("sqlite://")
    cfg.stdout = io.StringIO()
    command.heads(cfg)
    newest = max((p for loc in version_locations() for p in loc.glob("*.py")), key=lambda p: p.name)
    head = _script().get_revision("head")
    assert head is not None and Path(head.path) == newest
    assert cfg.stdout.getvalue().split() == [head.revision, "(head)"]


def test_every_revision_lives_in_the_folder_of_the_package_whose_tables_it_touches():
    folders = dict(zip(MIGRATION_OWNERS, version_locations()))
    assert misplaced_revisions(folders) == []


def test_a_revision_in_the_wrong_owners_folder_is_caught(tmp_path):
    folders = {}
    for owner, loc in zip(MIGRATION_OWNERS, version_locations()):
        folders[owner] = tmp_path / owner / "migrations"
        shutil.copytree(loc, folders[owner])
    ledger, metering = folders["ledger"], folders["metering"]
    (metering / "0300_sealed_key_index.py").rename(ledger / "0300_sealed_key_index.py")
    (ledger / "0100_ledger_journal_intents_leases.py").rename(metering / "0100_ledger_journal_intents_leases.py")
    bad = misplaced_revisions(folders)
    assert bad == ["metering/migrations/0100_ledger_journal_intents_leases.py: touches ledger_accounts (ledger), "
                   "ledger_cursors (ledger), ledger_entries (ledger), ledger_intents (ledger), ledger_job_leases "
                   "(ledger), ledger_recon_reports (ledger), ledger_transactions (ledger)",
                   "ledger/migrations/0300_sealed_key_index.py: touches usage_events (metering)"]


def test_a_migration_owner_that_is_not_installed_is_named(monkeypatch):
    monkeypatch.setattr(db, "MIGRATION_OWNERS", ("metering", "no_such_owner"))
    with pytest.raises(RuntimeError, match="^migration owner 'no_such_owner' is not an installed package$"):
        db.version_locations()
