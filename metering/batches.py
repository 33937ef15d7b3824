"""Merkle batches over issued receipts (contracts.merkle: leaf 0x00, node 0x01, sorted pairs).

Every batch interval the receipts not yet in a batch, in issue order, become one batch: root, count and
total (the sum of the receipts' NEW amounts, cumulative minus the channel's previous cumulative). Proofs
are derived from the batch's ordered receipt ids; the settlement engine posts the root on-chain and
records the transaction with `mark_posted`."""
from __future__ import annotations

import functools
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.engine import Connection, Engine

from contracts.merkle import MerkleTree, verify_proof

from .models import Batch, ReceiptRow
from .receipts import lock_state

BT, RR = Batch.__table__, ReceiptRow.__table__
# A legacy settle transaction (1,232 bytes) has room for a proof of at most 11 hashes (PROTOCOL.md), so a batch
# holds at most 2^11 receipts; more receipts in one interval become several batches.
MAX_BATCH_RECEIPTS = 1 << 11


@dataclass(frozen=True)
class BatchInfo:
    id: int
    root: bytes
    count: int
    total: int
    created_ms: int
    meter_pubkey: str
    posted_signature: str | None = None
    posted_ms: int | None = None

    def to_dict(self) -> dict:
        return {"id": self.id, "root": self.root.hex(), "count": self.count, "total": self.total,
                "created_ms": self.created_ms, "meter_pubkey": self.meter_pubkey,
                "posted_signature": self.posted_signature, "posted_ms": self.posted_ms}


def _info(row) -> BatchInfo:
    return BatchInfo(row.id, bytes(row.root), row.count, row.total, row.created_ms, row.meter_pubkey,
                     row.posted_signature, row.posted_ms)


def build_batch(engine: Engine, meter_pubkey: str, now_ms: int, config_version: int | None = None) -> BatchInfo | None:
    """Close a batch over the receipts not yet batched, in issue order (None when there is none).

    A batch holds receipts of ONE config version: the program stamps a batch with the version in force when
    it is posted and settles only receipts of that version. With `config_version` (the version in force)
    only its receipts are batched; older ones stay unbatched, superseded by their reissue under the new
    version (receipts.Sealer.carry_over). Without it, the version of the oldest unbatched receipt."""
    with engine.begin() as conn:
        lock_state(conn)  # one replica closes a batch at a time (and not while a window is being sealed)
        version = config_version
        if version is None:
            version = conn.execute(select(RR.c.config_version).where(RR.c.batch_id.is_(None)).order_by(RR.c.id)
                                   .limit(1)).scalar()
            if version is None:
                return None
        rows = conn.execute(select(RR.c.id, RR.c.receipt_id, RR.c.new_amount)
                            .where(RR.c.batch_id.is_(None), RR.c.config_version == version)
                            .order_by(RR.c.id).limit(MAX_BATCH_RECEIPTS).with_for_update()).all()
        if not rows:
            return None
        tree = MerkleTree([bytes(r.receipt_id) for r in rows])
        bid = (conn.execute(select(func.max(BT.c.id))).scalar() or 0) + 1
        total = sum(r.new_amount for r in rows)
        conn.execute(BT.insert().values(id=bid, root=tree.root, count=len(rows), total=total, created_ms=now_ms,
                                        meter_pubkey=meter_pubkey))
        for i, r in enumerate(rows):
            conn.execute(update(RR).where(RR.c.id == r.id).values(batch_id=bid, batch_index=i))
        return BatchInfo(bid, tree.root, len(rows), total, now_ms, meter_pubkey)


def get_batch(conn: Connection, batch_id: int) -> BatchInfo | None:
    row = conn.execute(select(BT).where(BT.c.id == batch_id)).first()
    return _info(row) if row else None


def list_batches(conn: Connection, *, limit: int = 100, before_id: int | None = None,
                 unposted_only: bool = False) -> list[BatchInfo]:
    q = select(BT).order_by(BT.c.id.desc()).limit(limit)
    if before_id is not None:
        q = q.where(BT.c.id < before_id)
    if unposted_only:
        q = q.where(BT.c.posted_signature.is_(None))
    return [_info(r) for r in conn.execute(q)]


def batch_receipt_ids(conn: Connection, batch_id: int) -> list[bytes]:
    return [bytes(r[0]) for r in conn.execute(select(RR.c.receipt_id).where(RR.c.batch_id == batch_id)
                                              .order_by(RR.c.batch_index))]


@functools.lru_cache(maxsize=64)
def _tree(ids: tuple[bytes, ...]) -> MerkleTree:
    return MerkleTree(list(ids))


def proof_for(conn: Connection, batch_id: int, index: int) -> list[bytes]:
    """Inclusion proof of the receipt at `index` of a batch (batches never change, so trees are cached)."""
    return _tree(tuple(batch_receipt_ids(conn, batch_id))).proof(index)


def mark_posted(engine: Engine, batch_id: int, signature: str, now_ms: int) -> None:
    with engine.begin() as conn:
        conn.execute(update(BT).where(BT.c.id == batch_id).values(posted_signature=signature, posted_ms=now_ms))


__all__ = ["BatchInfo", "build_batch", "get_batch", "list_batches", "batch_receipt_ids", "proof_for", "mark_posted",
           "verify_proof"]
