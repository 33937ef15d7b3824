"""`solmeter customer ...`: a customer's escrow, limits, top-ups, status, usage and receipts."""
from __future__ import annotations

import time
from dataclasses import asdict
from pathlib import Path
from typing import Optional

from solders.pubkey import Pubkey
import typer

from contracts.economics import request_window
from contracts.cli_output import YES, emit, is_json, iso_utc, local_time
from solmeter.commands.common import fail
from solmeter.commands.common import (METER_API, MeterReadError, chain, confirm, deployment, done, fmt, keypair, meter_get,
                               one_line_errors, parse_amount, require_customer, require_window, send_amount,
                               settings, with_tokens)
from solmeter.commands.customer_lease import app as lease_app
from solmeter.flags import current as current_flags
from contracts.cli_output import amount_fields, duration
from contracts.client import U64_MAX, params_at
from contracts.evidence import EvidenceError, consent_message, encode_consent
from ledger.ops import roles
from ledger.ops.deployment import read_account, read_config
from solmeter.commands.audit import app as audit_app
from solmeter.commands.render import quantity_text, receipt_line

app = typer.Typer(help="Customer: register, fund the escrow, cap spending, see usage and receipts.",
                  no_args_is_help=True)
KEYPAIR = typer.Option(None, "--keypair", "-k", help="Customer wallet keypair (default: the global keypair).")
# the amounts of `customer status --output json`, each followed by its decimal string NAME_tokens
CUSTOMER_AMOUNTS = ("escrow", "wallet_balance", "withdrawal_requested", "total_deposited", "total_settled",
                    "top_up_threshold", "top_up_amount")


@app.command()
@one_line_errors
def register(kp: Optional[Path] = KEYPAIR) -> None:
    """Create the customer's on-chain account and escrow vault."""
    w = keypair(kp)
    c = chain()
    sig = roles.register_customer(c, deployment(), w)
    done(c, f"registered customer {w.pubkey()} (no tokens moved)", sig, action="customer register",
         wallet=str(w.pubkey()))


