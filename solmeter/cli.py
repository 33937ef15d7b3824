"""The `solmeter` console command: one Typer app that mounts each package's command group."""
from __future__ import annotations

import importlib
import json
import os
import sys
from pathlib import Path
from typing import Optional

import typer

from . import __version__
from .config import load_settings
from .errors import SolmeterError
from .keys import load_keypair, write_keypair

app = typer.Typer(
    name="solmeter",
    help="Billing for rented GPUs and storage, settled on Solana.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)

# (command name, module, attribute). Each package owns its command group in its own cli module.
GROUPS = [
    ("contracts", "contracts.cli", "app"),
    ("localnet", "localnet.cli", "app"),
    ("meter", "metering.cli", "app"),
    ("agent", "metering.agent_cli", "app"),
    ("operator", "ledger.operator_cli", "app"),
    ("demo", "ledger.demo_cli", "app"),
    ("customer", "ledger.customer_cli", "app"),
    ("provider", "ledger.provider_cli", "app"),
    ("audit", "auditor.cli", "app"),
]

# Global flags are exported as SOLMETER_* variables so every group's load_settings() sees them with the
# precedence of flags (environment is above the config files).
_FLAG_ENV = {
    "config": "SOLMETER_CONFIG",
    "data_dir": "SOLMETER_DATA_DIR",
    "url": "SOLMETER_RPC_URL",
    "keypair": "SOLMETER_KEYPAIR_PATH",
    "database_url": "SOLMETER_DATABASE_URL",
}


def _version(value: bool) -> None:
    if value:
        typer.echo(f"solmeter {__version__}")
        raise typer.Exit()


@app.callback()
def root(
    config: Optional[Path] = typer.Option(None, "--config", "-C", help="solmeter TOML config file."),
    data_dir: Optional[Path] = typer.Option(None, "--data-dir", help="Data directory (keys, SQLite, ledger)."),
    url: Optional[str] = typer.Option(None, "--url", "-u", help="Cluster: localnet, devnet, mainnet-beta or a URL."),
    keypair: Optional[Path] = typer.Option(None, "--keypair", "-k", help="Payer / signer keypair file."),
    database_url: Optional[str] = typer.Option(None, "--database-url", help="SQLAlchemy database URL."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Billing for rented GPUs and storage, settled on Solana."""
    for name, value in (("config", config), ("data_dir", data_dir), ("url", url), ("keypair", keypair),
                        ("database_url", database_url)):
        if value is not None:
            os.environ[_FLAG_ENV[name]] = str(value)


config_app = typer.Typer(help="Show the effective configuration.", no_args_is_help=True)
keys_app = typer.Typer(help="Create and inspect Solana keypair files.", no_args_is_help=True)
app.add_typer(config_app, name="config")
app.add_typer(keys_app, name="keys")


@config_app.command("show")
def config_show(as_json: bool = typer.Option(False, "--json", help="Machine-readable output.")) -> None:
    """Print every setting after defaults, the Solana CLI config, the TOML file, environment and flags."""
    s = load_settings()
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
    kp = write_keypair(path, overwrite=force)
    typer.echo(str(kp.pubkey()))


@keys_app.command("show")
def keys_show(path: Path = typer.Argument(..., help="Keypair file to read.")) -> None:
    """Print the public key of a keypair file."""
    typer.echo(str(load_keypair(path).pubkey()))


def _mount_groups() -> None:
    for name, module, attr in GROUPS:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name in (module, module.rsplit(".", 1)[0]):
                continue  # that capability is not part of this build
            raise
        sub = getattr(mod, attr)
        app.add_typer(sub, name=name)
    try:
        from ledger.airdrop_cli import airdrop
    except ModuleNotFoundError as e:
        if not (e.name or "").startswith("ledger"):
            raise
    else:
        app.command("airdrop")(airdrop)


_mount_groups()


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
    except Exception as e:  # the last line of defence: one line, the traceback only on request
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
