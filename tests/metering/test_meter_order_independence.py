"""Any arrival order (and any split into batches) of the same events gives the same receipts."""
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair
from sqlalchemy import select

from datetime import datetime

from contracts.receipt import Receipt
from db import Base, load_models, make_engine
from meter_helpers import sign_leases_for, T0, EventFactory, ingest_direct
from metering.batches import build_batch
from metering.config import MeterConfig
from metering.ingest.service import Ingestor
from metering.models import ReceiptRow
from metering.events import EGRESS, GPU_HEARTBEAT, GPU_STOP, STORAGE_SAMPLE
from metering.receipts import Sealer
from metering.rollup import rollup_channels
from metering.registry import add_provider

W = 60_000
BASE = T0 - 20 * W
CFG = MeterConfig(window_ms=W, grace_ms=5_000, heartbeat_timeout_ms=45_000, sample_timeout_ms=90_000)
PROVIDER = Keypair.from_seed(bytes([1]) * 32)
METER = Keypair.from_seed(bytes([7]) * 32)
CUSTOMERS = [str(Keypair.from_seed(bytes([i]) * 32).pubkey()) for i in (2, 3)]


@st.composite
def event_sets(draw):
    evs = []
    for ci, cust in enumerate(CUSTOMERS):
        f = EventFactory(PROVIDER, cust)
        for lease in range(draw(st.integers(0, 2))):
            gpu_class = draw(st.sampled_from(["H100", "A100"]))  # a lease rents one GPU class
            times = sorted(draw(st.sets(st.integers(0, 5 * W), min_size=1, max_size=8)))
            for t in times:
                evs.append(f.hb(f"L{ci}{lease}", BASE + t, draw(st.integers(1, 8)), gpu_class))
            if draw(st.booleans()):
                evs.append(f.stop(f"L{ci}{lease}", BASE + draw(st.integers(0, 5 * W))))
        for t in sorted(draw(st.sets(st.integers(0, 5 * W), max_size=6))):
            evs.append(f.sample(f"b{ci}", BASE + t, draw(st.integers(0, 1 << 40))))
        for t in sorted(draw(st.sets(st.integers(0, 5 * W), min_size=1, max_size=3))):  # always some usage
            evs.append(f.egress(f"e{ci}", BASE + t, draw(st.integers(1, 1 << 30))))
    return evs


def run(events: list, chunks: list[int]) -> list[tuple]:
    with tempfile.TemporaryDirectory() as d:
        engine = make_engine(f"sqlite:///{Path(d) / 'm.db'}")
        load_models()
        Base.metadata.create_all(engine)
        add_provider(engine, str(PROVIDER.pubkey()), T0)
        ing = Ingestor(engine, CFG)
        sign_leases_for(engine, events)  # the customers consent first, whatever order their usage arrives in
        i = 0
        for n in chunks:
            if i < len(events):
                assert ingest_direct(ing, str(PROVIDER.pubkey()), events[i:i + n], T0).status_code == 200
            i += n
        if i < len(events):
            assert ingest_direct(ing, str(PROVIDER.pubkey()), events[i:], T0).status_code == 200
        Sealer(engine, CFG, METER).seal_due(BASE + 7 * W)
        build_batch(engine, str(METER.pubkey()), T0)
        RR = ReceiptRow.__table__
        with engine.connect() as c:
            out = [(r.customer, r.provider, r.seq, bytes(r.receipt_id), bytes(r.signature), r.detail, r.batch_index,
                    bytes(r.encoding))
                   for r in c.execute(select(RR).order_by(RR.c.customer, RR.c.seq))]
        engine.dispose()
        return out


def check_against_pure_rollup(events: list, receipts: list) -> None:
    """The last receipt of each channel (sealed window by window, incrementally) carries exactly what the
    pure rollup computes from all the events at once."""
    rows = []
    for e in events:
        d = e["data"]
        kind = {GPU_HEARTBEAT: 1, GPU_STOP: 2, STORAGE_SAMPLE: 3, EGRESS: 4}[e["type"]]
        res = d.get("lease_id") or d.get("bucket") or d.get("resource")
        cls = d.get("gpu_class") or d.get("storage_class") or d.get("egress_class") or ("INTERNET" if kind == 4 else "")
        val = d.get("gpu_count") or d.get("bytes") or 0
        t = int(datetime.fromisoformat(e["time"].replace("Z", "+00:00")).timestamp() * 1000 + 0.5)
        rows.append((e["subject"], d["provider"], kind, res, cls, val, t, e["id"]))
    pure = rollup_channels(rows, BASE + 6 * W, heartbeat_timeout_ms=CFG.heartbeat_timeout_ms,
                           sample_timeout_ms=CFG.sample_timeout_ms)
    last = {}
    for r in receipts:
        last[(r[0], r[1])] = Receipt.decode(r[7])
    for ch, u in pure.items():
        gpu = sum(q for (f, _), q in u.quantities.items() if f == 1)
        bs = sum(q // 1000 for (f, _), q in u.quantities.items() if f == 3)
        eg = sum(q for (f, _), q in u.quantities.items() if f == 4)
        r = last.get(ch)
        got = (r.cum_gpu_ms, r.cum_byte_seconds, r.cum_egress_bytes) if r else (0, 0, 0)
        assert got == (gpu, bs, eg), ch


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), events=event_sets())
def test_any_arrival_order_gives_the_same_receipts(data, events):
    reference = run(events, [len(events) or 1])
    check_against_pure_rollup(events, reference)
    shuffled = data.draw(st.permutations(events))
    chunks = data.draw(st.lists(st.integers(1, 10), max_size=10))
    assert run(shuffled, chunks) == reference
    assert reference  # egress makes every generated set billable, so the comparison is never vacuous
