"""apply_pauses sets the meter's paused flag (metering.settlement's port) in a transaction of its own on the
engine, outside the job lease's fencing, as the meter's registry always did: a run whose lease was lost
meanwhile still records the flag (it only protects the meter: new work of the customer is refused)."""
from __future__ import annotations

from ledger.accounting import rules
from ledger.accounting.store import post_in
from ledger.engine.lease import Leases, running
from ledger.engine.pause import apply_pauses
from metering.settlement import SqlSettlement

CUSTOMER, PROVIDER = "11111111111111111111111111111112", "SysvarRent111111111111111111111111111111111"


def test_a_pause_commits_even_when_the_jobs_lease_was_lost(session_factory):
    with session_factory.begin() as s:  # 5 owed, nothing in escrow: the customer must be paused
        post_in(s, rules.receipt_accrued("receipt:01", CUSTOMER, PROVIDER, 5))
    leases = Leases(session_factory, "replica", ttl_ms=5_000)
    lost = leases.try_acquire("apply_pauses", now_ms=10_000)
    assert lost is not None and leases.try_acquire("apply_pauses", now_ms=15_001) is not None
    with running(lost):
        assert apply_pauses(session_factory, 20_000) == {CUSTOMER: True}
    with session_factory() as s:
        assert SqlSettlement().paused(s, CUSTOMER)
