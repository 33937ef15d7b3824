"""The customer escrow check (pure): recorded totals against the events, the balance against the flows."""
from __future__ import annotations

from solders.pubkey import Pubkey

from auditor.customers import check_customer
from auditor.views import CustomerView

C = CustomerView(Pubkey.new_unique(), Pubkey.new_unique(), total_deposited=1_000, total_settled=300)


def failed(checks) -> set[str]:
    return {c.name for c in checks if c.failed}


def test_escrow_adds_up():
    assert failed(check_customer(C, 1_000, 200, 300, 500)) == set()


def test_each_disagreement_is_named():
    assert failed(check_customer(C, 999, 200, 300, 499)) == {"customer.deposits"}
    assert failed(check_customer(C, 1_000, 200, 301, 499)) == {"customer.settled"}
    assert failed(check_customer(C, 1_000, 200, 300, 499)) == {"customer.escrow"}  # a token missing
    extra = check_customer(C, 1_000, 200, 300, 510)  # tokens sent to the escrow directly: not a loss
    assert failed(extra) == set() and "10 more" in extra[-1].detail
