"""configure_auto_top_up: the customer's own source account, threshold and amount."""


def test_configure_stores_settings_and_zero_disables(d):
    # Given a customer with a token account
    c = d.customer(wallet_tokens=5)
    # When it configures auto top-up
    r = d.h.send([d.program.configure_auto_top_up(wallet=c.pubkey, source=c.token_account, threshold=7, amount=3)], [c.kp])
    # Then the customer account holds the source, threshold and amount, and the event says so
    assert r.ok and r.event("AutoTopUpConfigured").source == c.token_account
    _, cust = d.h.account(d.program.customer_address(c.pubkey))
    assert (cust.top_up_source, cust.top_up_threshold, cust.top_up_amount) == (c.token_account, 7, 3)
    # and amount 0 turns it off
    assert d.h.send([d.program.configure_auto_top_up(wallet=c.pubkey, source=c.token_account, threshold=7, amount=0)], [c.kp]).ok
    _, cust = d.h.account(d.program.customer_address(c.pubkey))
    assert cust.top_up_amount == 0 and str(cust.top_up_source) == "11111111111111111111111111111111"


def test_configure_with_foreign_account_fails(d):
    c = d.customer()
    other = d.customer(wallet_tokens=5)
    r = d.h.send([d.program.configure_auto_top_up(wallet=c.pubkey, source=other.token_account, threshold=1, amount=1)],
                 [c.kp])
    assert not r.ok and r.error.name == "WrongTokenAccount"
