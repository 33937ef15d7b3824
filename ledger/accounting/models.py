"""Journal tables. Balances are not stored anywhere: they are sums over ledger_entries."""
from __future__ import annotations

from sqlalchemy import (BigInteger, CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, Text)
from sqlalchemy.orm import Mapped, mapped_column

from db import Base

# SQLite makes only INTEGER PRIMARY KEY an auto-increment rowid alias; PostgreSQL gets a bigint identity.
PK = BigInteger().with_variant(Integer(), "sqlite")


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    code: Mapped[str] = mapped_column(String(140), unique=True)  # chart.Account.code
    kind: Mapped[str] = mapped_column(String(32))
    owner: Mapped[str] = mapped_column(String(44), default="")
    sub: Mapped[str] = mapped_column(String(44), default="")
    book: Mapped[str] = mapped_column(String(16))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (Index("ix_ledger_accounts_kind_owner", "kind", "owner"),)


class LedgerTransaction(Base):
    """One balanced journal transaction. external_key is unique: a replay of the same event posts nothing."""

    __tablename__ = "ledger_transactions"
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    external_key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    content_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    total: Mapped[int] = mapped_column(BigInteger)
    meta: Mapped[str] = mapped_column(Text, default="{}")
    posted_ms: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (CheckConstraint("total > 0", name="total_positive"),)


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    tx_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_transactions.id"), index=True)
    account_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("ledger_accounts.id"))
    side: Mapped[str] = mapped_column(String(1))
    amount: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        CheckConstraint("amount > 0", name="amount_positive"),
        CheckConstraint("side IN ('D', 'C')", name="side_valid"),
        Index("ix_ledger_entries_account", "account_id", "tx_id"),
    )
