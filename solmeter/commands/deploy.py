"""The deploy path of `solmeter operator`: the program deployed where it is missing (`init`), `upgrade`,
and `buffers list|close`, on any cluster by URL (`--url devnet`, `-u d`, any RPC URL).

Every confirmation prints what it cost the payer (measured: balance before and after) and a Solana Explorer
link for the cluster it ran on (devnet, testnet, mainnet-beta, or a custom URL)."""
from __future__ import annotations

from pathlib import Path
from typing import Optional

import typer
from solders.keypair import Keypair
from solders.pubkey import Pubkey

import contracts
from contracts.cli_output import YES
from contracts.loader_v3 import LOADER_V3
from solmeter.commands.common import chain, confirm, keypair, one_line_errors, settings
from solmeter.commands.progress import ProgressBar
from solmeter.flags import current as current_flags
from ledger.engine.chain import RpcChain
from ledger.ops.budget import NO_BUDGET, ComputeBudget
from ledger.ops.cluster import Cluster, check_program_key, identify
from ledger.ops.program_deploy import Deployer, DeployOptions, Outcome, buffers, deployed, sol, write_chunk_size
from ledger.ops.tx import OpError
from solmeter.keys import load_keypair

buffers_app = typer.Typer(help="The operator's upgradeable-loader buffers: list them, close stale ones (rent back).",
                          no_args_is_help=True)

URL = typer.Option(None, "--url", "-u", help="Cluster: localnet, devnet, testnet, mainnet-beta (or d, t, m, l) or an "
                                            "RPC URL (default: the global --url setting).")
KEYPAIR = typer.Option(None, "--keypair", "-k", help="Payer and upgrade authority (default: the global keypair).")
CU_PRICE = typer.Option(0, "--compute-unit-price", "--with-compute-unit-price", min=0,
                        help="Priority fee, micro-lamports per compute unit, on every transaction (0: none).")
CU_LIMIT = typer.Option(None, "--compute-unit-limit", min=1, max=1_400_000,
                        help="Compute-unit limit of every transaction (default: fitted by simulation when a price "
                             "is set, else the runtime's default).")
CONCURRENCY = typer.Option(8, "--write-concurrency", min=1, max=64,
                           help="Buffer writes in flight at once.")
MAX_LEN = typer.Option(None, "--max-len", min=1, help="Room for the program in its data account, bytes (default: "
                                                     "twice its size, room for upgrades).")
PROGRAM_SO = typer.Option(None, "--program-so", help="Program binary (default: the committed build).")


def use_url(url: Optional[str]) -> None:
    """A command's own --url/-u, with the precedence of the global flag: it replaces the flag's value on the
    context, which every later settings() of this command reads."""
    if url:
        current_flags().url = url


def options(price: int, limit: Optional[int], concurrency: int, max_len: Optional[int] = None) -> DeployOptions:
    return DeployOptions(budget=ComputeBudget(price, limit), concurrency=concurrency, max_len=max_len)


def read_elf(path: Optional[Path]) -> bytes:
    p = Path(path or contracts.PROGRAM_SO).expanduser()
    try:
        return p.read_bytes()
    except FileNotFoundError:
        raise OpError(f"program binary {p} does not exist: run `solmeter contracts build`") from None


def _deployer(c: RpcChain, cluster: Cluster, payer: Keypair, opts: DeployOptions) -> Deployer:
    return Deployer(c, payer, opts, say=lambda m: typer.echo(f"  {m}"), progress=ProgressBar(),
                    cluster_name=cluster.name)


def report(cluster: Cluster, verb: str, out: Outcome) -> None:
    up = out.upload
    how = (f"resumed buffer {up.buffer}, wrote the {up.chunks_written} missing of {up.chunks_total} chunks"
           if up.resumed else f"wrote {up.chunks_written} chunks to buffer {up.buffer}")
    typer.echo(f"{verb} program {out.program_id} ({how}; {up.stats.retried} retried, {up.stats.expired} resent)")
    rent = f"{sol(out.rent)} SOL rent held by the program's accounts, " if out.rent else ""
    refund = f", {sol(up.refunded)} SOL of an earlier run's buffer rent returned" if up.refunded else ""
    typer.echo(f"  cost {sol(out.cost)} SOL ({rent}{sol(out.fees)} SOL fees{refund})")
    typer.echo(f"  {cluster.explorer('tx', out.signature)}")


