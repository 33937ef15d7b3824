"""The metering tables. Quantities that can exceed a signed 64-bit integer (byte-milliseconds, u64
amounts) are stored as decimal text so SQLite and PostgreSQL both keep them exact."""
from __future__ import annotations

import hashlib

from sqlalchemy import (BigInteger, Boolean, ForeignKey, Index, Integer, LargeBinary, SmallInteger, String,
                        Text, UniqueConstraint, text)
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from db import Base

# SQLite makes only INTEGER PRIMARY KEY an auto-increment rowid alias; PostgreSQL gets a bigint identity.
PK = BigInteger().with_variant(Integer(), "sqlite")


class BigInt(TypeDecorator):
    """An arbitrary non-negative integer stored as decimal text (exact on every backend)."""

    impl = String(40)
    cache_ok = True

    def process_bind_param(self, value, dialect):
        return None if value is None else str(int(value))

    def process_result_value(self, value, dialect):
        return None if value is None else int(value)


class Provider(Base):
    """Registry of reporting providers: only these pubkeys may post usage."""

    __tablename__ = "meter_providers"
    pubkey: Mapped[str] = mapped_column(String(44), primary_key=True)
    name: Mapped[str] = mapped_column(String(128), default="")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class Customer(Base):
    """Customer flags the meter needs. `paused` is set and cleared by the ledger from the chain."""

    __tablename__ = "meter_customers"
    pubkey: Mapped[str] = mapped_column(String(44), primary_key=True)
    paused: Mapped[bool] = mapped_column(Boolean, default=False)
    paused_reason: Mapped[str] = mapped_column(String(256), default="")
    updated_ms: Mapped[int] = mapped_column(BigInteger)


class UsageEvent(Base):
    """One accepted CloudEvent, flattened into the columns the rollup reads; `body` is the canonical JSON
    of the whole event and `payload_hash` its sha256 (what dedup compares).

    Indexes are kept small because they dominate the cost of ingestion: dedup is a unique index on a
    16-byte hash of (source, id) (collision odds ~2^-128 per pair, and a hit still compares source and
    id); a key's SEALED events are found by a 64-bit hash of (provider, customer, family, resource) plus
    time, in a partial index the sealer fills (ingestion does not touch it); unsealed events by a partial
    index that holds only them (a window or two of events). There is no per-event customer index: a
    customer's events are found through its keys (`meter_usage_keys`), one row per lease / bucket /
    resource instead of one index entry per event (that index was a quarter of SQLite's cost per event).

    On PostgreSQL (migration 0400) the table is partitioned by RANGE (t_ms), one partition per UTC day
    (`metering.partitions`), its primary key is (id, t_ms) and the dedup key's uniqueness is held by
    `meter_event_keys`; `Base.metadata.create_all` (some tests) makes the plain table below, which the
    PostgreSQL write path handles too."""

    __tablename__ = "usage_events"
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    dedup_key: Mapped[bytes] = mapped_column(LargeBinary(16))
    key_hash: Mapped[int] = mapped_column(BigInteger)
    source: Mapped[str] = mapped_column(String(256))
    event_id: Mapped[str] = mapped_column(String(128))
    kind: Mapped[int] = mapped_column(SmallInteger)  # metering.events.Kind
    customer: Mapped[str] = mapped_column(String(44))
    provider: Mapped[str] = mapped_column(String(44))
    resource: Mapped[str] = mapped_column(String(128))  # lease id, bucket, or egress resource
    rclass: Mapped[str] = mapped_column(String(32))  # GPU class, storage class, egress class ("" for stops)
    value: Mapped[int] = mapped_column(BigInteger)  # GPU count, bytes stored, bytes sent (0 for stops)
    t_ms: Mapped[int] = mapped_column(BigInteger)
    received_ms: Mapped[int] = mapped_column(BigInteger)
    payload_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    body: Mapped[str] = mapped_column(Text)
    seal_id: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    # the provider-signed evidence group that carried the event (meter_evidence_groups.key; migration 0430),
    # None for an event sent without one
    evidence_key: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    __table_args__ = (
        UniqueConstraint("dedup_key", name="uq_usage_events_dedup_key"),
        # sealed events only: ingestion never writes it (one entry per event of each active lease was a
        # leaf page per lease per commit); the sealer adds a window's entries when it marks them sealed
        Index("ix_usage_events_key", "key_hash", "t_ms", sqlite_where=text("seal_id IS NOT NULL"),
              postgresql_where=text("seal_id IS NOT NULL")),
        Index("ix_usage_events_unsealed", "t_ms", sqlite_where=text("seal_id IS NULL"),
              postgresql_where=text("seal_id IS NULL")),
    )


