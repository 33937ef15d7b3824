"""Engine, sessions, the shared declarative Base and schema migration: the bottom layer beside contracts.

SQLite (a file) is the default; PostgreSQL is reached by URL (postgresql+psycopg://...). Every table of
the project derives from `Base`, so Alembic's autogenerate and `Base.metadata` see one schema.

Each package owns its tables: their models (MODEL_MODULES) and their Alembic revisions (`<owner>/migrations/`,
MIGRATION_OWNERS). One linear history runs through all the owners' folders; db/migrations/ holds only the
Alembic environment and the revision template. Owners are named by strings, never imported here, so db
imports nothing of the project.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import MetaData, create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, sessionmaker

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Packages that own Alembic revisions, each in its own `migrations/` folder (no __init__.py). Strings, not
# imports: db is the bottom layer; find_spec locates a top-level package without importing it.
MIGRATION_OWNERS = ("metering", "ledger")

# Stable constraint names so that migrations written on SQLite apply unchanged on PostgreSQL.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets readers (the read API) run beside the single writer; NORMAL sync is durable across
    # process crashes in WAL mode. busy_timeout makes concurrent writers wait instead of failing.
    cur = dbapi_conn.cursor()
    # 8 KiB pages (a new file only; an existing database keeps its size). Measured with
    # bench/metering_ingest.py, 4 KiB and 8 KiB runs interleaved on one machine: 100 batches of 1,000
    # events into a new database, API 43.7-55.2k vs 40.6-43.1k events/s, plain bulk insert 56-63k vs
    # 41-48k; at 300k-500k events no clear difference. Fewer, larger pages mean fewer WAL frames per
    # commit while the random-keyed dedup index is small.
    cur.execute("PRAGMA page_size=8192")
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA cache_size=-65536")  # 64 MiB: keeps the hot index pages of ingestion in memory
    cur.close()


def _sqlite_begin(conn) -> None:
    # pysqlite's own transaction handling is switched off (isolation_level=None) so that every
    # transaction starts with BEGIN IMMEDIATE: the write lock is taken up front, and a
    # read-then-write transaction (dedup check, then insert) can never be overtaken by another writer.
    conn.exec_driver_sql("BEGIN IMMEDIATE")


def make_engine(url: str, *, echo: bool = False) -> Engine:
    """An engine for `url`. For SQLite files the parent directory is created and WAL is switched on."""
    if url.startswith("sqlite"):
        db_path = url.split(":///", 1)[1] if ":///" in url else ""
        if db_path and db_path != ":memory:":
            Path(db_path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, echo=echo, connect_args={"isolation_level": None, "check_same_thread": False})
        event.listen(engine, "connect", _sqlite_pragmas)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(url, echo=echo, pool_pre_ping=True)


def make_session_factory(engine: Engine) -> sessionmaker:
    return sessionmaker(bind=engine, expire_on_commit=False)


def version_locations() -> list[Path]:
    """The owners' revision folders, in MIGRATION_OWNERS order."""
    out = []
    for owner in MIGRATION_OWNERS:
        spec = importlib.util.find_spec(owner)
        if spec is None or not spec.submodule_search_locations:
            raise RuntimeError(f"migration owner {owner!r} is not an installed package")
        out.append(Path(list(spec.submodule_search_locations)[0]) / "migrations")
    return out


def alembic_config(engine_or_url: Engine | str) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    # Explicit separator (alembic warns about the legacy space/comma split otherwise): `path_separator` since
    # alembic 1.16 (which warns that `version_path_separator` is deprecated), `version_path_separator` before.
    cfg.set_main_option("path_separator", "os")
    cfg.set_main_option("version_path_separator", "os")
    locations = os.pathsep.join(str(p) for p in version_locations())
    cfg.set_main_option("version_locations", locations.replace("%", "%%"))
    if isinstance(engine_or_url, Engine):
        cfg.attributes["connection_engine"] = engine_or_url
        url = engine_or_url.url.render_as_string(hide_password=False)
    else:
        url = engine_or_url
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def migrate(engine_or_url: Engine | str, revision: str = "head") -> None:
    """Bring the schema to `revision` with Alembic (idempotent)."""
    command.upgrade(alembic_config(engine_or_url), revision)


# Modules of higher packages that declare tables. Strings, not imports (db stays the bottom layer): they are
# imported only when load_models() runs, by the caller that wants the whole schema (Alembic's env.py, tests).
MODEL_MODULES = ("metering.models", "ledger.accounting.models", "ledger.engine.models")


def load_models() -> None:
    """Import every module that declares tables, so Base.metadata is complete."""
    for name in MODEL_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as e:
            if e.name != name:  # a module that exists but fails to import is a real error
                raise
