"""fund_epoch: emission for an open epoch into the rewards vault."""


def test_fund_closed_epoch_fails(d):
    # Given epoch 0 has closed / When someone funds it / Then refused; future epochs may be funded
    d.h.set_time(d.h.now() + d.params["epoch_length"])
    funder = d.h.new_wallet()
    ta = d.fund(funder, 10)
    r = d.h.send([d.program.fund_epoch(funder=funder.pubkey(), epoch=0, source=ta, mint=d.mint, amount=5)], [funder])
    assert not r.ok and r.error.name == "EpochClosed"
    r = d.h.send([d.program.fund_epoch(funder=funder.pubkey(), epoch=3, source=ta, mint=d.mint, amount=5)], [funder])
    assert r.ok
def test_fund_creates_epoch_and_fills_rewards_vault(d):
    # Given a funder with tokens
    funder = d.h.new_wallet()
    ta = d.fund(funder, 900)
    # When it funds epoch 0 twice
    for _ in range(2):
        r = d.h.send([d.program.fund_epoch(funder=funder.pubkey(), epoch=0, source=ta, mint=d.mint, amount=450)], [funder])
        assert r.ok, r.logs
    # Then the epoch's pool and the rewards vault hold 900
    _, ep = d.h.account(d.program.epoch_address(0))
    assert ep.reward_pool == 900 and ep.number == 0
    assert d.h.token_balance(d.program.rewards_address()) == 900
    assert r.event("EpochFunded").reward_pool == 900


def test_fund_from_someone_elses_account_fails(d):
    victim = d.customer(wallet_tokens=1_000)
    thief = d.h.new_wallet()
    r = d.h.send([d.program.fund_epoch(funder=thief.pubkey(), epoch=0, source=victim.token_account, mint=d.mint,
                                       amount=10)], [thief])
    assert not r.ok and r.error.name == "WrongTokenAccount"
