"""`solmeter demo`: the whole product on the embedded localnet and SQLite, in simulated time.

One process runs: the localnet (JSON-RPC on a free port), the meter API (uvicorn on a free port), the
real GPU and storage agents posting signed CloudEvents to it, the meter's sealing and batching, and the
settlement engine's jobs. A simulated clock drives the agents and the meter; the chain's clock is moved
to it (time travel) before every settlement pass, so epochs close and windows elapse in seconds. The
scenario: 3 providers and 5 customers; one customer runs out of escrow, is paused and resumes after a
deposit; one slash is proposed, contested, upheld and executed; epoch rewards are funded and claimed.
It ends with who paid and earned what, the reconciliation and the audit verdicts, and Explorer links.
"""
from __future__ import annotations

import os
import socket
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import uvicorn
from solders.pubkey import Pubkey
from sqlalchemy import select

import ledger.accounting.models  # noqa: F401  (registers the ledger's tables)
import ledger.engine.models  # noqa: F401  (registers the engine's tables)
import localnet
from auditor.api import MeterApi
from auditor.audits import ChainFacts, audit_all
from auditor.chain import ChainReader
from contracts import DEFAULT_PROGRAM_ID
from contracts.economics import epoch_start
from contracts.lease import GpuResource, StorageResource
from contracts.lease import Lease as CustomerLease
from dashboard import DashboardContext, mount
from db import load_models, make_engine, make_session_factory, migrate
from ledger.accounting import Ledger, chart
from ledger.engine.chain import RpcChain
from ledger.engine.jobs import Engine
from ledger.engine.models import Intent
from ledger.ops import roles, token
from ledger.ops.bootstrap import bootstrap
from ledger.ops.deployment import InitParams, read_config
from metering.agents.client import MeterClient
from metering.agents.gpu import GpuAgent
from metering.agents.jobs import Lease, StaticJobSource
from metering.agents.spool import Spool
from metering.agents.storage import Bucket, DirectorySource, StorageAgent
from metering.agents.telemetry import NoGpu
from metering.api.app import create_app
from metering.config import MeterConfig
from metering.leases import lease_body, post_signed
from metering.registry import add_provider
from metering.service import MeterJobs
from metering.settlement import SqlSettlement
from solmeter.commands.common import explorer_link, fmt
from solmeter.keys import write_keypair

TOKENS = 10**6  # 6 decimals
MINUTE = 60_000
# (customer index, provider index): the channels the demo's customers open, one per provider serving them
DEMO_CHANNELS = ((0, 0), (1, 0), (0, 1), (2, 1), (3, 1), (4, 2))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SimClock:
    """Milliseconds of simulated time, shared by the agents and the meter."""

    def __init__(self, t_ms: int) -> None:
        self.t = t_ms
        self._lock = threading.Lock()
        self._free_since: float | None = None

    def __call__(self) -> int:
        since = self._free_since
        return self.t if since is None else self.t + int((time.monotonic() - since) * 1000)

    def advance(self, ms: int) -> None:
        with self._lock:
            self.t += ms

    def run_free(self) -> None:
        """From now on, simulated time passes as real time does (the scenario is over; the dashboard's
        sign-in nonces and sessions expire as they should)."""
        self._free_since = time.monotonic()


@dataclass
class DemoResult:
    elapsed_s: float = 0.0
    sim_hours: float = 0.0
    receipts: int = 0
    batches: int = 0
    settlements: int = 0
    paused_customer: str = ""
    paused_seen: bool = False
    resumed: bool = False
    slash_executed: bool = False
    slash_contested: bool = False
    rewards_claimed: int = 0
    reconcile_ok: bool = False
    reconcile_differences: list = field(default_factory=list)
    audit_ok: bool = False
    audit_failures: list = field(default_factory=list)
    trial_balance: dict = field(default_factory=dict)
    customers: dict = field(default_factory=dict)   # wallet -> {deposited, paid, escrow}
    providers: dict = field(default_factory=dict)   # wallet -> {revenue, rewards, slashed}
    treasury: int = 0
    burned: int = 0
    links: dict = field(default_factory=dict)
    rpc_url: str = ""
    workdir: str = ""
    keys_dir: str = ""      # the customers' and providers' keypairs (customer-1.json, ..., provider-1.json, ...)
    links_live: bool = False  # the links point at the demo's own localnet, still serving (`--serve`)


