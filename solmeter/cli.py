"""The `solmeter` console command: one Typer app that mounts each package's command group.

The groups are loaded lazily: `solmeter --help` (and every command's start) imports only the group it
runs, so the root's start-up costs typer alone (the settings and key modules pull in pydantic and solders,
so they are imported by the commands that use them)."""
from __future__ import annotations

import enum
import json
import os
import sys
from pathlib import Path
from typing import Optional

import click
import typer

from . import __version__
from .errors import SolmeterError
from .flags import GlobalFlags
from .flags import current as current_flags
from .lazy import lazy_group, load

# (command name, module, attribute, one-line help). The command groups live in the application layer
# (solmeter/commands/); the help is repeated here so that listing the commands imports none of them
# (tests/cli/test_solmeter_cli.py checks it equals the group's own help).
GROUPS = [
    ("contracts", "solmeter.commands.contracts", "app",
     "The on-chain billing program: build it from Rust and check the committed binary."),
    ("localnet", "solmeter.commands.localnet", "app",
     "The embedded Solana validator (LiteSVM): start it, reset its ledger, check it."),
    ("meter", "solmeter.commands.meter", "app",
     "The metering service: signed usage ingestion, receipts, Merkle batches, read API."),
    ("agent", "solmeter.commands.agent", "app", "Provider agents that report signed usage to the meter."),
    ("operator", "solmeter.commands.operator", "app",
     "Operator: deploy, initialize, prices, fees, epochs, slashes, and `serve` (API + jobs)."),
    ("demo", "solmeter.commands.demo", "app",
     "Run the end-to-end demo: deploy, 3 providers, 5 customers, a few simulated hours."),
    ("customer", "solmeter.commands.customer", "app",
     "Customer: register, fund the escrow, cap spending, see usage and receipts."),
    ("provider", "solmeter.commands.provider", "app",
     "Provider: register, stake, claim epoch rewards, unstake, contest a slash."),
    ("audit", "solmeter.commands.audit", "app",
     "Verify receipts, channels, batches, epochs, customers, providers and the deployed program against the chain."),
    # a single command rather than a group: the attribute is the command's function
    ("airdrop", "solmeter.commands.airdrop", "airdrop",
     "Request SOL from the localnet's faucet (a new keypair needs some before it can pay for anything)."),
]
_Root = lazy_group(GROUPS)  # the root group: the package groups are listed from GROUPS, imported when one runs


def load_group(name: str) -> click.Command | None:
    """The click group (or single command) of a lazily mounted name, imported now; None when that capability is not part
    of this build (its package is not installed)."""
    module, attr, _ = _Root.LAZY[name]
    return load(name, module, attr)


app = typer.Typer(
    name="solmeter",
    help="Billing for rented GPUs and storage, settled on Solana.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    cls=_Root,
)

class _Output(str, enum.Enum):
    text = "text"
    json = "json"


def _version(value: bool) -> None:
    if value:
        typer.echo(f"solmeter {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    config: Optional[Path] = typer.Option(None, "--config", "-C", help="solmeter TOML config file."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Data directory (keys, SQLite, ledger)."),
    url: Optional[str] = typer.Option(None, "--url", "-u", help="Cluster: localnet, devnet, mainnet-beta or a URL."),
    keypair: Optional[Path] = typer.Option(None, "--keypair", "-k", help="Payer / signer keypair file."),
    database_url: Optional[str] = typer.Option(None, "--database-url", help="SQLAlchemy database URL."),
    output: Optional[_Output] = typer.Option(None, "--output", case_sensitive=True,
                                             help="Output format of the command: text (default) or json."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Billing for rented GPUs and storage, settled on Solana."""
    if output is not None:
        from contracts.cli_output import use_mode  # local: `solmeter --help` imports no contracts

        use_mode(output.value)
    # The global flags travel on the context (every command's context inherits its object); each command
    # passes them to load_settings, where they rank above the environment (solmeter/flags.py).
    ctx.obj = GlobalFlags(config=config, data_dir=data_dir, url=url, keypair=keypair, database_url=database_url)


config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
keys_app = typer.Typer(help="Create and inspect Solana keypair files.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(keys_app, name="keys")


@config_app.command("show")
def config_show(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Print every setting after defaults, the Solana CLI config, the TOML file, environment and flags."""
    from .config import load_settings  # local: pydantic, which `solmeter --help` must not import
    s = load_settings(flags=current_flags())
    view = {k: (str(v) if v is not None else None) for k, v in s.model_dump().items()}
    view.update(resolved_rpc_url=s.resolved_rpc_url, resolved_ws_url=s.resolved_ws_url,
                resolved_database_url=s.resolved_database_url, resolved_program_id=s.resolved_program_id)
    if as_json:
        typer.echo(json.dumps(view, indent=2))
    else:
        for k, v in view.items():
            typer.echo(f"{k:24} {v}")


@keys_app.command("new")
def keys_new(
    path: Path = typer.Argument(..., help="Where to write the keypair (64-integer JSON array, mode 0600)."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing file."),
) -> None:
    """Generate a new keypair file and print its public key."""
    from .keys import write_keypair  # local: solders, which `solmeter --help` must not import
    kp = write_keypair(path, overwrite=force)
    typer.echo(str(kp.pubkey()))


@keys_app.command("show")
def keys_show(path: Path = typer.Argument(..., help="Keypair file to read.")) -> None:
    """Print the public key of a keypair file."""
    from .keys import load_keypair  # local: solders, which `solmeter --help` must not import
    typer.echo(str(load_keypair(path).pubkey()))


# The libraries' own error bases, printed as one line like a SolmeterError: (module, class). Only modules
# already imported are looked at (an error of a module never imported cannot have been raised), so the root
# imports none of them (`solmeter --help` stays cheap).
ONE_LINE_ERRORS = (("auditor.errors", "AuditError"),)


def _library_error(e: Exception) -> bool:
    for module, name in ONE_LINE_ERRORS:
        mod = sys.modules.get(module)
        if mod is not None and isinstance(e, getattr(mod, name)):
            return True
    return False


def main(argv: list[str] | None = None) -> int:
    try:
        # Without standalone mode click returns a command's typer.Exit code instead of exiting.
        rc = app(args=argv, standalone_mode=False)
        return rc if isinstance(rc, int) else 0
    except SolmeterError as e:
        typer.echo(f"error: {e}", err=True)
        return 1
    except typer.Exit as e:
        return e.exit_code
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except BrokenPipeError:
        # The reader went away (`solmeter ... | head`): stop quietly, as a Unix tool killed by SIGPIPE;
        # stdout now points at /dev/null so the interpreter's final flush cannot fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except Exception as e:  # the last line of defence: one line, the traceback only on request
        if _library_error(e):
            typer.echo(f"error: {e}", err=True)
            return 1
        show = getattr(e, "show", None)
        if callable(show) and hasattr(e, "exit_code"):  # a click/typer usage error: its own one-line message
            show()
            return e.exit_code
        if os.environ.get("SOLMETER_DEBUG"):
            raise
        typer.echo(f"error: {type(e).__name__}: {e} (set SOLMETER_DEBUG=1 for the traceback)", err=True)
        return 1


if __name__ == "__main__":
    sys.exit(main())
