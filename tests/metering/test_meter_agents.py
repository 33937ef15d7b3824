"""GPU and storage agents against a real meter server: signing, spooling across an outage, resending
without duplicates, paused customers, allocated bytes, the no-GPU state."""
import os

import pytest
from sqlalchemy import select

from meter_helpers import ServerThread, free_port
from metering.agents.client import MeterClient, flush
from metering.agents.gpu import GpuAgent
from metering.agents.jobs import FileJobSource, JobSourceError, Lease, StaticJobSource
from metering.agents.spool import Spool
from metering.agents.storage import Bucket, DirectorySource, StorageAgent, allocated_bytes
from metering.agents.telemetry import FakeTelemetry, NoGpu, open_telemetry
from metering.models import UsageEvent
from metering.receipts import Sealer
from metering.registry import set_paused

UE = UsageEvent.__table__


def stored(engine):
    with engine.connect() as c:
        return c.execute(select(UE.c.event_id, UE.c.kind).order_by(UE.c.t_ms, UE.c.event_id)).all()


@pytest.fixture
def server(app):
    s = ServerThread(app, free_port()).start()
    yield s
    s.stop()


def test_gpu_agent_spools_through_an_outage_and_resends_without_duplicates(server, engine, clock, provider_kp,
                                                                             customer, tmp_path, cfg, meter_kp, sign_lease):
    sign_lease("job-1", rclass="H100")
    jobs = StaticJobSource([Lease("job-1", customer, "H100", 2, (0, 1))])
    client = MeterClient(server.url, provider_kp, clock=clock)
    agent = GpuAgent(provider_kp, jobs, FakeTelemetry(), Spool(tmp_path / "spool"), client, clock=clock)
    t1 = agent.tick()
    assert t1.heartbeats == 1 and t1.flush.accepted == 1 and t1.flush.remaining == 0
    server.stop()  # outage
    for _ in range(3):
        clock.t += 30_000
        t = agent.tick()
        assert t.flush.error and "unreachable" in t.flush.error
    assert t.flush.remaining == 3
    jobs.current = []  # the job ends during the outage
    clock.t += 30_000
    assert agent.tick().stops == 1
    server.start()
    clock.t += 1_000
    rep = flush(agent.spool, client)
    assert (rep.accepted, rep.remaining, rep.error) == (4, 0, None)
    assert flush(agent.spool, client).accepted == 0  # nothing left to send
    rows = stored(engine)
    assert [k for _, k in rows] == [1, 1, 1, 1, 2] and len({i for i, _ in rows}) == 5
    # the usage bills exactly the 4 x 30 s of 2 GPUs
    Sealer(engine, cfg, meter_kp).seal_due(clock.t + 10 * cfg.window_ms)
    from metering.models import KeyUsage
    with engine.connect() as c:
        q = c.execute(select(KeyUsage.__table__.c.quantity)).scalar()
    assert q == 2 * 4 * 30_000  # heartbeats at +0, +30 s, +60 s, +90 s, then the stop at +120 s


def test_response_lost_resend_is_duplicate(server, engine, clock, provider_kp, customer, tmp_path, sign_lease):
    sign_lease("job-2", rclass="A100")
    client = MeterClient(server.url, provider_kp, clock=clock)
    spool = Spool(tmp_path / "s")
    jobs = StaticJobSource([Lease("job-2", customer, "A100", 1)])
    agent = GpuAgent(provider_kp, jobs, NoGpu("test"), spool, client, clock=clock, broker=True)
    agent.tick()
    sent = stored(engine)
    # simulate "committed but the agent never saw the answer": put the same events back and flush
    from metering.agents import events as E
    spool.put([E.heartbeat(agent.source, agent.provider, jobs.current[0], clock.t, 30_000, None)])
    clock.t += 1
    rep = flush(spool, client)
    assert (rep.accepted, rep.duplicates) == (0, 1)
    assert stored(engine) == sent


def test_refused_events_are_dropped_and_the_rest_resent(server, engine, clock, provider_kp, customer, tmp_path,
                                                         sign_lease):
    sign_lease("ok")
    client = MeterClient(server.url, provider_kp, clock=clock)
    spool = Spool(tmp_path / "s")
    from metering.agents import events as E
    src = f"/providers/{provider_kp.pubkey()}/x"
    good = E.heartbeat(src, str(provider_kp.pubkey()), Lease("ok", customer, "H100", 1), clock.t, 30_000, None)
    bad = E.heartbeat(src, str(provider_kp.pubkey()), Lease("bad", customer, "H100", 1), clock.t + 10**9, 30_000, None)
    spool.put([good, bad])
    rep = flush(spool, client)
    assert rep.accepted == 1 and rep.dropped[0]["field"] == "time" and rep.remaining == 0
    assert [i for i, _ in stored(engine)] == [good["id"]]
    dead = spool.dead_letters()  # refused, not lost: kept with the meter's reason
    assert [(d["id"], d["field"], d["status"], d["event"]) for d in dead] == [(bad["id"], "time", 422, bad)]


