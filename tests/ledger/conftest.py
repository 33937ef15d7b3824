"""Fixtures of the ledger tests: a fresh database on SQLite (a file) and, for tests marked postgres, a
fresh database of its own on the server named by SOLMETER_TEST_PG_URL (so concurrent suites never share
tables)."""
from __future__ import annotations

import os
import uuid

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from db import Base, make_engine, make_session_factory
from ledger_helpers import start_node


def _load_all_models() -> None:
    import ledger.accounting.models  # noqa: F401
    import metering.models  # noqa: F401
    try:
        import ledger.engine.models  # noqa: F401
    except ModuleNotFoundError:
        pass


def fresh_pg_database(base_url: str) -> tuple[str, callable]:
    """CREATE DATABASE with a unique name on the server of `base_url`; returns its URL and a dropper."""
    url = make_url(base_url)
    name = f"solmeter_e_{uuid.uuid4().hex[:12]}"
    admin = create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text(f'CREATE DATABASE "{name}"'))

    def drop() -> None:
        with admin.connect() as c:
            c.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()

    return url.set(database=name).render_as_string(hide_password=False), drop


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def db_url(request, tmp_path):
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    url, drop = fresh_pg_database(os.environ["SOLMETER_TEST_PG_URL"])
    try:
        yield url
    finally:
        drop()


@pytest.fixture
def engine(db_url):
    _load_all_models()
    eng = make_engine(db_url)
    Base.metadata.create_all(eng)
    yield eng
    eng.dispose()


@pytest.fixture
def session_factory(engine):
    return make_session_factory(engine)


@pytest.fixture
def node(tmp_path):
    """A fresh embedded localnet (the program preloaded) on free ports, stopped after the test."""
    h = start_node(tmp_path / "chain")
    yield h
    h.stop()


@pytest.fixture
def cli_runner(isolated_env, monkeypatch):
    """The real `solmeter` CLI in-process against a fresh embedded localnet: `run(*args, ok=True)` invokes it
    (asserting exit 0 unless ok=False); `run.node` is the node, `run.dir` the isolated home."""
    from typer.testing import CliRunner

    from solmeter.cli import app

    node = start_node(isolated_env / "chain")
    monkeypatch.setenv("SOLMETER_RPC_URL", node.rpc_url)
    monkeypatch.setenv("SOLMETER_DATA_DIR", str(isolated_env / "data"))
    runner = CliRunner()

    def run(*args, ok=True):
        res = runner.invoke(app, list(args), catch_exceptions=False)
        if ok:
            assert res.exit_code == 0, res.output
        return res
    run.node = node
    run.dir = isolated_env
    yield run
    node.stop()