class EvidenceGroup(Base):
    """One provider signature over one customer's events of one ingest request (contracts/evidence.py): the
    Merkle root of their payload hashes in request order, and those hashes (`hashes`: 32 bytes each, in
    order), so an inclusion proof can be served for any of them."""

    __tablename__ = "meter_evidence_groups"
    key: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)  # evidence.group_key
    provider: Mapped[str] = mapped_column(String(44))
    customer: Mapped[str] = mapped_column(String(44))
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    count: Mapped[int] = mapped_column(Integer)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)
    created_ms: Mapped[int] = mapped_column(BigInteger)


class SealEvidence(Base):
    """Per seal and channel, the payload hashes of the events that seal marked (32 bytes each, sorted): the
    receipt issued next for the channel covers the seals since its previous receipt, and its detail's evidence
    root is the Merkle root over their hashes (contracts.evidence.evidence_root)."""

    __tablename__ = "meter_seal_evidence"
    customer: Mapped[str] = mapped_column(String(44), primary_key=True)
    provider: Mapped[str] = mapped_column(String(44), primary_key=True)
    seal_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer)
    hashes: Mapped[bytes] = mapped_column(LargeBinary)
    event_ids: Mapped[bytes] = mapped_column(LargeBinary)  # usage_events.id of each hash, 8 bytes LE each


class EventKey(Base):
    """PostgreSQL's dedup authority: one row per stored usage event, keyed by its dedup key (ingestion
    inserts here with ON CONFLICT DO NOTHING, and writes usage_events only for the keys that went in). A
    partitioned usage_events cannot carry a unique index on the dedup key alone (PostgreSQL requires the
    partition key in every unique index), so the key lives here; `payload_hash` is what a replay is compared
    with. SQLite has the table (one schema) but leaves it empty: there the unique index of usage_events
    does the same under its single writer."""

    __tablename__ = "meter_event_keys"
    dedup_key: Mapped[bytes] = mapped_column(LargeBinary(16), primary_key=True)
    payload_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    t_ms: Mapped[int] = mapped_column(BigInteger)


class UsageKey(Base):
    """Every (customer, provider, family, resource) that has events, written in the transaction that
    accepts its first event; `key_hash` is the usage_events.key_hash of its events."""

    __tablename__ = "meter_usage_keys"
    customer: Mapped[str] = mapped_column(String(44), primary_key=True)
    provider: Mapped[str] = mapped_column(String(44), primary_key=True)
    family: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # metering.rollup.usage.FAMILY
    resource: Mapped[str] = mapped_column(String(128), primary_key=True)
    key_hash: Mapped[int] = mapped_column(BigInteger)


def dedup_key(source: str, event_id: str) -> bytes:
    s = source.encode()
    return hashlib.sha256(len(s).to_bytes(2, "little") + s + event_id.encode()).digest()[:16]


def key_hash(provider: str, customer: str, family: int, resource: str) -> int:
    h = hashlib.sha256(f"{provider}/{customer}/{family}/{resource}".encode()).digest()
    return int.from_bytes(h[:8], "little", signed=True)


