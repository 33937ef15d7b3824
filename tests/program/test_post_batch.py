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
    ix = d.program.post_batch(meter=d.meter.pubkey(), index=0, root=bytes(32), count=0, total=0, config_version=d.h.config().version)
    r = d.h.send([ix], [d.meter])
    assert not r.ok and r.error.name == "EmptyBatch"


def test_substituted_batch_pda_fails(d):
    # a batch address for index 5 while batch_count is 0
    ix = d.program.post_batch(meter=d.meter.pubkey(), index=5, root=bytes(32), count=1, total=0, config_version=d.h.config().version)
    r = d.h.send([ix], [d.meter])
    assert not r.ok and r.error.name == "WrongPda"


def test_removed_meter_cannot_post(d):
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), remove_meter=d.meter.pubkey())], [d.admin]).ok
    ix = d.program.post_batch(meter=d.meter.pubkey(), index=0, root=bytes(32), count=1, total=0, config_version=d.h.config().version)
    r = d.h.send([ix], [d.meter])
    assert not r.ok and r.error.name == "NotAMeter"


def test_a_batch_built_for_a_replaced_config_version_is_refused_and_creates_nothing(d, chan):
    """The race the argument closes: the meter built the batch under version 1, update_config landed first."""
    from .conftest import unchanged

    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100, 200])  # receipts of version 1
    # Given the operator changed the fee after the meter built the batch (Config.version 1 -> 2)
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), fee_bps=300)], [d.admin]).ok
    assert d.h.config().version == 2
    watched = [d.program.config_address(), d.program.batch_address(0)]
    before = d.h.snapshot(watched)
    # When the meter posts it naming the version its receipts carry
    idx, _, r = post_batch(d, rs, config_version=1)
    # Then the program refuses it: no Batch account, batch_count and the Config untouched
    assert not r.ok and r.error.name == "StaleConfigVersion" and r.error.code == 6055, r.logs[-4:]
    assert not d.h.exists(d.program.batch_address(idx))
    unchanged(d, watched, before)
    # and a version the Config has not reached yet is refused the same way
    _, _, r = post_batch(d, rs, config_version=3)
    assert not r.ok and r.error.name == "StaleConfigVersion"
    unchanged(d, watched, before)
    # while the reissued batch of the current version lands stamped with it
    reissued = receipt_chain(d, c.pubkey, p.pubkey, [200], config_version=2)
    idx, _, r = post_batch(d, reissued, config_version=2)
    assert r.ok, r.logs
    kind, b = d.h.account(d.program.batch_address(idx))
    assert idx == 0 and b.config_version == 2 and r.event("BatchPosted").config_version == 2


def test_config_version_is_part_of_the_wire_format(d):
    """The argument is required: data that stops after batch_bump (the previous layout) does not deserialize."""
    from solders.instruction import Instruction

    ix = d.program.post_batch(meter=d.meter.pubkey(), index=0, root=bytes([7]) * 32, count=1, total=0,
                              config_version=d.h.config().version)
    short = Instruction(ix.program_id, ix.data[:-8], ix.accounts)
    r = d.h.send([short], [d.meter])
    assert not r.ok and r.error.name == "InvalidInstructionData"
    assert not d.h.exists(d.program.batch_address(0))
    assert d.h.send([ix], [d.meter]).ok
