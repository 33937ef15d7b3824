"""meter_usage_keys replaces the per-event customer index of usage_events

Revision ID: 0200_meter_usage_keys
Revises: 0100_ledger
Create Date: 2026-11-22 03:10:00

A customer's events are found through its keys (one row per lease / bucket / egress resource) and the
(key_hash, t_ms) index; the (customer, t_ms) index held one entry per event and cost about a quarter of
SQLite's work per ingested event.
"""
from alembic import op
import sqlalchemy as sa


revision = '0200_meter_usage_keys'
down_revision = '0100_ledger'
branch_labels = None
depends_on = None

# metering.rollup.usage.FAMILY: a GPU stop (kind 2) belongs to the GPU family (1)
_FAMILY_OF_KIND = "CASE kind WHEN 2 THEN 1 ELSE kind END"


def upgrade() -> None:
    op.create_table('meter_usage_keys',
    sa.Column('customer', sa.String(length=44), nullable=False),
    sa.Column('provider', sa.String(length=44), nullable=False),
    sa.Column('family', sa.SmallInteger(), nullable=False),
    sa.Column('resource', sa.String(length=128), nullable=False),
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('customer', 'provider', 'family', 'resource', name=op.f('pk_meter_usage_keys'))
    )
    op.execute(f"INSERT INTO meter_usage_keys (customer, provider, family, resource, key_hash) "
               f"SELECT DISTINCT customer, provider, {_FAMILY_OF_KIND}, resource, key_hash FROM usage_events")
    op.drop_index('ix_usage_events_customer', table_name='usage_events')


def downgrade() -> None:
    op.create_index('ix_usage_events_customer', 'usage_events', ['customer', 't_ms'], unique=False)
    op.drop_table('meter_usage_keys')
