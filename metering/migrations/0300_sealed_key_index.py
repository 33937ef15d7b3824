"""ix_usage_events_key holds sealed events only

Revision ID: 0300_sealed_key_index
Revises: 0200_meter_usage_keys
Create Date: 2026-11-22 04:20:00

Ingestion wrote one (key_hash, t_ms) entry per event, at one insertion point per active lease: each commit
of 1,000 events dirtied a leaf page per lease. The index now holds sealed events only (the sealer adds a
window's entries when it marks them); unsealed events are found by ix_usage_events_unsealed.
"""
from alembic import op
import sqlalchemy as sa


revision = '0300_sealed_key_index'
down_revision = '0200_meter_usage_keys'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index('ix_usage_events_key', table_name='usage_events')
    op.create_index('ix_usage_events_key', 'usage_events', ['key_hash', 't_ms'], unique=False,
                    sqlite_where=sa.text('seal_id IS NOT NULL'), postgresql_where=sa.text('seal_id IS NOT NULL'))


def downgrade() -> None:
    op.drop_index('ix_usage_events_key', table_name='usage_events', sqlite_where=sa.text('seal_id IS NOT NULL'),
                  postgresql_where=sa.text('seal_id IS NOT NULL'))
    op.create_index('ix_usage_events_key', 'usage_events', ['key_hash', 't_ms'], unique=False)
