"""The dashboard in a real browser (Debian's chromium) against the running demo: sign-in with a wallet,
each view's figures against what the chain, the CLI's functions and the meter API say, the actions
(verify a receipt, contest a slash, retry an intent), refusals, empty states, and no request leaving the
meter."""
from __future__ import annotations

import base64
import csv
import io

import httpx
import pytest
from solders.keypair import Keypair
from solders.message import Message
from solders.pubkey import Pubkey
from solders.transaction import Transaction

from auditor.views import SLASH_STATES
from solmeter.commands.common import fmt
from ledger.ops import roles
from metering.read_client import SignedReader

from dashboard_browser import screenshot, show

pytestmark = pytest.mark.browser


def text(page, sel: str) -> str:
    return page.locator(sel).first.inner_text().strip()


def api_get(page, path: str) -> tuple[int, dict]:
    """A fetch from inside the page, with its session cookie (what any script on the page could do)."""
    return tuple(page.evaluate("""async p => { const r = await fetch(p, {credentials: 'same-origin'});
        return [r.status, await r.json()]; }""", path))


def card(page, title: str) -> str:
    return page.locator(f".card:has(h3:text-is({title!r})) .big").inner_text().strip()


def test_sign_in_opens_a_session_scoped_to_the_wallets_role(pages, scenario):
    c0 = scenario.customers[0]
    page = pages.signed_in(c0)
    who = text(page, "#who")
    assert who.endswith("customer") and str(c0.pubkey())[:6] in who
    assert page.locator("#view").get_attribute("data-ready") == "customer"
    status, body = api_get(page, "/dashboard/api/session")
    assert status == 200 and body["wallet"] == str(c0.pubkey()) and body["roles"] == ["customer"]
    page.click("#signout")
    page.wait_for_function("document.querySelector('#signin').hidden === false")
    assert api_get(page, "/dashboard/api/session")[1]["wallet"] is None


def test_a_wallet_that_signs_with_another_key_is_refused(pages, scenario):
    page = pages.open(scenario.customers[0], signs_with=Keypair())
    page.click("#signin")
    page.wait_for_selector("#notice.error")
    assert "signature" in text(page, "#notice") and "Sign-in failed" in text(page, "#notice")
    assert api_get(page, "/dashboard/api/session")[1]["wallet"] is None


def test_customer_view_figures_equal_the_chain_and_the_meter(pages, scenario):
    live, dep = scenario.live, scenario.dep
    c = scenario.customers[0]
    page = pages.signed_in(c, "customer")
    st = roles.onchain_customer_status(live.chain, dep, c.pubkey())
    assert card(page, "Escrow") == fmt(st.escrow, dep.decimals)
    assert card(page, "Deposited") == fmt(st.total_deposited, dep.decimals)
    assert card(page, "Settled") == fmt(st.total_settled, dep.decimals)
    reader = SignedReader(scenario.origin, c, clock=live.clock)  # what `solmeter customer status` reads
    meter = reader.get(f"/v1/customers/{c.pubkey()}/status").json()
    assert card(page, "Burn rate / hour") == fmt(meter["burn_rate_per_hour"], dep.decimals)
    assert card(page, "Billed (receipts)") == fmt(meter["billed_total"], dep.decimals)
    receipts = reader.get("/v1/receipts", {"customer": str(c.pubkey()), "limit": 1000, "proofs": False}).json()["receipts"]
    reader.close()
    # the runway at the full rate of the leases in force (a lease signed a minute ago counts fully)
    from metering.reads import customer_leases

    with live.db.connect() as conn:
        rate = customer_leases(conn, str(c.pubkey()), live.clock()).burn_per_hour
    shown = int(page.locator("#lease-runway").get_attribute("data-seconds"))
    expected = meter["available_balance"] * 3600 * rate.denominator // rate.numerator
    assert rate > 0 and abs(shown - expected) <= expected // 1000 + 1  # the clock moved between the two reads
    assert f"Receipts ({len(receipts)}," in text(page, "#receipts h2")
    newest = max(receipts, key=lambda r: (r["period_end"], r["provider"], r["seq"]))
    row = page.locator(f"tr[data-receipt='{newest['receipt_id']}']")
    assert row.locator("td").nth(4).inner_text().strip() == fmt(newest["cum_amount"], dep.decimals)
    # the channels this customer opened, with the chain's settled amount
    assert page.locator("#channels tbody tr").count() == 2
    settles = page.locator("#channels a[href*='/tx/']").evaluate_all("els => els.map(e => e.href)")
    assert settles and all(live.chain.signature_statuses([u.split('/tx/')[1].split('?')[0]])[0].err is None
                           for u in settles)  # links to settlements the chain confirms
    assert page.locator("#usage svg.chart").count() >= 1
    # times are local with the UTC value on hover
    t = page.locator("#receipts time").first
    assert t.get_attribute("title").startswith("UTC 20")
    screenshot(page, "customer")


