"""metering.settlement.SqlSettlement, the settlement port over metering's tables: each method on an
in-memory SQLite database, results as plain dataclasses, nothing committed by the port itself."""
from __future__ import annotations

import dataclasses

import pytest
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from contracts.merkle import MerkleTree, verify_proof
from db import Base, load_models
from metering.models import Batch, Customer, ReceiptRow, Seal
from metering.settlement import (BatchToPost, ChannelInBatch, IssuedReceipt, SettleableReceipt, SettlementPort,
                                 SqlSettlement)

C1, C2 = "11111111111111111111111111111112", "SysvarC1ock11111111111111111111111111111111"
P1 = "SysvarRent111111111111111111111111111111111"
PORT: SettlementPort = SqlSettlement()  # the adapter is a SettlementPort (checked by mypy)


@pytest.fixture
def sf() -> sessionmaker:
    load_models()
    engine = create_engine("sqlite://", poolclass=StaticPool, connect_args={"check_same_thread": False})
    Base.metadata.create_all(engine)
    factory = sessionmaker(bind=engine, expire_on_commit=False)
    with factory.begin() as s:
        s.add(Seal(id=1, window_start_ms=0, window_end_ms=1, sealed_ms=1, events=0, late_events=0, receipts=0))
        for b in (1, 2, 3):
            s.add(Batch(id=b, root=bytes([b]) * 32, count=2, total=10 * b, created_ms=b, meter_pubkey=P1,
                        posted_signature="sig1" if b == 1 else None))
    return factory


def _receipt(s: Session, n: int, customer: str, seq: int, batch: int | None, index: int | None, version: int = 1,
             cum: int = 0, new: int = 0) -> None:
    s.add(ReceiptRow(customer=customer, provider=P1, seq=seq, receipt_id=bytes([n]) * 32, encoding=bytes([n]) * 8,
                     signature=b"\0" * 64, meter_pubkey=P1, config_version=version, period_start=0, period_end=1,
                     cum_amount=cum, new_amount=new, detail="{}", seal_id=1, created_ms=n, batch_id=batch,
                     batch_index=index))


@pytest.fixture
def receipts(sf):
    with sf.begin() as s:
        _receipt(s, 1, C1, 1, 1, 0, cum=5, new=5)
        _receipt(s, 2, C2, 1, 1, 1, cum=7, new=7)
        _receipt(s, 3, C1, 2, 2, 0, cum=9, new=4)
        _receipt(s, 4, C2, 2, 2, 1, version=2, cum=8, new=1)
        _receipt(s, 5, C1, 3, None, None, cum=12, new=3)
    return sf


def test_receipts_since_pages_in_issue_order(receipts):
    with receipts() as s:
        first = PORT.receipts_since(s, 0, 2)
        assert [(r.customer, r.seq) for r in first] == [(C1, 1), (C2, 1)]
        assert first[0] == IssuedReceipt(first[0].cursor, bytes([1]) * 32, C1, P1, 1, 5, 5)
        rest = PORT.receipts_since(s, first[-1].cursor, 10)
        assert [(r.seq, r.new_amount, r.cum_amount) for r in rest] == [(2, 4, 9), (2, 1, 8), (3, 3, 12)]
        assert PORT.receipts_since(s, rest[-1].cursor, 10) == []


def test_next_batch_to_post_skips_posted_and_named_batches(receipts):
    with receipts() as s:
        b = PORT.next_batch_to_post(s)
        assert b == BatchToPost(2, bytes([2]) * 32, 2, 20, frozenset({1, 2}))
        assert PORT.next_batch_to_post(s, {2}) == BatchToPost(3, bytes([3]) * 32, 2, 30, frozenset())
        assert PORT.next_batch_to_post(s, {2, 3}) is None


def test_batch_config_versions(receipts):
    with receipts() as s:
        assert PORT.batch_config_versions(s, 1) == {1}
        assert PORT.batch_config_versions(s, 2) == {1, 2}
        assert PORT.batch_config_versions(s, 3) == set()


