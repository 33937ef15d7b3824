"""The browser tests' helpers: pages with a test wallet and a request log, waiting for a view, screenshots."""
from __future__ import annotations

import base64
import os
from pathlib import Path

from solders.keypair import Keypair
from solders.transaction import Transaction

WALLET_JS = (Path(__file__).parent / "wallet.js").read_text()
DOCS = Path(__file__).resolve().parents[2] / "docs"


def _sign(kp: Keypair, kind: str, data_b64: str) -> str:
    data = base64.b64decode(data_b64)
    if kind == "message":
        return base64.b64encode(bytes(kp.sign_message(data))).decode()
    tx = Transaction.from_bytes(data)
    signed = Transaction.populate(tx.message, [kp.sign_message(bytes(tx.message))])
    return base64.b64encode(bytes(signed)).decode()


class Pages:
    """Browser contexts with a test wallet; every request of every page is logged."""

    def __init__(self, browser, scenario):
        self.browser, self.s = browser, scenario
        self.requests: list[str] = []
        self.contexts = []

    def open(self, wallet: Keypair | None = None, *, signs_with: Keypair | None = None, view: str = ""):
        ctx = self.browser.new_context(viewport={"width": 1280, "height": 1000}, timezone_id="Europe/Paris",
                                       locale="en-GB", bypass_csp=True)  # Playwright's waits evaluate scripts
        self.contexts.append(ctx)
        ctx.on("request", lambda r: self.requests.append(r.url))
        if wallet is not None:
            signer = signs_with or wallet
            ctx.add_init_script(WALLET_JS.replace("__ADDRESS__", str(wallet.pubkey())))
            ctx.expose_binding("solmeterTestSign", lambda _src, kind, data: _sign(signer, kind, data))
        page = ctx.new_page()
        page.set_default_timeout(20_000)
        page.goto(self.s.url + (f"#{view}" if view else ""))
        page.wait_for_function("document.querySelector('#view').dataset.ready !== undefined")
        return page

    def signed_in(self, wallet: Keypair, view: str = ""):
        page = self.open(wallet, view=view)
        page.click("#signin")
        page.wait_for_function("!document.querySelector('#signout').hidden && document.querySelector('#view').dataset.ready")
        if view:
            show(page, view)
        return page

    def close(self):
        for c in self.contexts:
            c.close()


def show(page, view: str, query: str = "") -> None:
    """Open a tab and wait until its figures are on the page."""
    target = "#" + view + (f"?{query}" if query else "")
    page.evaluate("""t => { document.querySelector('#view').dataset.ready = '';
        if (location.hash === t) window.dispatchEvent(new HashChangeEvent('hashchange')); else location.hash = t; }""", target)
    page.wait_for_function(f"document.querySelector('#view').dataset.ready === {view!r}")


def screenshot(page, name: str) -> None:
    """docs/dashboard-NAME.png (the README shows them); written when SOLMETER_SCREENSHOTS=1."""
    if os.environ.get("SOLMETER_SCREENSHOTS") == "1":
        page.screenshot(path=str(DOCS / f"dashboard-{name}.png"), full_page=False)
