"""The shared store: Alembic migrations match the models, SQLite runs in WAL mode, BigInt stays exact."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import select, text

from db import Base, load_models, make_engine, migrate
from metering.models import KeyUsage


def test_migrations_are_idempotent_and_match_the_models(tmp_path):
    e = make_engine(f"sqlite:///{tmp_path / 'sub' / 'm.db'}")  # the parent directory is created
    migrate(e)
    migrate(e)
    load_models()
    with e.connect() as c:
        diffs = compare_metadata(MigrationContext.configure(c), Base.metadata)
        assert [d for d in diffs if _is_metering(d)] == []  # other areas' tables are their own tests' business
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def _is_metering(diff) -> bool:
    def names(x):
        if isinstance(x, (list, tuple)):
            for y in x:
                yield from names(y)
        else:
            t = getattr(x, "table", None)
            yield getattr(x, "name", "") if t is None else t.name
            yield x if isinstance(x, str) else ""
    return any(str(n).startswith(("meter_", "usage_events")) for n in names(diff))


def test_bigint_text_is_exact(engine):
    KU = KeyUsage.__table__
    big = (1 << 100) + 12345
    with engine.begin() as c:
        c.execute(KU.insert().values(customer="c", provider="p", kind=3, resource="r", rclass="S", quantity=big, key_hash=0,
                                     through_ms=1))
    with engine.connect() as c:
        assert c.execute(select(KU.c.quantity)).scalar() == big
