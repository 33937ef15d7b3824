from contracts.testing import post_batch, receipt_chain


def test_meter_posts_batch(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100, 200, 300])
    idx, tree, r = post_batch(d, rs)
    assert r.ok, r.logs
    kind, b = d.h.account(d.program.batch_address(idx))
    assert kind == "Batch" and bytes(b.root) == tree.root and b.count == 3 and b.total == 600
    assert b.meter == d.meter.pubkey() and b.config_version == 1 and b.index == 0
    assert d.h.config().batch_count == 1
    ev = r.event("BatchPosted")
    assert ev.index == 0 and bytes(ev.root) == tree.root
    idx2, _, r2 = post_batch(d, rs[:1])
    assert r2.ok and idx2 == 1 and d.h.config().batch_count == 2


def test_non_meter_fails(d, chan):
    c, p = chan
    intruder = d.h.new_wallet()
    idx, _, r = post_batch(d, receipt_chain(d, c.pubkey, p.pubkey, [1]), meter=intruder)
    assert not r.ok and r.error.name == "NotAMeter"
    assert not d.h.exists(d.program.batch_address(0))


def test_empty_batch_fails(d):
    r = d.h.send([d.program.post_batch(meter=d.meter.pubkey(), index=0, root=bytes(32), count=0, total=0)], [d.meter])
    assert not r.ok and r.error.name == "EmptyBatch"


def test_substituted_batch_pda_fails(d):
    # a batch address for index 5 while batch_count is 0
    r = d.h.send([d.program.post_batch(meter=d.meter.pubkey(), index=5, root=bytes(32), count=1, total=0)], [d.meter])
    assert not r.ok and r.error.name == "WrongPda"


def test_removed_meter_cannot_post(d):
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), remove_meter=d.meter.pubkey())], [d.admin]).ok
    r = d.h.send([d.program.post_batch(meter=d.meter.pubkey(), index=0, root=bytes(32), count=1, total=0)], [d.meter])
    assert not r.ok and r.error.name == "NotAMeter"
