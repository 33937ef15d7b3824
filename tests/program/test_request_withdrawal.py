"""request_withdrawal: records the amount and time; a new request restarts the delay."""
from contracts.testing import with_account


def test_request_records_amount_and_time(d, chan):
    # Given a customer with escrow
    c, _ = chan
    # When it requests a withdrawal
    r = d.h.send([d.program.request_withdrawal(wallet=c.pubkey, amount=123)], [c.kp])
    # Then the request is stored with the clock time and the event names when it becomes available
    assert r.ok
    _, cust = d.h.account(d.program.customer_address(c.pubkey))
    assert cust.withdrawal_amount == 123 and cust.withdrawal_requested_at == d.h.now()
    assert r.event("WithdrawalRequested").available_at == d.h.now() + d.params["withdrawal_delay"]
    # and a later request replaces it and restarts the delay
    d.h.set_time(d.h.now() + 100)
    assert d.h.send([d.program.request_withdrawal(wallet=c.pubkey, amount=5)], [c.kp]).ok
    _, cust = d.h.account(d.program.customer_address(c.pubkey))
    assert cust.withdrawal_amount == 5 and cust.withdrawal_requested_at == d.h.now()


def test_zero_and_foreign_signer_refused(d, chan):
    c, _ = chan
    r = d.h.send([d.program.request_withdrawal(wallet=c.pubkey, amount=0)], [c.kp])
    assert not r.ok and r.error.name == "ZeroAmount"
    other = d.h.new_wallet()
    ix = d.program.request_withdrawal(wallet=c.pubkey, amount=1)
    r = d.h.send([with_account(ix, 0, other.pubkey(), True, False)], [other])
    assert not r.ok and r.error.name == "Unauthorized"
