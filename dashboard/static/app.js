// The dashboard page: sign-in with a wallet (SIWS), then the view of the tab chosen. Every figure comes
// from /dashboard/api/...; amounts arrive as exact token strings and are shown as they are.
import { solanaWallets, onWalletsChanged, connect, signMessage, signTransaction, b64 } from "./wallet.js";
import { stackedBars } from "./chart.js";

const state = { session: null, wallet: null, account: null };
const $ = (sel) => document.querySelector(sel);

// ---- DOM helpers: text is always set as text (never as HTML) --------------------------------------------
function h(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : v);
  }
  for (const c of kids.flat(Infinity)) if (c !== null && c !== undefined && c !== false) e.append(c instanceof Node ? c : String(c));
  return e;
}
const tokens = (a) => h("span", { class: "amount", "data-units": a.units }, a.tokens);
function when(ms) {
  if (!ms) return h("span", { class: "muted" }, "–");
  const d = new Date(ms);
  return h("time", { datetime: d.toISOString(), title: `UTC ${d.toISOString().replace("T", " ").replace(".000Z", "Z")}` },
    d.toLocaleString());
}
function duration(s) {
  if (s === null || s === undefined) return "–";
  const d = Math.floor(s / 86400), hh = Math.floor((s % 86400) / 3600), m = Math.floor((s % 3600) / 60);
  return d ? `${d} d ${hh} h` : hh ? `${hh} h ${m} min` : `${m} min ${s % 60} s`;
}
const link = (href, text) => href ? h("a", { href, target: "_blank", rel: "noopener noreferrer" }, text) : text;
const short = (k) => k ? `${k.slice(0, 6)}…${k.slice(-4)}` : "";
const card = (title, value, extra) => h("div", { class: "card" }, h("h3", {}, title), h("div", { class: "big" }, value), extra || null);
const empty = (text, ...more) => h("div", { class: "empty" }, text, ...more);
const table = (head, rows, cls) => h("table", { class: cls || "" },
  h("thead", {}, h("tr", {}, head.map((x) => h("th", { class: x.endsWith(" ") ? "num" : "" }, x.trim())))),
  h("tbody", {}, rows));

function notice(text, isError) {
  const n = $("#notice");
  n.textContent = text;
  n.className = isError ? "error" : "";
  n.hidden = !text;
}

async function api(path, opts = {}) {
  const init = { credentials: "same-origin", headers: {} };
  if (opts.body !== undefined) {
    init.method = "POST";
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(opts.body);
  }
  const r = await fetch(path, init);
  const type = r.headers.get("content-type") || "";
  const data = type.includes("json") ? await r.json() : await r.text();
  if (!r.ok) { const e = new Error((data && data.error) || `HTTP ${r.status}`); e.status = r.status; throw e; }
  return data;
}

// ---- sign-in ------------------------------------------------------------------------------------------
function listWallets() {
  const sel = $("#wallets");
  const ws = solanaWallets();
  sel.replaceChildren(...ws.map((w, i) => h("option", { value: i }, w.name)));
  sel.hidden = ws.length < 2;
  $("#signin").disabled = !ws.length;
  $("#signin").title = ws.length ? "" : "No Solana wallet found: install Phantom, Solflare or Backpack";
}

async function signIn() {
  const wallet = solanaWallets()[Number($("#wallets").value || 0)];
  if (!wallet) { notice("No Solana wallet found in this browser: install Phantom, Solflare or Backpack.", true); return; }
  try {
    const account = await connect(wallet);
    const ch = await api("/dashboard/api/siws/challenge", { body: { address: account.address } });
    const signed = await signMessage(wallet, account, new TextEncoder().encode(ch.message));
    await api("/dashboard/api/siws/verify", { body: { message: b64.encode(signed.signedMessage), signature: b64.encode(signed.signature) } });
    state.wallet = wallet; state.account = account;
    notice("");
    await refreshSession();
    route();
  } catch (e) { notice(`Sign-in failed: ${e.message}`, true); }
}

async function signOut() {
  await api("/dashboard/api/siws/logout", { body: {} });
  state.wallet = state.account = null;
  await refreshSession();
  route();
}

