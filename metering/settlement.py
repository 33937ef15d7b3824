"""metering's settlement port: what whoever settles the receipts the meter issues may read and change of
the meter's store, and nothing more (issue 16). The settlement engine (ledger.engine) uses only this; no
metering table, row or ORM object reaches it: every result is a plain frozen dataclass or a number.

`SettlementPort` is the interface; `SqlSettlement` its adapter over metering's tables (metering.models),
the only code of the port that touches them. Each method takes the caller's SQLAlchemy Session and runs in
the caller's transaction: the engine keeps one transaction across a port call and its own writes (a
receipt's accrual and the cursor, a refused batch's release and the failed intent that says why, a
confirmed post_batch and the intent's state), exactly as when it wrote the tables itself. The port never
commits."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Collection, Protocol

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from .batches import proof_for
from .models import Batch, Customer, ReceiptRow
from .registry import set_paused_in


@dataclass(frozen=True)
class IssuedReceipt:
    """A receipt the meter issued, as accrual needs it; `cursor` orders them (pass the last one back)."""
    cursor: int
    receipt_id: bytes
    customer: str
    provider: str
    seq: int
    new_amount: int  # what this receipt adds to its channel's cumulative amount
    cum_amount: int


@dataclass(frozen=True)
class BatchToPost:
    """The oldest batch not yet posted on-chain, with the config versions of its receipts (one, unless the
    batch is stale: the program stamps a batch with the version in force and settles none of another)."""
    id: int
    root: bytes
    count: int
    total: int
    config_versions: frozenset[int]


@dataclass(frozen=True)
class SettleableReceipt:
    """A channel's newest receipt in a posted batch: what a settle transaction carries."""
    customer: str
    provider: str
    seq: int
    cum_amount: int
    config_version: int
    encoding: bytes
    batch_id: int
    batch_index: int


@dataclass(frozen=True)
class ChannelInBatch:
    """The newest receipt seq of a channel (customer, provider) in a batch."""
    batch_id: int
    customer: str
    provider: str
    seq: int


class SettlementPort(Protocol):
    """What the settlement engine may read and change of the meter's store (each call in the caller's
    Session and transaction; nothing commits)."""

    def receipts_since(self, s: Session, cursor: int, limit: int) -> list[IssuedReceipt]:
        """Up to `limit` receipts issued after `cursor` (0: from the first), in issue order."""
        ...

    def next_batch_to_post(self, s: Session, skip: Collection[int] = ()) -> BatchToPost | None:
        """The oldest batch without a posting signature whose id is not in `skip`, or None."""
        ...

    def batch_config_versions(self, s: Session, batch_id: int) -> set[int]:
        """The distinct config versions of a batch's receipts (empty once they are released)."""
        ...

    def release_batch(self, s: Session, batch_id: int) -> None:
        """A batch refused (never to be posted) or released: its receipts name no batch again, and the meter
        reissues them under the version in force."""
        ...

    def mark_batch_posted(self, s: Session, batch_id: int, signature: str, now_ms: int) -> None:
        """Record the post_batch transaction that put the batch's root on-chain."""
        ...

    def newest_receipts(self, s: Session, batch_ids: Collection[int]) -> list[SettleableReceipt]:
        """Each channel's newest receipt among those in `batch_ids`, by customer then provider."""
        ...

    def newest_seqs(self, s: Session, batch_ids: Collection[int]) -> list[ChannelInBatch]:
        """Per batch in `batch_ids` and channel with receipts in it, the newest receipt's seq."""
        ...

    def proof(self, s: Session, batch_id: int, index: int) -> list[bytes]:
        """The Merkle inclusion proof of the receipt at `index` of a batch."""
        ...

    def paused_flags(self, s: Session) -> dict[str, bool]:
        """Every customer the meter knows, with its paused flag."""
        ...

    def paused(self, s: Session, customer: str) -> bool:
        """Whether the meter refuses the customer's new work (False for a customer it does not know)."""
        ...

    def set_paused(self, s: Session, customer: str, paused: bool, now_ms: int, reason: str = "") -> None:
        """Set or clear a customer's paused flag (with the reason, shown to the customer)."""
        ...

    def unposted_batches(self, s: Session) -> int:
        """How many batches have no posting signature (refused, stale batches included: they never get one)."""
        ...

    def customers_paused(self, s: Session) -> int:
        """How many customers are paused."""
        ...

    def issued(self, s: Session) -> tuple[int, int]:
        """(receipts, batches) the meter has issued."""
        ...


