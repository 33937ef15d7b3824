"""`solmeter operator serve` as an operator runs it (a subprocess against the localnet): a minute of the running
meter and engine logs only a few lines at the default level (no scheduler "Running job" line per run, no line
per HTTP call), and /metrics covers the engine's jobs with fixed label sets."""
from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import time

import httpx
from solders.keypair import Keypair
from typer.testing import CliRunner

from ledger_helpers import free_port, start_node

RUN_S = 60  # "a minute of a running meter"


def _metric(text: str, name: str, **labels) -> float:
    sel = ",".join(f'{k}="{v}"' for k, v in labels.items())
    m = re.search(rf"^{re.escape(name)}{re.escape('{' + sel + '}') if sel else ''} (\S+)$", text, re.MULTILINE)
    assert m, f"{name}{{{sel}}} not in /metrics"
    return float(m.group(1))


def test_a_minute_of_serve_logs_a_few_lines_and_metrics_cover_the_jobs(isolated_env, monkeypatch):
    from solmeter.cli import app

    node = start_node(isolated_env / "chain")
    proc = None
    try:
        monkeypatch.setenv("SOLMETER_RPC_URL", node.rpc_url)
        monkeypatch.setenv("SOLMETER_DATA_DIR", str(isolated_env / "data"))
        res = CliRunner().invoke(app, ["operator", "init", "--arbiter", str(Keypair().pubkey())],
                                 catch_exceptions=False)
        assert res.exit_code == 0, res.output
        port = free_port()
        log_path = isolated_env / "serve.log"
        with open(log_path, "w") as log_file:
            proc = subprocess.Popen([sys.executable, "-m", "solmeter.cli", "operator", "serve", "--host", "127.0.0.1",
                                     "--port", str(port), "--window-s", "5", "--batch-interval-s", "10"],
                                    env=dict(os.environ), stdout=log_file, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:  # until the API answers (a condition, not a guess of how long start-up takes)
            assert proc.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        started = time.monotonic()
        calls = 0
        while time.monotonic() - started < RUN_S:  # HTTP traffic all along: none of it may be logged
            assert httpx.get(f"{base}/healthz", timeout=5).status_code == 200
            calls += 1
            time.sleep(0.5)
        metrics = httpx.get(f"{base}/metrics", timeout=5).text
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        lines = log_path.read_text().splitlines()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        node.stop()

    assert calls > 20  # traffic all minute long (a loaded machine answers more slowly)
    # the start-up line, uvicorn's own start and stop lines at most; before issue 14 about 2,190 a minute
    assert len(lines) <= 8, "\n".join(lines)
    assert not any("Running job" in line or "HTTP Request" in line or "GET /" in line for line in lines), lines
    assert lines[0].startswith("serving the meter API on http://127.0.0.1:")

    # every job ran many times in that minute, each run counted by outcome and timed
    assert _metric(metrics, "solmeter_job_runs_total", job="follow_chain", outcome="ok") >= 10
    assert _metric(metrics, "solmeter_job_runs_total", job="post_batches", outcome="blocked") == 0
    assert _metric(metrics, "solmeter_job_failures_total", job="settle_channels") == 0
    assert _metric(metrics, "solmeter_job_duration_seconds_count", job="reconcile") >= 2
    assert _metric(metrics, "solmeter_job_failing", job="post_batches") == 0
    assert _metric(metrics, "solmeter_intents", kind="settle", state="failed") == 0
    assert _metric(metrics, "solmeter_batch_backlog") == 0
    assert _metric(metrics, "solmeter_meter_key_lamports") == 10_000_000_000  # init's localnet airdrop
    assert _metric(metrics, "solmeter_seal_lag_seconds") < RUN_S  # the meter's jobs report to the same registry
    assert _metric(metrics, "solmeter_customers_paused") == 0
    assert _metric(metrics, "solmeter_rpc_requests_total", method="GetSignaturesForAddress", outcome="ok") >= 10
    assert _metric(metrics, "solmeter_rpc_duration_seconds_count", method="GetSignaturesForAddress") >= 10


def test_rpc_requests_are_counted_by_method_and_outcome(session_factory):
    """An unreachable endpoint counts as `unavailable`; the method label comes from a fixed list."""
    from prometheus_client import CollectorRegistry, generate_latest

    from ledger.engine.chain import ChainUnavailable, RpcChain
    from ledger.engine.jobs import JOB_NAMES
    from ledger.engine.metrics import EngineMetrics

    chain = RpcChain(f"http://127.0.0.1:{free_port()}", timeout=2)  # nothing listens there
    registry = CollectorRegistry()
    m = EngineMetrics(registry, session_factory, JOB_NAMES, chain, Keypair().pubkey())
    for _ in range(2):
        try:
            chain.block_height()
        except ChainUnavailable:
            pass
    m.on_rpc("SomethingNew", 0.01, None)
    text = generate_latest(registry).decode()
    assert _metric(text, "solmeter_rpc_requests_total", method="GetBlockHeight", outcome="unavailable") == 2
    assert _metric(text, "solmeter_rpc_requests_total", method="other", outcome="ok") == 1
    assert "SomethingNew" not in text
    assert _metric(text, "solmeter_batch_backlog") == 0
    assert "solmeter_meter_key_lamports" not in text  # the balance could not be read: no made-up value


def test_verbosity_opens_the_chatty_loggers_only_on_request():
    from solmeter.commands.log_levels import CHATTY, configure

    root = logging.getLogger()
    saved = (root.level, list(root.handlers), {n: logging.getLogger(n).level for n in CHATTY})
    try:
        assert configure(0) == "warning"
        assert root.level == logging.INFO
        assert all(logging.getLogger(n).getEffectiveLevel() == CHATTY[n] >= logging.WARNING for n in CHATTY)
        assert logging.getLogger("apscheduler").getEffectiveLevel() == logging.ERROR  # "skipped" polls: expected
        assert configure(1) == "warning" and root.level == logging.DEBUG
        assert logging.getLogger("httpx").getEffectiveLevel() == logging.WARNING
        assert configure(2) == "info"
        assert all(logging.getLogger(n).getEffectiveLevel() == logging.DEBUG for n in CHATTY)
    finally:
        root.setLevel(saved[0])
        root.handlers[:] = saved[1]
        for n, lvl in saved[2].items():
            logging.getLogger(n).setLevel(lvl)


def test_the_grafana_dashboard_names_only_metrics_the_service_exports(session_factory, node):
    """docs/grafana-solmeter.json: every metric a panel queries is one `operator serve` exports at /metrics
    (the meter's and the engine's, on one registry), so no panel stays empty because of a typo or a rename."""
    import json
    from pathlib import Path

    from prometheus_client import CollectorRegistry, generate_latest

    from ledger.engine.chain import RpcChain
    from ledger.engine.jobs import JOB_NAMES
    from ledger.engine.metrics import EngineMetrics
    from metering.metrics import MeterMetrics

    dash = json.loads((Path(__file__).resolve().parents[2] / "docs" / "grafana-solmeter.json").read_text())
    queried = {name for p in dash["panels"] for t in p["targets"] for name in re.findall(r"solmeter_[a-z_]+", t["expr"])}
    assert len(dash["panels"]) >= 10 and len(queried) >= 12
    meter = MeterMetrics(CollectorRegistry())
    meter.accepted.labels(type="x").inc()  # a labelled counter shows its samples once a label set exists
    meter.rejected.labels(reason="x").inc()
    EngineMetrics(meter.registry, session_factory, JOB_NAMES, RpcChain(node.rpc_url), Keypair().pubkey())
    exported = set(re.findall(r"^(solmeter_[a-z_]+)", generate_latest(meter.registry).decode(), re.MULTILINE))
    assert queried <= exported, queried - exported
