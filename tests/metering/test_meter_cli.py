"""The meter and agent commands end to end: a real `solmeter meter serve` process, the storage agent
posting to it, sealing and batching from the CLI, and one-line errors."""
import json
import os
import re
import subprocess
import sys
import time

import httpx
import pytest
from solders.pubkey import Pubkey
from solders.signature import Signature

from contracts.merkle import verify_proof
from meter_helpers import free_port
from typer.testing import CliRunner

from contracts.cli_output import iso_utc
from solmeter.cli import app



def run(args, capsys):
    # Through Typer's standalone mode, as the console script runs it (exit codes included).
    r = CliRunner().invoke(app, args)
    if r.exception and not isinstance(r.exception, SystemExit):
        raise r.exception
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture
def env(isolated_env, monkeypatch):
    data = isolated_env / "data"
    monkeypatch.setenv("SOLMETER_DATA_DIR", str(data))
    return data


def test_serve_agent_seal_receipts(env, capsys, tmp_path):
    code, pk, _ = run(["keys", "new", str(env / "id.json")], capsys)
    assert code == 0
    pk = pk.strip()
    code, CUSTOMER, _ = run(["keys", "new", str(env / "customer.json")], capsys)
    CUSTOMER = CUSTOMER.strip()
    assert run(["meter", "providers", "add", pk, "--name", "p1"], capsys)[0] == 0
    code, out, _ = run(["meter", "providers", "list"], capsys)
    assert pk in out and "active" in out
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "solmeter.cli", "meter", "serve", "--port", str(port), "--no-jobs", "--no-follow-chain",
                             "--window-s", "1", "--grace-s", "0"], env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(url + "/healthz").status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None, proc.stderr.read().decode()
            assert time.monotonic() < deadline, "meter did not start"
            time.sleep(0.1)
        bucket = tmp_path / "bucket"
        bucket.mkdir()
        # the customer consents first: a storage lease for the agent's bucket NAME, a GPU lease for the job
        cust = ["--api", url, "-k", str(env / "customer.json")]
        code, out, err = run(["customer", "lease", "sign", "bk", "--provider", pk, "--storage", str(bucket),
                              "--class", "STANDARD=1000000000", "--cap", "10", *cust], capsys)
        assert code == 0, err
        assert out.startswith("lease bk stored: ") and "(10000000 base units)" in out and "(STANDARD <= 1000000000 bytes)" in out
        code, out, err = run(["customer", "lease", "sign", "job-1", "--provider", pk, "--gpu", "H100:2",
                              "--cap", "10", *cust], capsys)
        assert code == 0, err
        code, out, _ = run(["customer", "lease", "list", *cust], capsys)
        assert code == 0 and out.count("active") == 2 and "job-1  gpu  provider " + pk in out
        code, _, err = run(["customer", "lease", "sign", "x", "--provider", pk, "--gpu", "H100", "--cap", "1", *cust],
                           capsys)
        assert code == 1 and err.strip() == "error: --gpu 'H100': expected CLASS:COUNT, e.g. H100:8"
        code, _, err = run(["customer", "lease", "revoke", "nope", *cust], capsys)
        assert code == 1 and err.count("\n") == 1 and "HTTP 404" in err and "no lease 'nope'" in err
        for lid in ("tmp", "tmp2"):
            code, _, err = run(["customer", "lease", "sign", lid, "--provider", pk, "--gpu", "H100:1", "--cap", "1", *cust],
                               capsys)
            assert code == 0, err
        code, _, err = run(["customer", "lease", "revoke", "tmp", *cust], capsys)  # final: asks, refused without -y
        assert code == 1 and "revoke lease tmp of customer" in err and "-y" in err, err
        code, out, _ = run(["customer", "lease", "list", *cust], capsys)
        assert "tmp  " in out and out.count("revoked") == 0  # nothing was sent
        code, out, err = run(["customer", "lease", "revoke", "tmp", "-y", *cust], capsys)  # a time for people, not unix ms
        assert code == 0 and re.fullmatch(r"lease tmp revoked at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4}\n", out), out
        at = int(time.time() * 1000) + 60_000
        code, out, err = run(["customer", "lease", "revoke", "tmp2", "--at-ms", str(at), "--output", "json", "-y", *cust],
                             capsys)
        assert code == 0, err
        assert json.loads(out) == {"action": "customer lease revoke", "lease_id": "tmp2", "status": "revoked",
                                   "revoked_at_ms": at, "revoked_at": iso_utc(at, "ms")}
        (bucket / "f").write_bytes(b"z" * 100_000)
        for _ in range(2):
            code, _, err = run(["agent", "storage", f"bk={bucket}", "--customer", CUSTOMER, "--api", url, "--once"], capsys)
            assert code == 0, err
            assert "1 sample(s); sent 1 new" in err
            time.sleep(0.05)
        jobs = tmp_path / "jobs.json"
        jobs.write_text(json.dumps({"leases": [{"lease_id": "job-1", "customer": CUSTOMER, "gpu_class": "H100",
                                                "gpu_count": 2, "gpu_indices": [0, 1]}]}))
        code, _, err = run(["agent", "gpu", "--jobs", str(jobs), "--api", url, "--fake-telemetry", "--once"], capsys)
        assert code == 0, err
        assert "telemetry: fake GPU telemetry" in err and "1 heartbeat(s), 0 stop(s); sent 1 new" in err
        code, out, _ = run(["meter", "usage", "--customer", CUSTOMER], capsys)
        assert code == 0 and "storage" in out and "STANDARD" in out
        time.sleep(1.1)  # let the second sample's 1-second window end
        code, out, err = run(["meter", "seal", "--window-s", "1", "--grace-s", "0", "--batch"], capsys)
        assert code == 0, err
        assert "receipt(s)" in out and "batch 1:" in out
        code, out, _ = run(["meter", "receipts", "--customer", CUSTOMER, "--json"], capsys)
        receipts = json.loads(out)
        assert receipts and receipts[0]["cum_byte_seconds"] > 0
        r = receipts[0]
        rid = bytes.fromhex(r["receipt_id"])
        assert Signature.from_string(r["signature"]).verify(Pubkey.from_string(r["meter_pubkey"]), rid)
        assert verify_proof(rid, [bytes.fromhex(h) for h in r["proof"]], bytes.fromhex(r["batch"]["root"]))
        served = httpx.get(f"{url}/v1/receipts/{r['receipt_id']}").json()
        assert served["signature"] == r["signature"]
        assert "solmeter_events_accepted_total" in httpx.get(url + "/metrics").text
    finally:
        proc.terminate()
        proc.wait(20)