async function refreshSession() {
  const s = await api("/dashboard/api/session");
  state.session = s;
  $("#cluster").textContent = s.cluster ? `· ${s.cluster}` : "";
  $("#who").textContent = s.wallet ? `${short(s.wallet)} · ${s.roles.length ? s.roles.join(", ") : "no role"}` : "not signed in";
  $("#who").title = s.wallet || "";
  $("#signin").hidden = !!s.wallet;
  $("#signout").hidden = !s.wallet;
  $("#wallets").hidden = !!s.wallet || solanaWallets().length < 2;
}

// ---- routing ------------------------------------------------------------------------------------------
const VIEWS = { customer: customerView, provider: providerView, auditor: auditorView, operator: operatorView };

function route() {
  const [name, query] = (location.hash.slice(1) || defaultView()).split("?");
  const view = VIEWS[name] ? name : "auditor";
  for (const a of document.querySelectorAll("#tabs a")) a.classList.toggle("active", a.dataset.view === view);
  const main = $("#view");
  main.dataset.view = view;
  main.dataset.ready = "";
  main.replaceChildren(h("div", { class: "muted" }, "loading…"));
  VIEWS[view](main, new URLSearchParams(query || "")).then(() => { main.dataset.ready = view; })
    .catch((e) => { main.replaceChildren(h("div", { class: "banner paused", "data-error": e.status || "" }, e.message)); main.dataset.ready = view; });
}

function defaultView() {
  const roles = (state.session && state.session.roles) || [];
  return roles.includes("operator") ? "operator" : roles.includes("provider") ? "provider" : roles.includes("customer") ? "customer" : "auditor";
}

function needSignIn(main, what) {
  main.replaceChildren(empty(`Sign in with your wallet to see ${what}. The auditor view needs no sign-in.`));
}

function subject(params, role) {
  const s = state.session;
  return params.get("wallet") || (s.roles.includes(role) ? s.wallet : null);
}

function walletPicker(main, role) {
  const input = h("input", { type: "text", placeholder: `${role} wallet (base58)`, "aria-label": `${role} wallet` });
  return h("div", { class: "row" }, input, h("button", { type: "button", class: "secondary",
    onclick: () => { location.hash = `${role}?wallet=${input.value.trim()}`; } }, "Show"));
}