def program_for_init(c: RpcChain, cluster: Cluster, payer: Keypair, program_keypair: Optional[Path],
                     opts: DeployOptions) -> Pubkey:
    """The program `operator init` initializes: deployed first when it is missing, with the operator's program
    keypair (the committed development key only on a local cluster)."""
    explicit = settings().program_id
    pk = load_keypair(program_keypair) if program_keypair else None
    program_id = pk.pubkey() if pk else Pubkey.from_string(explicit or contracts.DEFAULT_PROGRAM_ID)
    if pk and explicit and Pubkey.from_string(explicit) != program_id:
        raise OpError(f"program keypair {program_id} does not match the program_id setting {explicit}")
    check_program_key(cluster, program_id, program_keypair)
    acct = c.client.get_account_info(program_id)
    if acct is not None:
        if not acct.executable:
            raise OpError(f"{program_id} holds an account that is not a program: pick another program keypair")
        if acct.owner == LOADER_V3:  # (a genesis program of the localnet is under loader 2: nothing to compare)
            elf = read_elf(None)
            if deployed(c, program_id)[1].elf[:len(elf)] != elf:
                typer.echo(f"  program {program_id} is deployed with other bytes than {contracts.PROGRAM_SO.name}: "
                           f"`solmeter operator upgrade` replaces them")
        return program_id
    if pk is None:
        if not cluster.local:
            raise OpError(f"no program at {program_id} on {cluster.name}: deploy one with your own program keypair, "
                          f"made with `solmeter keys new program-keypair.json`: --program-keypair "
                          f"program-keypair.json")
        pk = load_keypair(contracts.PROGRAM_KEYPAIR)
        if pk.pubkey() != program_id:
            raise OpError(f"program {program_id} is not deployed and the development keypair is {pk.pubkey()}: "
                          f"pass --program-keypair for {program_id}")
    typer.echo(f"  deploying program {program_id} to {cluster.name} ({cluster.url}) through the upgradeable loader")
    report(cluster, "deployed", _deployer(c, cluster, payer, opts).deploy(pk, read_elf(None)))
    return program_id


def upgrade(program_so: Optional[Path] = PROGRAM_SO,
            program_id: Optional[str] = typer.Option(None, "--program-id", help="Program to upgrade (default: the "
                                                     "program_id setting, else the deployment's)."),
            url: Optional[str] = URL, kp: Optional[Path] = KEYPAIR, price: int = CU_PRICE,
            limit: Optional[int] = CU_LIMIT, concurrency: int = CONCURRENCY, yes: bool = YES) -> None:
    """Replace the deployed program's bytes (a buffer, then Upgrade); the upgrade authority is checked first."""
    use_url(url)
    c = chain()
    cluster = identify(c)
    pid = Pubkey.from_string(program_id or settings().resolved_program_id)
    confirm(yes, f"replace the bytes of program {pid} on {cluster.name} with "
                 f"{Path(program_so or contracts.PROGRAM_SO).name} (when they differ)")
    out = _deployer(c, cluster, keypair(kp), options(price, limit, concurrency)).upgrade(pid, read_elf(program_so))
    if out is None:
        typer.echo(f"program {pid} already runs these bytes: nothing to do (nothing paid)")
        return
    report(cluster, "upgraded", out)


@buffers_app.command("list")
@one_line_errors
def buffers_list(url: Optional[str] = URL, kp: Optional[Path] = KEYPAIR, program_so: Optional[Path] = PROGRAM_SO) -> None:
    """The buffers whose authority is the keypair: address, room, rent, and how far each got to the program."""
    use_url(url)
    c = chain()
    payer = keypair(kp)
    me = payer.pubkey()
    elf = read_elf(program_so)
    found = buffers(c, me, elf, write_chunk_size(payer, NO_BUDGET))
    for b in found:
        state = (f"resumable: {b.chunks_written}/{b.chunks_total} chunks of {Path(program_so or contracts.PROGRAM_SO).name}"
                 if b.chunks_total is not None else "holds other bytes")
        typer.echo(f"{b.address}  {b.capacity:>8} bytes  {sol(b.lamports):>12} SOL  {state}")
    total = sum(b.lamports for b in found)
    typer.echo(f"{len(found)} buffer(s) of {me}, {sol(total)} SOL of rent (`solmeter operator buffers close --all`)")


@buffers_app.command("close")
@one_line_errors
def buffers_close(addresses: Optional[list[str]] = typer.Argument(None, help="Buffer addresses to close."),
                  all_: bool = typer.Option(False, "--all", help="Close every buffer of the keypair."),
                  url: Optional[str] = URL, kp: Optional[Path] = KEYPAIR, price: int = CU_PRICE,
                  limit: Optional[int] = CU_LIMIT, yes: bool = YES) -> None:
    """Close buffers (of an interrupted or abandoned upload); their rent returns to the keypair."""
    use_url(url)
    if bool(addresses) == all_:
        raise OpError("name the buffers to close, or pass --all (not both)")
    c = chain()
    cluster = identify(c)
    payer = keypair(kp)
    targets = ([b.address for b in buffers(c, payer.pubkey())] if all_
               else [Pubkey.from_string(a) for a in addresses or []])
    if not targets:
        typer.echo(f"no buffers of {payer.pubkey()} to close")
        return
    confirm(yes, f"close {len(targets)} buffer(s) of {payer.pubkey()} on {cluster.name} (an upload in them cannot be "
                 f"resumed after)")
    before = c.lamports(payer.pubkey())
    for sig, group, lamports in _deployer(c, cluster, payer, options(price, limit, 1)).close_buffers(targets):
        typer.echo(f"closed {len(group)} buffer(s) ({', '.join(map(str, group))}): {sol(lamports)} SOL of rent back")
        typer.echo(f"  {cluster.explorer('tx', sig)}")
    typer.echo(f"  net {sol(c.lamports(payer.pubkey()) - before)} SOL to {payer.pubkey()} (rent back less fees)")


def register(app: typer.Typer) -> None:
    """Mount the deploy commands on `solmeter operator`."""
    app.command("upgrade")(one_line_errors(upgrade))
    app.add_typer(buffers_app, name="buffers")
