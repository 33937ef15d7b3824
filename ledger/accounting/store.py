"""The journal store: writes postings atomically and idempotently, derives balances by query.

`post_in(session, posting)` writes inside the caller's transaction (so the settlement engine can mark an
intent confirmed and post its entries in one commit); `Ledger.post` wraps it in a transaction of its own.
Inside the transaction the store re-reads what it wrote and refuses (rolls back) a journal transaction
whose debits and credits differ, independently of the domain check in Posting.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from typing import Iterable

from sqlalchemy import case, func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session, sessionmaker

from .chart import Account, Book, Kind, NORMAL_SIGN
from .errors import LedgerError, PostingConflict, UnbalancedTransaction
from .models import LedgerAccount, LedgerEntry, LedgerTransaction
from .posting import Posting


@dataclass(frozen=True)
class PostResult:
    tx_id: int
    created: bool  # False: the external key was already posted with the same entries (a replay)


def _insert(session: Session, table):
    dialect = session.get_bind().dialect.name
    if dialect == "postgresql":
        return pg_insert(table)
    if dialect == "sqlite":
        return sqlite_insert(table)
    raise LedgerError(  # pragma: no cover - only the two supported backends
        f"unsupported database {dialect!r}: solmeter's ledger runs on SQLite or PostgreSQL")


def _now_ms() -> int:
    return time.time_ns() // 1_000_000


def _account_ids(session: Session, accounts: Iterable[Account], now_ms: int) -> dict[Account, int]:
    accounts = sorted(set(accounts))
    rows = [dict(code=a.code, kind=a.kind.value, owner=a.owner, sub=a.sub, book=a.book.value, created_ms=now_ms)
            for a in accounts]
    # ON CONFLICT DO NOTHING: two replicas creating the same account concurrently both succeed.
    session.execute(_insert(session, LedgerAccount).values(rows).on_conflict_do_nothing(index_elements=["code"]))
    found = dict(session.execute(select(LedgerAccount.code, LedgerAccount.id)
                                 .where(LedgerAccount.code.in_([a.code for a in accounts]))).all())
    return {a: found[a.code] for a in accounts}


def post_in(session: Session, posting: Posting, *, now_ms: int | None = None) -> PostResult:
    """Write `posting` in the session's current transaction (the caller commits)."""
    now_ms = _now_ms() if now_ms is None else now_ms
    digest = posting.content_hash
    stmt = (_insert(session, LedgerTransaction)
            .values(external_key=posting.external_key, kind=posting.kind.value, content_hash=digest,
                    total=posting.total, meta=json.dumps(posting.meta, sort_keys=True), posted_ms=now_ms)
            .on_conflict_do_nothing(index_elements=["external_key"])
            .returning(LedgerTransaction.id))
    tx_id = session.execute(stmt).scalar()
    if tx_id is None:
        prior = session.execute(select(LedgerTransaction.id, LedgerTransaction.content_hash)
                                .where(LedgerTransaction.external_key == posting.external_key)).one()
        if bytes(prior.content_hash) != digest:
            raise PostingConflict(f"external key {posting.external_key!r} was already posted with different "
                                  f"entries; nothing was written")
        return PostResult(prior.id, False)
    ids = _account_ids(session, (e.account for e in posting.entries), now_ms)
    session.execute(_insert(session, LedgerEntry).values(
        [dict(tx_id=tx_id, account_id=ids[e.account], side=e.side.value, amount=e.amount)
         for e in posting.entries]))
    net, n = session.execute(select(func.coalesce(func.sum(_signed()), 0), func.count())
                             .where(LedgerEntry.tx_id == tx_id)).one()
    if int(net) != 0 or n != len(posting.entries):
        raise UnbalancedTransaction(f"journal transaction {posting.external_key!r} stored unbalanced "
                                    f"(net {net}, {n} entries): rolled back")
    return PostResult(tx_id, True)


def _signed():
    return case((LedgerEntry.side == "D", LedgerEntry.amount), else_=-LedgerEntry.amount)


def _account_of(row) -> Account:
    return Account(Kind(row.kind), row.owner, row.sub)


