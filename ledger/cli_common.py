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
    from ledger.db import load_models, make_engine, make_session_factory, migrate

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
    """Base units as a token amount string, exactly."""
    sign = "-" if units < 0 else ""
    q, r = divmod(abs(int(units)), 10**decimals)
    return f"{sign}{q}.{r:0{decimals}d}" if decimals else f"{sign}{q}"


def explorer_link(kind: str, value: str, rpc_url: str) -> str:
    """A Solana Explorer link to a transaction or address on a custom cluster URL (ledger/ops/cluster.py
    names devnet, testnet and mainnet-beta by their genesis hash instead)."""
    return Cluster(rpc_url, genesis_hash="").explorer(kind, value)


def send_amount(op, amount: str, kp: Path | None, message: str) -> None:
    """The shape of every "wallet moves AMOUNT" command: parse the amount in the mint's decimals, sign with the
    wallet's keypair, send `op(chain, deployment, keypair, units)`, print `message` with {amount} and the
    transaction signature."""
    dep = deployment()
    units = parse_amount(amount, dep.decimals)
    sig = op(chain(), dep, keypair(kp), units)
    typer.echo(f"{message.format(amount=fmt(units, dep.decimals))} ({sig})")