def test_verify_a_receipt_in_the_page(pages, scenario):
    page = pages.signed_in(scenario.customers[0], "customer")
    row = page.locator("#receipts tr[data-receipt]").first
    row.locator("button", has_text="Verify").click()
    verdict = page.locator("#receipts .verdict-row").first
    verdict.locator("[data-ok]").wait_for()
    assert verdict.locator("[data-ok]").inner_text() == "VERIFIED"
    names = verdict.locator("li[data-check]").evaluate_all("els => els.map(e => e.dataset.check)")
    assert {"receipt.signature", "receipt.inclusion"} <= set(names)


def test_a_customer_cannot_read_another_customers_view(pages, scenario):
    c0, c1 = scenario.customers[0], scenario.customers[1]
    page = pages.signed_in(c0, "customer")
    status, body = api_get(page, f"/dashboard/api/customer/{c1.pubkey()}")
    assert status == 403 and f"may not read customer status of customer {c1.pubkey()}" in body["error"]
    status, _ = api_get(page, f"/dashboard/api/provider/{scenario.providers[0].pubkey()}")
    assert status == 403
    status, body = api_get(page, "/dashboard/api/operator")
    assert status == 403 and "may not read operations: only the operator" in body["error"]
    # a provider reads its own channels only
    p1 = pages.signed_in(scenario.providers[1])
    status, body = api_get(p1, f"/dashboard/api/provider/{scenario.providers[0].pubkey()}")
    assert status == 403 and "a provider reads its own channels only" in body["error"]
    assert api_get(p1, f"/dashboard/api/provider/{scenario.providers[1].pubkey()}")[0] == 200
    show(page, "customer", f"wallet={c1.pubkey()}")
    assert page.locator("#view [data-error='403']").count() == 1
    assert page.locator("#view .card").count() == 0  # nothing of c1's is on the page


def test_without_sign_in_only_the_auditor_view_answers(pages, scenario):
    page = pages.open(None, view="customer")
    assert "Sign in with your wallet" in text(page, "#view")
    for path in (f"/dashboard/api/customer/{scenario.customers[0].pubkey()}",
                 f"/dashboard/api/provider/{scenario.providers[0].pubkey()}", "/dashboard/api/operator"):
        assert api_get(page, path)[0] == 401
    assert page.locator("#signin").is_disabled()  # no wallet in this browser: the button says why
    assert "No Solana wallet" in page.locator("#signin").get_attribute("title")


def test_a_wallet_with_no_role_sees_what_to_do_next(pages, scenario):
    stranger = Keypair()
    page = pages.signed_in(stranger, "customer")
    assert text(page, "#who").endswith("no role")
    assert "is not a registered customer" in text(page, "#view") and "solmeter customer register" in text(page, "#view")
    show(page, "provider")
    assert "solmeter provider register" in text(page, "#view")


def test_provider_view_figures_equal_the_chain_and_the_csv(pages, scenario):
    live, dep = scenario.live, scenario.dep
    p = scenario.providers[1]
    page = pages.signed_in(p, "provider")
    st = roles.provider_status(live.chain, dep, p.pubkey())
    assert card(page, "Stake") == fmt(st.stake, dep.decimals)
    assert card(page, "Revenue settled") == fmt(st.total_revenue, dep.decimals)
    assert card(page, "Payout account") == fmt(st.payout_balance, dep.decimals)
    rows = page.locator("#epochs tr[data-epoch]")
    assert rows.count() >= 1
    with page.expect_download() as dl:
        page.click("#csv")
    got = list(csv.DictReader(io.StringIO(open(dl.value.path()).read())))
    assert len(got) == rows.count()
    for r in got:
        pe = roles.read_account(live.chain, "ProviderEpoch", dep.program.provider_epoch_address(p.pubkey(), int(r["epoch"])))
        assert int(r["revenue_base_units"]) == int(pe.revenue) and r["revenue_tokens"] == fmt(int(pe.revenue), dep.decimals)
        assert page.locator(f"#epochs tr[data-epoch='{r['epoch']}'] td").nth(1).inner_text().strip() == r["revenue_tokens"]
    assert page.locator("#agents tbody tr").count() >= 1
    assert "No slash has been proposed against you." in text(page, "#slashes")  # the empty state
    screenshot(page, "provider")


