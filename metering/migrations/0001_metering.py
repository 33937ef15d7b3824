"""metering tables: events, providers, customers, seals, key usage and state, receipts, batches, price books

Revision ID: 0001_metering
Revises:
Create Date: 2026-11-22 00:44:17.843084
"""
from alembic import op
import sqlalchemy as sa


revision = '0001_metering'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table('meter_batches',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('root', sa.LargeBinary(length=32), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.Column('total', sa.String(length=40), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('meter_pubkey', sa.String(length=44), nullable=False),
    sa.Column('posted_signature', sa.String(length=90), nullable=True),
    sa.Column('posted_ms', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_batches'))
    )
    op.create_table('meter_customers',
    sa.Column('pubkey', sa.String(length=44), nullable=False),
    sa.Column('paused', sa.Boolean(), nullable=False),
    sa.Column('paused_reason', sa.String(length=256), nullable=False),
    sa.Column('updated_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('pubkey', name=op.f('pk_meter_customers'))
    )
    op.create_table('meter_key_state',
    sa.Column('customer', sa.String(length=44), nullable=False),
    sa.Column('provider', sa.String(length=44), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('resource', sa.String(length=128), nullable=False),
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.Column('last', sa.Text(), nullable=True),
    sa.Column('stopped', sa.Boolean(), nullable=False),
    sa.Column('through_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('customer', 'provider', 'kind', 'resource', name=op.f('pk_meter_key_state'))
    )
    with op.batch_alter_table('meter_key_state', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meter_key_state_key_hash'), ['key_hash'], unique=False)

    op.create_table('meter_key_usage',
    sa.Column('customer', sa.String(length=44), nullable=False),
    sa.Column('provider', sa.String(length=44), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('resource', sa.String(length=128), nullable=False),
    sa.Column('rclass', sa.String(length=32), nullable=False),
    sa.Column('quantity', sa.String(length=40), nullable=False),
    sa.Column('through_ms', sa.BigInteger(), nullable=False),
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('customer', 'provider', 'kind', 'resource', 'rclass', name=op.f('pk_meter_key_usage'))
    )
    with op.batch_alter_table('meter_key_usage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meter_key_usage_key_hash'), ['key_hash'], unique=False)

    op.create_table('meter_price_books',
    sa.Column('version', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('effective_from_ms', sa.BigInteger(), nullable=False),
    sa.Column('prices', sa.Text(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('version', name=op.f('pk_meter_price_books'))
    )
    op.create_table('meter_providers',
    sa.Column('pubkey', sa.String(length=44), nullable=False),
    sa.Column('name', sa.String(length=128), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('pubkey', name=op.f('pk_meter_providers'))
    )
    op.create_table('meter_request_signatures',
    sa.Column('signature', sa.String(length=90), nullable=False),
    sa.Column('pubkey', sa.String(length=44), nullable=False),
    sa.Column('seen_ms', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('signature', name=op.f('pk_meter_request_signatures'))
    )
    with op.batch_alter_table('meter_request_signatures', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_meter_request_signatures_seen_ms'), ['seen_ms'], unique=False)

    op.create_table('meter_seals',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('window_start_ms', sa.BigInteger(), nullable=False),
    sa.Column('window_end_ms', sa.BigInteger(), nullable=False),
    sa.Column('sealed_ms', sa.BigInteger(), nullable=False),
    sa.Column('events', sa.Integer(), nullable=False),
    sa.Column('late_events', sa.Integer(), nullable=False),
    sa.Column('receipts', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_seals'))
    )
    op.create_table('meter_state',
    sa.Column('id', sa.Integer(), autoincrement=False, nullable=False),
    sa.Column('sealed_through_ms', sa.BigInteger(), nullable=True),
    sa.Column('last_seal_id', sa.BigInteger(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_state'))
    )
    op.create_table('usage_events',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('dedup_key', sa.LargeBinary(length=16), nullable=False),
    sa.Column('key_hash', sa.BigInteger(), nullable=False),
    sa.Column('source', sa.String(length=256), nullable=False),
    sa.Column('event_id', sa.String(length=128), nullable=False),
    sa.Column('kind', sa.SmallInteger(), nullable=False),
    sa.Column('customer', sa.String(length=44), nullable=False),
    sa.Column('provider', sa.String(length=44), nullable=False),
    sa.Column('resource', sa.String(length=128), nullable=False),
    sa.Column('rclass', sa.String(length=32), nullable=False),
    sa.Column('value', sa.BigInteger(), nullable=False),
    sa.Column('t_ms', sa.BigInteger(), nullable=False),
    sa.Column('received_ms', sa.BigInteger(), nullable=False),
    sa.Column('payload_hash', sa.LargeBinary(length=32), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('seal_id', sa.BigInteger(), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_usage_events')),
    sa.UniqueConstraint('dedup_key', name='uq_usage_events_dedup_key')
    )
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.create_index('ix_usage_events_customer', ['customer', 't_ms'], unique=False)
        batch_op.create_index('ix_usage_events_key', ['key_hash', 't_ms'], unique=False)
        batch_op.create_index('ix_usage_events_unsealed', ['t_ms'], unique=False, sqlite_where=sa.text('seal_id IS NULL'), postgresql_where=sa.text('seal_id IS NULL'))

    op.create_table('meter_receipts',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('customer', sa.String(length=44), nullable=False),
    sa.Column('provider', sa.String(length=44), nullable=False),
    sa.Column('seq', sa.BigInteger(), nullable=False),
    sa.Column('receipt_id', sa.LargeBinary(length=32), nullable=False),
    sa.Column('encoding', sa.LargeBinary(length=248), nullable=False),
    sa.Column('signature', sa.LargeBinary(length=64), nullable=False),
    sa.Column('meter_pubkey', sa.String(length=44), nullable=False),
    sa.Column('config_version', sa.BigInteger(), nullable=False),
    sa.Column('period_start', sa.BigInteger(), nullable=False),
    sa.Column('period_end', sa.BigInteger(), nullable=False),
    sa.Column('cum_amount', sa.String(length=40), nullable=False),
    sa.Column('new_amount', sa.String(length=40), nullable=False),
    sa.Column('detail', sa.Text(), nullable=False),
    sa.Column('seal_id', sa.BigInteger(), nullable=False),
    sa.Column('created_ms', sa.BigInteger(), nullable=False),
    sa.Column('batch_id', sa.BigInteger(), nullable=True),
    sa.Column('batch_index', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['batch_id'], ['meter_batches.id'], name=op.f('fk_meter_receipts_batch_id_meter_batches')),
    sa.ForeignKeyConstraint(['seal_id'], ['meter_seals.id'], name=op.f('fk_meter_receipts_seal_id_meter_seals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_meter_receipts')),
    sa.UniqueConstraint('customer', 'provider', 'seq', name='uq_meter_receipts_channel_seq'),
    sa.UniqueConstraint('receipt_id', name=op.f('uq_meter_receipts_receipt_id'))
    )
    with op.batch_alter_table('meter_receipts', schema=None) as batch_op:
        batch_op.create_index('ix_meter_receipts_batch', ['batch_id', 'batch_index'], unique=False)




def downgrade() -> None:

    with op.batch_alter_table('meter_receipts', schema=None) as batch_op:
        batch_op.drop_index('ix_meter_receipts_batch')

    op.drop_table('meter_receipts')
    with op.batch_alter_table('usage_events', schema=None) as batch_op:
        batch_op.drop_index('ix_usage_events_unsealed', sqlite_where=sa.text('seal_id IS NULL'), postgresql_where=sa.text('seal_id IS NULL'))
        batch_op.drop_index('ix_usage_events_key')
        batch_op.drop_index('ix_usage_events_customer')

    op.drop_table('usage_events')
    op.drop_table('meter_state')
    op.drop_table('meter_seals')
    with op.batch_alter_table('meter_request_signatures', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meter_request_signatures_seen_ms'))

    op.drop_table('meter_request_signatures')
    op.drop_table('meter_providers')
    op.drop_table('meter_price_books')
    with op.batch_alter_table('meter_key_usage', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meter_key_usage_key_hash'))

    op.drop_table('meter_key_usage')
    with op.batch_alter_table('meter_key_state', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_meter_key_state_key_hash'))

    op.drop_table('meter_key_state')
    op.drop_table('meter_customers')
    op.drop_table('meter_batches')

