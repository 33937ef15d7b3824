"""`solmeter operator ...`: deploy and initialize, set prices and fees, fund epochs, slashes, and run the
service (meter API + meter jobs + settlement engine)."""
from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Optional

from solders.pubkey import Pubkey
import typer

from contracts.client import INITIALIZE_DEFAULTS as _D
from solmeter.commands import deploy as deploy_cli
from ledger.ops.cluster import identify
from ledger.ops.meter_funding import BATCH_INTERVAL_S
from ledger.ops.program_deploy import sol
from contracts.cli_output import YES
from solmeter.commands.common import (chain, confirm, db, deployment, deployment_path, done, fmt, keypair,
                               one_line_errors,
                               parse_amount, settings)
from contracts.cli_output import emit
from contracts.client import params_at
from ledger.accounting import Ledger
from ledger.engine.intents import IntentStore, RetryRefused
from ledger.engine.jobs import Engine
from ledger.engine.lease import Leases
from ledger.engine.models import INTENT_STATES
from ledger.engine.reconcile import reconcile as run
from ledger.ops import roles, token
from ledger.ops.bootstrap import airdrop
from ledger.ops.deployment import InitParams, initialize, read_config
from ledger.ops.meter_funding import meter_funding
from solmeter.keys import load_or_create_keypair
from solmeter.lazy import lazy_group

# Loaded by name from solmeter/commands/operator_service.py (solmeter/lazy.py): they import the meter's API, its
# dashboard and jobs, which listing the operator's commands does not need. (name, module, attribute, its own help)
_SERVICE = "solmeter.commands.operator_service"
LAZY_COMMANDS = [
    ("serve", _SERVICE, "serve", "Run the meter API and its dashboard (/dashboard/), the meter's jobs and the settlement "
                                 "engine's jobs until interrupted."),
    ("prices", _SERVICE, "prices_app", "The versioned price book: `set` commits a new version on-chain (its sha256, "
                                       "signed by the admin) and then gives it to the meter; `show` lists them."),
]

app = typer.Typer(help="Operator: deploy, initialize, prices, fees, epochs, slashes, and `serve` (API + jobs).",
                  no_args_is_help=True, cls=lazy_group(LAZY_COMMANDS, after="status"))
KEYPAIR = typer.Option(None, "--keypair", "-k", help="Admin keypair (default: the global keypair).")

deploy_cli.register(app)  # upgrade, buffers list|close
METER_FLOAT = 100_000_000  # lamports below which init airdrops to the meter key on the localnet
YEAR_S = 365 * 86_400  # the program's bound on every window and delay