def test_contest_a_slash_from_the_page(pages, scenario):
    live, dep = scenario.live, scenario.dep
    p = scenario.providers[0]
    idx = scenario.contest_index
    page = pages.signed_in(p, "provider")
    row = page.locator(f"#slashes tr[data-slash='{idx}']")
    assert row.locator(".slash-state").inner_text() == "Proposed"
    page.once("dialog", lambda d: d.accept("the node was up: NVML logs attached"))
    row.locator("button", has_text="Contest").click()
    page.wait_for_function("document.querySelector('#notice').textContent.includes('contested')")
    s = roles.slash_info(live.chain, dep, p.pubkey(), idx)
    assert SLASH_STATES[int(s.state)] == "Contested"
    assert bytes(s.contest_evidence_hash) == roles.evidence_hash("the node was up: NVML logs attached")
    page.wait_for_function(f"document.querySelector(\"#slashes tr[data-slash='{idx}'] .slash-state\")?.textContent === 'Contested'")


def test_the_meter_sends_only_transactions_it_prepared_for_that_wallet(pages, scenario):
    p = scenario.providers[2]
    page = pages.signed_in(p, "provider")
    blockhash, _ = scenario.live.chain.latest_blockhash()
    ix = scenario.dep.program.contest_slash(wallet=p.pubkey(), index=0, evidence_hash=b"\1" * 32)
    tx = Transaction([p], Message.new_with_blockhash([ix], p.pubkey(), blockhash), blockhash)
    status, body = tuple(page.evaluate("""async t => { const r = await fetch('/dashboard/api/transactions', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({transaction: t})}); return [r.status, await r.json()]; }""",
                                       base64.b64encode(bytes(tx)).decode()))
    assert status == 403 and "not a transaction this dashboard prepared" in body["error"]


def test_auditor_view_is_public_and_equals_audit_all(pages, scenario):
    from auditor.api import MeterApi
    from auditor.audits import ChainFacts, audit_all
    from auditor.chain import ChainReader
    from contracts import PROGRAM_SO

    page = pages.open(None, view="auditor")
    api = MeterApi(scenario.origin)
    try:
        reports = audit_all(ChainFacts(ChainReader.connect(scenario.live.rpc_url, Pubkey.from_string(scenario.dep.program_id))),
                            api=api, committed=PROGRAM_SO)
    finally:
        api.close()
    assert text(page, "#audit-verdict") == ("PASS" if all(r.ok for r in reports) else "FAIL")
    assert card(page, "Objects audited") == str(len(reports))
    for kind in ("program", "channel", "batch", "customer", "provider", "epoch"):
        assert page.locator(f"section[data-kind='{kind}'] tr[data-target]").count() == sum(r.kind == kind for r in reports)
    prog = next(r for r in reports if r.kind == "program")
    assert prog.facts["deployed_sha256"] in text(page, "section[data-kind='program']")
    links = page.locator("section[data-kind='channel'] a").evaluate_all("els => els.map(e => e.href)")
    assert links and all("explorer.solana.com/address/" in u and "customUrl=" in u for u in links)
    screenshot(page, "auditor")


