"""`solmeter agent gpu|storage`: the provider-side collectors."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

app = typer.Typer(help="Provider agents that report signed usage to the meter.", no_args_is_help=True)

API = typer.Option(None, "--api", envvar="SOLMETER_METER_API", help="Meter API URL (default: http://api_host:api_port).")
SPOOL = typer.Option(None, "--spool", help="Spool directory (default: <data_dir>/spool/<agent>).")
ONCE = typer.Option(False, "--once", help="Run one cycle and exit (exit code 2 if events stay spooled).")


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(1)


def _common(api: Optional[str], spool: Optional[Path], name: str):
    from solmeter.config import load_settings
    from solmeter.keys import load_keypair

    from .agents.client import MeterClient
    from .agents.spool import Spool

    s = load_settings()
    kp = load_keypair(s.resolved_keypair_path)
    url = api or f"http://{s.api_host}:{s.api_port}"
    return kp, MeterClient(url, kp), Spool(spool or s.data_dir.expanduser() / "spool" / name), url


def _loop(tick, interval_s: int, once: bool, describe) -> None:
    while True:
        rep = tick()
        typer.echo(describe(rep), err=True)
        if once:
            raise typer.Exit(2 if rep.flush and rep.flush.remaining else 0)
        time.sleep(interval_s)


def _flush_text(f) -> str:
    if f is None:
        return ""
    s = f"sent {f.accepted} new, {f.duplicates} duplicate"
    if f.dropped:
        s += f", {len(f.dropped)} refused (first: {f.dropped[0]['field']}: {f.dropped[0]['reason']})"
    if f.remaining:
        s += f", {f.remaining} spooled"
    if f.error:
        s += f" [{f.error}]"
    return s


@app.command()
def gpu(jobs: Path = typer.Option(..., "--jobs", help="JSON file listing running leases: {\"leases\": [{lease_id, "
                                                      "customer, gpu_class, gpu_count, gpu_indices}]}."),
        api: Optional[str] = API, spool: Optional[Path] = SPOOL,
        interval_s: int = typer.Option(30, "--interval-s", min=1, max=3600, help="Heartbeat interval."),
        fake_telemetry: bool = typer.Option(False, help="Report fake GPU readings (demos without a GPU)."),
        once: bool = ONCE) -> None:
    """Report GPU lease heartbeats (with NVML telemetry where a GPU exists) for the leases in --jobs."""
    from .agents.gpu import GpuAgent
    from .agents.jobs import FileJobSource, JobSourceError
    from .agents.telemetry import FakeTelemetry, open_telemetry

    kp, client, sp, url = _common(api, spool, "gpu")
    tel = FakeTelemetry() if fake_telemetry else open_telemetry()
    typer.echo(f"gpu agent {kp.pubkey()} -> {url}; telemetry: {tel.status()}; spool {sp.dir}", err=True)
    agent = GpuAgent(kp, FileJobSource(jobs), tel, sp, client, interval_ms=interval_s * 1000)

    def tick():
        try:
            return agent.tick()
        except JobSourceError as e:
            _fail(str(e))

    _loop(tick, interval_s, once, lambda r: f"{r.heartbeats} heartbeat(s), {r.stops} stop(s)"
          + (f", {len(r.skipped_paused)} new lease(s) of paused customers not billed" if r.skipped_paused else "")
          + f"; {_flush_text(r.flush)}")


@app.command()
def storage(paths: list[str] = typer.Argument(..., help="Bucket directories, as PATH or NAME=PATH."),
            customer: str = typer.Option(..., help="Customer public key the buckets belong to."),
            storage_class: str = typer.Option("STANDARD", "--class", help="Storage class of these buckets."),
            api: Optional[str] = API, spool: Optional[Path] = SPOOL,
            interval_s: int = typer.Option(60, "--interval-s", min=1, max=3600, help="Sampling interval."),
            once: bool = ONCE) -> None:
    """Sample allocated bytes of bucket directories on an interval and report them."""
    from .agents.storage import Bucket, StorageAgent
    from .events.envelope import _pubkey

    try:
        _pubkey(customer)
    except ValueError:
        _fail(f"--customer {customer!r} is not a base58 Solana public key")
    buckets = []
    for p in paths:
        name, _, path = p.rpartition("=") if "=" in p else ("", "", p)
        path_ = Path(path).expanduser()
        buckets.append(Bucket(name or path_.resolve().name or "root", path_, customer, storage_class))
    kp, client, sp, url = _common(api, spool, "storage")
    typer.echo(f"storage agent {kp.pubkey()} -> {url}; {len(buckets)} bucket(s); spool {sp.dir}", err=True)
    agent = StorageAgent(kp, buckets, sp, client)
    _loop(agent.tick, interval_s, once, lambda r: f"{r.samples} sample(s)"
          + (f", missing: {', '.join(r.missing)}" if r.missing else "") + f"; {_flush_text(r.flush)}")