def balances_in(session: Session, *, kind: Kind | None = None, owner: str | None = None,
                natural: bool = True) -> dict[Account, int]:
    """Balance of every account (filtered by kind / owner). natural=True gives each account's balance on
    its normal side (payables positive when owed); natural=False gives debits minus credits."""
    q = (select(LedgerAccount.kind, LedgerAccount.owner, LedgerAccount.sub,
                func.coalesce(func.sum(_signed()), 0).label("net"))
         .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
         .group_by(LedgerAccount.id, LedgerAccount.kind, LedgerAccount.owner, LedgerAccount.sub))
    if kind is not None:
        q = q.where(LedgerAccount.kind == Kind(kind).value)
    if owner is not None:
        q = q.where(LedgerAccount.owner == str(owner))
    out = {}
    for row in session.execute(q):
        acct = _account_of(row)
        out[acct] = int(row.net) * (NORMAL_SIGN[acct.kind] if natural else 1)
    return out


def balance_in(session: Session, account: Account, *, natural: bool = True) -> int:
    net = session.execute(select(func.coalesce(func.sum(_signed()), 0))
                          .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
                          .where(LedgerAccount.code == account.code)).scalar()
    return int(net) * (NORMAL_SIGN[account.kind] if natural else 1)


def trial_balance_in(session: Session) -> dict[Book, int]:
    """Debits minus credits per book over the whole journal: zero for both books when the ledger is sound."""
    rows = session.execute(select(LedgerAccount.book, func.coalesce(func.sum(_signed()), 0))
                           .join(LedgerEntry, LedgerEntry.account_id == LedgerAccount.id)
                           .group_by(LedgerAccount.book)).all()
    out = {b: 0 for b in Book}
    for book, net in rows:
        out[Book(book)] = int(net)
    return out


@dataclass(frozen=True)
class StatementLine:
    external_key: str
    kind: str
    side: str
    amount: int
    posted_ms: int
    meta: dict


def statement_in(session: Session, account: Account) -> list[StatementLine]:
    rows = session.execute(
        select(LedgerTransaction.external_key, LedgerTransaction.kind, LedgerEntry.side, LedgerEntry.amount,
               LedgerTransaction.posted_ms, LedgerTransaction.meta)
        .join(LedgerEntry, LedgerEntry.tx_id == LedgerTransaction.id)
        .join(LedgerAccount, LedgerEntry.account_id == LedgerAccount.id)
        .where(LedgerAccount.code == account.code)
        .order_by(LedgerTransaction.id, LedgerEntry.id)).all()
    return [StatementLine(r[0], r[1], r[2], int(r[3]), int(r[4]), json.loads(r[5])) for r in rows]


def totals_by_kind_in(session: Session) -> dict[str, int]:
    """Sum of transaction totals per posting kind (how much was deposited, settled, slashed, ...)."""
    rows = session.execute(select(LedgerTransaction.kind, func.sum(LedgerTransaction.total))
                           .group_by(LedgerTransaction.kind)).all()
    return {k: int(v) for k, v in rows}


class Ledger:
    """The journal behind a session factory: each call is one database transaction."""

    def __init__(self, session_factory: sessionmaker) -> None:
        self._sf = session_factory

    def post(self, posting: Posting, *, now_ms: int | None = None) -> PostResult:
        with self._sf.begin() as s:
            return post_in(s, posting, now_ms=now_ms)

    def post_many(self, postings: Iterable[Posting], *, now_ms: int | None = None) -> list[PostResult]:
        """All or nothing: if any posting fails, none is written."""
        with self._sf.begin() as s:
            return [post_in(s, p, now_ms=now_ms) for p in postings]

    def balance(self, account: Account, *, natural: bool = True) -> int:
        with self._sf() as s:
            return balance_in(s, account, natural=natural)

    def balances(self, *, kind: Kind | None = None, owner: str | None = None,
                 natural: bool = True) -> dict[Account, int]:
        with self._sf() as s:
            return balances_in(s, kind=kind, owner=owner, natural=natural)

    def trial_balance(self) -> dict[Book, int]:
        with self._sf() as s:
            return trial_balance_in(s)

    def statement(self, account: Account) -> list[StatementLine]:
        with self._sf() as s:
            return statement_in(s, account)

    def totals_by_kind(self) -> dict[str, int]:
        with self._sf() as s:
            return totals_by_kind_in(s)

    def is_posted(self, external_key: str) -> bool:
        with self._sf() as s:
            return s.execute(select(LedgerTransaction.id)
                             .where(LedgerTransaction.external_key == external_key)).first() is not None
