"""meter_channel_bounds: per channel, the sums that bound its cumulative receipt fields

Revision ID: 0410_meter_channel_bounds
Revises: 0300_sealed_key_index
Create Date: 2026-12-02 02:40:00

Ingestion refuses an event that could take a channel's cum_gpu_ms, cum_byte_seconds, cum_egress_bytes or
cum_amount past the receipt encoding (metering.headroom). The sums start from the events already stored.
"""
from alembic import op
import sqlalchemy as sa


revision = '0410_meter_channel_bounds'
down_revision = '0400_meter_leases'
branch_labels = None
depends_on = None

# metering.rollup.usage.FAMILY: a GPU stop (kind 2) belongs to the GPU family (1) and bills nothing itself
_FAMILY_OF_KIND = {1: 1, 3: 3, 4: 4}


def upgrade() -> None:
    table = op.create_table('meter_channel_bounds',
    sa.Column('customer', sa.String(length=44), nullable=False),
    sa.Column('provider', sa.String(length=44), nullable=False),
    sa.Column('family', sa.SmallInteger(), nullable=False),
    sa.Column('rclass', sa.String(length=32), nullable=False),
    sa.Column('total', sa.String(length=40), nullable=False),
    sa.PrimaryKeyConstraint('customer', 'provider', 'family', 'rclass', name=op.f('pk_meter_channel_bounds'))
    )
    # the totals exceed 64 bits: add them up exactly here, not in SQL
    sums: dict[tuple[str, str, int, str], int] = {}
    rows = op.get_bind().execute(sa.text("SELECT customer, provider, kind, rclass, value FROM usage_events "
                                         "WHERE kind <> 2 AND value > 0"))
    for customer, provider, kind, rclass, value in rows:
        k = (customer, provider, _FAMILY_OF_KIND[int(kind)], rclass)
        sums[k] = sums.get(k, 0) + int(value)
    if sums:
        op.bulk_insert(table, [{"customer": c, "provider": p, "family": f, "rclass": r, "total": str(v)}
                               for (c, p, f, r), v in sums.items()])


def downgrade() -> None:
    op.drop_table('meter_channel_bounds')
