"""`solmeter operator serve` (a subprocess against the localnet) whose database file is removed while it runs:
it notices (the file's identity), refuses writes, and exits 1 with one clear line; no traceback flood."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import httpx
from solders.keypair import Keypair
from typer.testing import CliRunner

from ledger_helpers import free_port, start_node


def test_operator_serve_exits_with_one_line_when_its_database_file_is_removed(isolated_env, monkeypatch):
    from solmeter.cli import app

    node = start_node(isolated_env / "chain")
    proc = None
    try:
        monkeypatch.setenv("SOLMETER_RPC_URL", node.rpc_url)
        monkeypatch.setenv("SOLMETER_DATA_DIR", str(isolated_env / "data"))
        res = CliRunner().invoke(app, ["operator", "init", "--arbiter", str(Keypair().pubkey())],
                                 catch_exceptions=False)
        assert res.exit_code == 0, res.output
        db = isolated_env / "data" / "solmeter.db"
        assert db.exists()
        port = free_port()
        log_path = isolated_env / "serve.log"
        with open(log_path, "w") as log_file:
            proc = subprocess.Popen([sys.executable, "-m", "solmeter.cli", "operator", "serve", "--host", "127.0.0.1",
                                     "--port", str(port), "--window-s", "1", "--batch-interval-s", "2"],
                                    env=dict(os.environ), stdout=log_file, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 90
        while True:
            assert proc.poll() is None, log_path.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        # When the database file is removed under it
        os.remove(db)
        # Then it exits 1 (a condition waited for, at most a minute)
        assert proc.wait(timeout=60) == 1, log_path.read_text()
        out = log_path.read_text()
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        node.stop()
    assert "Traceback" not in out, out
    # (removed, or, if a job's new connection made a new empty file at the path first, "replaced")
    lines = [ln for ln in out.splitlines() if " was removed" in ln or " was replaced" in ln]
    # one log line saying what happened and what to do, and the exit's one line
    assert 1 <= len(lines) <= 2, out
    assert lines[-1].startswith("error: database file ") and "Restore the database from its backup" in lines[-1]
    assert len(out.splitlines()) <= 8, out
