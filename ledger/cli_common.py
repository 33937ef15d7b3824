"""What the role commands share: settings, the chain, the deployment file, keypairs, token amounts, and
turning every failure into one line on stderr."""
from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation
from pathlib import Path

import typer

from ledger.accounting.errors import LedgerError
from ledger.engine.chain import ChainError
from ledger.ops.cluster import Cluster
from ledger.ops.tx import OpError


def fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(1)


def one_line_errors(fn):
    """Run a command; any expected failure becomes `error: <one line>` and exit status 1."""
    from solmeter.errors import SolmeterError

    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except typer.Exit:
            raise
        except (OpError, ChainError, LedgerError, SolmeterError, MeterReadError, ValueError) as e:
            fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
        except Exception as e:  # the database or anything else: still one line
            fail(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    return wrapper


def settings():
    from solmeter.config import load_settings

    return load_settings()


def chain():
    from ledger.engine.chain import RpcChain

    s = settings()
    return RpcChain(s.resolved_rpc_url, commitment=s.commitment)


def deployment_path() -> Path:
    from ledger.ops.deployment import FILE_NAME

    return settings().data_dir / FILE_NAME


def deployment():
    from ledger.ops.deployment import Deployment

    return Deployment.load(deployment_path())


def keypair(path: Path | None = None):
    """The signer: --keypair of the command, else the global keypair setting (<data_dir>/id.json)."""
    from solmeter.keys import load_keypair

    return load_keypair(path or settings().resolved_keypair_path)


METER_API = typer.Option(None, "--api", envvar="SOLMETER_METER_API",
                         help="Meter API URL (default: http://api_host:api_port); reads are signed with the keypair.")


class MeterReadError(Exception):
    """The meter API could not be reached, or refused the read (its answer's error, one line)."""


def meter_get(kp, api: str | None, path: str, params: dict | None = None) -> dict:
    """A GET of the meter's read API signed by the wallet `kp`: the JSON answer. Raises MeterReadError."""
    import httpx

    from metering.read_client import SignedReader

    s = settings()
    url = api or f"http://{s.api_host}:{s.api_port}"
    reader = SignedReader(url, kp, timeout_s=15)
    try:
        r = reader.get(path, params)
    except httpx.HTTPError as e:
        raise MeterReadError(f"meter API {url}: {type(e).__name__}: {e}") from None
    finally:
        reader.close()
    try:
        body = r.json()
    except ValueError:
        body = {}
    if r.status_code != 200:
        raise MeterReadError(f"meter API {url}{path}: HTTP {r.status_code}: {body.get('error') or r.text[:200]}")
    return body


def db():
    """(engine, session factory) on the configured database, migrated to head."""
    from db import load_models, make_engine, make_session_factory, migrate

    import ledger.accounting.models  # noqa: F401
    import ledger.engine.models  # noqa: F401

    load_models()
    s = settings()
    if s.resolved_database_url.startswith("sqlite"):
        s.ensure_data_dir()
    engine = make_engine(s.resolved_database_url)
    migrate(engine)
    return engine, make_session_factory(engine)


def parse_amount(text: str, decimals: int) -> int:
    """A token amount ("12.5") as integer base units, exactly; more precision than the mint has is an error."""
    try:
        d = Decimal(text.strip())
    except InvalidOperation:
        raise ValueError(f"amount {text!r} is not a number") from None
    if not d.is_finite() or d <= 0:
        raise ValueError(f"amount {text!r} must be a positive number of tokens")
    units = d.scaleb(decimals)
    if units != units.to_integral_value():
        raise ValueError(f"amount {text!r} has more than {decimals} decimal places")
    n = int(units)
    if n >= 1 << 64:
        raise ValueError(f"amount {text!r} is too large for a u64")
    return n


def fmt(units: int, decimals: int) -> str:
    """Base units as a token amount string, exactly (contracts/cli_output.py's `tokens`)."""
    from contracts.cli_output import tokens

    return tokens(units, decimals)


def explorer_link(kind: str, value: str, rpc_url: str) -> str:
    """A Solana Explorer link to a transaction or address on a custom cluster URL (ledger/ops/cluster.py
    names devnet, testnet and mainnet-beta by their genesis hash instead)."""
    return Cluster(rpc_url, genesis_hash="").explorer(kind, value)


def cluster_of(c) -> Cluster:
    """The cluster behind a chain, known by its genesis hash (devnet behind any URL is devnet); a node that
    cannot say is a custom cluster at its URL."""
    from ledger.ops.cluster import identify

    try:
        return identify(c)
    except Exception:  # noqa: BLE001 - the link then names the URL; the transaction itself has landed
        return Cluster(c.url, genesis_hash="")


def done(c, message: str, sig, *, action: str, amount: int | None = None, decimals: int | None = None,
         **extra) -> None:
    """Every transaction's confirmation (contracts/cli_output.tx_done): what was done, the amount in tokens,
    the signature and the Explorer link of the cluster (custom URL on the localnet, ?cluster=devnet on devnet)."""
    from contracts.cli_output import tx_done

    cl = cluster_of(c)
    tx_done(message, sig, cl.explorer("tx", sig), cluster=cl.name, amount=amount, decimals=decimals,
            action=action, **extra)


def confirm(yes: bool, what: str) -> None:
    from contracts.cli_output import confirm as ask

    ask(yes, what)


def require_customer(c, dep, wallet) -> None:
    """A customer command on a wallet that has no Customer account: say how to make one."""
    from ledger.ops.deployment import read_account

    if read_account(c, "Customer", dep.program.customer_address(wallet)) is None:
        raise ValueError(f"customer {wallet} is not registered: run `solmeter customer register -k WALLET.json` first")


def require_provider(c, dep, wallet) -> None:
    from ledger.ops.deployment import read_account

    if read_account(c, "Provider", dep.program.provider_address(wallet)) is None:
        raise ValueError(f"provider {wallet} is not registered: run `solmeter provider register -k WALLET.json` first")


def send_amount(op, amount: str, kp: Path | None, message: str, *, action: str, yes: bool, what: str,
                check=None) -> None:
    """The shape of every "wallet moves AMOUNT" command: parse the amount in the mint's decimals, check it
    (`check(chain, deployment, wallet pubkey, units)`, before anything is asked or sent), ask for confirmation
    (`what`, with {amount} and {wallet}), sign with the wallet's keypair, send `op(chain, deployment, keypair,
    units)`, and confirm with `message` ({amount}), the signature and the Explorer link."""
    dep = deployment()
    units = parse_amount(amount, dep.decimals)
    w = keypair(kp)
    c = chain()
    if check is not None:
        check(c, dep, w.pubkey(), units)
    confirm(yes, what.format(amount=f"{fmt(units, dep.decimals)} tokens", wallet=w.pubkey()))
    sig = op(c, dep, w, units)
    done(c, message, sig, action=action, amount=units, decimals=dep.decimals, wallet=str(w.pubkey()))