def test_release_batch_runs_in_the_callers_transaction(receipts):
    with receipts() as s:  # rolled back: the port does not commit
        PORT.release_batch(s, 2)
        assert PORT.batch_config_versions(s, 2) == set()
        s.rollback()
    with receipts.begin() as s:
        assert PORT.batch_config_versions(s, 2) == {1, 2}
        PORT.release_batch(s, 2)
    with receipts() as s:
        rows = s.execute(select(ReceiptRow.batch_id, ReceiptRow.batch_index).where(ReceiptRow.seq == 2)).all()
        assert rows == [(None, None), (None, None)]
        assert PORT.batch_config_versions(s, 1) == {1}  # other batches untouched


def test_mark_batch_posted(receipts):
    with receipts.begin() as s:
        PORT.mark_batch_posted(s, 2, "sig2", 1234)
    with receipts() as s:
        assert s.execute(select(Batch.posted_signature, Batch.posted_ms).where(Batch.id == 2)).one() == ("sig2", 1234)
        assert PORT.next_batch_to_post(s) is not None and PORT.next_batch_to_post(s).id == 3  # type: ignore[union-attr]
        assert PORT.unposted_batches(s) == 1


def test_newest_receipts_per_channel(receipts):
    with receipts() as s:
        rows = PORT.newest_receipts(s, [1, 2])
        assert rows == [SettleableReceipt(C1, P1, 2, 9, 1, bytes([3]) * 8, 2, 0),
                        SettleableReceipt(C2, P1, 2, 8, 2, bytes([4]) * 8, 2, 1)]
        assert [(r.customer, r.seq) for r in PORT.newest_receipts(s, [1])] == [(C1, 1), (C2, 1)]
        assert PORT.newest_receipts(s, []) == []


def test_newest_seqs_per_batch_and_channel(receipts):
    with receipts() as s:
        assert sorted(PORT.newest_seqs(s, [1, 2]), key=lambda r: (r.batch_id, r.customer)) == [
            ChannelInBatch(1, C1, P1, 1), ChannelInBatch(1, C2, P1, 1),
            ChannelInBatch(2, C1, P1, 2), ChannelInBatch(2, C2, P1, 2)]


def test_proof_verifies_against_the_batch_root(receipts):
    ids = [bytes([3]) * 32, bytes([4]) * 32]
    root = MerkleTree(ids).root
    with receipts() as s:
        for index, rid in enumerate(ids):
            assert verify_proof(rid, PORT.proof(s, 2, index), root)


def test_pause_flags(sf):
    with sf() as s:
        assert PORT.paused_flags(s) == {} and PORT.paused(s, C1) is False and PORT.customers_paused(s) == 0
    with sf.begin() as s:
        PORT.set_paused(s, C1, True, 10, "escrow 0 cannot cover 5 owed")
        PORT.set_paused(s, C2, False, 10)
    with sf() as s:
        assert PORT.paused_flags(s) == {C1: True, C2: False}
        assert PORT.paused(s, C1) is True and PORT.customers_paused(s) == 1
        assert s.execute(select(Customer.paused_reason).where(Customer.pubkey == C1)).scalar() == \
            "escrow 0 cannot cover 5 owed"
    with sf.begin() as s:
        PORT.set_paused(s, C1, False, 20, "ignored when resuming")
    with sf() as s:
        assert s.execute(select(Customer.paused, Customer.paused_reason, Customer.updated_ms)
                         .where(Customer.pubkey == C1)).one() == (False, "", 20)
    with sf() as s, pytest.raises(ValueError, match="not a base58 Solana public key"):
        PORT.set_paused(s, "not-a-key", True, 30)


def test_counts(receipts):
    with receipts() as s:
        assert PORT.issued(s) == (5, 3)
        assert PORT.unposted_batches(s) == 2


def test_no_orm_object_escapes(receipts):
    with receipts() as s:
        results = [*PORT.receipts_since(s, 0, 10), PORT.next_batch_to_post(s), *PORT.newest_receipts(s, [1, 2]),
                   *PORT.newest_seqs(s, [1, 2])]
    for r in results:
        assert dataclasses.is_dataclass(r) and not isinstance(r, Base), r
