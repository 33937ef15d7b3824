"""`solmeter provider ...`: a provider's registration, stake, rewards and slashes."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Optional

import typer

from contracts.economics import epoch_at, epoch_start, request_window, reward_share
from contracts.cli_output import YES, emit, is_json, iso_utc, local_time
from solmeter.commands.common import (METER_API, MeterReadError, chain, confirm, deployment, done, fmt, keypair, meter_get,
                               one_line_errors, require_provider, require_window, send_amount, with_tokens)
from contracts.client import params_at
from ledger.ops import roles
from ledger.ops.deployment import read_account, read_config

app = typer.Typer(help="Provider: register, stake, claim epoch rewards, unstake, contest a slash.",
                  no_args_is_help=True)
KEYPAIR = typer.Option(None, "--keypair", "-k", help="Provider wallet keypair (default: the global keypair).")
# the amounts of `provider status --output json`, each followed by its decimal string NAME_tokens
PROVIDER_AMOUNTS = ("stake", "payout_balance", "unstake_requested", "pending_slash", "total_revenue")
SLASH_STATES = {0: "proposed", 1: "contested", 2: "upheld", 3: "rejected", 4: "executed"}


@app.command()
@one_line_errors
def register(kp: Optional[Path] = KEYPAIR) -> None:
    """Create the provider's on-chain account and stake vault; payouts go to its token account."""
    w = keypair(kp)
    c = chain()
    sig = roles.register_provider(c, deployment(), w)
    done(c, f"registered provider {w.pubkey()} (no tokens moved)", sig, action="provider register",
         wallet=str(w.pubkey()))


@app.command()
@one_line_errors
def stake(amount: str = typer.Argument(..., help="Tokens to bond."), kp: Optional[Path] = KEYPAIR,
          yes: bool = YES) -> None:
    """Bond tokens as stake."""
    send_amount(roles.stake, amount, kp, "staked {amount}", action="provider stake", yes=yes,
                what="bond {amount} from wallet {wallet} as stake (slashable)",
                check=lambda c, dep, w, units: require_provider(c, dep, w))


