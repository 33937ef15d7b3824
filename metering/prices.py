"""The versioned price book in the database: the version in force at a time prices a window."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine

from .models import PriceBookRow
from .rollup.pricing import DEFAULT_PRICE_BOOK, PriceBook

PB = PriceBookRow.__table__


def publish_price_book(engine: Engine, book: PriceBook, effective_from_ms: int, now_ms: int) -> None:
    """Add a new version. Versions only go up and never change once written (receipts cite them)."""
    with engine.begin() as conn:
        last = conn.execute(select(PB.c.version, PB.c.effective_from_ms).order_by(PB.c.version.desc()).limit(1)).first()
        if last and book.version <= last[0]:
            raise ValueError(f"price book version {book.version} is not above the latest, {last[0]}")
        if last and effective_from_ms < last[1]:
            raise ValueError("a new price book cannot take effect before the latest one")
        conn.execute(PB.insert().values(version=book.version, effective_from_ms=effective_from_ms,
                                        prices=book.to_json(), created_ms=now_ms))


def price_book_at(conn: Connection, t_ms: int, default: PriceBook = DEFAULT_PRICE_BOOK) -> PriceBook:
    row = conn.execute(select(PB.c.prices).where(PB.c.effective_from_ms <= t_ms)
                       .order_by(PB.c.version.desc()).limit(1)).first()
    return PriceBook.from_json(row[0]) if row else default


def list_price_books(conn: Connection) -> list[dict]:
    return [{"version": r.version, "effective_from_ms": r.effective_from_ms, "prices": r.prices}
            for r in conn.execute(select(PB).order_by(PB.c.version))]


def published_price_books(conn: Connection, default: PriceBook = DEFAULT_PRICE_BOOK) -> list[tuple[int | None, PriceBook]]:
    """Every version receipts may cite, oldest first, as (effective_from_ms, book): the database's, and the
    default book (effective_from None) when no stored version takes its number."""
    rows = [(r.effective_from_ms, PriceBook.from_json(r.prices))
            for r in conn.execute(select(PB.c.effective_from_ms, PB.c.prices).order_by(PB.c.version))]
    if all(b.version != default.version for _, b in rows):
        rows.insert(0, (None, default))
    return sorted(rows, key=lambda r: r[1].version)
