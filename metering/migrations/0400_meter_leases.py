"""meter_leases: customer-signed leases (issue 11: no billing without the customer's consent)

Revision ID: 0400_meter_leases
Revises: 0300_sealed_key_index
Create Date: 2026-12-02 02:40:00
"""
from alembic import op
import sqlalchemy as sa


revision = '0400_meter_leases'
down_revision = '0300_sealed_key_index'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'meter_leases',
        sa.Column('lease_id', sa.String(length=96), nullable=False),
        sa.Column('lease_hash', sa.LargeBinary(length=32), nullable=False),
        sa.Column('customer', sa.String(length=44), nullable=False),
        sa.Column('provider', sa.String(length=44), nullable=False),
        sa.Column('kind', sa.SmallInteger(), nullable=False),
        sa.Column('price_book_version', sa.BigInteger(), nullable=False),
        sa.Column('cap', sa.String(length=40), nullable=False),
        sa.Column('start_ms', sa.BigInteger(), nullable=False),
        sa.Column('expiry_ms', sa.BigInteger(), nullable=False),
        sa.Column('encoding', sa.LargeBinary(length=1024), nullable=False),
        sa.Column('signature', sa.LargeBinary(length=64), nullable=False),
        sa.Column('created_ms', sa.BigInteger(), nullable=False),
        sa.Column('revoked_at_ms', sa.BigInteger(), nullable=True),
        sa.Column('revocation', sa.LargeBinary(length=120), nullable=True),
        sa.Column('revocation_signature', sa.LargeBinary(length=64), nullable=True),
        sa.Column('last_event_ms', sa.BigInteger(), nullable=True),
        sa.Column('egress_bytes', sa.String(length=40), nullable=False),
        sa.PrimaryKeyConstraint('lease_id', name=op.f('pk_meter_leases')),
        sa.UniqueConstraint('lease_hash', name=op.f('uq_meter_leases_lease_hash')),
    )
    op.create_index(op.f('ix_meter_leases_customer'), 'meter_leases', ['customer'], unique=False)
    op.create_index(op.f('ix_meter_leases_provider'), 'meter_leases', ['provider'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_meter_leases_provider'), table_name='meter_leases')
    op.drop_index(op.f('ix_meter_leases_customer'), table_name='meter_leases')
    op.drop_table('meter_leases')
