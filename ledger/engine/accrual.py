"""Signed receipts become obligations: each receipt's increase of its channel's cumulative amount is
posted as receivable (customer) against payable (provider), keyed by the receipt id, so it is posted once
however often this runs."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import sessionmaker

from ledger.accounting import rules
from ledger.accounting.store import post_in

from .cursors import get_cursor, set_cursor

CURSOR = "meter_receipts"


def accrue_receipts(session_factory: sessionmaker, *, batch: int = 500) -> int:
    """Post every receipt issued since the last run; returns how many postings were created."""
    from metering.models import ReceiptRow

    created = 0
    while True:
        with session_factory.begin() as s:
            after = int(get_cursor(s, CURSOR, "0"))
            rows = s.execute(select(ReceiptRow.id, ReceiptRow.receipt_id, ReceiptRow.customer, ReceiptRow.provider,
                                    ReceiptRow.seq, ReceiptRow.new_amount, ReceiptRow.cum_amount)
                             .where(ReceiptRow.id > after).order_by(ReceiptRow.id).limit(batch)).all()
            if not rows:
                return created
            for r in rows:
                if r.new_amount > 0:
                    p = rules.receipt_accrued(f"receipt:{bytes(r.receipt_id).hex()}", r.customer, r.provider,
                                              int(r.new_amount), meta={"seq": r.seq, "cum_amount": int(r.cum_amount)})
                    created += post_in(s, p).created
            set_cursor(s, CURSOR, str(rows[-1].id))
