"""`solmeter localnet start|reset|status`: the embedded validator from the command line."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Optional

import httpx
import typer

from contracts.cli_output import YES
from solmeter.config import load_settings
from solmeter.flags import current as current_flags
from contracts.cli_output import confirm
from localnet import NodeConfig, run_forever
from localnet.features import describe
from localnet.genesis import GenesisError, default_config
from localnet.ledger import Ledger, LedgerError

app = typer.Typer(help="The embedded Solana validator (LiteSVM): start it, reset its ledger, check it.",
                  no_args_is_help=True)

# solana-test-validator's multi-value options and what they take
_PAIRED = {"--bpf-program": "ID SO", "--account": "ADDR FILE.json", "--upgradeable-program": "ID SO AUTHORITY"}


def _fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(1)


def _settings(**overrides):
    try:
        return load_settings(flags=current_flags(), **overrides)
    except Exception as e:  # ConfigError and friends: one line
        _fail(str(e))


def _pairs(args: list[str]) -> dict[str, list[tuple[str, ...]]]:
    """The multi-value options (`--bpf-program ID SO`, `--account ADDR FILE`, `--upgradeable-program ID SO
    AUTHORITY`), as solana-test-validator takes them."""
    out: dict[str, list[tuple[str, ...]]] = {k: [] for k in _PAIRED}
    i = 0
    while i < len(args):
        flag = args[i]
        if flag not in _PAIRED:
            _fail(f"unexpected argument {flag!r} (see `solmeter localnet start --help`)")
        n = len(_PAIRED[flag].split())
        values = args[i + 1 : i + 1 + n]
        if len(values) < n or any(v.startswith("--") for v in values):
            _fail(f"{flag} takes {('two', 'three')[n - 2]} values: {_PAIRED[flag]}")
        out[flag].append(tuple(values))
        i += 1 + n
    return out


@app.command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def start(
    ctx: typer.Context,
    ledger: Optional[Path] = typer.Option(None, "--ledger", "--ledger-dir",
                                          help="Ledger directory (default: <data_dir>/localnet)."),
    host: Optional[str] = typer.Option(None, "--host", help="Bind address (default: 127.0.0.1)."),
    port: Optional[int] = typer.Option(None, "--rpc-port", help="JSON-RPC port; PubSub listens on the next one (default 8899)."),
    slot_ms: Optional[int] = typer.Option(None, "--slot-ms", min=1, help="Slot duration in ms (default 400)."),
    per_tx: bool = typer.Option(False, "--per-tx-slots", help="Close a slot per transaction (deterministic tests)."),
    finality_depth: Optional[int] = typer.Option(None, "--finality-depth", min=0, max=149,
                                                 help="Blocks finalized trails confirmed (default 32; 0 with --per-tx-slots)."),
    block_sub: bool = typer.Option(False, "--rpc-pubsub-enable-block-subscription", help="Enable blockSubscribe."),
    vote_sub: bool = typer.Option(False, "--rpc-pubsub-enable-vote-subscription", help="Enable voteSubscribe."),
    cheats: bool = typer.Option(False, "--cheats", help="Enable surfnet_* cheat codes (time travel, set account)."),
    no_billing: bool = typer.Option(False, "--no-billing-program", help="Do not preload the billing program."),
    reset: bool = typer.Option(False, "--reset", help="Delete the ledger first and start from genesis."),
    features: str = typer.Option("devnet", "--features",
                                 help="Cluster feature set: devnet (default, the cluster users deploy to), mainnet "
                                      "or all (localnet/features/clusters.json)."),
) -> None:
    """Run the validator in the foreground until Ctrl-C.

    Also takes, repeatable, as solana-test-validator does: --bpf-program ID SO (preload a program, upgradeable
    with no authority), --upgradeable-program ID SO AUTHORITY (AUTHORITY a pubkey or "none") and
    --account ADDR FILE.json (an account in the `solana account --output json` format; ADDR '-' takes the
    address from the file). The billing program (contracts/build/solmeter_billing.so) is preloaded when built.
    """
    pairs = _pairs(list(ctx.args))
    s = _settings()
    ledger_dir = (ledger or s.resolved_ledger_dir).expanduser()
    try:
        genesis = default_config(bpf_programs=tuple(pairs["--bpf-program"]),
                                 account_files=tuple(pairs["--account"]), preload_billing=not no_billing,
                                 upgradeable_programs=tuple(pairs["--upgradeable-program"]),
                                 features=features)
    except GenesisError as e:
        _fail(str(e))
    if reset:
        try:
            Ledger.reset(ledger_dir)
        except LedgerError as e:
            _fail(str(e))
    config = NodeConfig(
        host=host or s.localnet_host,
        port=port if port is not None else s.localnet_rpc_port,
        ledger_dir=ledger_dir,
        slot_ms=None if per_tx else (slot_ms or s.localnet_slot_ms),
        cheats=cheats,
        genesis=genesis,
        finality_depth=finality_depth,
        block_subscription=block_sub,
        vote_subscription=vote_sub,
    )
    typer.echo(f"ledger {ledger_dir} (restoring if present)...", err=True)

    started: list = []

    def ready(node) -> None:
        started.append(node)
        programs = ", ".join(str(p[0]) for p in genesis.all_programs()) or "none"
        typer.echo(f"localnet ready: rpc {node.rpc_url}  ws {node.ws_url}  slot {node.bank.slot}  "
                   f"transactions {node.bank.tx_count}  features: {describe(genesis.features)}  programs: {programs}",
                   err=True)

    try:
        run_forever(config, on_ready=ready)
    except OSError as e:
        _fail(f"cannot listen on {config.host}:{config.port}: {e.strerror or e}")
    except LedgerError as e:
        _fail(str(e))
    if started:  # run_forever returns once the ledger is flushed: say so, so a stop is not a guess
        node = started[0]
        typer.echo(f"localnet stopped: ledger saved in {ledger_dir} (slot {node.bank.slot}, transactions "
                   f"{node.bank.tx_count}); `solmeter localnet start` restores it", err=True)


@app.command()
def reset(
    ledger: Optional[Path] = typer.Option(None, "--ledger", "--ledger-dir",
                                          help="Ledger directory (default: <data_dir>/localnet)."),
    yes: bool = YES,
) -> None:
    """Delete the ledger so the next start begins at genesis (stop the validator first)."""
    s = _settings()
    ledger_dir = (ledger or s.resolved_ledger_dir).expanduser()
    if not ledger_dir.exists():
        typer.echo(f"nothing to reset: {ledger_dir} does not exist")
        return

    confirm(yes, f"delete the localnet ledger in {ledger_dir} (every account and transaction of it)")
    try:
        Ledger.reset(ledger_dir)
    except LedgerError as e:
        _fail(f"{e}: stop it first")
    typer.echo(f"reset {ledger_dir}")


@app.command()
def status(
    url: Optional[str] = typer.Option(None, "--rpc-url", help="RPC URL (default: the configured localnet)."),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
) -> None:
    """Ask a running validator for its version, slot, epoch and transaction count."""
    s = _settings()
    target = url or s.resolved_rpc_url
    calls = ["getVersion", "getSlot", "getEpochInfo", "getGenesisHash", "getTransactionCount", "getIdentity"]
    body = [{"jsonrpc": "2.0", "id": i, "method": m} for i, m in enumerate(calls)]
    try:
        r = httpx.post(target, json=body, timeout=5)
        r.raise_for_status()
        out = {calls[o["id"]]: o.get("result") for o in r.json()}
    except httpx.HTTPError as e:
        _fail(f"no validator answering at {target}: {e}")
    except (ValueError, KeyError, TypeError):
        _fail(f"{target} did not answer JSON-RPC")
    view = {
        "url": target,
        "version": (out["getVersion"] or {}).get("solana-core"),
        "slot": out["getSlot"],
        "epoch": (out["getEpochInfo"] or {}).get("epoch"),
        "transactions": out["getTransactionCount"],
        "genesis_hash": out["getGenesisHash"],
        "identity": (out["getIdentity"] or {}).get("identity"),
    }
    if as_json:
        typer.echo(json.dumps(view, indent=2))
    else:
        for k, v in view.items():
            typer.echo(f"{k:14} {v}")
