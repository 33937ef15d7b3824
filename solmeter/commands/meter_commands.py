"""The commands of `solmeter meter ...` (run the meter, API + jobs, and administer it from the command line), loaded
by name from solmeter/commands/meter.py: they import the meter's API, its jobs and the database."""
from __future__ import annotations

import dataclasses
import json
import time
from pathlib import Path
from typing import Optional

import typer
import yaml
from sqlalchemy import select

from contracts.cli_output import local_time
from db import make_engine
from db import migrate as migrate_db
from metering.api import create_app
from metering.api.views import receipt_view
from metering.chain_floor import BehindChain, FloorsUnavailable, channel_floors_reader
from metering.chain_floor import check_against_chain as check_floors
from metering.chain_providers import ChainProviders, provider_registry_reader
from metering.chain_version import config_version_reader
from metering.config import MeterConfig
from metering.models import ReceiptRow, UsageEvent
from metering.prices import list_price_books, publish_price_book
from metering.queries import customer_events
from metering.read_policy import admin_keys
from metering.registry import add_provider, deactivate_provider, list_providers, set_paused
from metering.rollup.pricing import DEFAULT_PRICE_BOOK, FAMILY_NAMES, PriceBook
from metering.rollup.usage import rollup_channels
from metering.service import MeterJobs
from metering.store_faults import guard_engine, serve_guarded
from solmeter.commands.render import quantity_text, receipt_line
from solmeter.config import load_settings
from solmeter.flags import current as current_flags
from solmeter.keys import load_or_create_keypair

providers_app = typer.Typer(help="Which provider keys may report usage.", no_args_is_help=True)
customers_app = typer.Typer(help="Customer flags (paused).", no_args_is_help=True)
prices_app = typer.Typer(help="The versioned price book.", no_args_is_help=True)

# Meter parameters: flags or SOLMETER_METER_* variables. Every process of one meter must use the same.
WINDOW = typer.Option(60, "--window-s", envvar="SOLMETER_METER_WINDOW_S", min=1, help="Rollup window, seconds.")
GRACE = typer.Option(30, "--grace-s", envvar="SOLMETER_METER_GRACE_S", min=0, help="Seal a window this long after it ends.")
HB_TIMEOUT = typer.Option(90, "--heartbeat-timeout-s", envvar="SOLMETER_METER_HEARTBEAT_TIMEOUT_S", min=1,
                          help="Longer gaps between GPU heartbeats are not billed.")
SAMPLE_TIMEOUT = typer.Option(600, "--sample-timeout-s", envvar="SOLMETER_METER_SAMPLE_TIMEOUT_S", min=1,
                              help="Longer gaps between storage samples are not billed.")
BATCH_INTERVAL = typer.Option(600, "--batch-interval-s", envvar="SOLMETER_METER_BATCH_INTERVAL_S", min=1,
                              help="Close a Merkle batch this often.")
CONFIG_VERSION = typer.Option(1, "--config-version", envvar="SOLMETER_METER_CONFIG_VERSION", min=0,
                              help="The on-chain Config.version in force; receipts are issued for it.")


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(1)


def _now() -> int:
    return time.time_ns() // 1_000_000


def _settings():
    return load_settings(flags=current_flags())


def _engine():
    s = _settings()
    if s.resolved_database_url.startswith("sqlite"):
        s.ensure_data_dir()
    engine = make_engine(s.resolved_database_url)
    try:
        migrate_db(engine)
    except Exception as e:  # unreachable server, bad URL, ...: one line
        _fail(f"database {engine.url.render_as_string(hide_password=True)}: {type(e).__name__}: {str(e).splitlines()[0]}")
    return engine


def _meter_config(window_s, grace_s, hb_s, sample_s, batch_s, config_version):
    return MeterConfig(program_id=_settings().resolved_program_id, config_version=config_version,
                       window_ms=window_s * 1000, grace_ms=grace_s * 1000, heartbeat_timeout_ms=hb_s * 1000,
                       sample_timeout_ms=sample_s * 1000, batch_interval_ms=batch_s * 1000)