def test_errors_are_one_line(env, capsys, tmp_path):
    code, _, err = run(["meter", "providers", "add", "not-a-key"], capsys)
    assert code == 1 and err.count("\n") == 1 and "not a base58" in err
    code, _, err = run(["meter", "receipts"], capsys)
    assert code == 1 and err.strip() == "error: give --customer, --provider or both"
    code, _, err = run(["meter", "serve", "--no-follow-chain", "--no-jobs", "--admin", "nope"], capsys)
    assert code == 1 and err.strip() == "error: --admin 'nope' is not a base58 Solana public key"
    bad = tmp_path / "prices.yaml"
    bad.write_text("version: 0\n")
    code, _, err = run(["meter", "prices", "set", str(bad)], capsys)
    assert code == 1 and err.count("\n") == 1 and "version" in err
    code, _, err = run(["agent", "storage", "x", "--customer", "nope", "--once"], capsys)
    assert code == 1 and err.count("\n") == 1 and "--customer" in err
    run(["keys", "new", str(env / "id.json")], capsys)
    jobs = tmp_path / "jobs.json"
    jobs.write_text("{broken")
    code, _, err = run(["agent", "gpu", "--jobs", str(jobs), "--api", "http://127.0.0.1:9", "--broker", "--once"], capsys)
    assert code == 1 and "jobs file" in err.splitlines()[-1]


def test_prices_set_and_show(env, capsys, tmp_path):
    book = tmp_path / "prices.yaml"
    book.write_text("version: 2\ngpu:\n  H100: {unit_price: 3000000, per: 3600000}\n")
    assert run(["meter", "prices", "set", str(book)], capsys)[0] == 0
    code, out, _ = run(["meter", "prices", "show"], capsys)
    assert code == 0 and "version 2" in out and "3000000" in out
    # when it is in force, as a date (was the bare unix milliseconds: `version 2 from 1796414784872`)
    assert re.search(r"version 2 in force from \d{4}-\d\d-\d\d \d\d:\d\d:\d\d [+-]\d{4} \(unix ms \d+\)", out), out
    code, _, err = run(["meter", "prices", "set", str(book)], capsys)
    assert code == 1 and "not above" in err


def test_serve_following_an_unreachable_chain_fails_in_one_line(env):
    # Given no cluster at the configured URL, When the meter is asked to follow the chain's config version
    r = subprocess.run([sys.executable, "-m", "solmeter.cli", "--url", f"http://127.0.0.1:{free_port()}", "meter",
                        "serve", "--port", str(free_port())], env=os.environ.copy(), capture_output=True, text=True,
                       timeout=60)
    # Then it refuses to start with one line saying why and what to do instead
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "cannot read the on-chain config version" in lines[0] and "--no-follow-chain" in lines[0]
