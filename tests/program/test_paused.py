"""While paused, every instruction fails with Paused except update_config that unpauses and
contest_slash (the contest window keeps running; see test_contest_slash)."""
import hashlib

from contracts.testing import post_batch, receipt_chain, settle


def test_paused_blocks_everything_except_unpause(d):
    c = d.customer(deposit=1_000_000, wallet_tokens=1_000)
    p = d.provider(stake=2_000_000, wallet_tokens=1_000)
    d.open_channel(c, p)
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100])
    idx, tree, _ = post_batch(d, rs)
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), paused=True)], [d.admin]).ok
    newbie = d.h.new_wallet()
    prog, m = d.program, d.mint
    attempts = {
        "update_config": ([prog.update_config(admin=d.admin.pubkey(), fee_bps=1)], [d.admin]),
        "register_customer": ([prog.register_customer(wallet=newbie.pubkey(), mint=m)], [newbie]),
        "register_provider": ([prog.register_provider(wallet=newbie.pubkey(), payout=d.fund(newbie, 0), mint=m)], [newbie]),
        "deposit": ([prog.deposit(wallet=c.pubkey, source=c.token_account, mint=m, amount=1)], [c.kp]),
        "request_withdrawal": ([prog.request_withdrawal(wallet=c.pubkey, amount=1)], [c.kp]),
        "withdraw": ([prog.withdraw(wallet=c.pubkey, destination=c.token_account, mint=m)], [c.kp]),
        "set_channel_limit": ([prog.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=1)], [c.kp]),
        "configure_auto_top_up": ([prog.configure_auto_top_up(wallet=c.pubkey, source=c.token_account, threshold=1, amount=1)], [c.kp]),
        "top_up": ([prog.top_up(customer_wallet=c.pubkey, source=c.token_account, mint=m)], [d.h.payer]),
        "stake": ([prog.stake(wallet=p.pubkey, source=p.token_account, mint=m, amount=1)], [p.kp]),
        "request_unstake": ([prog.request_unstake(wallet=p.pubkey, amount=1)], [p.kp]),
        "withdraw_stake": ([prog.withdraw_stake(wallet=p.pubkey, destination=p.token_account, mint=m)], [p.kp]),
        "post_batch": ([prog.post_batch(meter=d.meter.pubkey(), index=1, root=bytes(32), count=1, total=0,
                                        config_version=d.h.config().version)], [d.meter]),
        "settle": ([prog.settle(payer=d.h.payer.pubkey(), batch_index=idx, receipt=rs[0], proof=tree.proof(0),
                                payout=p.token_account, treasury=d.treasury, mint=m, epoch=0)], [d.h.payer]),
        "prepare_settle": ([prog.prepare_settle(payer=d.h.payer.pubkey(), customer_wallet=c.pubkey,
                                                provider_wallet=p.pubkey, epoch=0)], [d.h.payer]),
        "fund_epoch": ([prog.fund_epoch(funder=p.pubkey, epoch=0, source=p.token_account, mint=m, amount=1)], [p.kp]),
        "claim_rewards": ([prog.claim_rewards(wallet=p.pubkey, epoch=0, payout=p.token_account, mint=m)], [p.kp]),
        "propose_slash": ([prog.propose_slash(admin=d.admin.pubkey(), provider_wallet=p.pubkey, index=0, amount=1,
                                              evidence_hash=bytes(32), beneficiary=d.treasury)], [d.admin]),
        "resolve_slash": ([prog.resolve_slash(arbiter=d.arbiter.pubkey(), provider_wallet=p.pubkey, index=0, uphold=True)], [d.arbiter]),
        "execute_slash": ([prog.execute_slash(provider_wallet=p.pubkey, index=0, beneficiary=d.treasury, mint=m)], [d.h.payer]),
        "lapse_slash": ([prog.lapse_slash(provider_wallet=p.pubkey, index=0)], [d.h.payer]),
        "set_treasury": ([prog.set_treasury(admin=d.admin.pubkey(), treasury=d.fund(d.admin, 0))], [d.admin]),
        "set_payout": ([prog.set_payout(wallet=p.pubkey, payout=d.fund(p.kp, 0))], [p.kp]),
        "close_batch": ([prog.close_batch(meter=d.meter.pubkey(), index=idx)], [d.meter]),
        "publish_price_book": ([prog.publish_price_book(admin=d.admin.pubkey(), version=1,
                                                        sha256=hashlib.sha256(b"book").digest())], [d.admin]),
    }
    from contracts.client.gen.instructions import INSTRUCTIONS
    assert set(attempts) == set(INSTRUCTIONS) - {"initialize", "contest_slash"}
    for name, (ixs, signers) in attempts.items():
        r = d.h.send(ixs, signers)
        assert not r.ok and r.error is not None and r.error.name == "Paused", (name, r.error, r.logs[-3:])
    r = d.h.send([prog.update_config(admin=d.admin.pubkey(), paused=False)], [d.admin])
    assert r.ok and not d.h.config().paused
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