def _first_version(source) -> int:
    """The version in force now; an unreachable cluster or uninitialized program is one clear line."""
    try:
        return source()
    except Exception as e:
        _fail(f"cannot read the on-chain config version: {e} (or pass --no-follow-chain --config-version N)")


def check_against_chain(engine, rpc_url: str, program_id: str) -> dict:
    """The chain's last settled seq per channel, after checking that the database is not behind it (a new or
    older database would issue receipts settle refuses): one clear line and exit 1 if it is."""
    try:
        floors = channel_floors_reader(rpc_url, program_id)()
        check_floors(engine, floors, engine.url.render_as_string(hide_password=True))
    except (BehindChain, FloorsUnavailable) as e:
        _fail(str(e))
    return floors


_check_against_chain = check_against_chain


def _meter_keypair():
    return load_or_create_keypair(_settings().resolved_meter_keypair_path)


def serve(host: Optional[str] = typer.Option(None, help="Bind address (default: api_host setting)."),
          port: Optional[int] = typer.Option(None, help="Port (default: api_port setting)."),
          window_s: int = WINDOW, grace_s: int = GRACE, heartbeat_timeout_s: int = HB_TIMEOUT,
          sample_timeout_s: int = SAMPLE_TIMEOUT, batch_interval_s: int = BATCH_INTERVAL,
          config_version: int = CONFIG_VERSION,
          follow_chain: bool = typer.Option(
              True, help="Issue receipts for the config version in force on-chain, re-read from the Config "
                         "account (rpc_url, program_id settings) on every run; --no-follow-chain uses "
                         "--config-version."),
          jobs: bool = typer.Option(True, help="Also seal windows and build batches on a schedule."),
          workers: int = typer.Option(1, min=1, max=64, help="Ingest processes: parsing and storing usage is "
                                      "CPU-bound, so one per core; each request goes to the next free one."),
          ingest_busy_timeout_ms: int = typer.Option(
              2000, "--ingest-busy-timeout-ms", envvar="SOLMETER_METER_INGEST_BUSY_TIMEOUT_MS", min=0, max=9000,
              help="How long an ingest waits for the database's write lock held by another process before it "
                   "answers 503 with Retry-After (under the agents' 10 s timeout)."),
          admin: list[str] = typer.Option([], "--admin", envvar="SOLMETER_METER_ADMINS",
                                          help="A key that reads all of the read API, the operator's "
                                               "(repeatable; the meter key always does).")) -> None:
    """Run the meter API (ingest + read API + /metrics + /docs) and its sealing and batching jobs."""
    s = _settings()
    engine = _engine()
    guard_engine(engine)  # the database file removed or replaced: every transaction refused, the server stops
    cfg = dataclasses.replace(
        _meter_config(window_s, grace_s, heartbeat_timeout_s, sample_timeout_s, batch_interval_s, config_version),
        ingest_busy_timeout_ms=ingest_busy_timeout_ms)
    meter = _meter_keypair()
    source = providers = floors = None
    if follow_chain:
        source = config_version_reader(s.resolved_rpc_url, s.resolved_program_id)
        cfg = dataclasses.replace(cfg, config_version=_first_version(source))
        providers = ChainProviders(provider_registry_reader(s.resolved_rpc_url, s.resolved_program_id))
        floors = _check_against_chain(engine, s.resolved_rpc_url, s.resolved_program_id)
    h, p = host or s.api_host, port if port is not None else s.api_port

    try:
        admins = admin_keys(admin)
    except ValueError as e:
        _fail(str(e))
    application = create_app(engine, cfg, meter, ingest_processes=workers if workers > 1 else 0,
                             chain_providers=providers, admins=admins)
    sched = (MeterJobs(engine, cfg, meter, _now, application.state.metrics, config_version_source=source,
                       floors=floors).start_scheduler() if jobs else None)
    procs = f", {workers} ingest processes" if workers > 1 else ""
    typer.echo(f"meter {meter.pubkey()} serving on http://{h}:{p}{procs} (docs at /docs, metrics at /metrics)", err=True)

    try:
        fatal = serve_guarded(application, h, p, on_fatal=(sched.pause,) if sched else ())
    finally:
        if sched:
            sched.shutdown(wait=False)
    if fatal:
        _fail(fatal)


