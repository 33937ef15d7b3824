"""The browser tests' shared scenario: `solmeter demo`'s run (2 simulated hours: receipts, batches,
settlements, a paused and resumed customer, a contested and executed slash, claimed rewards) kept serving
its meter, dashboard and localnet for the whole session, plus a fresh slash proposed against provider 1
(for the contest test). Chromium is Debian's /usr/bin/chromium, driven by Playwright; each page gets a
wallet-standard wallet whose key is a Python keypair, and a log of every request it makes."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from solders.keypair import Keypair

from dashboard_browser import Pages

CHROMIUM = Path("/usr/bin/chromium")


@dataclass
class Scenario:
    live: object
    url: str                       # http://127.0.0.1:PORT/dashboard/
    origin: str                    # http://127.0.0.1:PORT
    admin: Keypair
    providers: list
    customers: list
    contest_index: int = -1
    extra: dict = field(default_factory=dict)

    @property
    def dep(self):
        return self.live.world.dep


@pytest.fixture(scope="session")
def scenario(tmp_path_factory):
    from solmeter.demo import run_demo
    from ledger.ops import roles, token

    ready, stop = threading.Event(), threading.Event()
    box: dict = {}

    def hold(live) -> None:
        try:
            w = live.world
            _, idx = roles.propose_slash(live.chain, w.dep, w.admin, w.providers[0].pubkey(), 1_000_000,
                                         "dashboard test: heartbeats without a job",
                                         token.ata(w.customers[0].pubkey(), w.dep.mint_key))
            origin = live.url.rsplit("/dashboard/", 1)[0]
            httpx.get(live.url + "api/auditor", timeout=300).raise_for_status()  # the audit of everything, once
            box["s"] = Scenario(live, live.url, origin, w.admin, list(w.providers), list(w.customers), idx)
        except BaseException as e:  # noqa: BLE001 - handed to the test thread
            box["error"] = e
        finally:
            ready.set()
        stop.wait()

    def run() -> None:
        try:
            run_demo(tmp_path_factory.mktemp("demo"), hours=2.0, progress=lambda m: None, serve=hold)
        except BaseException as e:  # noqa: BLE001
            box.setdefault("error", e)
            ready.set()

    t = threading.Thread(target=run, name="demo", daemon=True)
    t.start()
    ready.wait(timeout=540)
    if "error" in box:
        raise box["error"]
    assert "s" in box, "the demo did not reach its serving phase"
    yield box["s"]
    stop.set()
    t.join(timeout=60)


@pytest.fixture(scope="module")
def browser():
    """Module scope, not session: Playwright's sync API keeps an event loop running on the main thread while
    it is started, which would break every later test that runs asyncio (the localnet's, the meter's)."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: apt-get install chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    pw = sync_playwright().start()
    b = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True)
    yield b
    b.close()
    pw.stop()


@pytest.fixture
def pages(browser, scenario):
    p = Pages(browser, scenario)
    yield p
    p.close()
    outside = [u for u in p.requests if not u.startswith(scenario.origin + "/") and not u.startswith("data:")]
    assert not outside, f"the page requested something outside the meter: {outside[:5]}"