// ---- customer -----------------------------------------------------------------------------------------
async function customerView(main, params) {
  const s = state.session;
  if (!s.wallet) return needSignIn(main, "your escrow, usage and receipts");
  const wallet = subject(params, "customer");
  if (!wallet) {
    main.replaceChildren(s.roles.includes("operator") ? walletPicker(main, "customer") :
      empty(`${s.wallet} is not a registered customer. To start: `, h("code", {}, "solmeter customer register"),
        ", then ", h("code", {}, "solmeter customer deposit AMOUNT"), " and ", h("code", {}, "solmeter customer open-channel PROVIDER"), "."));
    return;
  }
  const v = await api(`/dashboard/api/customer/${wallet}`);
  const parts = [];
  if (v.paused) parts.push(h("div", { class: "banner paused", id: "paused-banner" },
    `Paused: ${v.paused_reason || "the escrow ran out"}. New work is not billed until you deposit: `,
    h("code", {}, "solmeter customer deposit AMOUNT"), " (the meter resumes you when the deposit lands)."));
  const runway = v.runway_seconds !== null ? duration(v.runway_seconds) : (v.runway_note || "–");
  parts.push(h("div", { class: "grid" },
    card("Escrow", tokens(v.escrow), h("div", {}, link(v.links.escrow, "on chain"))),
    card("Wallet", tokens(v.wallet_balance)),
    card("Burn rate / hour", tokens(v.burn_rate_per_hour)),
    card("Runway", h("span", { id: "runway", "data-seconds": v.runway_seconds ?? "" }, runway), h("div", { class: "muted" }, "at the last hour's burn rate")),
    card("Runway at full lease rate", h("span", { id: "lease-runway", "data-seconds": v.lease_runway_seconds ?? "" },
      v.lease_runway_seconds !== null ? duration(v.lease_runway_seconds) : "no lease in force"),
      h("div", { class: "muted" }, "every lease in force at its full rate: ", v.lease_burn_per_hour.tokens, " / hour")),
    card("Deposited", tokens(v.deposited)),
    card("Settled", tokens(v.settled)),
    card("Billed (receipts)", tokens(v.billed)),
    card("Auto top-up allowance left", v.auto_top_up ? tokens(v.auto_top_up.allowance_left) : h("span", { class: "muted" }, "not set"),
      v.auto_top_up ? h("div", { class: "muted" }, `${v.auto_top_up.amount.tokens} when below ${v.auto_top_up.threshold.tokens}`)
        : h("div", { class: "muted" }, h("code", {}, "solmeter customer auto-top-up"))),
    card("Withdrawal", v.withdrawal ? tokens(v.withdrawal.amount) : h("span", { class: "muted" }, "none requested"),
      v.withdrawal ? h("div", { id: "withdrawal-countdown" }, v.withdrawal.seconds_left > 0 ?
        `ready in ${duration(v.withdrawal.seconds_left)}` : "ready: ", v.withdrawal.seconds_left > 0 ? null : h("code", {}, "solmeter customer withdraw")) : null)));
  parts.push(h("section", { id: "usage" }, h("h2", {}, "Usage per resource class over time"), usageCharts(v.usage),
    v.leases_usage.length ? table(["Lease / bucket", "Provider", "Class", "Sealed quantity ", "Through"],
      v.leases_usage.map((l) => h("tr", {}, h("td", { class: "mono" }, l.resource), h("td", { class: "mono", title: l.provider }, short(l.provider)),
        h("td", {}, l.class), h("td", { class: "num" }, quantity(l.family, Number(l.quantity))), h("td", {}, when(l.through_ms))))) : null));
  parts.push(h("section", { id: "channels" }, h("h2", {}, "Channels and spending limits"),
    v.channels.length ? table(["Provider", "Settled ", "Limit per epoch ", "Spent this epoch ", "Last seq ", "Last settlement"],
      v.channels.map((c) => h("tr", {}, h("td", { class: "mono" }, link(c.link, c.provider)), h("td", { class: "num" }, tokens(c.settled)),
        h("td", { class: "num" }, c.limit_per_epoch ? tokens(c.limit_per_epoch) : "no limit"), h("td", { class: "num" }, tokens(c.spent_in_epoch)),
        h("td", { class: "num" }, c.last_seq), h("td", { class: "mono" }, c.last_settlement ? link(c.settlement_link, short(c.last_settlement)) : "–")))) :
      empty("No channel opened: nothing can be billed to you yet. Open one with ", h("code", {}, "solmeter customer open-channel PROVIDER"), ".")));
  parts.push(h("section", { id: "leases" }, h("h2", {}, "Signed leases"), leasesPart(v)));
  parts.push(h("section", { id: "receipts" }, h("h2", {}, `Receipts (${v.receipts_total}, newest first)`),
    v.receipts.length ? receiptsTable(v.receipts, RECEIPTS_FIRST) :
      empty("No receipts yet: they appear once a provider's agent reports usage on a channel you opened.")));
  main.replaceChildren(...parts);
}

function leasesPart(v) {
  const mine = state.session.wallet === v.wallet;
  return v.leases.length ? table(["Lease", "Provider", "What", "Cap ", "Starts", "Expires", ""], v.leases.map((l) => h("tr", { "data-lease": l.id },
    h("td", { class: "mono", title: `lease hash ${l.lease_hash}` }, l.id), h("td", { class: "mono", title: l.provider }, short(l.provider)),
    h("td", {}, l.what), h("td", { class: "num" }, tokens(l.cap)), h("td", {}, when(l.start_ms)), h("td", {}, when(l.expires_ms)),
    h("td", { class: "lease-state" }, l.revoked ? h("span", {}, "revoked ", when(l.revoked_at_ms)) :
      mine ? h("button", { type: "button", class: "secondary", onclick: () => revokeLease(l) }, "Revoke") : "active"))))
    : empty("You have signed no lease: a provider bills you only under a lease you sign (",
      h("code", {}, "solmeter customer lease sign"), ").");
}