@app.command("request-unstake")
@one_line_errors
def request_unstake(amount: str = typer.Argument(..., help="Tokens to unbond after the cooldown."),
                    kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Start the unstake cooldown (the stake stays slashable meanwhile)."""
    def check(c, dep, w, units):
        st = roles.provider_status(c, dep, w)
        if not st.registered:
            require_provider(c, dep, w)
        if units > st.stake:
            raise ValueError(f"cannot request an unstake of {fmt(units, dep.decimals)} tokens: provider {w} stakes "
                             f"{fmt(st.stake, dep.decimals)} tokens (see `solmeter provider status`)")

    send_amount(roles.request_unstake, amount, kp, "unstake of {amount} requested", action="provider request-unstake",
                yes=yes, what="request to unbond {amount} of the stake of {wallet} (after the cooldown)", check=check)


@app.command("withdraw-stake")
@one_line_errors
def withdraw_stake(kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Withdraw the requested stake after the cooldown (claim closed epochs first)."""
    dep, c, w = deployment(), chain(), keypair(kp)
    st = roles.provider_status(c, dep, w.pubkey())
    if not st.registered:
        require_provider(c, dep, w.pubkey())
    if not st.unstake_requested:
        raise ValueError(f"no unstake was requested for {w.pubkey()}: run `solmeter provider request-unstake "
                         f"AMOUNT` first")
    require_window(_unstake_window(c, dep, w.pubkey()), c.unix_time(),
                   f"the unstake of {fmt(st.unstake_requested, dep.decimals)} tokens", "solmeter provider withdraw-stake",
                   "solmeter provider request-unstake AMOUNT", "CooldownNotElapsed", "UnstakeRequestExpired")
    confirm(yes, f"withdraw {fmt(st.unstake_requested, dep.decimals)} tokens of stake of {w.pubkey()} to its wallet")
    sig = roles.withdraw_stake(c, dep, w)
    done(c, "stake withdrawn: {amount}", sig, action="provider withdraw-stake", amount=st.unstake_requested,
         decimals=dep.decimals, wallet=str(w.pubkey()))


@app.command("set-payout")
@one_line_errors
def set_payout(kp: Optional[Path] = KEYPAIR) -> None:
    """Receive settlements and rewards on the wallet's associated token account from now on (e.g. after the
    registered payout account was closed or frozen)."""
    c = chain()
    sig = roles.set_payout(c, deployment(), keypair(kp))
    done(c, "payout account updated (no tokens moved)", sig, action="provider set-payout")


@app.command()
@one_line_errors
def claim(epoch: Optional[int] = typer.Option(None, min=0, help="Epoch to claim (default: the previous one)."),
          kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Claim this provider's pro-rata reward of a closed epoch ("nothing to claim", and no transaction, for an
    epoch in which it had no revenue). An epoch that is still open is refused before anything is sent."""
    dep = deployment()
    c = chain()
    w = keypair(kp)
    cfg = read_config(c, dep.program)
    genesis, length = int(cfg.genesis_ts), int(cfg.epoch_length)
    current = epoch_at(genesis, length, c.unix_time())  # the chain's clock, as claim_rewards.rs reads it
    if epoch is None:
        epoch = current - 1
        if epoch < 0:
            raise ValueError(f"no epoch has closed yet: epoch 0 closes at {local_time(epoch_start(genesis, length, 1))}")
    p = read_account(c, "Provider", dep.program.provider_address(w.pubkey()))
    if p is None:
        require_provider(c, dep, w.pubkey())
    if epoch >= current:  # EpochNotClosed in the program: its revenue, and so every share, can still change
        raise ValueError(f"epoch {epoch} is not closed yet (EpochNotClosed): it closes at "
                         f"{local_time(epoch_start(genesis, length, epoch + 1))}; claim it after that")
    pe = read_account(c, "ProviderEpoch", dep.program.provider_epoch_address(w.pubkey(), epoch))
    if pe is None or int(pe.revenue) == 0:
        emit({"action": "provider claim", "epoch": epoch, "claimed": False, "signature": None,
              "reason": "no revenue in that epoch"},
             f"nothing to claim: provider {w.pubkey()} had no revenue in epoch {epoch} (no transaction sent)")
        return
    if int(pe.claimed):
        raise ValueError(f"epoch {epoch} was already claimed by {w.pubkey()} ({fmt(int(pe.reward), dep.decimals)} tokens)")
    e = read_account(c, "Epoch", dep.program.epoch_address(epoch))
    pool, total = (0, 0) if e is None else (int(e.reward_pool), int(e.total_revenue))
    reward = reward_share(pool, int(pe.revenue), total)
    # A claim of nothing still matters: it marks the epoch claimed, and withdraw-stake refuses while a closed
    # epoch with revenue is unclaimed (UnclaimedEpochs). Funding a closed epoch is refused, so 0 is final.
    why = (f"{fmt(reward, dep.decimals)} tokens" if reward else
           "0 tokens: the epoch's reward pool was not funded (the claim records the epoch as claimed, which "
           "withdraw-stake requires)")
    confirm(yes, f"claim the reward of epoch {epoch} for provider {w.pubkey()}: {why}")
    before = c.token_balance(p.payout) or 0
    sig = roles.claim(c, dep, w, epoch)
    got = (c.token_balance(p.payout) or 0) - before
    done(c, f"claimed epoch {epoch}: {{amount}}" + ("" if reward else " (the epoch's reward pool was not funded)"),
         sig, action="provider claim", amount=got, decimals=dep.decimals, epoch=epoch, reward_pool=pool,
         revenue=int(pe.revenue), total_revenue=total)


@app.command("contest-slash")
@one_line_errors
def contest_slash(index: int = typer.Argument(..., min=0, help="Slash index (see `provider status`)."),
                  evidence: str = typer.Option(..., help="Evidence: a 64-hex sha256, or text that is hashed."),
                  kp: Optional[Path] = KEYPAIR) -> None:
    """Contest a proposed slash within its window; the arbiter then resolves it."""
    dep, c = deployment(), chain()
    w = keypair(kp)
    s = roles.slash_info(c, dep, w.pubkey(), index)
    sig = roles.contest_slash(c, dep, w, index, evidence)
    done(c, f"slash {index} of {{amount}} contested", sig, action="provider contest-slash",
         amount=None if s is None else int(s.amount), decimals=dep.decimals, index=index)


def _unstake_window(c, dep, wallet) -> tuple[int, int, int] | None:
    """(requested at, withdrawable from, expires at), unix seconds: the program lets the stake out from
    requested_at + cooldown until requested_at + 2 x cooldown (UnstakeRequestExpired after)."""
    p = read_account(c, "Provider", dep.program.provider_address(wallet))
    if p is None or not int(p.unstake_amount):
        return None
    return request_window(int(p.unstake_requested_at),
                          int(params_at(read_config(c, dep.program), c.unix_time()).unstake_cooldown))


@app.command()
@one_line_errors
def status(kp: Optional[Path] = KEYPAIR, api: Optional[str] = METER_API,
           as_json: bool = typer.Option(False, "--json", help="Machine-readable.")) -> None:
    """Stake, payouts, pending slashes and unclaimed epochs (from the chain); the customers billed and their
    latest receipts (from the meter API, signed)."""
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
    window = _unstake_window(c, dep, w.pubkey()) if st.unstake_requested else None
    # unclaimed_epochs counts the open epoch once it has revenue (withdraw_stake.rs allows that one): what can be
    # claimed now is the closed ones
    claimable = st.unclaimed_epochs
    if claimable and st.last_revenue_epoch >= roles.current_epoch(c, dep):
        claimable -= 1
    try:
        meter = meter_get(w, api, f"/v1/providers/{w.pubkey()}/channels")
    except MeterReadError as e:  # the meter may be down or elsewhere: the chain part still stands
        meter = {"unavailable": str(e).splitlines()[0]}
    if is_json(as_json):
        unstake = None if window is None else {"requested_at": iso_utc(window[0]), "ready_at": iso_utc(window[1]),
                                               "expires_at": iso_utc(window[2])}
        emit({**with_tokens(asdict(st), PROVIDER_AMOUNTS, dep.decimals), "claimable_epochs": claimable,
              "unstake_window": unstake,
              "slashes": [{**with_tokens(x, ("amount",), dep.decimals), "contest_deadline_iso": iso_utc(x["contest_deadline"])}
                          for x in slashes],
              "meter": meter}, as_json=True)
        return
    d = dep.decimals
    typer.echo(f"provider   {st.wallet} ({'registered' if st.registered else 'not registered: run `solmeter provider register`'})")
    typer.echo(f"stake      {fmt(st.stake, d)} tokens   payout account {fmt(st.payout_balance, d)} tokens")
    open_part = ""
    if claimable != st.unclaimed_epochs:
        open_part = f" (and the open epoch {st.last_revenue_epoch}, claimable once it closes)"
    typer.echo(f"revenue    {fmt(st.total_revenue, d)} tokens settled in total; {claimable} closed epoch(s) to "
               f"claim{open_part}")
    if st.unstake_requested and window is not None:
        typer.echo(f"unstake requested {fmt(st.unstake_requested, d)} tokens at {local_time(window[0])}: withdraw it "
                   f"with `solmeter provider withdraw-stake` from {local_time(window[1])} until {local_time(window[2])} "
                   f"(then it expires: request again)")
    for s in slashes:
        typer.echo(f"slash {s['index']}: {fmt(s['amount'], d)} tokens, state {s['state']}, contest until "
                   f"{local_time(s['contest_deadline'])}")
    if "channels" in meter:
        billed = sum(c["cum_amount"] for c in meter["channels"])
        typer.echo(f"customers  {len(meter['channels'])} billed by the meter, {fmt(billed, d)} tokens in total")
        for c in meter["channels"]:
            typer.echo(f"  {c['customer']} seq {c['seq']} cumulative {fmt(c['cum_amount'], d)} tokens"
                       f"{'' if c['batched'] else ' (not yet in a batch)'}")
    else:
        typer.echo(f"meter      {meter['unavailable']}")
