"""`solmeter meter serve --workers 2`: ingest requests run in a pool of two processes sharing one SQLite
file (transactions serialized by a flock); dedup holds across them, /metrics counts what both stored, the
jobs run, and a pool process that dies costs one 503 and nothing written."""
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

from meter_helpers import EventFactory, free_port, lease_bodies_for
from metering.auth import sign_request
from metering.read_client import SignedReader
from solmeter.cli import app

CUSTOMER = str(Keypair.from_seed(bytes([2]) * 32).pubkey())  # its key signs the leases (meter_helpers.CUSTOMER_KEYS)


def _cli(args):
    r = CliRunner().invoke(app, args)
    assert r.exit_code == 0, r.output
    return r.stdout


def _children(pid: int) -> list[int]:
    p = Path(f"/proc/{pid}/task/{pid}/children")
    return [int(c) for c in p.read_text().split()] if p.exists() else []


def _pool(pid: int) -> list[int]:
    """The ingest processes: children of the meter spawned by multiprocessing (not its resource tracker)."""
    return [c for c in _children(pid)
            if b"multiprocessing.spawn" in Path(f"/proc/{c}/cmdline").read_bytes().replace(b"\0", b" ")]


def _wait(url: str, proc, what: str, ok, timeout_s: float = 60, get=lambda url: httpx.get(url, timeout=10)):
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            r = get(url)
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


def test_two_ingest_processes_share_the_database_dedup_metrics_and_jobs(isolated_env, monkeypatch):
    # Given a meter with two ingest processes (jobs on: 1-second windows, batches every second)
    monkeypatch.setenv("SOLMETER_DATA_DIR", str(isolated_env / "data"))
    kp, operator = Keypair(), Keypair()
    _cli(["meter", "providers", "add", str(kp.pubkey())])
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "solmeter.cli", "meter", "serve", "--port", str(port), "--workers", "2",
                             "--no-follow-chain", "--window-s", "1", "--grace-s", "0", "--batch-interval-s", "1",
                             "--admin", str(operator.pubkey())],
                            env=os.environ.copy(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait(url + "/healthz", proc, "the meter", lambda r: r.status_code == 200)
        deadline = time.monotonic() + 60
        while len(_pool(proc.pid)) < 2:
            assert time.monotonic() < deadline, "two ingest processes did not start"
            time.sleep(0.1)

        # When 8 batches of heartbeats arrive at once, each over its own connection, and one is replayed
        f = EventFactory(kp, CUSTOMER)
        now = time.time_ns() // 1_000_000
        batches = [[f.hb(f"L{b}", now - 5_000 + i * 1_000, count=2) for i in range(5)] for b in range(8)]
        for lease in lease_bodies_for([e for b in batches for e in b]):  # the customer signs its 8 leases
            assert httpx.post(url + "/v1/leases", json=lease).status_code == 201
        bodies = [json.dumps(b).encode() for b in batches]

        def post(k: int, body: bytes) -> httpx.Response:
            h = sign_request(kp, "POST", "/v1/events/batch", body, now + k)
            with httpx.Client(base_url=url, timeout=30) as c:
                return c.post("/v1/events/batch", content=body,
                              headers={**h, "content-type": "application/cloudevents-batch+json"})

        with ThreadPoolExecutor(4) as pool:
            answers = list(pool.map(post, range(8), bodies))
        replay = post(100, bodies[0])

        # Then every event is stored once, the replay is a duplicate wherever it lands
        assert [r.status_code for r in answers] == [200] * 8
        assert sum(r.json()["accepted"] for r in answers) == 40
        assert replay.status_code == 200 and replay.json()["duplicates"] == 5 and replay.json()["accepted"] == 0
        # and /metrics counts all 40 (the pool processes' counts are replayed in the HTTP process)
        assert _accepted_total(httpx.get(url + "/metrics").text) == 40
        # and the jobs run: the sealed windows become receipts
        # (read as the operator: --admin reads everything)
        as_operator = SignedReader(url, operator)
        r = _wait("/v1/receipts", proc, "receipts", lambda r: r.status_code == 200 and len(r.json()["receipts"]) > 0,
                  get=lambda path: as_operator.get(path, {"customer": CUSTOMER}))
        assert r.json()["receipts"][0]["customer"] == CUSTOMER

        # When a pool process is killed
        os.kill(_pool(proc.pid)[0], 9)
        time.sleep(0.5)
        extra_events = [f.hb("L9", now - 2_000 + i * 1_000, count=1) for i in range(2)]
        [lease] = lease_bodies_for(extra_events)
        assert httpx.post(url + "/v1/leases", json=lease).status_code == 201
        extra = json.dumps(extra_events).encode()
        first = post(200, extra)
        # Then that request (or, if the pool noticed first, none) is answered 503 and nothing of it is
        # written; sent again it is stored once, and the pool has two processes again
        assert first.status_code in (200, 503), first.text
        again = post(201, extra)
        assert again.status_code == 200
        assert again.json()["accepted"] + first.json().get("accepted", 0) == 2
        assert len(_pool(proc.pid)) >= 2
    finally:
        proc.terminate()
        proc.wait(timeout=30)
