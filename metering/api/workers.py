"""`solmeter meter serve --workers N`: the app factory each uvicorn worker process runs.

Ingestion is CPU-bound Python (decode, validate, hash) around one short SQLite write, so it uses several
cores through processes: each worker parses its own requests and takes the database's write lock only
for the transaction (`metering.ingest.SqliteWriteLock`, a flock shared by the workers). The parent
process resolves the settings once and hands them over in `SPEC_ENV` (JSON); uvicorn spawns the workers.

- Jobs (sealing, batching) run in exactly one worker: the one holding `<run dir>/jobs.lock` (flock),
  held for the life of that process; if it dies, the next worker that starts takes over.
- Metrics: Prometheus multiprocess mode (`PROMETHEUS_MULTIPROC_DIR`, set by the parent before any
  worker imports prometheus_client), so /metrics on any worker shows the sum over all of them."""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import time

SPEC_ENV = "SOLMETER_METER_SERVE_SPEC"
_leader_fd: int | None = None  # kept open: closing it would release the jobs lock


def serve_spec(cfg, *, database_url: str, meter_keypair_path: str, rpc_url: str, program_id: str,
               follow_chain: bool, jobs: bool, run_dir: str) -> str:
    """What a worker needs to build the same app as the parent would (JSON)."""
    return json.dumps({"cfg": dataclasses.asdict(cfg), "database_url": database_url,
                       "meter_keypair_path": meter_keypair_path, "rpc_url": rpc_url, "program_id": program_id,
                       "follow_chain": follow_chain, "jobs": jobs, "run_dir": run_dir})


def _lead(run_dir: str) -> bool:
    global _leader_fd
    fd = os.open(os.path.join(run_dir, "jobs.lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return False
    _leader_fd = fd
    return True


def app():
    from solders.keypair import Keypair

    from ledger.db import make_engine

    from ..config import MeterConfig
    from ..events.limits import Limits
    from ..service import MeterJobs
    from . import create_app

    spec = json.loads(os.environ[SPEC_ENV])
    c = dict(spec["cfg"])
    cfg = MeterConfig(**{**c, "limits": Limits(**c["limits"])})
    engine = make_engine(spec["database_url"])  # the parent ran the migrations
    with open(spec["meter_keypair_path"]) as f:
        meter = Keypair.from_bytes(bytes(json.load(f)))
    application = create_app(engine, cfg, meter)
    if spec["jobs"] and _lead(spec["run_dir"]):
        source = None
        if spec["follow_chain"]:
            from ..chain_version import config_version_reader

            source = config_version_reader(spec["rpc_url"], spec["program_id"])
        MeterJobs(engine, cfg, meter, lambda: time.time_ns() // 1_000_000, application.state.metrics,
                  config_version_source=source).start_scheduler()
    return application