def migrate() -> None:
    """Create or upgrade the database schema (Alembic)."""
    e = _engine()
    typer.echo(f"schema up to date: {e.url.render_as_string(hide_password=True)}")


def seal(window_s: int = WINDOW, grace_s: int = GRACE, heartbeat_timeout_s: int = HB_TIMEOUT,
         sample_timeout_s: int = SAMPLE_TIMEOUT, batch_interval_s: int = BATCH_INTERVAL,
         config_version: int = CONFIG_VERSION,
         batch: bool = typer.Option(False, "--batch", help="Also close a Merkle batch now.")) -> None:
    """Seal every window that is due now, issue receipts, and optionally close a batch."""
    cfg = _meter_config(window_s, grace_s, heartbeat_timeout_s, sample_timeout_s, batch_interval_s, config_version)
    rep = MeterJobs(_engine(), cfg, _meter_keypair(), _now).run_once(force_batch=batch)
    typer.echo(f"sealed {rep.seal.windows} window(s): {rep.seal.events} event(s), {rep.seal.late_events} late, "
               f"{rep.seal.receipts} receipt(s)")
    for f in {(f.customer, f.provider): f for f in rep.seal.failed}.values():
        typer.echo(f"held back: channel customer {f.customer} / provider {f.provider}: {f.cause}. {f.action}")
    if rep.batch:
        typer.echo(f"batch {rep.batch.id}: {rep.batch.count} receipt(s), total {rep.batch.total}, root {rep.batch.root.hex()}")


def receipts(customer: Optional[str] = typer.Option(None, help="Customer public key."),
             provider: Optional[str] = typer.Option(None, help="Provider public key."),
             limit: int = typer.Option(50, min=1, max=1000),
             as_json: bool = typer.Option(False, "--json", help="Full receipts with signature and proof.")) -> None:
    """List receipts of a customer, a provider or a channel."""
    if not customer and not provider:
        _fail("give --customer, --provider or both")
    RR = ReceiptRow.__table__
    q = select(RR).order_by(RR.c.customer, RR.c.provider, RR.c.seq.desc()).limit(limit)
    if customer:
        q = q.where(RR.c.customer == customer)
    if provider:
        q = q.where(RR.c.provider == provider)
    with _engine().connect() as conn:
        views = [receipt_view(conn, r) for r in conn.execute(q)]
    if as_json:
        typer.echo(json.dumps(views, indent=2))
        return
    if not views:
        typer.echo("no receipts")
    for v in views:
        typer.echo(receipt_line(v))


def usage(customer: str = typer.Option(..., help="Customer public key."),
          provider: Optional[str] = typer.Option(None, help="Only this provider."),
          minutes: int = typer.Option(60, min=1, help="Look back this many minutes."),
          heartbeat_timeout_s: int = HB_TIMEOUT, sample_timeout_s: int = SAMPLE_TIMEOUT) -> None:
    """Live usage of a customer over the last minutes (not yet sealed usage included)."""
    UE = UsageEvent.__table__
    end = _now()
    start = end - minutes * 60_000
    lookback = max(heartbeat_timeout_s, sample_timeout_s) * 1000
    q = customer_events(customer, provider, start - lookback, end, UE.c.customer, UE.c.provider, UE.c.kind,
                        UE.c.resource, UE.c.rclass, UE.c.value, UE.c.t_ms, UE.c.event_id)
    with _engine().connect() as conn:
        rows = conn.execute(q).all()
    per = rollup_channels(rows, end, heartbeat_timeout_ms=heartbeat_timeout_s * 1000,
                          sample_timeout_ms=sample_timeout_s * 1000, start_ms=start)
    if not per:
        typer.echo("no usage in that range")
    for (_, prov), cu in sorted(per.items()):
        typer.echo(f"provider {prov}")
        for (fam, cls), q_ in sorted(cu.quantities.items()):
            name = FAMILY_NAMES[fam]
            typer.echo(f"  {name:8} {cls:10} {quantity_text(name, q_)}")
        for g in cu.gaps:
            typer.echo(f"  gap (not billed) {FAMILY_NAMES[g.family]} {g.resource}: {g.start_ms}..{g.end_ms}")


