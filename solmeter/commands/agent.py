"""`solmeter agent gpu|storage`: the provider-side collectors."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Optional

import typer

from metering.agents import telemetry  # as a module: tests replace telemetry.open_telemetry
from solmeter.config import load_settings
from solmeter.flags import current as current_flags
from metering.agents.client import MeterClient
from metering.agents.gpu import GpuAgent, NoGpuError
from metering.agents.jobs import FileJobSource, JobSourceError
from metering.agents.spool import Spool
from metering.agents.storage import Bucket, DirectorySource, StorageAgent, class_problem, name_problem
from metering.events.envelope import _pubkey
from solmeter.keys import load_keypair

app = typer.Typer(help="Provider agents that report signed usage to the meter.", no_args_is_help=True)

API = typer.Option(None, "--api", envvar="SOLMETER_METER_API", help="Meter API URL (default: http://api_host:api_port).")
SPOOL = typer.Option(None, "--spool", help="Spool directory (default: <data_dir>/spool/<agent>).")
ONCE = typer.Option(False, "--once", help="Run one cycle and exit (exit code 2 if events stay spooled).")


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(1)


def _common(api: Optional[str], spool: Optional[Path], name: str):
    s = load_settings(flags=current_flags())
    kp = load_keypair(s.resolved_keypair_path)
    url = api or f"http://{s.api_host}:{s.api_port}"
    return kp, MeterClient(url, kp), Spool(spool or s.data_dir.expanduser() / "spool" / name), url


def _spooled(rep) -> int:
    return 2 if rep.flush and rep.flush.remaining else 0


def _loop(tick, interval_s: int, once: bool, describe, exit_code=_spooled) -> None:
    while True:
        rep = tick()
        typer.echo(describe(rep), err=True)
        if once:
            raise typer.Exit(exit_code(rep))
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
                                                      "customer, gpu_class, gpu_count, gpu_indices}]}; lease_id is the id of the "
                                                      "lease the customer signed (solmeter customer lease sign)."),
        api: Optional[str] = API, spool: Optional[Path] = SPOOL,
        interval_s: int = typer.Option(30, "--interval-s", min=1, max=3600, help="Heartbeat interval."),
        fake_telemetry: bool = typer.Option(False, help="Report fake GPU readings (demos without a GPU)."),
        broker: bool = typer.Option(False, "--broker", help="Report the leases of a job runner that sees the GPUs on "
                                                            "another host (this host needs none; no telemetry)."),
        once: bool = ONCE) -> None:
    """Report GPU lease heartbeats (with NVML telemetry where a GPU exists) for the leases in --jobs. Without a
    GPU seen on this host it refuses (exit 1) unless run with --broker."""
    kp, client, sp, url = _common(api, spool, "gpu")
    tel = telemetry.FakeTelemetry() if fake_telemetry else telemetry.open_telemetry()
    try:
        agent = GpuAgent(kp, FileJobSource(jobs), tel, sp, client, interval_ms=interval_s * 1000, broker=broker)
    except NoGpuError as e:
        _fail(str(e))
    typer.echo(f"gpu agent {kp.pubkey()} -> {url}; telemetry: {tel.status()}{' (broker)' if broker else ''}; "
               f"spool {sp.dir}", err=True)

    def tick():
        try:
            return agent.tick()
        except JobSourceError as e:
            _fail(str(e))

    _loop(tick, interval_s, once, lambda r: f"{r.heartbeats} heartbeat(s), {r.stops} stop(s)"
          + (f", {len(r.skipped_paused)} new lease(s) of paused customers not billed" if r.skipped_paused else "")
          + f"; {_flush_text(r.flush)}")


@app.command()
def storage(paths: list[str] = typer.Argument(..., help="Buckets: directories (PATH) and S3 buckets "
                                                       "(s3://BUCKET or s3://BUCKET/PREFIX), each optionally NAME=...; NAME (default: the "
                                                       "bucket) is the id of the lease the customer signed for it."),
            customer: str = typer.Option(..., help="Customer public key the buckets belong to."),
            storage_class: str = typer.Option("STANDARD", "--class", help="Storage class of the directory buckets "
                                              "(an S3 bucket reports each class its objects are stored in)."),
            endpoint_url: Optional[str] = typer.Option(None, "--endpoint-url", help="S3-compatible endpoint "
                                                       "(MinIO, Ceph, R2, ...); default: AWS, or AWS_ENDPOINT_URL."),
            profile: Optional[str] = typer.Option(None, "--profile", help="AWS profile of the shared credentials "
                                                  "and config files (default: AWS_PROFILE or default)."),
            region: Optional[str] = typer.Option(None, "--region", help="S3 region (default: AWS_REGION or the "
                                                 "profile's)."),
            s3_timeout_s: float = typer.Option(60.0, "--s3-timeout-s", min=1, max=600,
                                               help="Timeout of one S3 request (connect: at most 10 s)."),
            s3_attempts: int = typer.Option(3, "--s3-attempts", min=1, max=10,
                                            help="Tries per S3 request, the first included (with backoff)."),
            api: Optional[str] = API, spool: Optional[Path] = SPOOL,
            interval_s: int = typer.Option(60, "--interval-s", min=1, max=3600, help="Sampling interval."),
            once: bool = ONCE) -> None:
    """Sample the bytes of buckets per storage class on an interval and report them. A bucket that cannot be
    read completely gets no sample that tick (the meter reports the gap); --once exits 3 then."""
    try:
        _pubkey(customer)
    except ValueError:
        _fail(f"--customer {customer!r} is not a base58 Solana public key")
    if (why := class_problem(storage_class)):
        _fail(f"--class {storage_class!r}: {why}")
    s3_opts = dict(endpoint_url=endpoint_url, profile=profile, region=region, attempts=s3_attempts,
                   connect_timeout_s=min(10.0, s3_timeout_s), read_timeout_s=s3_timeout_s)
    buckets, client = [], None
    for p in paths:
        name, path = ("", p) if p.startswith("s3://") or "=" not in p else p.split("=", 1)
        if path.startswith("s3://"):
            # botocore takes ~0.3 s to import: only an agent given an S3 bucket loads it.
            from metering.agents.s3 import S3ConfigError, S3Listing, S3Location, S3Options, s3_client

            try:
                loc = S3Location.parse(path)
                client = client or s3_client(S3Options(**s3_opts))
            except S3ConfigError as e:
                _fail(str(e))
            source = S3Listing(loc, client)
            name = name or f"{loc.bucket}/{loc.prefix}".rstrip("/")
        else:
            path_ = Path(path).expanduser()
            source = DirectorySource(path_, storage_class)
            name = name or path_.resolve().name or "root"
        if (why := name_problem(name, source.reports_classes)):
            _fail(f"bucket name {name!r} (of {p!r}): {why}; give NAME=...")
        if any(b.name == name for b in buckets):
            _fail(f"bucket name {name!r} is given twice: name them apart with NAME=...")
        buckets.append(Bucket(name, source, customer))
    kp, mclient, sp, url = _common(api, spool, "storage")
    typer.echo(f"storage agent {kp.pubkey()} -> {url}; {len(buckets)} bucket(s); spool {sp.dir}", err=True)
    agent = StorageAgent(kp, buckets, sp, mclient)
    _loop(agent.tick, interval_s, once, lambda r: f"{r.samples} sample(s)"
          + (f", not read: {'; '.join(f'{where} ({why})' for where, why in r.unread)}" if r.unread else "")
          + f"; {_flush_text(r.flush)}", lambda r: _spooled(r) or (3 if r.unread else 0))