class ChannelBounds(Base):
    """Per channel, family and class, the raw total that bounds what its events can ever bill
    (metering.headroom): GPU counts of heartbeats, bytes of storage samples, bytes of egress; grown by
    ingestion, never shrunk."""

    __tablename__ = "meter_channel_bounds"
    customer: Mapped[str] = mapped_column(String(44), primary_key=True)
    provider: Mapped[str] = mapped_column(String(44), primary_key=True)
    family: Mapped[int] = mapped_column(SmallInteger, primary_key=True)  # metering.rollup.usage.FAMILY
    rclass: Mapped[str] = mapped_column(String(32), primary_key=True)
    total: Mapped[int] = mapped_column(BigInt)


class RequestSignature(Base):
    """Signatures already seen within the freshness window: a replayed request is refused."""

    __tablename__ = "meter_request_signatures"
    signature: Mapped[str] = mapped_column(String(90), primary_key=True)
    pubkey: Mapped[str] = mapped_column(String(44))
    seen_ms: Mapped[int] = mapped_column(BigInteger, index=True)


class PriceBookRow(Base):
    __tablename__ = "meter_price_books"
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    effective_from_ms: Mapped[int] = mapped_column(BigInteger)
    prices: Mapped[str] = mapped_column(Text)  # canonical JSON of metering.rollup.pricing.PriceBook
    created_ms: Mapped[int] = mapped_column(BigInteger)


class MeterState(Base):
    """One row: how far windows are sealed."""

    __tablename__ = "meter_state"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    sealed_through_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    last_seal_id: Mapped[int] = mapped_column(BigInteger, default=0)


class Seal(Base):
    __tablename__ = "meter_seals"
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=False)
    window_start_ms: Mapped[int] = mapped_column(BigInteger)
    window_end_ms: Mapped[int] = mapped_column(BigInteger)
    sealed_ms: Mapped[int] = mapped_column(BigInteger)
    events: Mapped[int] = mapped_column(Integer)
    late_events: Mapped[int] = mapped_column(Integer)
    receipts: Mapped[int] = mapped_column(Integer)


class KeyUsage(Base):
    """Usage of one lease / bucket / egress resource through the last sealed window, per class: the
    parts that channel cumulative quantities are summed from. Recomputed from its events whenever one
    of them is sealed, so it is a pure function of the event set (order of arrival does not matter)."""

    __tablename__ = "meter_key_usage"
    customer: Mapped[str] = mapped_column(String(44), primary_key=True)
    provider: Mapped[str] = mapped_column(String(44), primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    resource: Mapped[str] = mapped_column(String(128), primary_key=True)
    rclass: Mapped[str] = mapped_column(String(32), primary_key=True)
    quantity: Mapped[int] = mapped_column(BigInt)  # GPU-ms, byte-ms or bytes
    through_ms: Mapped[int] = mapped_column(BigInteger)
    key_hash: Mapped[int] = mapped_column(BigInteger, index=True)


class KeyState(Base):
    """The carry of a key after the last sealed window (metering.rollup.usage.Carry): its last event and
    whether a lease has stopped, so the next window extends it without reading its history."""

    __tablename__ = "meter_key_state"
    customer: Mapped[str] = mapped_column(String(44), primary_key=True)
    provider: Mapped[str] = mapped_column(String(44), primary_key=True)
    kind: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    resource: Mapped[str] = mapped_column(String(128), primary_key=True)
    key_hash: Mapped[int] = mapped_column(BigInteger, index=True)
    last: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON [t_ms, kind, value, rclass, event_id]
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)
    through_ms: Mapped[int] = mapped_column(BigInteger)