@providers_app.command("add")
def providers_add(pubkey: str = typer.Argument(..., help="Provider wallet public key (base58)."),
                  name: str = typer.Option("", help="A label.")) -> None:
    """Allow a provider key to report usage."""
    try:
        add_provider(_engine(), pubkey, _now(), name)
    except ValueError as e:
        _fail(str(e))
    typer.echo(f"provider {pubkey} may report usage")


@providers_app.command("remove")
def providers_remove(pubkey: str = typer.Argument(..., help="Provider public key.")) -> None:
    """Stop accepting usage from a provider (its past usage stays)."""
    if not deactivate_provider(_engine(), pubkey):
        _fail(f"{pubkey} is not a registered provider")
    typer.echo(f"provider {pubkey} deactivated")


@providers_app.command("list")
def providers_list() -> None:
    """List registered providers."""
    rows = list_providers(_engine())
    if not rows:
        typer.echo("no providers")
    for r in rows:
        typer.echo(f"{r['pubkey']}  {'active' if r['active'] else 'inactive':8}  {r['name']}")


@customers_app.command("pause")
def customers_pause(pubkey: str = typer.Argument(..., help="Customer public key."),
                    reason: str = typer.Option("escrow exhausted", help="Shown by the status API.")) -> None:
    """Mark a customer paused: agents and the meter bill no new work for it."""
    try:
        set_paused(_engine(), pubkey, True, _now(), reason)
    except ValueError as e:
        _fail(str(e))
    typer.echo(f"customer {pubkey} paused")


@customers_app.command("resume")
def customers_resume(pubkey: str = typer.Argument(..., help="Customer public key.")) -> None:
    """Clear a customer's paused flag."""
    try:
        set_paused(_engine(), pubkey, False, _now())
    except ValueError as e:
        _fail(str(e))
    typer.echo(f"customer {pubkey} resumed")


@prices_app.command("set")
def prices_set(path: Path = typer.Argument(..., help="Price book, JSON or YAML: version, gpu/storage/egress "
                                                      "tables of {class: {unit_price, per}}."),
               effective_from_ms: Optional[int] = typer.Option(None, help="Unix ms; default now.")) -> None:
    """Publish a new price-book version (versions only go up)."""
    try:
        data = yaml.safe_load(path.read_text())
        book = PriceBook.from_dict(data if isinstance(data, dict) else {})
        publish_price_book(_engine(), book, effective_from_ms if effective_from_ms is not None else _now(), _now())
    except FileNotFoundError:
        _fail(f"price book {path}: does not exist")
    except (yaml.YAMLError, ValueError) as e:
        _fail(f"price book {path}: {str(e).splitlines()[0]}")
    typer.echo(f"price book version {book.version} published")
    typer.echo(f"WARNING: price book v{book.version} is in the meter's database only, not committed on-chain: "
               f"auditors report every receipt priced with it NOT VERIFIED; commit it with `solmeter operator "
               f"prices set {path}` (the admin's key) instead", err=True)


@prices_app.command("show")
def prices_show() -> None:
    """Print every price-book version (the built-in default applies while there is none)."""
    with _engine().connect() as conn:
        books = list_price_books(conn)
    if not books:
        typer.echo(f"built-in default: {DEFAULT_PRICE_BOOK.to_json()}")
    for b in books:
        typer.echo(f"version {b['version']} in force from {local_time(b['effective_from_ms'], 'ms')} "
                   f"(unix ms {b['effective_from_ms']}): {b['prices']}")
