"""What the role commands share: settings, the chain, the deployment file, keypairs, token amounts, and
turning every failure into one line on stderr."""
from __future__ import annotations

import functools
from decimal import Decimal, InvalidOperation
from pathlib import Path

import httpx
import typer
from solders.pubkey import Pubkey

import ledger.accounting.models  # noqa: F401 - registers the ledger's tables before db() migrates
import ledger.engine.models  # noqa: F401 - (the same)
from auditor.errors import AuditError
from ledger.accounting.errors import LedgerError
from ledger.engine.chain import ChainError
from ledger.ops.cluster import Cluster
from ledger.ops.tx import OpError
from solmeter.config import load_settings
from solmeter.errors import SolmeterError
from solmeter.flags import current as current_flags
from contracts.amounts import tokens
from contracts.cli_output import amount_fields, confirm as ask, local_time, tx_done
from db import load_models, make_engine, make_session_factory, migrate
from ledger.engine.chain import RpcChain
from ledger.ops.cluster import identify
from ledger.ops.deployment import Deployment, FILE_NAME, deployment_on_chain, read_account
from metering.read_client import SignedReader
from solmeter.keys import load_keypair


def fail(msg: str) -> None:
    typer.echo(f"error: {msg}", err=True)
    raise typer.Exit(1)


def one_line_errors(fn):
    """Run a command; any expected failure becomes `error: <one line>` and exit status 1."""
    @functools.wraps(fn)
    def wrapper(*a, **kw):
        try:
            return fn(*a, **kw)
        except (typer.Exit, BrokenPipeError):  # a closed pipe (`| head`) is the reader's choice: main stops quietly
            raise
        except (OpError, ChainError, LedgerError, SolmeterError, AuditError, MeterReadError, ValueError) as e:
            fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
        except Exception as e:  # the database or anything else: still one line
            fail(f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}")
    return wrapper


def settings():
    """The settings of the running command: its global flags (on the click context) above the environment."""
    return load_settings(flags=current_flags())


def chain():
    s = settings()
    return RpcChain(s.resolved_rpc_url, commitment=s.commitment)


def deployment_path() -> Path:
    return settings().data_dir / FILE_NAME


def deployment():
    """This data directory's deployment.json (written by `operator init`) when it names the configured program;
    else, as on a customer's, provider's or auditor's machine, the program's Config read from the chain."""
    s = settings()
    path = deployment_path()
    pid = s.resolved_program_id
    if path.exists():
        dep = Deployment.load(path)
        if dep.program_id == pid:
            return dep
    dep = deployment_on_chain(chain(), Pubkey.from_string(pid))
    if dep is None:
        raise OpError(f"program {pid} is not initialized on {s.resolved_rpc_url} (no Config account, and no "
                      f"deployment at {path}): set program_id (SOLMETER_PROGRAM_ID) to the deployed program, "
                      f"or, as its operator, run `solmeter operator init` first")
    return dep


def keypair(path: Path | None = None):
    """The signer: --keypair of the command, else the global keypair setting (<data_dir>/id.json)."""
    return load_keypair(path or settings().resolved_keypair_path)


METER_API = typer.Option(None, "--api", envvar="SOLMETER_METER_API",
                         help="Meter API URL (default: http://api_host:api_port); reads are signed with the keypair.")


class MeterReadError(Exception):
    """The meter API could not be reached, or refused the read (its answer's error, one line)."""


def meter_get(kp, api: str | None, path: str, params: dict | None = None) -> dict:
    """A GET of the meter's read API signed by the wallet `kp`: the JSON answer. Raises MeterReadError."""
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
    return tokens(units, decimals)


def with_tokens(fields: dict, names: tuple[str, ...], decimals: int) -> dict:
    """A status's JSON: each amount in `names` (base units, as the chain holds it) followed by `NAME_tokens`, its
    exact decimal string, as every transaction's JSON gives its amount (contracts/cli_output.amount_fields)."""
    out = {}
    for k, v in fields.items():
        out.update(amount_fields(k, v, decimals) if k in names else {k: v})
    return out


def explorer_link(kind: str, value: str, rpc_url: str) -> str:
    """A Solana Explorer link to a transaction or address on a custom cluster URL (ledger/ops/cluster.py
    names devnet, testnet and mainnet-beta by their genesis hash instead)."""
    return Cluster(rpc_url, genesis_hash="").explorer(kind, value)


def cluster_of(c) -> Cluster:
    """The cluster behind a chain, known by its genesis hash (devnet behind any URL is devnet); a node that
    cannot say is a custom cluster at its URL."""
    try:
        return identify(c)
    except Exception:  # noqa: BLE001 - the link then names the URL; the transaction itself has landed
        return Cluster(c.url, genesis_hash="")


def done(c, message: str, sig, *, action: str, amount: int | None = None, decimals: int | None = None,
         **extra) -> None:
    """Every transaction's confirmation (contracts/cli_output.tx_done): what was done, the amount in tokens,
    the signature and the Explorer link of the cluster (custom URL on the localnet, ?cluster=devnet on devnet)."""
    cl = cluster_of(c)
    tx_done(message, sig, cl.explorer("tx", sig), cluster=cl.name, amount=amount, decimals=decimals,
            action=action, **extra)


def confirm(yes: bool, what: str) -> None:
    ask(yes, what)


def require_customer(c, dep, wallet) -> None:
    """A customer command on a wallet that has no Customer account: say how to make one."""
    if read_account(c, "Customer", dep.program.customer_address(wallet)) is None:
        raise ValueError(f"customer {wallet} is not registered: run `solmeter customer register -k WALLET.json` first")


def require_provider(c, dep, wallet) -> None:
    if read_account(c, "Provider", dep.program.provider_address(wallet)) is None:
        raise ValueError(f"provider {wallet} is not registered: run `solmeter provider register -k WALLET.json` first")


def require_window(window: tuple[int, int, int] | None, now: int, what: str, command: str, again: str,
                   early: str, late: str) -> None:
    """A withdrawal outside its window (requested at, usable from, usable until; unix seconds), refused before
    anything is sent, in one line that says when it can run (`early`/`late`: the program's error names)."""
    if window is None:
        return
    _, ready, until = window
    if now < ready:
        raise ValueError(f"{what} is not ready yet ({early}): run `{command}` from {local_time(ready)} "
                         f"until {local_time(until)}")
    if now > until:
        raise ValueError(f"{what} expired at {local_time(until)} ({late}): request it again with `{again}`")


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