@app.command()
@one_line_errors
def deposit(amount: str = typer.Argument(..., help="Tokens to move into escrow, e.g. 25 or 0.5."),
            kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Move tokens from the customer's token account into its escrow (resumes a paused customer)."""
    send_amount(roles.deposit, amount, kp, "deposited {amount}", action="customer deposit", yes=yes,
                what="deposit {amount} from wallet {wallet} into its escrow",
                check=lambda c, dep, w, units: require_customer(c, dep, w))


@app.command("request-withdrawal")
@one_line_errors
def request_withdrawal(amount: str = typer.Argument(..., help="Tokens to withdraw after the delay."),
                       kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Ask to withdraw unspent escrow; it becomes available after the withdrawal delay."""
    def check(c, dep, w, units):
        st = roles.onchain_customer_status(c, dep, w)
        if not st.registered:
            require_customer(c, dep, w)
        if units > st.escrow:
            raise ValueError(f"cannot request a withdrawal of {fmt(units, dep.decimals)} tokens: the escrow of {w} "
                             f"holds {fmt(st.escrow, dep.decimals)} tokens (see `solmeter customer status`)")

    send_amount(roles.request_withdrawal, amount, kp, "withdrawal of {amount} requested",
                action="customer request-withdrawal", yes=yes, check=check,
                what="request the withdrawal of {amount} from the escrow of {wallet} (payable after the delay)")


@app.command()
@one_line_errors
def withdraw(kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Withdraw the requested amount once the delay has passed."""
    dep, c, w = deployment(), chain(), keypair(kp)
    st = roles.onchain_customer_status(c, dep, w.pubkey())
    if not st.registered:
        require_customer(c, dep, w.pubkey())
    if not st.withdrawal_requested:
        raise ValueError(f"no withdrawal was requested for {w.pubkey()}: run `solmeter customer request-withdrawal "
                         f"AMOUNT` first")
    units = min(st.withdrawal_requested, st.escrow)
    require_window(_withdrawal_window(c, dep, w.pubkey()), c.unix_time(),
                   f"the withdrawal of {fmt(st.withdrawal_requested, dep.decimals)} tokens", "solmeter customer withdraw",
                   "solmeter customer request-withdrawal AMOUNT", "WithdrawalDelayNotElapsed", "WithdrawalRequestExpired")
    confirm(yes, f"withdraw {fmt(units, dep.decimals)} tokens from the escrow of {w.pubkey()} to its wallet")
    sig = roles.withdraw(c, dep, w)
    done(c, "withdrawn {amount}", sig, action="customer withdraw", amount=units, decimals=dep.decimals,
         wallet=str(w.pubkey()))


@app.command("open-channel")
@one_line_errors
def open_channel(provider: str = typer.Argument(..., help="Provider wallet public key."),
                 limit: Optional[str] = typer.Option(None, "--limit",
                                                     help="Most tokens this provider may be paid per epoch "
                                                          "(default: no cap)."),
                 kp: Optional[Path] = KEYPAIR) -> None:
    """Consent to be billed by a provider: open the on-chain channel (nothing settles on a pair you never opened)."""
    dep, c, w = deployment(), chain(), keypair(kp)
    units = U64_MAX if limit is None else parse_amount(limit, dep.decimals)
    require_customer(c, dep, w.pubkey())
    sig = roles.open_channel(c, dep, w, Pubkey.from_string(provider), units)
    cap = "no cap" if limit is None else "at most {amount} per epoch"
    done(c, f"opened channel with {provider}, {cap}", sig, action="customer open-channel",
         amount=None if limit is None else units, decimals=dep.decimals, provider=provider, capped=limit is not None)


@app.command("set-limit")
@one_line_errors
def set_limit(provider: str = typer.Argument(..., help="Provider wallet public key."),
              amount: str = typer.Argument(..., help="Most tokens this provider may be paid per epoch."),
              kp: Optional[Path] = KEYPAIR) -> None:
    """Cap what one provider can be paid from this escrow per epoch (opens the channel if needed; 0 stops
    consent: a decrease takes effect after the settlement window, so receipts already issued stay payable)."""
    dep, c, w = deployment(), chain(), keypair(kp)
    units = parse_amount(amount, dep.decimals)
    require_customer(c, dep, w.pubkey())
    sig = roles.set_limit(c, dep, w, Pubkey.from_string(provider), units)
    done(c, f"limit {{amount}} per epoch for {provider}", sig, action="customer set-limit", amount=units,
         decimals=dep.decimals, provider=provider)


@app.command("auto-top-up")
@one_line_errors
def auto_top_up(threshold: str = typer.Option(..., help="Top up when the escrow falls below this many tokens."),
                amount: str = typer.Option(..., help="Tokens to pull per top-up."),
                allowance: str = typer.Option(..., help="Total the crank may ever pull (SPL allowance)."),
                kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Let the permissionless crank refill the escrow from the wallet, within an allowance."""
    dep, c, w = deployment(), chain(), keypair(kp)
    d = dep.decimals
    th, am, al = parse_amount(threshold, d), parse_amount(amount, d), parse_amount(allowance, d)
    require_customer(c, dep, w.pubkey())
    confirm(yes, f"let the crank pull {fmt(am, d)} tokens from wallet {w.pubkey()} whenever its escrow is below "
                 f"{fmt(th, d)} tokens, {fmt(al, d)} tokens at most in total")
    sig = roles.auto_top_up(c, dep, w, th, am, al)
    done(c, f"auto top-up configured: {{amount}} below {fmt(th, d)} tokens, at most {fmt(al, d)} tokens in total",
         sig, action="customer auto-top-up", amount=am, decimals=d, **amount_fields("threshold", th, d),
         **amount_fields("allowance", al, d))


def _withdrawal_window(c, dep, wallet) -> tuple[int, int, int] | None:
    """(requested at, withdrawable from, usable until), unix seconds: a request matures after the withdrawal
    delay and is usable for one more delay."""
    acct = read_account(c, "Customer", dep.program.customer_address(wallet))
    if acct is None or not int(acct.withdrawal_amount):
        return None
    return request_window(int(acct.withdrawal_requested_at),
                          int(params_at(read_config(c, dep.program), c.unix_time()).withdrawal_delay))


@app.command()
@one_line_errors
def status(kp: Optional[Path] = KEYPAIR, api: Optional[str] = METER_API,
           as_json: bool = typer.Option(False, "--json", help="Machine-readable.")) -> None:
    """Escrow, wallet, totals (from the chain); paused flag and runway (from the meter API, signed)."""
    dep, c = deployment(), chain()
    w = keypair(kp)
    st = roles.onchain_customer_status(c, dep, w.pubkey())
    out = with_tokens(asdict(st), CUSTOMER_AMOUNTS, dep.decimals)
    window = _withdrawal_window(c, dep, w.pubkey()) if st.withdrawal_requested else None
    out["withdrawal_window"] = None if window is None else {k: iso_utc(t) for k, t in
                                                            zip(("requested_at", "ready_at", "expires_at"), window)}
    try:
        out["meter"] = meter_get(w, api, f"/v1/customers/{w.pubkey()}/status")
    except MeterReadError as e:  # the meter may be down or elsewhere: the chain part still stands
        out["meter"] = {"unavailable": str(e).splitlines()[0]}
    if is_json(as_json):
        emit(out, as_json=True)
        return

    d = dep.decimals
    typer.echo(f"customer   {st.wallet} ({'registered' if st.registered else 'not registered: run `solmeter customer register`'})")
    typer.echo(f"escrow     {fmt(st.escrow, d)}   wallet {fmt(st.wallet_balance, d)}")
    typer.echo(f"deposited  {fmt(st.total_deposited, d)}   settled {fmt(st.total_settled, d)}")
    if st.withdrawal_requested and window is not None:
        typer.echo(f"withdrawal requested {fmt(st.withdrawal_requested, d)} tokens at {local_time(window[0])}: "
                   f"`solmeter customer withdraw` from {local_time(window[1])} until {local_time(window[2])}")
    if st.top_up_amount:
        typer.echo(f"auto top-up {fmt(st.top_up_amount, d)} below {fmt(st.top_up_threshold, d)}")
    m = out["meter"]
    if "paused" in m:
        runway = m.get("runway_seconds")
        typer.echo(f"paused     {'yes: ' + (m.get('paused_reason') or '') if m['paused'] else 'no'}")
        basis = f" (at the rate of the {m['runway_basis']})" if runway is not None and m.get("runway_basis") else ""
        typer.echo(f"runway     {duration(runway) + basis if runway is not None else m.get('runway_note') or '-'}")
    else:
        typer.echo(f"meter      {m['unavailable']}")


@app.command()
@one_line_errors
def usage(kp: Optional[Path] = KEYPAIR, api: Optional[str] = METER_API,
          minutes: int = typer.Option(60, min=1, max=31 * 24 * 60, help="Look back this many minutes.")) -> None:
    """Usage as it accrues, not yet sealed usage included (from the meter API, signed)."""
    w = keypair(kp)
    end = time.time_ns() // 1_000_000
    body = meter_get(w, api, "/v1/usage", {"customer": str(w.pubkey()), "start_ms": end - minutes * 60_000,
                                           "end_ms": end, "samples": False})
    def text() -> None:
        if not body["channels"]:
            typer.echo("no usage in that range")
        for ch in body["channels"]:
            typer.echo(f"provider {ch['provider']}")
            for line in ch["lines"]:
                typer.echo(f"  {line['family']:8} {line['class']:10} {quantity_text(line['family'], line['quantity'])}")
            for g in ch["gaps"]:
                typer.echo(f"  gap (not billed) {g['family']} {g['resource']}: {local_time(g['start_ms'], 'ms')} .. "
                           f"{local_time(g['end_ms'], 'ms')}")
    emit(body, text)


@app.command()
@one_line_errors
def receipts(kp: Optional[Path] = KEYPAIR, api: Optional[str] = METER_API,
             limit: int = typer.Option(50, min=1, max=1000),
             as_json: bool = typer.Option(False, "--json", help="Full receipts with signature and proof.")) -> None:
    """The customer's signed receipts, newest first (from the meter API, signed)."""
    w = keypair(kp)
    views = meter_get(w, api, "/v1/receipts", {"customer": str(w.pubkey()), "limit": limit,
                                               "newest_first": True})["receipts"]
    if is_json(as_json):
        emit(views, as_json=True)
        return
    if not views:
        typer.echo("no receipts")
    for v in views:
        typer.echo(receipt_line(v, deployment().decimals))


@app.command("check-bill", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
@one_line_errors
def check_bill(ctx: typer.Context, kp: Optional[Path] = KEYPAIR,
               as_json: bool = typer.Option(False, "--json", help="The audit's report as JSON.")) -> None:
    """Check your whole bill from public data alone (the auditor's `solmeter audit bill`): your escrow, every
    channel's receipts, settlements and line items against the price books on the record. Extra options
    (--api, --price-books, --cross-check-url, --allow-pending) go to the audit."""
    wallet = str(keypair(kp).pubkey())
    signer = ["-k", str(kp or settings().resolved_keypair_path)]  # its receipt lists are read signed by it
    json_flag = ["--json"] if is_json(as_json) else []  # --output json (or --json) reaches the audit
    # the audit runs under a root context of its own: it gets this command's global flags as that context's object
    raise typer.Exit(audit_app(["bill", wallet, *signer, *ctx.args, *json_flag], standalone_mode=False,
                               obj=current_flags()) or 0)


@app.command("consent")
@one_line_errors
def consent(reader: str = typer.Argument(..., help="The auditor's wallet public key."),
            days: int = typer.Option(30, min=1, max=3650, help="Valid for this many days."),
            kp: Optional[Path] = KEYPAIR) -> None:
    """Let an auditor read your usage evidence (the provider-signed events behind your receipts): prints the
    consent it passes to `solmeter audit channel|bill --consent` (contracts/evidence.py, SOLMETER-CONSENT-V1)."""
    me = keypair(kp)
    expiry = time.time_ns() // 1_000_000 + days * 86_400_000
    try:
        msg = consent_message(str(me.pubkey()), reader, expiry)
    except EvidenceError as e:
        fail(f"READER: {e}")
    typer.echo(encode_consent(str(me.pubkey()), expiry, bytes(me.sign_message(msg))))


app.add_typer(lease_app, name="lease")
