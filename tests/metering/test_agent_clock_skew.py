"""A GPU agent whose clock is off by minutes, against a real meter server: every event ends up stored once
(none dropped, none dead-lettered, none doubled) and billed as if the clocks agreed. The agent learns the
meter's clock (its X-Solmeter-Time header; a stale-timestamp refusal's server_time_ms), signs and dates with
it, re-signs and resends a refused request, and keeps events dated ahead of the meter's clock (made by the
skewed clock before the offset was known) in the spool until the meter's clock reaches them."""
import pytest
from sqlalchemy import func, select

from meter_helpers import ServerThread, free_port
from metering.agents.client import MeterClient, flush
from metering.agents.gpu import GpuAgent
from metering.agents.jobs import Lease, StaticJobSource
from metering.agents.spool import Spool
from metering.agents.telemetry import FakeTelemetry
from metering.models import KeyUsage, UsageEvent
from metering.receipts import Sealer

UE = UsageEvent.__table__
SKEW_MS = 5 * 60_000
# A clock step is not a whole number of heartbeat intervals: with exactly 5 min, an event dated by the stepped
# clock would have the very id and time of a later heartbeat and be one event (a duplicate) with it.
STEP_MS = SKEW_MS + 7
TICK_MS = 30_000


@pytest.fixture
def server(app):
    s = ServerThread(app, free_port()).start()
    yield s
    s.stop()


def _events(engine) -> list[str]:
    with engine.connect() as c:
        return [i for (i,) in c.execute(select(UE.c.event_id).order_by(UE.c.t_ms))]


def _billed(engine) -> int:
    with engine.connect() as c:
        return c.execute(select(func.coalesce(func.sum(KeyUsage.__table__.c.quantity), 0))).scalar()


class Skewed:
    """The agent host's clock: the meter's plus a skew (which may jump, as after an NTP step or a VM resume)."""

    def __init__(self, meter_clock, skew_ms: int):
        self.meter, self.skew = meter_clock, skew_ms

    def __call__(self) -> int:
        return self.meter() + self.skew


def _agent(server, provider_kp, customer, tmp_path, clock, host_clock):
    client = MeterClient(server.url, provider_kp, clock=host_clock)
    jobs = StaticJobSource([Lease("job-1", customer, "H100", 2, (0, 1))])
    return GpuAgent(provider_kp, jobs, FakeTelemetry(), Spool(tmp_path / "spool"), client, clock=host_clock), jobs


@pytest.mark.parametrize("skew", [SKEW_MS, -SKEW_MS], ids=["ahead", "behind"])
def test_a_skewed_agent_bills_every_event_once(server, engine, clock, cfg, meter_kp, provider_kp, customer, tmp_path,
                                               sign_lease, skew):
    sign_lease("job-1", rclass="H100")
    agent, jobs = _agent(server, provider_kp, customer, tmp_path, clock, Skewed(clock, skew))
    made = 0
    for _ in range(8):
        t = agent.tick()
        made += t.heartbeats
        assert t.flush.error is None and t.flush.dropped == [] and t.flush.remaining == 0, t.flush
        clock.t += TICK_MS
    jobs.current = []
    t = agent.tick()
    assert t.stops == 1 and t.flush.remaining == 0
    assert abs(agent.client.offset_ms + skew) <= 1_000  # the meter's clock learned
    assert agent.spool.dead_letters() == []
    ids = _events(engine)
    assert len(ids) == len(set(ids)) == made + 1
    Sealer(engine, cfg, meter_kp).seal_due(clock.t + 10 * cfg.window_ms)
    assert _billed(engine) == 2 * made * TICK_MS  # as if the clocks agreed: 8 x 30 s of 2 GPUs


def test_a_clock_that_jumps_ahead_is_refused_as_stale_then_re_signed_and_nothing_is_lost(
        server, engine, clock, provider_kp, customer, tmp_path, sign_lease):
    sign_lease("job-1", rclass="H100")
    host = Skewed(clock, 0)
    agent, jobs = _agent(server, provider_kp, customer, tmp_path, clock, host)
    assert agent.tick().flush.accepted == 1  # in sync
    host.skew = STEP_MS  # the host's clock steps 5 minutes ahead
    clock.t += TICK_MS
    t = agent.tick()  # dated by the jumped clock (the offset was not known yet): refused as stale, re-signed,
    # then refused as 5 min ahead of the meter's clock: kept in the spool, not dropped
    assert t.flush.error is None and t.flush.dropped == [] and t.flush.later == 1 and t.flush.remaining == 1
    assert abs(agent.client.offset_ms + STEP_MS) <= 1_000
    made = 2
    for _ in range(12):  # the meter's clock catches up with the early event within 5 minutes
        clock.t += TICK_MS
        t = agent.tick()
        made += t.heartbeats
        assert t.flush.dropped == [] and t.flush.error is None
    assert t.flush.remaining == 0 and agent.spool.count_events() == 0
    assert agent.spool.dead_letters() == []
    ids = _events(engine)
    assert len(ids) == len(set(ids)) == made
    assert flush(agent.spool, agent.client).accepted == 0  # nothing left, nothing sent twice


def test_an_agent_that_could_not_ask_the_meters_clock_still_loses_nothing(
        server, engine, clock, provider_kp, customer, tmp_path, sign_lease):
    """The meter is down while a skewed agent starts: its first events are dated by the skewed clock and
    spooled; once the meter is back the agent learns its clock from the stale refusal, re-signs and resends,
    and the events dated ahead wait in the spool until the meter's clock reaches them."""
    sign_lease("job-1", rclass="H100")
    agent, jobs = _agent(server, provider_kp, customer, tmp_path, clock, Skewed(clock, STEP_MS))
    server.stop()
    made = 0
    for _ in range(3):
        t = agent.tick()
        made += t.heartbeats
        assert "unreachable" in t.flush.error
        clock.t += TICK_MS
    assert not agent.client.synced
    server.start()
    agent.client.synced = True  # as if the meter had come back between the health probe and the flush
    rep = flush(agent.spool, agent.client)
    assert rep.error is None and rep.dropped == [] and rep.later == 3 and rep.remaining == 3
    for _ in range(12):
        clock.t += TICK_MS
        t = agent.tick()
        made += t.heartbeats
        assert t.flush.dropped == []
    assert agent.spool.count_events() == 0 and agent.spool.dead_letters() == []
    ids = _events(engine)
    assert len(ids) == len(set(ids)) == made
