"""`solmeter meter serve --workers 2`: two worker processes share one SQLite file (writes serialized by a
flock), dedup holds across them, /metrics sums both, and the jobs run (in one of them)."""
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
from solders.keypair import Keypair
from typer.testing import CliRunner

from meter_helpers import EventFactory, free_port
from metering.auth import sign_request
from solmeter.cli import app

CUSTOMER = "4yCvCumrTMguA31fHcDAUieoyUsAtQwMMgyp1LPCkCnq"


def _cli(args):
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    return r.stdout


def _children(pid: int) -> list[int]:
    p = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in p.read_text().split()] if p.exists() else []


def _wait(url: str, proc, what: str, ok, timeout_s: float = 60):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            r = httpx.get(url, timeout=10)
            if ok(r):
                return r
        except httpx.HTTPError:
            pass
        assert proc.poll() is None, proc.stderr.read().decode()
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.1)


def _accepted_total(metrics_text: str) -> float:
    return sum(float(line.rsplit(" ", 1)[1]) for line in metrics_text.splitlines()
               if line.startswith("solmeter_events_accepted_total{"))


def test_two_workers_share_the_database_dedup_metrics_and_jobs(isolated_env, monkeypatch):
    # Given a meter with two worker processes (jobs on: 1-second windows, batches every second)
    monkeypatch.setenv("SOLMETER_DATA_DIR", str(isolated_env / "data"))
    kp = Keypair()
    _cli(["meter", "providers", "add", str(kp.pubkey())])
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "solmeter.cli", "meter", "serve", "--port", str(port), "--workers", "2",
                             "--no-follow-chain", "--window-s", "1", "--grace-s", "0", "--batch-interval-s", "1"],
                            env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url + "/healthz", proc, "the meter", lambda r: r.status_code == 200)
        deadline = time.monotonic() + 60
        while len(_children(proc.pid)) < 2:  # uvicorn's supervisor and its two workers
            assert time.monotonic() < deadline, "two workers did not start"
            time.sleep(0.1)

        # When 8 batches of heartbeats arrive at once, each over its own connection, and one is replayed
        f = EventFactory(kp, CUSTOMER)
        now = time.time_ns() // 1_000_000
        bodies = [json.dumps([f.hb(f"L{b}", now - 5_000 + i * 1_000, count=2) for i in range(5)]).encode()
                  for b in range(8)]

        def post(k: int, body: bytes) -> httpx.Response:
            h = sign_request(kp, "POST", "/v1/events/batch", body, now + k)
            with httpx.Client(base_url=url, timeout=30) as c:  # a fresh connection: either worker may take it
                return c.post("/v1/events/batch", content=body,
                              headers={**h, "content-type": "application/cloudevents-batch+json"})

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(post, range(8), bodies))
        replay = post(100, bodies[0])

        # Then every event is stored once, the replay is a duplicate wherever it lands
        assert [r.status_code for r in answers] == [200] * 8
        assert sum(r.json()["accepted"] for r in answers) == 40
        assert replay.status_code == 200 and replay.json()["duplicates"] == 5 and replay.json()["accepted"] == 0
        # and /metrics, answered by either worker, counts all 40 (summed over the worker processes)
        for _ in range(6):
            with httpx.Client(base_url=url, timeout=10) as c:
                assert _accepted_total(c.get("/metrics").text) == 40
        # and the jobs run: the sealed windows become receipts
        r = _wait(f"{url}/v1/receipts?customer={CUSTOMER}", proc, "receipts",
                  lambda r: r.status_code == 200 and len(r.json()["receipts"]) > 0)
        assert r.json()["receipts"][0]["customer"] == CUSTOMER
    finally:
        proc.terminate()
        proc.wait(timeout=30)
