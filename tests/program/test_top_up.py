"""top_up: permissionless crank pulling through an SPL delegate allowance."""


def _setup(d, threshold=5_000_000, amount=2_000_000, allowance=3_000_000):
    c = d.customer(deposit=1_000_000, wallet_tokens=10_000_000)
    r = d.h.send([d.program.configure_auto_top_up(wallet=c.pubkey, source=c.token_account, threshold=threshold,
                                                  amount=amount)], [c.kp])
    assert r.ok, r.logs
    assert d.h.approve(c.token_account, d.program.config_address(), c.kp, allowance).ok
    return c


def _top(d, c, crank):
    return d.h.send([d.program.top_up(customer_wallet=c.pubkey, source=c.token_account, mint=d.mint)], [crank])


def test_crank_tops_up_below_threshold_never_above_allowance(d):
    c = _setup(d)
    crank = d.h.new_wallet()
    r = _top(d, c, crank)
    assert r.ok, r.logs
    assert r.event("ToppedUp").amount == 2_000_000
    assert d.h.token_balance(d.program.escrow_address(c.pubkey)) == 3_000_000
    # second pull is capped by the remaining allowance (1,000,000)
    r = _top(d, c, crank)
    assert r.ok and r.event("ToppedUp").amount == 1_000_000
    # allowance exhausted
    r = _top(d, c, crank)
    assert not r.ok and r.error.name == "NoAllowance"


def test_no_top_up_at_or_above_threshold(d):
    c = _setup(d, threshold=1_000_000)
    r = _top(d, c, d.h.new_wallet())
    assert not r.ok and r.error.name == "TopUpNotNeeded"


def test_not_configured_and_other_source(d):
    c = d.customer(deposit=0, wallet_tokens=100)
    r = _top(d, c, d.h.new_wallet())
    assert not r.ok and r.error.name == "TopUpNotConfigured"
    c2 = _setup(d)
    other = d.customer(wallet_tokens=1_000)
    r = d.h.send([d.program.top_up(customer_wallet=c2.pubkey, source=other.token_account, mint=d.mint)], [d.h.payer])
    assert not r.ok and r.error.name == "WrongTokenAccount"


def test_crank_pulls_only_from_the_configured_source_not_an_older_approved_one(d):
    # Given a customer that moved its top-up source from account A to account B, and whose allowance on A
    # to the Config PDA was never revoked (both accounts are the customer's own, of the mint)
    c = _setup(d)  # source A = c.token_account, approved
    b = d.fund(c.kp, 1_000_000)
    assert d.h.send([d.program.configure_auto_top_up(wallet=c.pubkey, source=b, threshold=5_000_000,
                                                     amount=2_000_000)], [c.kp]).ok
    watched = [c.token_account, b, d.program.escrow_address(c.pubkey)]
    before = d.h.snapshot(watched)
    # When the crank names A / Then it is refused: only the configured source may be pulled from
    r = d.h.send([d.program.top_up(customer_wallet=c.pubkey, source=c.token_account, mint=d.mint)], [d.h.payer])
    assert not r.ok and r.error.name == "WrongTokenAccount"
    assert d.h.snapshot(watched) == before