class _ApiServer:
    """The meter API on uvicorn in a background thread."""

    def __init__(self, app) -> None:
        # Bind the socket here (port 0: the kernel picks a free one) and hand it to uvicorn, so no other
        # process can take the port between choosing and binding it.
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, name="meter-api",
                                       daemon=True)
        self.url = f"http://127.0.0.1:{port}"

    def __enter__(self):
        self.thread.start()
        deadline = time.monotonic() + 30
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the meter API did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


@dataclass
class DemoLive:
    """What runs after the scenario, handed to `run_demo(serve=...)`: the dashboard's URL and the parts."""
    url: str
    rpc_url: str
    result: DemoResult
    world: object
    chain: object
    engine: object          # the settlement engine (ledger.engine.jobs.Engine)
    session_factory: object
    db: object              # the SQLAlchemy engine of the meter and ledger database
    node: object            # the in-process localnet
    clock: Callable[[], int]  # the meter's clock (simulated time, running free after the scenario)


def run_demo(workdir: Path | None = None, *, hours: float = 3.0, progress: Callable[[str], None] = print,
             inspect: Callable | None = None, serve: Callable[[DemoLive], None] | None = None) -> DemoResult:
    """Run the scenario; `inspect(chain, world, engine, session_factory)` is called at the end while the
    localnet still runs (the tests check the chain with it). `serve(live)`, when given, is called after the
    scenario with the meter API and its dashboard still serving, and the demo ends when it returns
    (`solmeter demo --serve` waits there for Ctrl-C)."""
    t_start = time.monotonic()
    workdir = Path(workdir) if workdir else Path(tempfile.mkdtemp(prefix="solmeter-demo-"))
    workdir.mkdir(parents=True, exist_ok=True)
    res = DemoResult(sim_hours=hours, workdir=str(workdir))
    say = progress

    say(f"[demo] working directory {workdir}")
    for attempt in range(5):  # a free port can be taken by another process before we bind it
        try:
            node = localnet.start_in_process(ledger_dir=workdir / "localnet", port=_free_port(), ws_port=_free_port())
            break
        except OSError:
            if attempt == 4:
                raise
    res.rpc_url = node.rpc_url
    try:
        chain = RpcChain(node.rpc_url)
        say(f"[demo] localnet up at {node.rpc_url}; deploying: token, 3 providers, 5 customers")
        params = InitParams(fee_bps=250, burn_bps=50, min_stake=5 * TOKENS, withdrawal_delay=7_200,
                            settlement_window=3_600, unstake_cooldown=7_200, contest_window=1_800,
                            epoch_length=3_600)
        # Each customer opens channels only with the providers that serve it (its consent on-chain):
        # provider 1 runs jobs for customers 1 and 2, provider 2 for customers 3 and 4 and stores
        # customers 1 and 3's buckets, provider 3 runs customer 5's sweep.
        w = bootstrap(chain, program_id=Pubkey.from_string(DEFAULT_PROGRAM_ID), n_providers=3, n_customers=5,
                      wallet_tokens=200 * TOKENS, stake=20 * TOKENS, deposit=0, params=params,
                      channels=DEMO_CHANNELS, progress=lambda m: say(f"  {m}"))
        dep, admin, meter = w.dep, w.admin, w.meter
        res.keys_dir = str(_write_keys(workdir / "keys", w))
        token.mint_to(chain, admin, admin, dep.mint_key, admin.pubkey(), 1_000 * TOKENS, dep.decimals)
        deposits = [100, 100, 80, 60, 4]  # customer 5 can afford only minutes of its 8 GPUs
        for c, amount in zip(w.customers, deposits):
            roles.deposit(chain, dep, c, amount * TOKENS)
        say("  customers deposited " + ", ".join(f"{a}" for a in deposits) + " tokens")

        engine = make_engine(f"sqlite:///{workdir / 'solmeter.db'}")
        load_models()
        migrate(engine)
        sf = make_session_factory(engine)
        clock = SimClock((chain.unix_time() * 1000) // MINUTE * MINUTE)
        # The meter's clock ends the scenario `hours` ahead of the wall clock (and runs on from there): a signed
        # read from the CLI (`customer status -k KEYS/customer-1.json`), dated by the wall clock, must still be
        # fresh to it, so this throw-away meter's freshness window spans the simulated hours (60 s elsewhere).
        cfg = MeterConfig(program_id=dep.program_id, window_ms=MINUTE, grace_ms=30_000,
                          batch_interval_ms=30 * MINUTE, signature_max_age_ms=int((hours + 1) * 60 * MINUTE))
        eng = Engine(sf, chain, dep.program, payer=admin, meter=meter, funder=admin, epoch_emission=30 * TOKENS)
        eng.follow_chain()
        eng.escrow_view.refresh()  # the API's runway is served from this snapshot from the start
        for p in w.providers:
            add_provider(engine, str(p.pubkey()), clock())
        app = create_app(engine, cfg, meter, clock=clock, escrow=eng.escrow_view, admins=[str(admin.pubkey())])

        # The meter follows the chain's config version: an update_config needs no restart.
        meter_jobs = MeterJobs(engine, cfg, meter, clock,
                               config_version_source=lambda: int(read_config(chain, dep.program).version))
        P, C = w.providers, [str(c.pubkey()) for c in w.customers]
        res.paused_customer = C[4]

        api_server = _ApiServer(app)

        mount(app, DashboardContext(engine=engine, session_factory=sf, chain=chain, deployment=dep,
                                    public_url=api_server.url, api_url=api_server.url, clock=clock,
                                    escrow=eng.escrow_view))
        with api_server as api:
            say(f"[demo] meter API at {api.url}; agents start reporting (simulated clock)")
            # Consent off-chain: each customer signs a lease for every job and bucket before any usage is
            # reported (the meter refuses usage under no lease); the signed leases are public beside the receipts.
            _sign_leases(api.url, dep.program_id, w, clock(), hours)
            say(f"  customers signed {len(DEMO_LEASES)} leases (GPU jobs and buckets) with their wallet keys")
            jobs = [StaticJobSource([Lease("job-c1-train", C[0], "H100", 2), Lease("job-c2-infer", C[1], "A100", 1)]),
                    StaticJobSource([Lease("job-c4-render", C[3], "H100", 1)]),
                    StaticJobSource([Lease("job-c5-sweep", C[4], "H100", 8)])]
            gpu_agents = [GpuAgent(p, jobs[i], NoGpu("demo: simulated GPUs"), Spool(workdir / f"spool-gpu-{i}"),
                                   MeterClient(api.url, p, clock=clock), clock=clock, broker=True)  # the simulated runner's GPUs
                          for i, p in enumerate(P)]
            buckets = []
            for name, cust, mib in (("datasets", C[0], 6), ("checkpoints", C[2], 3)):
                d = workdir / "buckets" / name
                d.mkdir(parents=True, exist_ok=True)
                (d / "blob.bin").write_bytes(b"\x5a" * (mib << 20))
                buckets.append(Bucket(name, DirectorySource(d), cust))
            storage = StorageAgent(P[1], buckets, Spool(workdir / "spool-storage"), MeterClient(api.url, P[1], clock=clock),
                                   clock=clock)
            ticks = int(hours * 120)
            slash_index = None
            for tick in range(1, ticks + 1):
                clock.advance(30_000)
                minute = tick // 2
                for a in gpu_agents:
                    a.tick()
                if tick % 20 == 0:
                    storage.tick()
                if tick % 2 == 0:
                    meter_jobs.run_once()
                if minute == 60 and tick % 2 == 0:  # a second job starts for customer 3, on provider 2
                    jobs[1].current.append(Lease("job-c3-finetune", C[2], "L40S", 4))
                if minute == 75 and tick % 2 == 0:  # update_config bumps the version: no meter restart needed
                    roles.set_fees(chain, dep, admin, 300, None)
                    say(f"  operator raised the fee to 300 bps (config version "
                        f"{int(read_config(chain, dep.program).version)}); the meter follows it")
                if minute == 120 and tick % 2 == 0:
                    jobs[0].current = [l for l in jobs[0].current if l.lease_id != "job-c2-infer"]
                if tick % 60 == 0:  # every 30 simulated minutes: the chain catches up and the crank runs
                    node.call(lambda bank, t=clock() // 1000: bank.time_travel(timestamp=t))
                    meter_jobs.run_once(force_batch=True)
                    out = eng.crank_once()
                    st = out["settle_channels"]
                    paused = _paused(sf, C[4])
                    res.paused_seen |= paused
                    say(f"[{minute // 60}h{minute % 60:02d}] settled {st['confirmed']} channel(s)"
                        f"{', ' + str(st['skipped_underfunded']) + ' underfunded' if st['skipped_underfunded'] else ''}"
                        f"; customer 5 {'PAUSED' if paused else 'active'}")
                    if minute == 60:
                        _, slash_index = roles.propose_slash(chain, dep, admin, P[2].pubkey(), 2 * TOKENS,
                                                             "agent reported heartbeats for a powered-off node",
                                                             token.ata(w.customers[4].pubkey(), dep.mint_key))
                        say(f"  operator proposed slash {slash_index} of provider 3 (2 tokens to customer 5)")
                        roles.contest_slash(chain, dep, P[2], slash_index, "node was up: see NVML logs")
                        res.slash_contested = True
                        say("  provider 3 contested it")
                    if minute == 90 and slash_index is not None:
                        roles.resolve_slash(chain, dep, admin, P[2].pubkey(), slash_index, True)
                        roles.execute_slash(chain, dep, admin, P[2].pubkey(), slash_index)
                        res.slash_executed = True
                        say("  arbiter upheld the slash; executed")
                    if paused and minute >= 90 and not res.resumed:
                        roles.deposit(chain, dep, w.customers[4], 60 * TOKENS)
                        say("  customer 5 deposited 60 tokens")
                        eng.crank_once()
                        res.resumed = not _paused(sf, C[4])
                        say(f"  customer 5 {'resumed' if res.resumed else 'still paused'}")
            # Close the last windows and settle everything.
            clock.advance(2 * MINUTE)
            meter_jobs.run_once(force_batch=True)
            node.call(lambda bank, t=clock() // 1000: bank.time_travel(timestamp=t))
            eng.crank_once()
            eng.crank_once()
            # Close the current epoch so that every funded epoch can be claimed.
            cfg_acct = read_config(chain, dep.program)
            last_epoch = roles.current_epoch(chain, dep)
            next_epoch = epoch_start(int(cfg_acct.genesis_ts), int(cfg_acct.epoch_length), last_epoch + 1)
            node.call(lambda bank, t=next_epoch + 1: bank.time_travel(timestamp=t))
            for p in P:
                for ep in range(last_epoch + 1):
                    try:
                        roles.claim(chain, dep, p, ep)
                        res.rewards_claimed += 1
                    except Exception:  # no revenue in that epoch: nothing to claim
                        pass
            say(f"[demo] providers claimed {res.rewards_claimed} epoch reward(s)")
            eng.crank_once()
            recon = eng.reconcile()
            res.reconcile_ok = recon.ok
            res.reconcile_differences = [str(d) for d in recon.differences]
            res.audit_ok, res.audit_failures = _audit(node.rpc_url, dep, api.url, admin, clock)
            _summarise(res, sf, chain, w, eng, live_rpc_url=node.rpc_url if serve is not None else None)
            res.elapsed_s = time.monotonic() - t_start
            if inspect is not None:
                inspect(chain, w, eng, sf)
            if serve is not None:
                clock.run_free()
                serve(DemoLive(f"{api.url}/dashboard/", node.rpc_url, res, w, chain, eng, sf, engine, node, clock))
    finally:
        node.stop()
    return res


# (lease id, customer index, provider index, GPU (class, count) or storage bucket, cap in tokens per hour of
# the lease): what the agents below report, and nothing else. The caps sit above the full-rate cost
# (8 H100 at 2.5 tokens an hour is 20 an hour), so the demo's usage is never cut short by them.
DEMO_LEASES = [("job-c1-train", 0, 0, ("H100", 2), 10), ("job-c2-infer", 1, 0, ("A100", 1), 10),
               ("job-c4-render", 3, 1, ("H100", 1), 10), ("job-c5-sweep", 4, 2, ("H100", 8), 25),
               ("job-c3-finetune", 2, 1, ("L40S", 4), 10), ("datasets", 0, 1, "datasets", 1),
               ("checkpoints", 2, 1, "checkpoints", 1)]


def _sign_leases(api_url: str, program_id: str, w, now_ms: int, hours: float) -> None:
    lease_hours = hours + 2
    for lease_id, ci, pi, what, cap_per_hour in DEMO_LEASES:
        res = GpuResource(*what) if isinstance(what, tuple) else StorageResource(what, {"STANDARD": 1 << 30})
        c = w.customers[ci]
        lease = CustomerLease(Pubkey.from_string(program_id), lease_id, c.pubkey(), w.providers[pi].pubkey(), 1,
                      int(cap_per_hour * lease_hours) * TOKENS, now_ms, now_ms + int(lease_hours * 3_600_000),
                      os.urandom(16), res)
        post_signed(api_url, "/v1/leases", lease_body(lease, c))


def _paused(sf, customer: str) -> bool:
    with sf() as s:
        return SqlSettlement().paused(s, customer)


def _audit(rpc_url: str, dep, api_url: str, operator, clock) -> tuple[bool, list]:
    """The auditor's pass, its channel reads signed by the operator (the demo's auditor sees every channel)."""
    api = MeterApi(api_url, keypair=operator, clock=clock)
    try:
        reports = audit_all(ChainFacts(ChainReader.connect(rpc_url, Pubkey.from_string(dep.program_id))), api=api)
    finally:
        api.close()
    # receipts sealed after the last batch are "not verified" yet (pending), never failures; the demo allows them
    failures = [f"{r.kind} {r.target}: {', '.join(sorted(r.failed_names()))}" for r in reports
                if not r.passes(allow_pending=True)]
    return (bool(reports) and not failures), failures


def _write_keys(keys_dir: Path, w) -> Path:
    """The customers' and providers' keypairs (mode 0600), for trying the role commands on the demo's cluster
    (`solmeter customer status -k KEYS/customer-1.json`). The operator's and the meter's keys stay in memory."""
    for role, kps in (("customer", w.customers), ("provider", w.providers)):
        for i, kp in enumerate(kps, 1):
            write_keypair(keys_dir / f"{role}-{i}.json", kp, overwrite=True)
    return keys_dir


def _summarise(res: DemoResult, sf, chain, w, eng, live_rpc_url: str | None = None) -> None:
    led = Ledger(sf)
    res.trial_balance = {b.value: v for b, v in led.trial_balance().items()}
    with sf() as s:
        res.receipts, res.batches = SqlSettlement().issued(s)
        settles = s.execute(select(Intent.signature).where(Intent.kind == "settle", Intent.state == "confirmed")
                            .order_by(Intent.id)).scalars().all()
    res.settlements = len(settles)
    for c in w.customers:
        cw = str(c.pubkey())
        lines = led.statement(chart.escrow(cw))
        deposited = sum(l.amount for l in lines if l.kind in ("deposit", "top_up"))
        paid = sum(l.amount for l in lines if l.kind == "settlement")
        res.customers[cw] = {"deposited": deposited, "paid": paid, "escrow": led.balance(chart.escrow(cw)),
                             "slash_compensation": sum(l.amount for l in led.statement(chart.wallet(cw))
                                                       if l.kind == "slash")}
    for p in w.providers:
        pw = str(p.pubkey())
        res.providers[pw] = {"revenue": led.balance(chart.provider_revenue(pw)),
                             "rewards": led.balance(chart.provider_rewards(pw)),
                             "slashed": sum(l.amount for l in led.statement(chart.stake(pw)) if l.kind == "slash"),
                             "stake": led.balance(chart.stake(pw))}
    res.treasury = led.balance(chart.treasury())
    res.burned = led.balance(chart.burned())
    # Without --serve the demo's node stops with the demo; the links then point at the default localnet URL,
    # where `solmeter localnet start --ledger-dir <workdir>/localnet` serves the same ledger afterwards.
    # With --serve they point at the demo's own localnet, which serves them as they are printed.
    res.links_live = live_rpc_url is not None
    url = live_rpc_url or "http://127.0.0.1:8899"
    res.links = {"program": explorer_link("address", w.dep.program_id, url),
                 "treasury": explorer_link("address", w.dep.treasury, url),
                 "mint": explorer_link("address", w.dep.mint, url)}
    if settles:
        res.links["a settlement"] = explorer_link("tx", settles[-1], url)


def render(res: DemoResult) -> str:
    d = 6
    out = [f"solmeter demo: {res.sim_hours:g} simulated hours in {res.elapsed_s:.0f} s",
           f"  {res.receipts} signed receipts, {res.batches} Merkle batches posted, {res.settlements} settlements", "",
           "customers (tokens)            deposited        paid      escrow   slash comp."]
    for i, (cw, v) in enumerate(res.customers.items(), 1):
        tag = " (paused, resumed)" if cw == res.paused_customer and res.paused_seen else ""
        out.append(f"  {i} {cw[:20]}..  {fmt(v['deposited'], d):>12} {fmt(v['paid'], d):>11} {fmt(v['escrow'], d):>11}"
                   f" {fmt(v['slash_compensation'], d):>11}{tag}")
    out += ["", "providers (tokens)             revenue     rewards     slashed       stake"]
    for i, (pw, v) in enumerate(res.providers.items(), 1):
        out.append(f"  {i} {pw[:20]}..  {fmt(v['revenue'], d):>12} {fmt(v['rewards'], d):>11} {fmt(v['slashed'], d):>11}"
                   f" {fmt(v['stake'], d):>11}")
    out += ["", f"treasury fees {fmt(res.treasury, d)}   burned {fmt(res.burned, d)}",
            f"customer 5 paused: {'yes' if res.paused_seen else 'no'}; resumed by deposit: {'yes' if res.resumed else 'no'}",
            f"slash contested: {'yes' if res.slash_contested else 'no'}; upheld and executed: {'yes' if res.slash_executed else 'no'}",
            f"epoch rewards claimed: {res.rewards_claimed}",
            f"ledger vs chain: {'EQUAL to the base unit' if res.reconcile_ok else 'DIFFERENT: ' + '; '.join(res.reconcile_differences)}",
            f"trial balance: custody {res.trial_balance.get('custody')}, obligation {res.trial_balance.get('obligation')}",
            f"audit verdict: {'PASS' if res.audit_ok else 'FAIL: ' + '; '.join(res.audit_failures[:5])}", "",
            f"customer and provider keypairs: {res.keys_dir}/customer-1.json ... provider-{len(res.providers)}.json",
            "Explorer (custom cluster URL): the demo's localnet, while it serves" if res.links_live else
            f"Explorer (custom cluster URL): first run `solmeter localnet start --ledger-dir {res.workdir}/localnet`"]
    for k, v in res.links.items():
        out.append(f"  {k}: {v}")
    return "\n".join(out)