class KeyBase(Base):
    """A key's usage through `through_ms` (per class) and its carry there, written when the partitions
    holding its events before `through_ms` are dropped (metering.retention): the sealer's recomputation of
    a key with late events starts from here instead of from its first event."""

    __tablename__ = "meter_key_base"
    customer: Mapped[str] = mapped_column(String(44), primary_key=True)
    provider: Mapped[str] = mapped_column(String(44), primary_key=True)
    family: Mapped[int] = mapped_column(SmallInteger, primary_key=True)
    resource: Mapped[str] = mapped_column(String(128), primary_key=True)
    through_ms: Mapped[int] = mapped_column(BigInteger)
    quantities: Mapped[str] = mapped_column(Text)  # JSON {class: quantity}
    last: Mapped[str | None] = mapped_column(Text, nullable=True)  # JSON [t_ms, kind, value, rclass, event_id]
    stopped: Mapped[bool] = mapped_column(Boolean, default=False)


class Batch(Base):
    __tablename__ = "meter_batches"
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=False)
    root: Mapped[bytes] = mapped_column(LargeBinary(32))
    count: Mapped[int] = mapped_column(Integer)
    total: Mapped[int] = mapped_column(BigInt)
    created_ms: Mapped[int] = mapped_column(BigInteger)
    meter_pubkey: Mapped[str] = mapped_column(String(44))
    # Filled by the settlement engine once post_batch lands on-chain.
    posted_signature: Mapped[str | None] = mapped_column(String(90), nullable=True)
    posted_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)


class ReceiptRow(Base):
    __tablename__ = "meter_receipts"
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    customer: Mapped[str] = mapped_column(String(44))
    provider: Mapped[str] = mapped_column(String(44))
    seq: Mapped[int] = mapped_column(BigInteger)
    receipt_id: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    encoding: Mapped[bytes] = mapped_column(LargeBinary(248))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    meter_pubkey: Mapped[str] = mapped_column(String(44))
    config_version: Mapped[int] = mapped_column(BigInteger)
    period_start: Mapped[int] = mapped_column(BigInteger)
    period_end: Mapped[int] = mapped_column(BigInteger)
    cum_amount: Mapped[int] = mapped_column(BigInt)
    new_amount: Mapped[int] = mapped_column(BigInt)
    detail: Mapped[str] = mapped_column(Text)  # canonical JSON; sha256 of it is the receipt's detail_hash
    seal_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("meter_seals.id"))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    batch_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("meter_batches.id"), nullable=True)
    batch_index: Mapped[int | None] = mapped_column(Integer, nullable=True)
    __table_args__ = (
        UniqueConstraint("customer", "provider", "seq", name="uq_meter_receipts_channel_seq"),
        Index("ix_meter_receipts_batch", "batch_id", "batch_index"),
    )


class CustomerLease(Base):
    """A lease the customer signed (contracts.lease): the only consent under which usage is billed.
    `encoding` and `signature` are served publicly as they were signed; the columns beside them are
    decoded from the encoding for look-ups. `last_event_ms` and `egress_bytes` are what ingestion has
    accepted under it so far (the cap bound and the earliest allowed revocation time are computed from them)."""

    __tablename__ = "meter_leases"
    lease_id: Mapped[str] = mapped_column(String(96), primary_key=True)
    lease_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    customer: Mapped[str] = mapped_column(String(44), index=True)
    provider: Mapped[str] = mapped_column(String(44), index=True)
    kind: Mapped[int] = mapped_column(SmallInteger)  # contracts.lease.KIND_*
    price_book_version: Mapped[int] = mapped_column(BigInteger)
    cap: Mapped[int] = mapped_column(BigInt)
    start_ms: Mapped[int] = mapped_column(BigInteger)
    expiry_ms: Mapped[int] = mapped_column(BigInteger)
    encoding: Mapped[bytes] = mapped_column(LargeBinary(1024))
    signature: Mapped[bytes] = mapped_column(LargeBinary(64))
    created_ms: Mapped[int] = mapped_column(BigInteger)
    revoked_at_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    revocation: Mapped[bytes | None] = mapped_column(LargeBinary(120), nullable=True)
    revocation_signature: Mapped[bytes | None] = mapped_column(LargeBinary(64), nullable=True)
    last_event_ms: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    egress_bytes: Mapped[int] = mapped_column(BigInt, default=0)
