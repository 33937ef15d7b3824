"""The ledger's Alembic revision creates exactly the tables the models declare, on SQLite and PostgreSQL."""
from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from db import Base, make_engine, migrate


def test_migrating_to_head_matches_the_models(db_url):
    import ledger.accounting.models  # noqa: F401
    import ledger.engine.models  # noqa: F401
    import metering.models  # noqa: F401

    eng = make_engine(db_url)
    migrate(eng)
    migrate(eng)  # idempotent
    with eng.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    ledger_diff = [d for d in diff if "ledger_" in repr(d)]
    assert ledger_diff == []
    with eng.connect() as conn:
        names = set(eng.dialect.get_table_names(conn))
    assert {"ledger_accounts", "ledger_transactions", "ledger_entries", "ledger_intents", "ledger_job_leases",
            "ledger_cursors", "ledger_recon_reports"} <= names
    eng.dispose()
