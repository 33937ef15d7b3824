"""Signed receipts become obligations: each receipt's increase of its channel's cumulative amount is
posted as receivable (customer) against payable (provider), keyed by the receipt id, so it is posted once
however often this runs."""
from __future__ import annotations

from sqlalchemy.orm import sessionmaker

from ledger.accounting import rules
from ledger.accounting.store import post_in
from metering.settlement import SettlementPort, SqlSettlement

from .cursors import get_cursor, set_cursor

CURSOR = "meter_receipts"
_SQL = SqlSettlement()


def accrue_receipts(session_factory: sessionmaker, *, batch: int = 500, meter: SettlementPort = _SQL) -> int:
    """Post every receipt issued since the last run (read through metering's settlement port, in the
    transaction that posts them and moves the cursor); returns how many postings were created."""
    created = 0
    while True:
        with session_factory.begin() as s:
            after = int(get_cursor(s, CURSOR, "0"))
            rows = meter.receipts_since(s, after, batch)
            if not rows:
                return created
            for r in rows:
                if r.new_amount > 0:
                    p = rules.receipt_accrued(f"receipt:{r.receipt_id.hex()}", r.customer, r.provider,
                                              r.new_amount, meta={"seq": r.seq, "cum_amount": r.cum_amount})
                    created += post_in(s, p).created
            set_cursor(s, CURSOR, str(rows[-1].cursor))