class SqlSettlement:
    """SettlementPort over metering's tables."""

    def receipts_since(self, s: Session, cursor: int, limit: int) -> list[IssuedReceipt]:
        rows = s.execute(select(ReceiptRow.id, ReceiptRow.receipt_id, ReceiptRow.customer, ReceiptRow.provider,
                                ReceiptRow.seq, ReceiptRow.new_amount, ReceiptRow.cum_amount)
                         .where(ReceiptRow.id > cursor).order_by(ReceiptRow.id).limit(limit)).all()
        return [IssuedReceipt(int(r.id), bytes(r.receipt_id), r.customer, r.provider, int(r.seq), int(r.new_amount),
                              int(r.cum_amount)) for r in rows]

    def next_batch_to_post(self, s: Session, skip: Collection[int] = ()) -> BatchToPost | None:
        row = s.execute(select(Batch).where(Batch.posted_signature.is_(None),
                                            Batch.id.notin_(list(skip)) if skip else True)
                        .order_by(Batch.id).limit(1)).scalar_one_or_none()
        if row is None:
            return None
        return BatchToPost(int(row.id), bytes(row.root), int(row.count), int(row.total),
                           frozenset(self.batch_config_versions(s, row.id)))

    def batch_config_versions(self, s: Session, batch_id: int) -> set[int]:
        return {int(v) for (v,) in s.execute(select(ReceiptRow.config_version)
                                             .where(ReceiptRow.batch_id == batch_id).distinct())}

    def release_batch(self, s: Session, batch_id: int) -> None:
        s.execute(update(ReceiptRow).where(ReceiptRow.batch_id == batch_id).values(batch_id=None, batch_index=None))

    def mark_batch_posted(self, s: Session, batch_id: int, signature: str, now_ms: int) -> None:
        s.execute(update(Batch).where(Batch.id == batch_id).values(posted_signature=signature, posted_ms=now_ms))

    def newest_receipts(self, s: Session, batch_ids: Collection[int]) -> list[SettleableReceipt]:
        latest = (select(ReceiptRow.customer, ReceiptRow.provider, func.max(ReceiptRow.seq).label("seq"))
                  .where(ReceiptRow.batch_id.in_(list(batch_ids))).group_by(ReceiptRow.customer, ReceiptRow.provider)
                  .subquery())
        rows = s.execute(select(ReceiptRow).join(latest, (ReceiptRow.customer == latest.c.customer)
                                                 & (ReceiptRow.provider == latest.c.provider)
                                                 & (ReceiptRow.seq == latest.c.seq))
                         .order_by(ReceiptRow.customer, ReceiptRow.provider)).scalars().all()
        return [SettleableReceipt(r.customer, r.provider, int(r.seq), int(r.cum_amount), int(r.config_version),
                                  bytes(r.encoding), int(r.batch_id or 0), int(r.batch_index or 0)) for r in rows]

    def newest_seqs(self, s: Session, batch_ids: Collection[int]) -> list[ChannelInBatch]:
        rows = s.execute(select(ReceiptRow.batch_id, ReceiptRow.customer, ReceiptRow.provider, func.max(ReceiptRow.seq))
                         .where(ReceiptRow.batch_id.in_(list(batch_ids)))
                         .group_by(ReceiptRow.batch_id, ReceiptRow.customer, ReceiptRow.provider)).all()
        return [ChannelInBatch(int(b), c, p, int(seq)) for b, c, p, seq in rows]

    def proof(self, s: Session, batch_id: int, index: int) -> list[bytes]:
        return proof_for(s.connection(), batch_id, index)

    def paused_flags(self, s: Session) -> dict[str, bool]:
        return {k: bool(v) for k, v in s.execute(select(Customer.pubkey, Customer.paused)).all()}

    def paused(self, s: Session, customer: str) -> bool:
        return bool(s.execute(select(Customer.paused).where(Customer.pubkey == customer)).scalar())

    def set_paused(self, s: Session, customer: str, paused: bool, now_ms: int, reason: str = "") -> None:
        set_paused_in(s.connection(), customer, paused, now_ms, reason)

    def unposted_batches(self, s: Session) -> int:
        return int(s.execute(select(func.count()).select_from(Batch).where(Batch.posted_signature.is_(None)))
                   .scalar_one())

    def customers_paused(self, s: Session) -> int:
        return int(s.execute(select(func.count()).select_from(Customer).where(Customer.paused.is_(True))).scalar_one())

    def issued(self, s: Session) -> tuple[int, int]:
        return (int(s.execute(select(func.count()).select_from(ReceiptRow)).scalar() or 0),
                int(s.execute(select(func.count()).select_from(Batch)).scalar() or 0))


__all__ = ["BatchToPost", "ChannelInBatch", "IssuedReceipt", "SettleableReceipt", "SettlementPort", "SqlSettlement"]
