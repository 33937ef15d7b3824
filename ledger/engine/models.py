"""Settlement-engine tables: intents (written before any transaction is sent), job leases (one replica per
job run) and cursors (how far a follower has read a source)."""
from __future__ import annotations

from sqlalchemy import BigInteger, CheckConstraint, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from db import Base

PK = BigInteger().with_variant(Integer(), "sqlite")

INTENT_STATES = ("pending", "sent", "confirmed", "failed")


class Intent(Base):
    """One on-chain action the engine means to take. `key` is unique (e.g. settle:<customer>:<provider>:<seq>),
    so the same action is never recorded twice. Life cycle:

    pending   recorded; no transaction built yet (or the last one expired unlanded and may be rebuilt)
    sent      a transaction was signed and its signature and bytes stored BEFORE it was handed to the RPC;
              it may or may not have landed: only the chain can say
    confirmed the chain reports the signature succeeded (or the chain state shows the action is done)
    failed    the chain rejected it for good (program error), with the error kept
    """

    __tablename__ = "ledger_intents"
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(200), unique=True)
    kind: Mapped[str] = mapped_column(String(32))
    subject: Mapped[str] = mapped_column(String(140))  # the channel / batch / customer / epoch acted on
    payload: Mapped[str] = mapped_column(Text)  # canonical JSON
    state: Mapped[str] = mapped_column(String(12), default="pending")
    signature: Mapped[str | None] = mapped_column(String(90), nullable=True)
    tx: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)  # the signed wire transaction
    last_valid_block_height: Mapped[int | None] = mapped_column(BigInteger, nullable=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str] = mapped_column(Text, default="")
    created_ms: Mapped[int] = mapped_column(BigInteger)
    updated_ms: Mapped[int] = mapped_column(BigInteger)
    __table_args__ = (
        CheckConstraint("state IN ('pending', 'sent', 'confirmed', 'failed')", name="state_valid"),
        Index("ix_ledger_intents_state", "state", "kind"),
        Index("ix_ledger_intents_subject", "kind", "subject"),
    )


class JobLease(Base):
    """One row per job. A replica runs a job only after winning a conditional UPDATE on this row (lease
    expired and the job due), so with any number of replicas on one database each run happens once."""

    __tablename__ = "ledger_job_leases"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    holder: Mapped[str] = mapped_column(String(64), default="")
    lease_until_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    next_due_ms: Mapped[int] = mapped_column(BigInteger, default=0)
    runs: Mapped[int] = mapped_column(BigInteger, default=0)
    failures: Mapped[int] = mapped_column(Integer, default=0)  # consecutive; drives the back-off
    last_error: Mapped[str] = mapped_column(Text, default="")
    last_run_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class Cursor(Base):
    """How far a follower has consumed a source (the chain's program signatures, the meter's receipts)."""

    __tablename__ = "ledger_cursors"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(String(120), default="")
    updated_ms: Mapped[int] = mapped_column(BigInteger, default=0)


class ReconReport(Base):
    """The last reconciliation of ledger against chain: one row per account that differs (or a summary)."""

    __tablename__ = "ledger_recon_reports"
    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    run_ms: Mapped[int] = mapped_column(BigInteger, index=True)
    account: Mapped[str] = mapped_column(String(140))
    ledger_amount: Mapped[int] = mapped_column(BigInteger)
    chain_amount: Mapped[int] = mapped_column(BigInteger)
