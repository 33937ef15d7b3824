"""The commands of `solmeter operator ...` that load the meter (its API and dashboard, its jobs, its price books),
loaded by name from solmeter/commands/operator.py: `serve` and `prices set|show`."""
from __future__ import annotations

import signal
import sys
import time
from pathlib import Path
from typing import Optional

import typer
import yaml

from ledger.ops.meter_funding import BATCH_INTERVAL_S
from solmeter.commands.operator import KEYPAIR, settlement_engine
from solmeter.commands.common import chain, db, deployment, fail, keypair, one_line_errors, parse_amount, settings
from dashboard import DashboardContext, mount
from ledger.engine.jobs import JOB_NAMES
from ledger.engine.metrics import EngineMetrics
from ledger.engine.service import Service
from ledger.ops.deployment import read_config
from ledger.ops.prices import publish
from metering.api.app import create_app
from metering.chain_providers import ChainProviders, provider_registry_reader
from metering.config import MeterConfig
from metering.metrics import MeterMetrics
from metering.read_policy import admin_keys
from metering.rollup.pricing import PriceBook
from metering.service import MeterJobs
from metering.store_faults import guard_engine, serve_guarded
from solmeter.commands.log_levels import configure
from solmeter.commands.meter_commands import check_against_chain, prices_show as show
from solmeter.keys import load_or_create_keypair

prices_app = typer.Typer(help="The versioned price book: `set` commits a new version on-chain (its sha256, "
                               "signed by the admin) and then gives it to the meter; `show` lists them.",
                          no_args_is_help=True)


@prices_app.command("set")
@one_line_errors
def prices_set(path: Path = typer.Argument(..., help="Price book, JSON or YAML: version, gpu/storage/egress "
                                                     "tables of {class: {unit_price, per}}."),
               effective_from_ms: Optional[int] = typer.Option(None, help="Unix ms; default now."),
               kp: Optional[Path] = KEYPAIR) -> None:
    """Publish a new price-book version: committed on-chain first (auditors recompute every receipt's lines
    against it), then priced with by the meter. Versions only go up; a rerun finishes an interrupted one."""
    try:
        data = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ValueError(f"price book {path}: does not exist") from None
    except yaml.YAMLError as e:
        raise ValueError(f"price book {path}: not JSON or YAML ({str(e).splitlines()[0]})") from None
    try:
        book = PriceBook.from_dict(data if isinstance(data, dict) else {})
    except ValueError as e:
        raise ValueError(f"price book {path}: {str(e).splitlines()[0]}") from None
    engine, _ = db()
    now = time.time_ns() // 1_000_000
    out = publish(chain(), deployment(), keypair(kp), engine, book,
                  effective_from_ms if effective_from_ms is not None else now, now)
    onchain = f"committed on-chain ({out.signature})" if out.signature else "on-chain already"
    meter = "the meter prices with it" if out.stored else "the meter had it already"
    typer.echo(f"price book version {out.version} published: sha256 {out.sha256}, {onchain}; {meter}")


@prices_app.command("show")
@one_line_errors
def prices_show() -> None:
    """Print every price-book version (the built-in default applies while there is none)."""
    show()


@one_line_errors
def serve(host: Optional[str] = typer.Option(None, help="API bind address (default: api_host setting)."),
          port: Optional[int] = typer.Option(None, help="API port (default: api_port setting)."),
          epoch_emission: str = typer.Option("0", help="Reward tokens to fund each new epoch with (0: none)."),
          window_s: int = typer.Option(60, min=1, help="Meter rollup window, seconds."),
          batch_interval_s: int = typer.Option(BATCH_INTERVAL_S, min=1, help="Close a Merkle batch this often, seconds."),
          admin: list[str] = typer.Option([], "--admin", help="Another key that reads all of the meter API "
                                                              "(repeatable); the operator's keypair and the meter "
                                                              "key always do."),
          public_url: Optional[str] = typer.Option(None, help="The address users open the dashboard at "
                                                              "(scheme://host:port; default: http://HOST:PORT). "
                                                              "Wallet sign-ins must name its host."),
          verbose: int = typer.Option(0, "--verbose", "-v", count=True,
                                      help="-v: every job run; -vv: also each scheduler run and HTTP call.")) -> None:
    """Run the meter API and its dashboard (/dashboard/), the meter's jobs and the settlement engine's jobs
    until interrupted."""
    uvicorn_level = configure(verbose)
    s = settings()
    engine, sf = db()

    guard_engine(engine)  # before any job: the database file removed or replaced stops everything with one line
    dep = deployment()
    meter = load_or_create_keypair(s.resolved_meter_keypair_path)

    # Receipts are issued for the config version in force on-chain (settle rejects any other); the meter's
    # jobs re-read it on every run, so an update_config needs no restart.
    rpc = chain()
    version = int(read_config(rpc, dep.program).version)
    cfg = MeterConfig(program_id=dep.program_id, config_version=version, window_ms=window_s * 1000,
                      batch_interval_ms=batch_interval_s * 1000)

    admins = admin_keys([str(keypair().pubkey()), *admin])

    floors = check_against_chain(engine, rpc.url, dep.program_id)  # a new or older database: refuse to start
    eng = settlement_engine(sf, parse_amount(epoch_emission, dep.decimals) if epoch_emission not in ("0", "") else 0)
    eng.escrow_view.refresh()
    metrics = MeterMetrics()  # one registry: the meter's ingest and seal metrics and the engine's, at /metrics
    engine_metrics = EngineMetrics(metrics.registry, sf, JOB_NAMES, eng.chain, meter.pubkey())
    svc = Service(sf, eng.job_specs(), on_run=engine_metrics.on_run)
    meter_jobs = MeterJobs(engine, cfg, meter, lambda: time.time_ns() // 1_000_000, metrics,
                           config_version_source=lambda: int(read_config(rpc, dep.program).version), floors=floors)
    sched = meter_jobs.start_scheduler()
    svc.start()

    bind = f"http://{host or s.api_host}:{port or s.api_port}"
    providers = ChainProviders(provider_registry_reader(eng.chain.url, dep.program_id))
    app = create_app(engine, cfg, meter, escrow=eng.escrow_view, metrics=metrics, chain_providers=providers,
                     admins=admins)
    url = (public_url or bind).rstrip("/")
    mount(app, DashboardContext(engine=engine, session_factory=sf, chain=eng.chain, deployment=dep, public_url=url,
                                api_url=bind, clock=lambda: time.time_ns() // 1_000_000, escrow=eng.escrow_view))
    typer.echo(f"serving the meter API on {bind} with settlement jobs against {eng.chain.url} (metrics at "
               f"/metrics); dashboard at {url}/dashboard/")

    # uvicorn stops gracefully on SIGINT / SIGTERM and then raises the signal again: SIGINT as KeyboardInterrupt
    # (exit 130), SIGTERM through this handler (exit 143) rather than the default one, which would end the
    # process before the lines below
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    fatal = None
    try:
        fatal = serve_guarded(app, host or s.api_host, port or s.api_port, uvicorn_level,
                              on_fatal=(sched.pause, lambda: svc.shutdown(wait=False)))
    finally:
        svc.shutdown(wait=False)
        sched.shutdown(wait=False)
        if not fatal:  # a stop asked for says so: what is stored stays, the jobs resume from it at the next start
            typer.echo(f"stopped: the meter API on {bind} and the settlement jobs (the database keeps their "
                       f"state; `solmeter operator serve` resumes them)")
    if fatal:
        fail(fatal)
