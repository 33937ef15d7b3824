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


def test_the_text_report_names_its_unit_and_shows_amount_facts_in_tokens():
    from auditor.result import Report, passed

    rep = Report("customer", "W").add(passed("customer.escrow", "the escrow holds 1500001 = ..."))
    rep.facts.update(escrow="E", escrow_balance=1_500_001, total_deposited=2_000_000, withdrawn=0)
    text = rep.render(6).splitlines()
    assert text[1] == "  amounts in token base units (6 decimals: 1 token = 1,000,000 units)"
    assert "  escrow: E" in text and "  escrow_balance: 1500001 (1.500001 tokens)" in text
    assert "  withdrawn: 0 (0.000000 tokens)" in text
    plain = rep.render().splitlines()  # without the mint's decimals: base units only, no claim about tokens
    assert "  escrow_balance: 1500001" in plain and not any("tokens" in ln for ln in plain)
    # a report without amounts says nothing about units
    assert "base units" not in Report("program", "P").add(passed("program.bytes", "same")).render(6)
