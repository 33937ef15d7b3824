"""`solmeter airdrop [AMOUNT] [PUBKEY]`: SOL from the localnet's faucet, as `solana airdrop` does. Elsewhere
it refuses in one line: devnet and testnet have their faucet at https://faucet.solana.com, mainnet none."""
from __future__ import annotations

from typing import Optional

from solders.pubkey import Pubkey
import typer

from solmeter.commands.common import chain, keypair, one_line_errors, parse_amount
from contracts.cli_output import emit
from ledger.ops.bootstrap import airdrop as request
from ledger.ops.cluster import identify, is_loopback
from ledger.ops.program_deploy import sol

FAUCET = "https://faucet.solana.com"


@one_line_errors
def airdrop(amount: str = typer.Argument("1", help="SOL to request (exact, up to 9 decimals)."),
            pubkey: Optional[str] = typer.Argument(None, help="Who receives it (default: the global keypair).")) -> None:
    """Request SOL from the localnet's faucet (a new keypair needs some before it can pay for anything)."""
    lamports = parse_amount(amount, 9)
    try:
        who = Pubkey.from_string(pubkey) if pubkey else keypair().pubkey()
    except ValueError:
        raise ValueError(f"{pubkey!r} is not a base58 public key") from None
    c = chain()
    # A URL off this machine is never the localnet: refused before anything is asked of it.
    cluster = identify(c) if is_loopback(c.url) else None
    if cluster is None or not cluster.local:
        name = cluster.name if cluster is not None else "not a local cluster"
        hint = ("mainnet has no faucet: transfer SOL from a wallet that has some"
                if (cluster is not None and cluster.public == "mainnet-beta") or "mainnet" in c.url
                else f"get devnet/testnet SOL at {FAUCET}")
        raise ValueError(f"airdrop is for the localnet only and {c.url} is {name}: {hint}")

    request(c, who, lamports)
    balance = c.lamports(who)
    emit({"action": "airdrop", "to": str(who), "lamports": lamports, "sol": sol(lamports), "balance_lamports": balance,
          "balance_sol": sol(balance), "cluster": cluster.name},
         f"{sol(lamports)} SOL airdropped to {who}; balance {sol(balance)} SOL")
