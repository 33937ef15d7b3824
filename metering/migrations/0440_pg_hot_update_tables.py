"""PostgreSQL: room on every page for in-place (HOT) updates of the rows ingestion rewrites per request

Revision ID: 0440_pg_hot_update_tables
Revises: 0430_usage_evidence
Create Date: 2026-12-03 13:30:00

Every ingest request updates the state row of each lease it names (meter_leases: last_event_ms,
egress_bytes) and the bounds row of each channel (meter_channel_bounds: total), i.e. hundreds of row
versions per request, millions over a long run. Neither column is indexed, so PostgreSQL can write the new
version on the same page without touching the indexes (a HOT update) and prune the old one without
VACUUM, but only where the page has room: at the default fillfactor (100) the pages are full, each update
goes to another page and adds an entry to every index of the table (meter_leases has four), and the dead
versions wait for autovacuum. fillfactor 50 leaves half of each page for them; autovacuum is told to visit
these small, hot tables after a fixed number of dead rows rather than a fraction of the table. Storage
parameters only: no rows change, and SQLite (one writer, no MVCC versions) is left as it is. Pages written
before this migration keep their fill until VACUUM FULL or CLUSTER rewrites them.
"""
from alembic import op


revision = '0440_pg_hot_update_tables'
down_revision = '0430_usage_evidence'
branch_labels = None
depends_on = None

TABLES = ('meter_leases', 'meter_channel_bounds')
SETTINGS = 'fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 5000'


def upgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for t in TABLES:
        op.execute(f'ALTER TABLE {t} SET ({SETTINGS})')


def downgrade() -> None:
    if op.get_bind().dialect.name != 'postgresql':
        return
    for t in TABLES:
        op.execute(f'ALTER TABLE {t} RESET (fillfactor, autovacuum_vacuum_scale_factor, autovacuum_vacuum_threshold)')
