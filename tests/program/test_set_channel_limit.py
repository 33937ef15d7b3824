def test_customer_sets_limit_creating_channel(d, chan):
    c, p = chan
    r = d.h.send([d.program.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=5)], [c.kp])
    assert r.ok, r.logs
    kind, ch = d.h.account(d.program.channel_address(c.pubkey, p.pubkey))
    assert kind == "Channel" and ch.limit_per_epoch == 5 and ch.customer == c.pubkey and ch.provider == p.pubkey
    assert r.event("ChannelLimitSet").limit_per_epoch == 5
    r = d.h.send([d.program.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=2**64 - 1)],
                 [c.kp])
    assert r.ok and d.h.account(d.program.channel_address(c.pubkey, p.pubkey))[1].limit_per_epoch == 2**64 - 1


def test_provider_cannot_set_customer_limit(d, chan):
    c, p = chan
    ix = d.program.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=0)
    from solders.instruction import AccountMeta, Instruction
    metas = list(ix.accounts)
    metas[0] = AccountMeta(p.pubkey, True, True)
    r = d.h.send([Instruction(ix.program_id, ix.data, metas)], [p.kp])
    assert not r.ok and r.error.name == "Unauthorized"
