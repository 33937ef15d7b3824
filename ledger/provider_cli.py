"""`solmeter provider ...`: a provider's registration, stake, rewards and slashes."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import typer

from ledger.cli_common import (METER_API, MeterReadError, chain, deployment, fmt, keypair, meter_get, one_line_errors,
                               send_amount)

app = typer.Typer(help="Provider: register, stake, claim epoch rewards, unstake, contest a slash.",
                  no_args_is_help=True)
KEYPAIR = typer.Option(None, "--keypair", "-k", help="Provider wallet keypair (default: the global keypair).")
SLASH_STATES = {0: "proposed", 1: "contested", 2: "upheld", 3: "rejected", 4: "executed"}


@app.command()
@one_line_errors
def register(kp: Optional[Path] = KEYPAIR) -> None:
    """Create the provider's on-chain account and stake vault; payouts go to its token account."""
    from ledger.ops import roles

    w = keypair(kp)
    sig = roles.register_provider(chain(), deployment(), w)
    typer.echo(f"registered provider {w.pubkey()} ({sig})")


@app.command()
@one_line_errors
def stake(amount: str = typer.Argument(..., help="Tokens to bond."), kp: Optional[Path] = KEYPAIR) -> None:
    """Bond tokens as stake."""
    from ledger.ops import roles

    send_amount(roles.stake, amount, kp, "staked {amount}")


@app.command("request-unstake")
@one_line_errors
def request_unstake(amount: str = typer.Argument(..., help="Tokens to unbond after the cooldown."),
                    kp: Optional[Path] = KEYPAIR) -> None:
    """Start the unstake cooldown (the stake stays slashable meanwhile)."""
    from ledger.ops import roles

    send_amount(roles.request_unstake, amount, kp, "unstake of {amount} requested")


@app.command("withdraw-stake")
@one_line_errors
def withdraw_stake(kp: Optional[Path] = KEYPAIR) -> None:
    """Withdraw the requested stake after the cooldown (claim closed epochs first)."""
    from ledger.ops import roles

    sig = roles.withdraw_stake(chain(), deployment(), keypair(kp))
    typer.echo(f"stake withdrawn ({sig})")


@app.command("set-payout")
@one_line_errors
def set_payout(kp: Optional[Path] = KEYPAIR) -> None:
    """Receive settlements and rewards on the wallet's associated token account from now on (e.g. after the
    registered payout account was closed or frozen)."""
    from ledger.ops import roles

    sig = roles.set_payout(chain(), deployment(), keypair(kp))
    typer.echo(f"payout account updated ({sig})")


@app.command()
@one_line_errors
def claim(epoch: Optional[int] = typer.Option(None, min=0, help="Epoch to claim (default: the previous one)."),
          kp: Optional[Path] = KEYPAIR) -> None:
    """Claim this provider's pro-rata reward of a closed epoch."""
    from ledger.ops import roles

    dep = deployment()
    c = chain()
    if epoch is None:
        epoch = roles.current_epoch(c, dep) - 1
        if epoch < 0:
            raise ValueError("no epoch has closed yet")
    sig = roles.claim(c, dep, keypair(kp), epoch)
    typer.echo(f"claimed epoch {epoch} ({sig})")


@app.command("contest-slash")
@one_line_errors
def contest_slash(index: int = typer.Argument(..., min=0, help="Slash index (see `provider status`)."),
                  evidence: str = typer.Option(..., help="Evidence: a 64-hex sha256, or text that is hashed."),
                  kp: Optional[Path] = KEYPAIR) -> None:
    """Contest a proposed slash within its window; the arbiter then resolves it."""
    from ledger.ops import roles

    sig = roles.contest_slash(chain(), deployment(), keypair(kp), index, evidence)
    typer.echo(f"slash {index} contested ({sig})")


@app.command()
@one_line_errors
def status(kp: Optional[Path] = KEYPAIR, api: Optional[str] = METER_API,
           as_json: bool = typer.Option(False, "--json", help="Machine-readable.")) -> None:
    """Stake, payouts, pending slashes and unclaimed epochs (from the chain); the customers billed and their
    latest receipts (from the meter API, signed)."""
    from dataclasses import asdict

    from ledger.ops import roles

    dep = deployment()
    c = chain()
    w = keypair(kp)
    st = roles.provider_status(c, dep, w.pubkey())
    slashes = []
    for i in range(st.slash_count):
        s = roles.slash_info(c, dep, w.pubkey(), i)
        if s is not None:
            slashes.append({"index": i, "amount": int(s.amount), "state": SLASH_STATES.get(int(s.state), str(s.state)),
                            "contest_deadline": int(s.contest_deadline)})
    try:
        meter = meter_get(w, api, f"/v1/providers/{w.pubkey()}/channels")
    except MeterReadError as e:  # the meter may be down or elsewhere: the chain part still stands
        meter = {"unavailable": str(e).splitlines()[0]}
    if as_json:
        typer.echo(json.dumps({**asdict(st), "slashes": slashes, "meter": meter}, indent=2))
        return
    d = dep.decimals
    typer.echo(f"provider   {st.wallet} ({'registered' if st.registered else 'not registered'})")
    typer.echo(f"stake      {fmt(st.stake, d)}   payout account {fmt(st.payout_tokens, d)}")
    typer.echo(f"revenue    {fmt(st.total_revenue, d)} settled in total; {st.unclaimed_epochs} epoch(s) unclaimed")
    if st.unstake_requested:
        typer.echo(f"unstake requested {fmt(st.unstake_requested, d)}")
    for s in slashes:
        typer.echo(f"slash {s['index']}: {fmt(s['amount'], d)} state {s['state']} contest until {s['contest_deadline']}")
    if "channels" in meter:
        billed = sum(c["cum_amount"] for c in meter["channels"])
        typer.echo(f"customers  {len(meter['channels'])} billed by the meter, {fmt(billed, d)} in total")
        for c in meter["channels"]:
            typer.echo(f"  {c['customer']} seq {c['seq']} cumulative {fmt(c['cum_amount'], d)}"
                       f"{'' if c['batched'] else ' (not yet in a batch)'}")
    else:
        typer.echo(f"meter      {meter['unavailable']}")
