"""usage evidence: provider-signed evidence groups, their events' group, and each seal's events per channel

Revision ID: 0430_usage_evidence
Revises: 0420_pg_partitioned_events
Create Date: 2026-12-02 06:40:00

meter_evidence_groups: one provider ed25519 signature per customer per ingest request over the Merkle root of
that customer's payload hashes (contracts/evidence.py). usage_events.evidence_key names an event's group (NULL
for events stored before, or sent without evidence: their receipts' quantities are then NOT VERIFIED by the
auditor). meter_seal_evidence: per seal and channel the payload hashes it marked (a receipt's evidence root).
On PostgreSQL the new column reaches every day partition of usage_events (ALTER TABLE on the parent).
"""
from alembic import op
import sqlalchemy as sa


revision = '0430_usage_evidence'
down_revision = '0420_pg_partitioned_events'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'meter_evidence_groups',
        sa.Column('key', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('provider', sa.String(length=44), nullable=False),
        sa.Column('customer', sa.String(length=44), nullable=False),
        sa.Column('root', sa.LargeBinary(length=32), nullable=False),
        sa.Column('signature', sa.LargeBinary(length=64), nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('hashes', sa.LargeBinary(), nullable=False),
        sa.Column('created_ms', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_meter_evidence_groups')),
    )
    op.create_table(
        'meter_seal_evidence',
        sa.Column('customer', sa.String(length=44), nullable=False),
        sa.Column('provider', sa.String(length=44), nullable=False),
        sa.Column('seal_id', sa.BigInteger(), autoincrement=False, nullable=False),
        sa.Column('count', sa.Integer(), nullable=False),
        sa.Column('hashes', sa.LargeBinary(), nullable=False),
        sa.Column('event_ids', sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint('customer', 'provider', 'seal_id', name=op.f('pk_meter_seal_evidence')),
    )
    op.add_column('usage_events', sa.Column('evidence_key', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    op.drop_column('usage_events', 'evidence_key')
    op.drop_table('meter_seal_evidence')
    op.drop_table('meter_evidence_groups')