def test_usage_without_a_signed_lease_is_refused_and_dead_lettered(server, engine, clock, provider_kp, customer,
                                                                  tmp_path):
    client = MeterClient(server.url, provider_kp, clock=clock)
    agent = GpuAgent(provider_kp, StaticJobSource([Lease("unsigned", customer, "H100", 1)]), NoGpu("test"),
                     Spool(tmp_path / "s"), client, clock=clock, broker=True)
    t = agent.tick()
    assert t.flush.accepted == 0 and t.flush.remaining == 0 and stored(engine) == []
    [dead] = agent.spool.dead_letters()
    assert dead["status"] == 403 and dead["field"] == "data.lease_id" and "no lease 'unsigned'" in dead["reason"]


def test_paused_customer_new_leases_not_billed(server, engine, clock, provider_kp, customer, tmp_path, sign_lease):
    sign_lease("running")
    sign_lease("new")
    client = MeterClient(server.url, provider_kp, clock=clock)
    jobs = StaticJobSource([Lease("running", customer, "H100", 1)])
    agent = GpuAgent(provider_kp, jobs, NoGpu("test"), Spool(tmp_path / "s"), client, clock=clock, broker=True)
    agent.tick()
    set_paused(engine, customer, True, clock(), "escrow exhausted")
    jobs.current.append(Lease("new", customer, "H100", 1))
    clock.t += 30_000
    t = agent.tick()
    assert t.skipped_paused == ["new"] and t.heartbeats == 1 and t.flush.accepted == 1
    assert {i.split(":")[0] for i, _ in stored(engine)} == {"running"}


def test_storage_agent_allocated_bytes_and_outage(server, engine, clock, provider_kp, customer, tmp_path, sign_lease):
    sign_lease("bk", kind="storage", rclass="STANDARD")
    sign_lease("gone", kind="storage", rclass="STANDARD")
    root = tmp_path / "bucket"
    (root / "sub").mkdir(parents=True)
    (root / "a.bin").write_bytes(b"x" * 10_000)
    (root / "sub" / "b.bin").write_bytes(b"y" * 5000)
    os.link(root / "a.bin", root / "sub" / "hardlink.bin")
    (root / "sparse.bin").open("wb").truncate(1 << 30)  # 1 GiB apparent, ~0 allocated
    nbytes, files = allocated_bytes(root)
    expect = sum(os.lstat(p).st_blocks * 512 for p in (root / "a.bin", root / "sub" / "b.bin", root / "sparse.bin",
                                                       root / "sub"))
    assert nbytes == expect and nbytes < 1 << 20 and files == 3
    client = MeterClient(server.url, provider_kp, clock=clock)
    agent = StorageAgent(provider_kp, [Bucket("bk", DirectorySource(root), customer),
                                       Bucket("gone", DirectorySource(tmp_path / "nope"), customer)],
                         Spool(tmp_path / "s"), client, clock=clock)
    t = agent.tick()
    assert t.samples == 1 and t.unread == [(str(tmp_path / "nope"), "no such directory")] and t.flush.accepted == 1
    server.stop()
    clock.t += 60_000
    assert agent.tick().flush.remaining == 1
    server.start()
    clock.t += 60_000
    t = agent.tick()
    assert (t.flush.accepted, t.flush.remaining) == (2, 0)
    with engine.connect() as c:
        vals = c.execute(select(UE.c.value).where(UE.c.kind == 3)).scalars().all()
    assert vals == [nbytes] * 3


def test_file_job_source(tmp_path, customer):
    p = tmp_path / "jobs.json"
    assert FileJobSource(p).leases() == []
    p.write_text('{"leases": [{"lease_id": "j", "customer": "%s", "gpu_class": "H100", "gpu_count": 2, '
                 '"gpu_indices": [0, 1]}]}' % customer)
    assert FileJobSource(p).leases() == [Lease("j", customer, "H100", 2, (0, 1))]
    p.write_text('{"leases": [{"lease_id": "j"}]}')
    with pytest.raises(JobSourceError, match="malformed"):
        FileJobSource(p).leases()


def test_no_gpu_state_is_clear():
    t = open_telemetry()  # this machine has no NVIDIA driver
    assert t.status().startswith("no GPU") or t.status().startswith("NVML")
    if t.status().startswith("no GPU"):
        assert t.sample([0]) is None


def test_gpu_agent_restart_still_stops_leases_that_ended_while_down(server, engine, clock, provider_kp, customer,
                                                                    tmp_path, sign_lease):
    sign_lease("long")
    client = MeterClient(server.url, provider_kp, clock=clock)
    jobs = StaticJobSource([Lease("long", customer, "H100", 1)])
    GpuAgent(provider_kp, jobs, NoGpu("test"), Spool(tmp_path / "s"), client, clock=clock, broker=True).tick()
    jobs.current = []
    clock.t += 30_000
    t = GpuAgent(provider_kp, jobs, NoGpu("test"), Spool(tmp_path / "s"), client, clock=clock, broker=True).tick()  # a new process
    assert t.stops == 1 and t.flush.accepted == 1
    assert [k for _, k in stored(engine)] == [1, 2]
