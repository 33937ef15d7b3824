"""`solmeter demo --serve`: after the scenario it prints the dashboard's URL and keeps the meter, the
dashboard and the localnet serving until Ctrl-C (SIGINT) or SIGTERM, then exits cleanly.

The SIGINT case starts the demo with SIGINT ignored, as a shell without job control starts a background
command (`solmeter demo --serve &` in a script, or this suite run in the background): Python then never
raises KeyboardInterrupt, and a demo that relied on it served on forever after `kill -INT`."""
from __future__ import annotations

import re
import signal
import subprocess
import sys

import httpx
import pytest


def _ignore_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _default_sigint() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


@pytest.mark.slow
@pytest.mark.parametrize("stop_signal, start_with", [(signal.SIGINT, _ignore_sigint), (signal.SIGTERM, _default_sigint)],
                         ids=["sigint-inherited-ignored", "sigterm"])
def test_demo_serve_prints_the_url_and_serves_until_ctrl_c(tmp_path, stop_signal, start_with):
    proc = subprocess.Popen([sys.executable, "-m", "solmeter.cli", "demo", "--hours", "1", "--serve",
                             "--workdir", str(tmp_path / "demo")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, preexec_fn=start_with)
    lines = []
    try:
        url = None
        for line in proc.stdout:  # blocks until the demo prints; the process ends the loop if it dies
            lines.append(line)
            m = re.match(r"dashboard: (http://127\.0\.0\.1:\d+/dashboard/)", line)
            if m:
                url = m.group(1)
                break
        assert url, "".join(lines[-20:])
        assert any("audit verdict: PASS" in x for x in lines), "".join(lines[-20:])
        page = httpx.get(url, timeout=30)
        assert page.status_code == 200 and "default-src 'self'" in page.headers["content-security-policy"]
        assert httpx.get(url + "api/session", timeout=30).json()["cluster"] == "localnet"
        _a_customer_uses_the_demo(lines, url, tmp_path / "demo")
        assert proc.poll() is None  # still serving
        proc.send_signal(stop_signal)
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0, out
        assert "stopping" in out
        with pytest.raises(httpx.HTTPError):
            httpx.get(url, timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def _a_customer_uses_the_demo(lines, url, workdir):
    """The customers' keypairs are in the workdir (they stayed in memory: nobody could try a role command on
    the demo), the Explorer links name the demo's own localnet (they named 8899, where nothing served), and
    the printed `try:` command works: a signed read dated by the wall clock is fresh to the demo's meter, whose
    clock runs the simulated hours ahead (every signed read was a 401 "stale")."""
    import json
    import shlex

    rpc = re.search(r"localnet RPC (http://127\.0\.0\.1:\d+)", "".join(lines)).group(1)
    key = workdir / "keys" / "customer-1.json"
    assert key.exists() and oct(key.stat().st_mode & 0o777) == "0o600"
    assert f"customer and provider keypairs: {workdir}/keys/customer-1.json ... provider-3.json" in "".join(lines)
    assert any("explorer.solana.com" in x and rpc.rsplit(":", 1)[1] in x for x in lines), "".join(lines[-12:])
    assert not any("customUrl=http%3A%2F%2F127.0.0.1%3A8899" in x for x in lines)
    try_line = next(x for x in lines if x.startswith("try: "))
    argv = shlex.split(try_line.removeprefix("try: "))
    assert argv[0] == "solmeter" and argv[-1] == url.removesuffix("/dashboard/")
    out = subprocess.run([sys.executable, "-m", "solmeter.cli", *argv[1:], "--output", "json"], capture_output=True,
                         text=True, timeout=60, env={**__import__("os").environ, "HOME": str(workdir / "home")})
    assert out.returncode == 0, out.stderr
    st = json.loads(out.stdout)
    assert st["registered"] and st["escrow"] > 0 and st["total_settled"] > 0
    assert "unavailable" not in st["meter"] and st["meter"]["paused"] is False, st["meter"]
