"""The chain's receipt state against the meter's database: a meter must never issue a receipt with a seq the
chain has already settled past.

Each Channel account holds `last_seq`, the seq of the newest receipt settled on it. A meter whose database is
new (the file was removed, or an empty one was pointed at) or restored from a backup older than the chain
would start those channels again at seq 1 (or at its backup's seq + 1): settle refuses every such receipt
(ReplayedReceipt), so the usage it bills is never paid, silently. The meter refuses instead:

- at start (`meter serve`, `operator serve`): `behind_chain` compares the newest receipt seq of every channel
  in the database with the chain's `last_seq`; if any is behind, the meter does not start and says which
  channels and how to restore (`BehindChain`);
- in the sealer, as a second line (`Sealer(floors=...)`): a receipt with seq <= the chain's `last_seq` read at
  start is never written for that channel.

The meter does not rebuild its receipt chain from the chain: the chain holds only the newest settled receipt
id and cumulative amount, not the usage and per-key state the next receipt is computed from, so a rebuilt
meter would bill usage again or skip it. The fix is the database's backup (docs/arch-metering.md).
"""
from __future__ import annotations

from typing import Callable

from solders.pubkey import Pubkey
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from chain import ChainError, RpcClient

from contracts import pda
from contracts.client.decode import DecodeError, account_size, decode_account_as
from contracts.client.gen.accounts import Channel

from .models import ReceiptRow

RR = ReceiptRow.__table__
Floors = dict[tuple[str, str], int]  # (customer, provider) -> the chain's last settled seq (> 0 only)


class BehindChain(RuntimeError):
    """The database has fewer receipts for some channel than the chain has settled."""


class FloorsUnavailable(RuntimeError):
    """The chain's channels could not be read."""


def channel_floors_reader(rpc_url: str, program_id: str, *, timeout_s: float = 10.0) -> Callable[[], Floors]:
    """Read every Channel account of the program: (customer, provider) -> last_seq, for channels with a
    settled receipt. An account not at the PDA of the pair it names is ignored (the program makes none)."""
    client = RpcClient(rpc_url, timeout=timeout_s)
    program = Pubkey.from_string(program_id)

    def read() -> Floors:
        try:
            accounts = client.get_program_accounts(program, memcmp=[(0, Channel.DISCRIMINATOR)],
                                                   data_size=account_size("Channel"))
        except ChainError as e:
            raise FloorsUnavailable(f"cannot read the program's channels from {rpc_url}: {type(e).__name__} {e}"
                                    .rstrip()) from e
        out: Floors = {}
        for address, acct in accounts:
            try:
                ch = decode_account_as("Channel", bytes(acct.data))
            except DecodeError:
                continue
            if pda.channel(program, ch.customer, ch.provider)[0] != address:
                continue
            if int(ch.last_seq) > 0:
                out[(str(ch.customer), str(ch.provider))] = int(ch.last_seq)
        return out

    return read


def behind_chain(engine: Engine, floors: Floors) -> list[tuple[str, str, int, int]]:
    """(customer, provider, the database's newest seq (0: none), the chain's last_seq) of every channel the
    database is behind the chain on, sorted."""
    if not floors:
        return []
    with engine.connect() as conn:
        have = {(c, p): int(s) for c, p, s in conn.execute(
            select(RR.c.customer, RR.c.provider, func.max(RR.c.seq)).group_by(RR.c.customer, RR.c.provider))}
    return sorted((c, p, have.get((c, p), 0), seq) for (c, p), seq in floors.items() if have.get((c, p), 0) < seq)


def check_against_chain(engine: Engine, floors: Floors, where: str) -> None:
    """Raise BehindChain naming the channels (at most 5, then a count) and the fix. `where`: the database's
    URL, as the operator configured it."""
    behind = behind_chain(engine, floors)
    if not behind:
        return
    shown = "; ".join(f"customer {c} / provider {p}: database seq {db or 'none'}, chain settled seq {seq}"
                      for c, p, db, seq in behind[:5])
    more = f" (and {len(behind) - 5} more)" if len(behind) > 5 else ""
    raise BehindChain(
        f"the database {where} is behind the chain for {len(behind)} channel(s): {shown}{more}. Its receipts "
        "would repeat seqs the chain has settled, and that usage would never be paid, so the meter does not "
        "start. Restore the meter's database from its backup (or point database_url at the right file) and "
        "start it again")