@app.command()
@one_line_errors
def init(program_keypair: Optional[Path] = typer.Option(None, help="Program keypair, to deploy the program where it "
                                                                     "is missing (required off the localnet; the "
                                                                     "committed dev key is for the localnet only)."),
         mint: Optional[str] = typer.Option(None, help="Existing token mint; by default a new one is created."),
         fee_bps: int = typer.Option(_D["fee_bps"], min=0, max=2000, help="Treasury fee, basis points of each settlement."),
         burn_bps: int = typer.Option(_D["burn_bps"], min=0, max=2000, help="Burned share, basis points of each settlement."),
         min_stake: str = typer.Option("1", help="Minimum provider stake, tokens."),
         epoch_length_s: int = typer.Option(_D["epoch_length"], min=60, max=YEAR_S, help="Epoch length, seconds."),
         withdrawal_delay_s: int = typer.Option(_D["withdrawal_delay"], min=60, max=YEAR_S, help="Customer withdrawal delay, seconds."),
         settlement_window_s: int = typer.Option(_D["settlement_window"], min=60, max=YEAR_S,
                                                 help="Settlement window, seconds (< withdrawal delay)."),
         unstake_cooldown_s: int = typer.Option(_D["unstake_cooldown"], min=60, max=YEAR_S, help="Unstake cooldown, seconds."),
         contest_window_s: int = typer.Option(_D["contest_window"], min=60, max=YEAR_S, help="Slash contest window, seconds."),
         resolution_window_s: int = typer.Option(_D["resolution_window"], min=60, max=YEAR_S,
                                                 help="Arbiter's time to resolve a contested slash, seconds."),
         batch_retention_s: int = typer.Option(_D["batch_retention"], min=60, max=YEAR_S,
                                               help="Batches may be closed (rent back) this long after posting, "
                                                    "seconds (>= withdrawal delay)."),
         update_delay_s: Optional[int] = typer.Option(None, min=120, max=2 * YEAR_S,
                                                      help="Delay before a change of windows, delays, min stake or "
                                                           "arbiter takes effect, seconds (default and minimum: "
                                                           "2 x max(withdrawal delay, unstake cooldown))."),
         decimals: int = typer.Option(6, min=0, max=9, help="Decimals of a newly created mint."),
         arbiter: Optional[str] = typer.Option(None, help="Arbiter public key for contested slashes. Without it the "
                                                          "admin is the arbiter and appeals are not independent."),
         kp: Optional[Path] = KEYPAIR, url: Optional[str] = deploy_cli.URL, price: int = deploy_cli.CU_PRICE,
         limit: Optional[int] = deploy_cli.CU_LIMIT, concurrency: int = deploy_cli.CONCURRENCY,
         max_len: Optional[int] = deploy_cli.MAX_LEN) -> None:
    """Deploy the program where missing, create the token, initialize, register the meter key."""
    deploy_cli.use_url(url)
    s = settings()
    c = chain()
    cluster = identify(c)
    say = lambda m: typer.echo(f"  {m}")  # noqa: E731
    admin_path = kp or s.resolved_keypair_path
    if not Path(admin_path).expanduser().exists() and cluster.local:
        say(f"creating admin keypair {admin_path}")
    admin = load_or_create_keypair(admin_path) if cluster.local else keypair(kp)
    if cluster.local and c.lamports(admin.pubkey()) < 1_000_000_000:
        say("airdropping SOL to the admin (localnet faucet)")
        airdrop(c, admin.pubkey())
    meter = load_or_create_keypair(s.resolved_meter_keypair_path)
    if cluster.local and c.lamports(meter.pubkey()) < METER_FLOAT:
        say("airdropping SOL to the meter key (it pays the rent of each batch it posts)")
        airdrop(c, meter.pubkey())
    opts = deploy_cli.options(price, limit, concurrency, max_len)
    program_id = deploy_cli.program_for_init(c, cluster, admin, program_keypair, opts)
    if arbiter is None:
        typer.echo(f"WARNING: no --arbiter given: the admin {admin.pubkey()} is the arbiter, so the admin judges "
                   f"appeals against its own slashes (not independent); pass --arbiter KEY for a real deployment",
                   err=True)
    params = InitParams(fee_bps=fee_bps, burn_bps=burn_bps, min_stake=parse_amount(min_stake, decimals),
                        withdrawal_delay=withdrawal_delay_s, settlement_window=settlement_window_s,
                        unstake_cooldown=unstake_cooldown_s, contest_window=contest_window_s,
                        resolution_window=resolution_window_s, batch_retention=batch_retention_s,
                        update_delay=update_delay_s,
                        epoch_length=epoch_length_s, decimals=decimals)
    before = c.lamports(admin.pubkey())
    dep = initialize(c, admin, program_id=program_id, meter=meter.pubkey(),
                     arbiter=Pubkey.from_string(arbiter) if arbiter else None,
                     mint=Pubkey.from_string(mint) if mint else None, params=params, progress=say,
                     budget=opts.budget)
    dep.save(deployment_path())
    db()  # create / migrate the database
    typer.echo(f"initialized program {dep.program_id}: mint {dep.mint}, treasury {dep.treasury}, meter {dep.meter}")
    typer.echo(f"  cost {sol(before - c.lamports(admin.pubkey()))} SOL (token mint, treasury and Config rent, fees)")
    typer.echo(f"  {cluster.explorer('address', dep.program_id)}")
    typer.echo(f"deployment written to {deployment_path()}")
    _say_meter_funding(c, cluster, dep)