async function revokeLease(l) {
  try {
    if (!window.confirm(`Revoke lease ${l.id}? Usage after now is no longer billed under it.`)) return;
    await walletForSession();
    const prep = await api("/dashboard/api/customer/revocation", { body: { lease_id: l.id } });
    const signed = await signMessage(state.wallet, state.account, b64.decode(prep.message));
    await api("/dashboard/api/revocations", { body: { message: b64.encode(signed.signedMessage), signature: b64.encode(signed.signature) } });
    notice(`lease ${l.id} revoked`);
    route();
  } catch (e) { notice(`Could not revoke: ${e.message}`, true); }
}

async function walletForSession() {
  if (state.wallet) return;
  for (const w of solanaWallets()) {  // after a reload: the wallet of the signed-in address
    const account = await connect(w);
    if (account.address === state.session.wallet) { state.wallet = w; state.account = account; return; }
  }
  throw new Error(`no wallet in this browser holds ${state.session.wallet}: sign in again`);
}

function quantity(family, q) {
  if (family === "gpu") return `${(q / 3.6e6).toFixed(2)} GPU-h`;
  if (family === "storage") return `${(q / 1000 / 2 ** 20 / 3600).toFixed(2)} MiB-h`;
  return `${(q / 2 ** 20).toFixed(1)} MiB`;
}

const axisNumber = (x) => x === 0 ? "0" : x < 0.01 ? x.toExponential(1) : x.toFixed(x < 10 ? 2 : 0);

