"""close_batch: the meter that posted (and paid for) a batch gets its rent back once the batch's
retention period (batch_retention >= withdrawal_delay > settlement_window) has passed; nobody else can
close it and nobody can close it earlier. A closed batch settles nothing, and its index is never posted
again. (Issue 11, rent: before, each batch kept 1.68M lamports forever.)"""
from contracts.testing import post_batch, receipt_chain, settle, with_account

from .conftest import unchanged


def _close(d, index, meter=None):
    meter = meter or d.meter
    return d.h.send([d.program.close_batch(meter=meter.pubkey(), index=index)], [meter])


def test_meter_gets_the_rent_back_after_the_retention(d, chan):
    # Given a settled batch
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    idx, tree, r = post_batch(d, rs)
    assert settle(d, idx, tree, 0, rs[0], p.token_account).ok
    addr = d.program.batch_address(idx)
    rent = d.h.raw(addr).lamports
    assert rent > 1_000_000
    # When the meter closes it one second before the retention ends / Then BatchRetained
    posted_at = d.h.account(addr)[1].posted_at
    d.h.set_time(posted_at + d.params["batch_retention"] - 1)
    before = d.h.snapshot([addr])
    r = _close(d, idx)
    assert not r.ok and r.error.name == "BatchRetained"
    unchanged(d, [addr], before)
    # When it closes it at the end of the retention / Then the rent goes back to the meter (it pays the fee)
    d.h.set_time(posted_at + d.params["batch_retention"])
    meter_before = d.h.raw(d.meter.pubkey()).lamports
    r = _close(d, idx)
    assert r.ok, r.logs[-3:]
    ev = r.event("BatchClosed")
    assert (ev.index, bytes(ev.root), ev.meter, ev.lamports) == (idx, tree.root, d.meter.pubkey(), rent)
    assert d.h.raw(d.meter.pubkey()).lamports == meter_before + rent - 5_000
    assert not d.h.exists(addr)
    # and the batch can neither be closed again nor settle
    assert not _close(d, idx).ok
    assert not settle(d, idx, tree, 0, rs[0], p.token_account).ok


def test_only_the_batch_meter_can_close_it(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    idx, tree, _ = post_batch(d, rs)
    second = d.h.new_wallet()
    assert d.h.send([d.program.update_config(admin=d.admin.pubkey(), add_meter=second.pubkey())], [d.admin]).ok
    d.h.set_time(d.h.now() + d.params["batch_retention"])
    addr = d.program.batch_address(idx)
    before = d.h.snapshot([addr])
    for who in (second, d.admin, d.h.new_wallet()):  # another registered meter, the admin, anyone
        r = _close(d, idx, meter=who)
        assert not r.ok and r.error.name == "Unauthorized", r.logs[-3:]
        unchanged(d, [addr], before)
    # the meter must sign (the rent is its own)
    ix = with_account(d.program.close_batch(meter=d.meter.pubkey(), index=idx), 0, d.meter.pubkey(), signer=False)
    r = d.h.send([ix], [d.h.payer])
    assert not r.ok and r.error.name == "MissingSignature"
    # a Channel (another program account) in the batch slot is not a Batch
    ix = with_account(d.program.close_batch(meter=d.meter.pubkey(), index=idx), 2,
                      d.program.channel_address(c.pubkey, p.pubkey))
    assert d.h.send([ix], [d.meter]).error.name == "WrongAccountType"
    assert _close(d, idx).ok


def test_a_closed_index_is_never_posted_again(d, chan):
    c, p = chan
    rs = receipt_chain(d, c.pubkey, p.pubkey, [100_000])
    idx, _, _ = post_batch(d, rs)
    d.h.set_time(d.h.now() + d.params["batch_retention"])
    assert _close(d, idx).ok
    # post_batch always takes config.batch_count: an attempt at the old index is refused
    ix = d.program.post_batch(meter=d.meter.pubkey(), index=idx, root=bytes(32), count=1, total=0,
                              config_version=d.h.config().version)
    r = d.h.send([ix], [d.meter])
    assert not r.ok and r.error.name == "WrongPda"
    nidx, _, r = post_batch(d, rs)
    assert r.ok and nidx == idx + 1
