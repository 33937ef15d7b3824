"""withdraw: only after the withdrawal delay, at most what is left, to the customer's own account."""
from contracts.testing import post_batch, receipt_chain, settle, with_account

from .conftest import unchanged


def _req(d, c, amount):
    return d.h.send([d.program.request_withdrawal(wallet=c.pubkey, amount=amount)], [c.kp])


def _wd(d, c):
    return d.h.send([d.program.withdraw(wallet=c.pubkey, destination=c.token_account, mint=d.mint)], [c.kp])


def test_withdraw_after_delay(d, chan):
    c, _ = chan
    r = _req(d, c, 4_000_000)
    assert r.ok and r.event("WithdrawalRequested").available_at == d.h.now() + d.params["withdrawal_delay"]
    d.h.set_time(d.h.now() + d.params["withdrawal_delay"])
    r = _wd(d, c)
    assert r.ok, r.logs
    assert d.h.token_balance(c.token_account) == 4_000_000
    assert r.event("Withdrawn").escrow_balance == 6_000_000
    _, cust = d.h.account(d.program.customer_address(c.pubkey))
    assert cust.withdrawal_amount == 0


def test_withdraw_before_delay_fails(d, chan):
    c, _ = chan
    assert _req(d, c, 1).ok
    d.h.set_time(d.h.now() + d.params["withdrawal_delay"] - 1)
    addrs = [d.program.escrow_address(c.pubkey), c.token_account, d.program.customer_address(c.pubkey)]
    before = d.h.snapshot(addrs)
    r = _wd(d, c)
    assert not r.ok and r.error.name == "WithdrawalDelayNotElapsed"
    unchanged(d, addrs, before)


def test_withdraw_without_request_fails(d, chan):
    c, _ = chan
    r = _wd(d, c)
    assert not r.ok and r.error.name == "WithdrawalNotRequested"


def test_receipts_issued_before_request_stay_payable(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [3_000_000])
    idx, tree, _ = post_batch(d, rs)
    assert _req(d, c, 10_000_000).ok
    # within the settlement window (shorter than the withdrawal delay) the receipt settles
    d.h.set_time(d.h.now() + d.params["settlement_window"])
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    d.h.set_time(d.h.now() + d.params["withdrawal_delay"])
    r = _wd(d, c)
    assert r.ok and r.event("Withdrawn").amount == 7_000_000  # what is left, not what was asked


def test_other_wallet_cannot_withdraw(d, chan):
    c, _ = chan
    assert _req(d, c, 1_000).ok
    d.h.set_time(d.h.now() + d.params["withdrawal_delay"])
    thief = d.h.new_wallet()
    ta = d.fund(thief, 0)
    ix = d.program.withdraw(wallet=c.pubkey, destination=ta, mint=d.mint)
    r = d.h.send([with_account(ix, 0, thief.pubkey(), True, False)], [thief])
    assert not r.ok and r.error.name == "Unauthorized"
    # and the customer cannot withdraw into someone else's token account
    r = d.h.send([d.program.withdraw(wallet=c.pubkey, destination=ta, mint=d.mint)], [c.kp])
    assert not r.ok and r.error.name == "WrongTokenAccount"


# ---- issue 11 (medium): a withdrawal request expires one delay after it matures --------------------

def test_armed_withdrawal_request_expires(d, chan):
    # Given a customer that armed a withdrawal of everything at deposit time
    c, p = chan
    delay = d.params["withdrawal_delay"]
    r = _req(d, c, 2**64 - 1)
    assert r.ok
    ev = r.event("WithdrawalRequested")
    assert (ev.available_at, ev.expires_at) == (ev.requested_at + delay, ev.requested_at + 2 * delay)
    # and uses the service; receipts are issued and not yet settled
    rs = receipt_chain(d, c.pubkey, p.pubkey, [3_000_000])
    idx, tree, _ = post_batch(d, rs)
    # When, much later, it tries to leave with everything before they settle
    d.h.set_time(ev.requested_at + 2 * delay + 1)
    addrs = [d.program.escrow_address(c.pubkey), c.token_account, d.program.customer_address(c.pubkey)]
    before = d.h.snapshot(addrs)
    r = _wd(d, c)
    # Then the request has expired: nothing moves, and the issued receipt stays payable
    assert not r.ok and r.error.name == "WithdrawalRequestExpired", r.logs[-3:]
    unchanged(d, addrs, before)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    # and leaving needs a fresh request, announced a full delay ahead
    assert _req(d, c, 2**64 - 1).ok
    assert _wd(d, c).error.name == "WithdrawalDelayNotElapsed"
    d.h.set_time(d.h.now() + delay)
    r = _wd(d, c)
    assert r.ok and r.event("Withdrawn").amount == 7_000_000


def test_withdrawal_request_is_usable_until_exactly_two_delays(d):
    a, b = d.customer(deposit=1_000), d.customer(deposit=1_000)
    delay = d.params["withdrawal_delay"]
    t0 = d.h.now()
    assert _req(d, a, 1_000).ok and _req(d, b, 1_000).ok
    d.h.set_time(t0 + 2 * delay)
    assert _wd(d, a).ok
    d.h.set_time(t0 + 2 * delay + 1)
    assert _wd(d, b).error.name == "WithdrawalRequestExpired"