def test_operator_view_figures_and_retry_of_a_failed_intent(pages, scenario):
    from ledger.engine.intents import IntentStore
    from ledger.engine.reconcile import reconcile

    live, dep = scenario.live, scenario.dep
    page = pages.signed_in(scenario.admin, "operator")
    screenshot(page, "operator")
    store = IntentStore(live.session_factory)
    it = store.record("dashboard-test:retry", "settle", "dashboard test", {"why": "a program error"})
    with live.session_factory.begin() as s:
        store.finish_in(s, it.id, "failed", "ChannelNotOpened: the customer never opened this channel")
    show(page, "operator")
    lamports = live.chain.lamports(Pubkey.from_string(dep.meter))
    assert text(page, "#meter-sol") == f"{lamports // 10**9}.{lamports % 10**9:09d}"
    recon = reconcile(live.session_factory, live.chain, dep.program)
    assert text(page, "#recon") == ("equal" if recon.ok else f"{len(recon.differences)} difference(s)")
    unposted = httpx.get(f"{scenario.origin}/v1/batches", params={"unposted": True}).json()["batches"]
    assert card(page, "Batch backlog") == str(len(unposted))
    row = page.locator(f"#intents tr[data-intent='{it.id}']")
    assert "ChannelNotOpened" in row.inner_text()
    row.locator("button", has_text="Retry").click()
    page.wait_for_function(f"document.querySelector('#notice').textContent.includes('intent {it.id} back to pending')")
    assert store.get(it.id).state == "pending"


def test_the_operator_reads_any_customer_and_posts_need_json(pages, scenario):
    page = pages.signed_in(scenario.admin, "operator")
    c = scenario.customers[3]
    show(page, "customer", f"wallet={c.pubkey()}")
    st = roles.onchain_customer_status(scenario.live.chain, scenario.dep, c.pubkey())
    assert card(page, "Escrow") == fmt(st.escrow, scenario.dep.decimals)
    # a cross-site form post (no JSON body) is refused before anything happens
    status = page.evaluate("""async () => (await fetch('/dashboard/api/operator/intents/1/retry', {method: 'POST',
        headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'x=1'})).status""")
    assert status == 422


def test_every_view_loads_nothing_from_outside_the_meter(pages, scenario):
    page = pages.signed_in(scenario.admin, "operator")
    for view in ("customer", "provider", "auditor", "operator"):
        show(page, view, f"wallet={scenario.customers[0].pubkey()}" if view == "customer" else
             f"wallet={scenario.providers[0].pubkey()}" if view == "provider" else "")
    assert pages.requests and all(u.startswith(scenario.origin + "/") for u in pages.requests)
    assert any(u.endswith("/dashboard/static/app.js") for u in pages.requests)


def test_a_paused_customer_sees_the_banner_that_says_how_to_resume(pages, scenario):
    from metering.registry import set_paused

    live = scenario.live
    c = scenario.customers[2]
    set_paused(live.db, str(c.pubkey()), True, live.clock(), "escrow ran out")  # what the engine's pause job does
    try:
        page = pages.signed_in(c, "customer")
        banner = text(page, "#paused-banner")
        assert banner.startswith("Paused: escrow ran out") and "solmeter customer deposit" in banner
    finally:
        set_paused(live.db, str(c.pubkey()), False, live.clock())
    show(page, "customer")
    assert page.locator("#paused-banner").count() == 0


def test_the_customer_sees_its_signed_leases_and_revokes_one(pages, scenario):
    from metering.leases import get_lease, list_leases

    live = scenario.live
    c = scenario.customers[1]
    with live.db.connect() as conn:
        mine = list_leases(conn, customer=str(c.pubkey()))
    assert mine
    page = pages.signed_in(c, "customer")
    assert page.locator("#leases tr[data-lease]").count() == len(mine)
    lid = mine[0].lease_id
    row = page.locator(f"#leases tr[data-lease='{lid}']")
    assert row.locator("td").nth(3).inner_text().strip() == fmt(mine[0].cap, scenario.dep.decimals)
    page.once("dialog", lambda d: d.accept())
    row.locator("button", has_text="Revoke").click()
    page.wait_for_function(f"document.querySelector('#notice').textContent.includes('lease {lid} revoked')")
    with live.db.connect() as conn:
        stored = get_lease(conn, lid)
    assert stored.revoked_at_ms is not None and stored.revocation is not None
    page.wait_for_function(f"document.querySelector(\"#leases tr[data-lease='{lid}'] .lease-state\")?.textContent.startsWith('revoked')")
    # another customer cannot have the meter prepare a revocation of this lease
    other = pages.signed_in(scenario.customers[0], "customer")
    status = other.evaluate("""async id => (await fetch('/dashboard/api/customer/revocation', {method: 'POST',
        headers: {'Content-Type': 'application/json'}, body: JSON.stringify({lease_id: id})})).status""", lid)
    assert status == 403