function usageCharts(usage) {
  const fams = Object.entries(usage || {});
  if (!fams.length) return empty("No usage billed yet.");
  return h("div", {}, fams.map(([fam, u]) => {
    const labels = (Object.values(u.series)[0] || []).map((_, i) => new Date(u.start_ms + i * u.bucket_ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    const scale = fam === "gpu" ? 3.6e6 : fam === "storage" ? 2 ** 20 * 3600 : 2 ** 20;  // byte-seconds in MiB-hours
    const unit = fam === "gpu" ? "GPU-h" : fam === "storage" ? "MiB-h" : "MiB";
    const series = Object.entries(u.series).map(([name, values]) => ({ name, values: values.map((x) => x / scale) }));
    return h("div", { class: "usage-chart", "data-family": fam }, h("h3", {}, `${fam} (${unit})`),
      stackedBars({ labels, series, fmt: axisNumber, title: `${fam} usage` }));
  }));
}

const RECEIPTS_FIRST = 15;

function receiptsTable(receipts, n) {
  const t = table(["Provider", "Seq ", "Period", "New ", "Cumulative ", "Batch", ""], receipts.slice(0, n).map((r) => receiptRow(r)));
  if (receipts.length <= n) return t;
  const more = h("button", { type: "button", class: "secondary", id: "more-receipts",
    onclick: () => wrap.replaceChildren(receiptsTable(receipts, receipts.length)) }, `Show ${receipts.length - n} more`);
  const wrap = h("div", {}, t, h("p", {}, more));
  return wrap;
}

function receiptRow(r) {
  const out = h("td", { class: "verdict" });
  const btn = h("button", { type: "button", class: "secondary", onclick: async () => {
    btn.disabled = true; out.replaceChildren("verifying…");
    try {
      const rep = await api(`/dashboard/api/receipts/${r.receipt_id}/verify`);
      out.replaceChildren(h("span", { class: rep.ok ? "pass" : "fail", "data-ok": rep.ok }, rep.ok ? "VERIFIED" : "FAILED"),
        h("ul", { class: "checks" }, rep.checks.map((c) => h("li", { "data-check": c.name }, h("span", { class: c.status }, c.status), ` ${c.name}: ${c.detail}`))));
    } catch (e) { out.replaceChildren(h("span", { class: "fail" }, e.message)); }
    btn.disabled = false;
  } }, "Verify");
  return [h("tr", { "data-receipt": r.receipt_id }, h("td", { class: "mono", title: r.provider }, short(r.provider)), h("td", { class: "num" }, r.seq),
    h("td", {}, when(r.period_start_ms), " – ", when(r.period_end_ms)), h("td", { class: "num" }, tokens(r.new_amount)),
    h("td", { class: "num" }, tokens(r.cum_amount)), h("td", {}, r.batch_id ? link(r.batch_link, `batch ${r.batch_id}`) : h("span", { class: "muted" }, "not batched yet")),
    h("td", {}, btn)), h("tr", { class: "verdict-row" }, h("td", { colspan: 7 }, out))];
}

// ---- provider -----------------------------------------------------------------------------------------
async function providerView(main, params) {
  const s = state.session;
  if (!s.wallet) return needSignIn(main, "your stake, revenue, claims and slashes");
  const wallet = subject(params, "provider");
  if (!wallet) {
    main.replaceChildren(s.roles.includes("operator") ? walletPicker(main, "provider") :
      empty(`${s.wallet} is not a registered provider. To start: `, h("code", {}, "solmeter provider register"),
        " and ", h("code", {}, "solmeter provider stake AMOUNT"), "."));
    return;
  }
  const v = await api(`/dashboard/api/provider/${wallet}`);
  const parts = [h("div", { class: "grid" },
    card("Stake", tokens(v.stake), h("div", { class: "muted" }, "minimum ", v.min_stake.tokens, " · ", link(v.links.stake, "on chain"))),
    card("Unstake window", v.unstake ? tokens(v.unstake.amount) : h("span", { class: "muted" }, "none requested"),
      h("div", { id: "unstake-countdown" }, v.unstake ? (v.unstake.seconds_left > 0 ? `withdrawable in ${duration(v.unstake.seconds_left)}` : "withdrawable now")
        : `cooldown ${duration(v.unstake_cooldown_s)}`)),
    card("Revenue settled", tokens(v.total_revenue)),
    card("Payout account", tokens(v.payout_balance)),
    card("Pending slash", tokens(v.pending_slash)),
    card("Unclaimed epochs", String(v.unclaimed_epochs), h("div", { class: "muted" }, `current epoch ${v.current_epoch}`)))];
  const eps = v.epochs;
  parts.push(h("section", { id: "epochs" }, h("h2", {}, "Revenue and rewards per epoch"),
    eps.length ? [stackedBars({ labels: eps.map((e) => `epoch ${e.epoch}`), title: "revenue and rewards",
      series: [{ name: "revenue", values: eps.map((e) => Number(e.revenue.units) / 10 ** v.decimals) },
               { name: "reward", values: eps.map((e) => Number(e.reward.units) / 10 ** v.decimals) }], fmt: (x) => x.toFixed(2) }),
      table(["Epoch ", "Revenue ", "Reward ", "Claim"], eps.map((e) => h("tr", { "data-epoch": e.epoch }, h("td", { class: "num" }, e.epoch),
        h("td", { class: "num" }, tokens(e.revenue)), h("td", { class: "num" }, tokens(e.reward)),
        h("td", {}, e.claimed ? "claimed" : e.closed ? h("span", {}, "claimable: ", h("code", {}, `solmeter provider claim --epoch ${e.epoch}`)) : "epoch open")))),
      h("p", {}, h("a", { href: `/dashboard/api/provider/${wallet}/earnings.csv`, download: "", id: "csv" }, "Export earnings (CSV)"))]
      : empty("No revenue yet: revenue appears once the crank settles receipts of your channels.")));
  parts.push(h("section", { id: "slashes" }, h("h2", {}, "Slashes"),
    v.slashes.length ? table(["#", "Amount ", "State", "Proposed", "Contest until", ""], v.slashes.map((x) => slashRow(x, wallet)))
      : empty("No slash has been proposed against you.")));
  parts.push(h("section", { id: "agents" }, h("h2", {}, "Agent health (last event per lease or bucket)"),
    v.agents.length ? table(["Lease / bucket", "Customer", "Last event", "Events ", "State"], v.agents.map((a) => h("tr", {},
      h("td", { class: "mono" }, a.resource), h("td", { class: "mono", title: a.customer }, short(a.customer)), h("td", {}, when(a.last_ms)),
      h("td", { class: "num" }, a.events), h("td", {}, a.stopped ? "stopped" : a.kinds.join(", ")))))
      : empty("No event received from your agents: start one with ", h("code", {}, "solmeter agent gpu"), " or ", h("code", {}, "solmeter agent storage PATH"), ".")));
  main.replaceChildren(...parts);
}

function slashRow(x, wallet) {
  const mine = state.session.wallet === wallet;
  const action = x.contestable && mine ? h("button", { type: "button", onclick: () => contestSlash(x) }, "Contest") : "";
  return h("tr", { "data-slash": x.index }, h("td", {}, link(x.link, String(x.index))), h("td", { class: "num" }, tokens(x.amount)),
    h("td", { class: "slash-state" }, x.state), h("td", {}, when(x.proposed_ms)), h("td", {}, when(x.contest_deadline_ms)), h("td", {}, action));
}

async function contestSlash(x) {
  const evidence = window.prompt(`Why is slash ${x.index} wrong? (text or a 64-hex-digit evidence hash)`);
  if (!evidence) return;
  await signAndSend(`/dashboard/api/provider/slashes/${x.index}/contest`, { evidence }, `slash ${x.index} contested`);
}

async function signAndSend(path, body, done) {
  try {
    await walletForSession();
    const prep = await api(path, { body });
    const signed = await signTransaction(state.wallet, state.account, b64.decode(prep.transaction), `solana:${state.session.cluster}`);
    const sent = await api("/dashboard/api/transactions", { body: { transaction: b64.encode(signed) } });
    notice(`${done}: ${sent.signature}`);
    route();
  } catch (e) { notice(`Could not send: ${e.message}`, true); }
}

// ---- auditor ------------------------------------------------------------------------------------------
async function auditorView(main) {
  main.replaceChildren(h("div", { class: "muted" }, "auditing every account of the program against the chain…"));
  const v = await api("/dashboard/api/auditor");
  renderAudit(main, v);
}

function renderAudit(main, v) {
  const kinds = ["program", "channel", "batch", "customer", "provider", "epoch"];
  const parts = [h("div", { class: "grid" }, card("Verdict", h("span", { class: v.ok ? "pass" : "fail", id: "audit-verdict" }, v.ok ? "PASS" : "FAIL")),
    card("Objects audited", String(v.reports.length)), card("Audited at", when(v.ran_ms), h("div", { class: "muted" }, `${v.seconds} s`)))];
  parts.push(h("p", {}, h("button", { type: "button", class: "secondary", onclick: async () => {
    main.dataset.ready = ""; renderAudit(main, await api("/dashboard/api/auditor/run", { body: {} })); main.dataset.ready = "auditor"; } }, "Run the audit again"),
    " · rebuild the program yourself and compare: ", h("code", {}, v.rebuild_command)));
  if (!v.reports.length) parts.push(empty("Nothing on chain to audit yet: the program holds no channel, batch or epoch."));
  for (const kind of kinds) {
    const reps = v.reports.filter((r) => r.kind === kind);
    if (!reps.length) continue;
    parts.push(h("section", { "data-kind": kind }, h("h2", {}, `${kind} (${reps.length})`),
      table(["Object", "Verdict", "Checks"], reps.map((r) => h("tr", { "data-target": r.target },
        h("td", { class: "mono" }, link(r.link, r.target)),
        h("td", {}, h("span", { class: r.ok ? "pass" : "fail" }, r.ok ? "pass" : "FAIL")),
        h("td", {}, h("ul", { class: "checks" }, r.checks.map((c) => h("li", { title: c.detail }, h("span", { class: c.status }, c.status), ` ${c.name}`)),
          r.kind === "program" ? [h("li", { class: "mono" }, `deployed sha256 ${r.facts.deployed_sha256 || "–"}`),
            h("li", { class: "mono" }, `committed sha256 ${r.facts.committed_sha256 || "–"}`)] : null)))))));
  }
  main.replaceChildren(...parts);
}

// ---- operator -----------------------------------------------------------------------------------------
async function operatorView(main) {
  const s = state.session;
  if (!s.wallet) return needSignIn(main, "the operator's jobs, intents and reconciliation");
  const v = await api("/dashboard/api/operator");
  const counts = Object.entries(v.intent_counts).map(([k, n]) => `${k} ${n}`).join(", ") || "none";
  const parts = [h("div", { class: "grid" },
    card("Meter key SOL", h("span", { id: "meter-sol" }, v.meter_sol), h("div", {}, link(v.meter_link, short(v.meter_key)))),
    card("Batch backlog", String(v.batch_backlog.length), h("div", { class: "muted" }, "built, not yet posted")),
    card("Ledger vs chain", h("span", { class: v.reconcile.ok ? "pass" : "fail", id: "recon" }, v.reconcile.ok ? "equal" : `${v.reconcile.differences.length} difference(s)`),
      h("div", { class: "muted" }, `${v.reconcile.checked} figures checked`)),
    card("Ingest rate", `${v.ingest.per_minute} / min`, h("div", { class: "muted" }, `${v.ingest.events_last_hour} events in the last hour`)),
    card("Intents", counts))];
  parts.push(h("section", { id: "jobs" }, h("h2", {}, "Job runs"), v.jobs.length ? table(["Job", "Runs ", "Failures ", "Last run", "Next due", "Last error"],
    v.jobs.map((j) => h("tr", {}, h("td", {}, j.name), h("td", { class: "num" }, j.runs), h("td", { class: "num" }, j.failures),
      h("td", {}, when(j.last_run_ms)), h("td", {}, when(j.next_due_ms)), h("td", { class: "mono" }, j.last_error || "")))) :
    empty("No scheduled job has run: ", h("code", {}, "solmeter operator serve"), " runs them (the demo cranks by hand).")));
  const failed = v.intents.filter((i) => i.state === "failed");
  parts.push(h("section", { id: "intents" }, h("h2", {}, "Intents"),
    failed.length ? null : empty("No failed intent: nothing to retry."),
    v.intents.length ? table(["#", "Kind", "Subject", "State", "Attempts ", "Error", ""], v.intents.map((i) => h("tr", { "data-intent": i.id },
      h("td", {}, link(i.link, String(i.id))), h("td", {}, i.kind), h("td", { class: "mono" }, i.subject), h("td", {}, i.state),
      h("td", { class: "num" }, i.attempts), h("td", { class: "mono" }, i.error || ""),
      h("td", {}, i.state === "failed" ? h("button", { type: "button", class: "secondary", onclick: async () => {
        try { await api(`/dashboard/api/operator/intents/${i.id}/retry`, { body: {} }); notice(`intent ${i.id} back to pending: the engine retries it`); route(); }
        catch (e) { notice(e.message, true); } } }, "Retry") : "")))) : null));
  parts.push(h("section", { id: "reconcile" }, h("h2", {}, "Reconciliation differences"), v.reconcile.differences.length ?
    table(["Account", "Ledger ", "Chain ", "Difference "], v.reconcile.differences.map((d) => h("tr", {}, h("td", { class: "mono" }, d.account),
      h("td", { class: "num" }, tokens(d.ledger)), h("td", { class: "num" }, tokens(d.chain)), h("td", { class: "num" }, tokens(d.difference))))) :
    empty("The ledger equals the chain to the base unit.")));
  parts.push(h("section", { id: "backlog" }, h("h2", {}, "Batch backlog"), v.batch_backlog.length ?
    table(["Batch", "Receipts ", "Total "], v.batch_backlog.map((b) => h("tr", {}, h("td", {}, b.id), h("td", { class: "num" }, b.count), h("td", { class: "num" }, tokens(b.total))))) :
    empty("Every built batch is posted on chain.")));
  parts.push(h("section", {}, h("h2", {}, "Look at a customer or provider"), walletPicker(main, "customer"), h("br"), walletPicker(main, "provider")));
  main.replaceChildren(...parts);
}

// ---- start --------------------------------------------------------------------------------------------
$("#signin").addEventListener("click", signIn);
$("#signout").addEventListener("click", signOut);
window.addEventListener("hashchange", route);
onWalletsChanged(listWallets);
listWallets();
refreshSession().then(route).catch((e) => notice(e.message, true));