def _meter_funding(c, dep):
    retention = int(params_at(read_config(c, dep.program), c.unix_time()).batch_retention)
    return meter_funding(c, Pubkey.from_string(dep.meter), retention)


def _say_meter_funding(c, cluster, dep) -> None:
    """The meter key pays each batch's rent: say how much it needs and whether it has it (on the localnet
    init has airdropped it already). The retention is the one in force on-chain."""
    f = _meter_funding(c, dep)
    line = (f"meter key {f.key} has {sol(f.lamports)} SOL, enough for {f.batches_left} batches "
            f"(~{sol(f.batch_rent)} SOL of rent each, returned when a batch is closed after its retention)")
    if f.enough:
        typer.echo(f"  {line}")
        return
    how = (f"`solmeter airdrop 1 {f.key}`" if cluster.local
           else f"`solana transfer {f.key} {sol(f.needed - f.lamports)} --allow-unfunded-recipient`")
    typer.echo(f"WARNING: {line}; it needs ~{sol(f.needed)} SOL for the {f.batches_in_retention} batches of one "
               f"retention period at one batch per {BATCH_INTERVAL_S // 60} min: fund it with {how}", err=True)


@app.command()
@one_line_errors
def fees(fee_bps: Optional[int] = typer.Option(None, min=0, max=2000, help="New treasury fee, basis points."),
         burn_bps: Optional[int] = typer.Option(None, min=0, max=2000, help="New burn share, basis points."),
         kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Show the fee and burn shares, or change them (bounded on-chain; bumps the config version)."""
    dep, c = deployment(), chain()
    if fee_bps is not None or burn_bps is not None:
        cfg = read_config(c, dep.program)
        new_fee = int(cfg.fee_bps) if fee_bps is None else fee_bps
        new_burn = int(cfg.burn_bps) if burn_bps is None else burn_bps
        confirm(yes, f"change the fees of every settlement from fee {int(cfg.fee_bps)} bps, burn {int(cfg.burn_bps)} "
                     f"bps to fee {new_fee} bps, burn {new_burn} bps")
        sig = roles.set_fees(c, dep, keypair(kp), fee_bps, burn_bps)
        done(c, f"fees updated to fee {new_fee} bps, burn {new_burn} bps", sig, action="operator fees",
             fee_bps=new_fee, burn_bps=new_burn)
        return
    cfg = read_config(c, dep.program)

    emit({"fee_bps": int(cfg.fee_bps), "burn_bps": int(cfg.burn_bps), "config_version": int(cfg.version)},
         f"fee {int(cfg.fee_bps)} bps, burn {int(cfg.burn_bps)} bps, config version {int(cfg.version)}")


@app.command("set-treasury")
@one_line_errors
def set_treasury(treasury: str = typer.Argument(..., help="Token account of the mint that receives fees from now on."),
                 kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Send fees to another token account (e.g. after the treasury account was closed or frozen)."""
    dep, c = deployment(), chain()
    to = Pubkey.from_string(treasury)
    confirm(yes, f"send every future fee to token account {treasury} instead of {dep.treasury}")
    sig = roles.set_treasury(c, dep, keypair(kp), to)
    done(c, f"treasury is now {treasury} (update deployment.json's treasury if you keep one)", sig,
         action="operator set-treasury", treasury=treasury)


@app.command("fund-epoch")
@one_line_errors
def fund_epoch(amount: str = typer.Argument(..., help="Reward tokens for the epoch."),
               epoch: Optional[int] = typer.Option(None, min=0, help="Epoch (default: the current one)."),
               kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Fund an epoch's reward pool from the admin's token account."""
    dep, c = deployment(), chain()
    ep = roles.current_epoch(c, dep) if epoch is None else epoch
    units = parse_amount(amount, dep.decimals)
    confirm(yes, f"move {fmt(units, dep.decimals)} tokens from the admin's token account into the reward pool of "
                 f"epoch {ep}")
    sig = roles.fund_epoch(c, dep, keypair(kp), ep, units)
    done(c, f"funded epoch {ep} with {{amount}}", sig, action="operator fund-epoch", amount=units,
         decimals=dep.decimals, epoch=ep)


@app.command("propose-slash")
@one_line_errors
def propose_slash(provider: str = typer.Argument(..., help="Provider wallet public key."),
                  amount: str = typer.Option(..., help="Tokens of stake to slash."),
                  evidence: str = typer.Option(..., help="Evidence: a 64-hex sha256, or text that is hashed."),
                  beneficiary: Optional[str] = typer.Option(None, help="Token account receiving the stake "
                                                                       "(default: the treasury)."),
                  kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Propose a slash; the provider may contest it within the contest window."""
    dep, c = deployment(), chain()
    units = parse_amount(amount, dep.decimals)
    prov = Pubkey.from_string(provider)
    confirm(yes, f"propose to slash {fmt(units, dep.decimals)} tokens of the stake of provider {provider}")
    sig, index = roles.propose_slash(c, dep, keypair(kp), prov, units, evidence,
                                     Pubkey.from_string(beneficiary) if beneficiary else None)
    done(c, f"slash {index} of {provider} proposed: {{amount}}", sig, action="operator propose-slash", amount=units,
         decimals=dep.decimals, provider=provider, index=index)


@app.command("resolve-slash")
@one_line_errors
def resolve_slash(provider: str = typer.Argument(..., help="Provider wallet public key."),
                  index: int = typer.Argument(..., min=0, help="Slash index."),
                  uphold: bool = typer.Option(..., "--uphold/--reject", help="Uphold or reject the contested slash."),
                  kp: Optional[Path] = typer.Option(None, "--keypair", "-k", help="Arbiter keypair."),
                  yes: bool = YES) -> None:
    """The arbiter decides a contested slash."""
    dep, c = deployment(), chain()
    prov = Pubkey.from_string(provider)
    s = roles.slash_info(c, dep, prov, index)
    amount = None if s is None else int(s.amount)
    what = "" if amount is None else f" of {fmt(amount, dep.decimals)} tokens"
    confirm(yes, f"{'uphold' if uphold else 'reject'} slash {index}{what} of provider {provider}")
    sig = roles.resolve_slash(c, dep, keypair(kp), prov, index, uphold)
    done(c, f"slash {index} of {{amount}} {'upheld' if uphold else 'rejected'}", sig, action="operator resolve-slash",
         amount=amount, decimals=dep.decimals, provider=provider, index=index, upheld=uphold)


@app.command("execute-slash")
@one_line_errors
def execute_slash(provider: str = typer.Argument(..., help="Provider wallet public key."),
                  index: int = typer.Argument(..., min=0, help="Slash index."),
                  kp: Optional[Path] = KEYPAIR, yes: bool = YES) -> None:
    """Execute an uncontested (after the window) or upheld slash."""
    dep, c = deployment(), chain()
    prov = Pubkey.from_string(provider)
    s = roles.slash_info(c, dep, prov, index)
    amount = None if s is None else int(s.amount)
    what = "" if amount is None else f" ({fmt(amount, dep.decimals)} tokens)"
    confirm(yes, f"execute slash {index}{what} of provider {provider}: its stake moves to the beneficiary")
    sig = roles.execute_slash(c, dep, keypair(kp), prov, index)
    done(c, f"slash {index} executed: {{amount}}", sig, action="operator execute-slash", amount=amount,
         decimals=dep.decimals, provider=provider, index=index)


@app.command()
@one_line_errors
def mint(wallet: str = typer.Argument(..., help="Wallet to receive tokens (its token account is created)."),
         amount: str = typer.Argument(..., help="Tokens to mint."),
         kp: Optional[Path] = KEYPAIR) -> None:
    """Mint tokens to a wallet (localnet / test mints whose authority is the admin)."""
    dep = deployment()
    admin = keypair(kp)
    units = parse_amount(amount, dep.decimals)
    c = chain()
    sig = token.mint_to(c, admin, admin, dep.mint_key, Pubkey.from_string(wallet), units, dep.decimals)
    done(c, f"minted {{amount}} to {wallet}", sig, action="operator mint", amount=units, decimals=dep.decimals,
         wallet=wallet)


def settlement_engine(sf, emission: int = 0):
    s = settings()
    dep = deployment()
    admin = keypair()
    meter = load_or_create_keypair(s.resolved_meter_keypair_path)
    return Engine(sf, chain(), dep.program, payer=admin, meter=meter, funder=admin if emission else None,
                  epoch_emission=emission)


@app.command()
@one_line_errors
def crank() -> None:
    """Run every settlement job once, now: follow the chain, accrue, post batches, settle, top up, reconcile."""
    _, sf = db()
    eng = settlement_engine(sf)
    out = eng.crank_once()
    for k, v in out.items():
        typer.echo(f"{k:16} {v if not hasattr(v, 'differences') else ('ok' if v.ok else [str(d) for d in v])}")
    for job, (_key, cause) in eng.blocked.items():
        typer.echo(f"WARNING: {job} stopped: {cause}", err=True)


@app.command()
@one_line_errors
def reconcile(as_json: bool = typer.Option(False, "--json", help="Machine-readable.")) -> None:
    """Compare the ledger with the chain account by account; exit status 1 on any difference."""
    _, sf = db()
    eng = settlement_engine(sf)
    eng.follow_chain()
    res = run(sf, eng.chain, eng.program, store=True)
    if as_json:
        typer.echo(json.dumps({"checked": res.checked, "differences": [d.__dict__ for d in res.differences]}))
    else:
        typer.echo(f"{res.checked} figures checked, {len(res.differences)} difference(s)")
        for d in res.differences:
            typer.echo(f"  {d}")
    if not res.ok:
        raise typer.Exit(1)


@app.command("ledger")
@one_line_errors
def ledger_balances(as_json: bool = typer.Option(False, "--json", help="Machine-readable.")) -> None:
    """Balances of every ledger account and the trial balance of both books."""
    _, sf = db()
    led = Ledger(sf)
    dec = deployment().decimals
    bal = led.balances()
    tb = led.trial_balance()
    if as_json:
        typer.echo(json.dumps({"balances": {a.code: v for a, v in sorted(bal.items())},
                               "trial_balance": {b.value: v for b, v in tb.items()}}, indent=2))
        return
    for a, v in sorted(bal.items()):
        typer.echo(f"{a.code:100} {fmt(v, dec):>20}")
    typer.echo("trial balance: " + ", ".join(f"{b.value} {fmt(v, dec)}" for b, v in tb.items()))


@app.command()
@one_line_errors
def jobs(as_json: bool = typer.Option(False, "--json", help="Machine-readable.")) -> None:
    """State of the engine's jobs (runs, consecutive failures and the last cause, back-off) and of its intents."""
    _, sf = db()
    now = time.time_ns() // 1_000_000
    leases = Leases(sf, "cli").status()
    if as_json:
        typer.echo(json.dumps({"jobs": [{"name": l.name, "runs": l.runs, "failures": l.failures,
                                         "last_error": l.last_error if l.failures else "",
                                         "next_in_ms": max(0, l.next_due_ms - now), "holder": l.holder}
                                        for l in leases],
                               "intents": IntentStore(sf).counts()}, indent=2))
        return
    for l in leases:
        due = max(0, l.next_due_ms - now)
        typer.echo(f"{l.name:16} runs {l.runs:6} failures {l.failures:3} next in {due / 1000:6.1f} s"
                   f"{'  held by ' + l.holder if l.holder else ''}")
        if l.failures and l.last_error:
            typer.echo(f"{'':16} last error: {l.last_error}")
    typer.echo("intents: " + ", ".join(f"{k} {v}" for k, v in sorted(IntentStore(sf).counts().items())))


intents_app = typer.Typer(help="The engine's intents (on-chain actions recorded before they are sent).",
                          no_args_is_help=True)
app.add_typer(intents_app, name="intents")


@intents_app.command("list")
@one_line_errors
def intents_list(state: Optional[str] = typer.Option(None, help="Only this state: pending, sent, confirmed, failed."),
                 kind: Optional[str] = typer.Option(None, help="Only this kind (post_batch, settle, ...)."),
                 limit: int = typer.Option(50, min=1, help="The newest N."),
                 as_json: bool = typer.Option(False, "--json", help="Machine-readable.")) -> None:
    """The newest intents, with their state, attempts and error."""
    if state is not None and state not in INTENT_STATES:
        raise ValueError(f"--state {state!r} is not one of {', '.join(INTENT_STATES)}")
    _, sf = db()
    rows = [i for i in IntentStore(sf).all(kind) if state is None or i.state == state][-limit:]
    if as_json:
        typer.echo(json.dumps([{"id": i.id, "key": i.key, "kind": i.kind, "state": i.state, "attempts": i.attempts,
                                "signature": i.signature, "error": i.error} for i in rows], indent=2))
        return
    for i in rows:
        typer.echo(f"{i.id:6} {i.state:9} {i.kind:14} attempts {i.attempts:2}  {i.key}")
        if i.error:
            typer.echo(f"{'':6} error: {i.error}")
    if not rows:
        typer.echo("no intents" + (f" in state {state}" if state else ""))


@intents_app.command("retry")
@one_line_errors
def intents_retry(intent_id: Optional[int] = typer.Argument(None, help="The failed intent to retry."),
                  all_failed: bool = typer.Option(False, "--all", help="Every failed intent that may be retried.")) -> None:
    """Reopen failed intents now (the engine also retries each by itself once its cause is gone)."""
    if (intent_id is None) == (not all_failed):
        raise ValueError("give one intent ID or --all")
    _, sf = db()
    store = IntentStore(sf)
    if intent_id is not None:
        store.retry(intent_id)
        typer.echo(f"intent {intent_id} reopened: the engine sends it on its next run")
        return
    reopened, refused = [], []
    for i in store.all():
        if i.state != "failed":
            continue
        try:
            store.retry(i.id)
            reopened.append(i.id)
        except RetryRefused as e:
            refused.append(f"{i.id} ({e})")
    typer.echo(f"{len(reopened)} failed intent(s) reopened" + (f"; left failed: {'; '.join(refused)}" if refused else ""))


@app.command()
@one_line_errors
def status(as_json: bool = typer.Option(False, "--json", help="Machine-readable.")) -> None:
    """The deployment at a glance: cluster, program, the admin's and the meter key's SOL (how many batches it
    still pays for), failing jobs and intents."""
    dep, c = deployment(), chain()
    cluster = identify(c)
    cfg = read_config(c, dep.program)
    admin_lamports = c.lamports(Pubkey.from_string(dep.admin))
    f = _meter_funding(c, dep)
    _, sf = db()
    failing = [l for l in Leases(sf, "cli").status() if l.failures]
    counts = IntentStore(sf).counts()
    if as_json:
        typer.echo(json.dumps({
            "cluster": cluster.name, "url": c.url, "program_id": dep.program_id, "config_version": int(cfg.version),
            "paused": bool(cfg.paused), "admin": {"key": dep.admin, "lamports": admin_lamports},
            "meter_key": {"key": f.key, "lamports": f.lamports, "batch_rent": f.batch_rent,
                          "batches_left": f.batches_left, "needed_for_retention": f.needed},
            "failing_jobs": [{"name": l.name, "failures": l.failures, "last_error": l.last_error} for l in failing],
            "intents": counts}, indent=2))
        return
    typer.echo(f"cluster   {cluster.name} ({c.url})")
    typer.echo(f"program   {dep.program_id} (config version {int(cfg.version)}{', PAUSED' if cfg.paused else ''})")
    typer.echo(f"admin     {dep.admin}: {sol(admin_lamports)} SOL")
    typer.echo(f"meter key {f.key}: {sol(f.lamports)} SOL, pays for {f.batches_left} more batches "
               f"(~{sol(f.batch_rent)} SOL each){'' if f.enough else f'; needs ~{sol(f.needed)} SOL for one retention period'}")
    typer.echo(f"jobs      {len(failing)} failing" + "".join(f"\n  {l.name} (failures {l.failures}): {l.last_error}"
                                                          for l in failing))
    typer.echo("intents   " + (", ".join(f"{k} {v}" for k, v in sorted(counts.items())) or "none"))
