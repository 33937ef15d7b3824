"""The meter follows the on-chain config version (MeterJobs' config_version_source, re-read every run).

Given receipts issued under version 1, when the version moves to 2, then every channel's newest receipt is
reissued under 2 (seq + 1, same cumulative figures, chained, empty period, no new usage), the old receipts
stay byte for byte, a batch holds receipts of one version only, and the carry-over happens once."""
import json

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature
from sqlalchemy import select

from contracts.receipt import Receipt
from meter_helpers import T0, ingest_direct
from metering.batches import batch_receipt_ids
from metering.ingest.service import Ingestor
from metering.models import Batch, ReceiptRow
from metering.service import MeterJobs

RR, BT = ReceiptRow.__table__, Batch.__table__
W = 60_000
BASE = T0 - 30 * W


class Version:
    """What the chain's Config.version would say; a test moves it like update_config does."""

    def __init__(self, v: int = 1):
        self.v = v
        self.fail = False

    def __call__(self) -> int:
        if self.fail:
            raise ConnectionError("rpc down")
        return self.v


def rows(engine):
    with engine.connect() as c:
        return c.execute(select(RR).order_by(RR.c.id)).all()


def batches(engine):
    with engine.connect() as c:
        return [(b.id, b.count, b.total, {r.config_version for r in c.execute(
            select(RR.c.config_version).where(RR.c.batch_id == b.id))}) for b in c.execute(select(BT).order_by(BT.c.id))]


@pytest.fixture
def world(engine, cfg, meter_kp, provider_kp, ev, clock):
    other = str(Keypair.from_seed(bytes([3]) * 32).pubkey())
    ing = Ingestor(engine, cfg)
    evs = [ev.hb("L1", BASE + t, 2) for t in range(0, 3 * W, 30_000)]
    evs += [ev.hb("L2", BASE + t, 1, subject=other) for t in range(0, 2 * W, 30_000)]
    assert ingest_direct(ing, str(provider_kp.pubkey()), evs, T0).accepted == len(evs)
    version = Version(1)
    clock.t = BASE + 3 * W + cfg.grace_ms
    jobs = MeterJobs(engine, cfg, meter_kp, clock, config_version_source=version)
    return jobs, version, ing, other


def test_receipts_follow_the_version_and_are_carried_over_once(engine, cfg, meter_kp, provider_kp, ev, clock, world):
    jobs, version, ing, other = world
    # Given receipts of two channels issued (not yet batched: sealed between two batch intervals) under version 1
    first = jobs.sealer.seal_due(clock(), version())
    assert first.receipts >= 2 and batches(engine) == []
    before = {r.receipt_id: bytes(r.encoding) for r in rows(engine)}
    newest_v1 = {}
    for r in rows(engine):
        newest_v1[(r.customer, r.provider)] = r
    assert {r.config_version for r in rows(engine)} == {1}

    # When update_config bumps the version and the meter runs again
    version.v = 2
    rep = jobs.run_once(force_batch=True)

    # Then each channel's newest receipt is reissued under 2: same cumulative figures, chained, no new usage
    assert rep.config_version == 2 and rep.carried_over == 2
    after = rows(engine)
    assert {r.receipt_id: bytes(r.encoding) for r in after if r.receipt_id in before} == before  # nothing rewritten
    reissued = [r for r in after if r.config_version == 2]
    assert len(reissued) == 2
    for row in reissued:
        prev = newest_v1[(row.customer, row.provider)]
        old, new = Receipt.decode(bytes(prev.encoding)), Receipt.decode(bytes(row.encoding))
        assert new.config_version == 2 and new.seq == old.seq + 1
        assert new.prev_receipt_id == bytes(prev.receipt_id)
        assert (new.cum_gpu_ms, new.cum_byte_seconds, new.cum_egress_bytes, new.cum_amount) == (
            old.cum_gpu_ms, old.cum_byte_seconds, old.cum_egress_bytes, old.cum_amount)
        assert new.period_start == new.period_end == old.period_end
        assert row.new_amount == 0 and row.cum_amount == prev.cum_amount
        assert Signature.from_bytes(bytes(row.signature)).verify(meter_kp.pubkey(), bytes(row.receipt_id))
        d = json.loads(row.detail)
        assert d["note"] == "reissued for config version 2" and d["gaps"] == [] and d["config_version"] == 2
        assert all(ln["quantity"] == 0 and ln["adjustment"] == 0 for ln in d["lines"])
        assert sum(ln["amount"] for ln in d["lines"]) == new.cum_amount
        assert Pubkey.from_string(row.customer) == new.customer

    # and only receipts of the version in force are batched: the superseded version-1 ones stay unbatched
    bs = batches(engine)
    assert [v for _, _, _, v in bs] == [{2}]
    assert bs[0][2] == 0  # reissued receipts bill nothing new
    with engine.connect() as c:
        assert [bytes(x) for x in batch_receipt_ids(c, bs[0][0])] == [bytes(r.receipt_id) for r in reissued]
    assert all(r.batch_id is None for r in rows(engine) if r.config_version == 1)

    # When the meter runs again, or restarts, nothing more is reissued (idempotent)
    assert jobs.run_once().carried_over == 0
    assert MeterJobs(engine, cfg, meter_kp, clock, config_version_source=version).run_once().carried_over == 0
    assert len(rows(engine)) == len(after)

    # New usage after the change is billed under version 2, continuing the reissued receipt's chain
    ingest_direct(ing, str(provider_kp.pubkey()), [ev.hb("L1", BASE + t, 2) for t in range(3 * W, 4 * W, 30_000)],
                  clock())
    clock.t += W
    assert jobs.run_once().seal.receipts == 1
    last = rows(engine)[-1]
    assert last.config_version == 2 and last.new_amount > 0
    assert Receipt.decode(bytes(last.encoding)).prev_receipt_id == bytes(
        next(r for r in reissued if r.customer == last.customer).receipt_id)


def test_a_batch_built_before_the_change_keeps_its_version_and_channels_still_carry_over(
        engine, cfg, meter_kp, clock, world):
    jobs, version, _ing, _other = world
    # Given receipts already batched under version 1
    jobs.run_once(force_batch=True)
    assert [v for *_, v in batches(engine)] == [{1}]
    # When the version moves on, then their channels are carried over into a version-2 batch
    version.v = 3
    rep = jobs.run_once(force_batch=True)
    assert rep.carried_over == 2
    assert [v for *_, v in batches(engine)] == [{1}, {3}]


def test_no_receipt_is_issued_when_the_version_cannot_be_read(engine, cfg, meter_kp, clock, world):
    jobs, version, _ing, _other = world
    # Given the chain cannot be asked, when the meter runs, then it fails and writes nothing (retried later)
    version.fail = True
    with pytest.raises(ConnectionError):
        jobs.run_once(force_batch=True)
    assert rows(engine) == [] and batches(engine) == []
    version.fail = False
    assert jobs.run_once().seal.receipts >= 2


def test_a_source_answering_nonsense_is_refused(engine, cfg, meter_kp, clock):
    jobs = MeterJobs(engine, cfg, meter_kp, clock, config_version_source=lambda: -1)
    with pytest.raises(ValueError, match="config version source"):
        jobs.run_once()


def test_without_a_source_the_configured_version_is_used(engine, cfg, meter_kp, clock, world):
    _jobs, _v, _ing, _other = world
    from dataclasses import replace

    jobs = MeterJobs(engine, replace(cfg, config_version=5), meter_kp, clock)
    rep = jobs.run_once()
    assert rep.config_version == 5 and {r.config_version for r in rows(engine)} == {5}
