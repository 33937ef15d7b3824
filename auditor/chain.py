"""Reading the chain through JSON-RPC only: accounts by PDA, the program's events by the signature history of
its accounts, and the deployed program's bytes. The auditor keeps this reader of its own on purpose (it reads
public data only, with its own error type and no code path shared with the operator's engine), but on the
project's one RPC library (chain.RpcClient).

Requests go out here; events are found and decoded by contracts/client (parse_events follows the invoke
stack, so only the program's own `Program data:` lines count); decode.py turns accounts into views.
Failed transactions are skipped: their logs may show events, but their state changes were rolled back.
"""
from __future__ import annotations

from dataclasses import dataclass

from typing import Any, Callable, Iterator, Sequence

from solders.pubkey import Pubkey
from solders.signature import Signature
from solders.sysvar import CLOCK

from solders.rpc.config import RpcBlockConfig
from solders.rpc.requests import GetBlock
from solders.rpc.responses import GetBlockResp
from solders.transaction_status import TransactionDetails, UiTransactionEncoding

from chain import ChainError, RpcClient
from chain.requests import Request, base58_decode

from contracts import pda
from contracts.client import parse_events

from .cross_check import CrossCheckedClient
from .errors import ChainReadError
from .program_history import Deploy, buffer_writes, deploy_of, deployed_sha, loader_ixs
from .program import (LOADER_V1, LOADER_V2, UPGRADEABLE_LOADER, DeployedProgram, parse_programdata,
                      programdata_address)

PAGE = 1000  # getSignaturesForAddress's maximum page
TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")


@dataclass(frozen=True)
class ChainEvent:
    signature: str
    slot: int
    block_time: int | None
    name: str
    data: Any  # the decoded fields (contracts.client.gen: a frozen dataclass, snake_case attributes)
    index: int  # position among the program's events in that transaction


class ChainReader:
    """One RPC endpoint and one program id. Every method is a read; nothing here signs or sends."""

    def __init__(self, client: RpcClient, program_id: Pubkey, progress: Callable[[str], None] | None = None):
        self.client = client  # its commitment is the reader's
        self.program_id = program_id
        self.progress = progress or (lambda _m: None)
        self._tx_cache: dict[str, tuple[int, int | None, list[str]] | None] = {}
        self._blocks: dict[int, list[str] | None] = {}

    @classmethod
    def connect(cls, rpc_url: str, program_id: Pubkey, commitment: str = "confirmed", timeout: float = 30,
                progress: Callable[[str], None] | None = None, cross_check_url: str | None = None) -> "ChainReader":
        """`cross_check_url`: a second node every read is compared with (auditor/cross_check.py)."""
        client = RpcClient(rpc_url, commitment=commitment, timeout=timeout)
        if cross_check_url:
            client = CrossCheckedClient(client, RpcClient(cross_check_url, commitment=commitment, timeout=timeout))
        return cls(client, program_id, progress)

    def _call(self, what: str, fn, *args, **kw):
        try:
            return fn(*args, **kw)
        except ChainError as e:
            raise ChainReadError(f"RPC {what} failed: {e}") from None

    # --- accounts ------------------------------------------------------------------------------------------

    def account(self, address: Pubkey, *, owned: bool = True) -> bytes | None:
        """The account's data, or None if it does not exist. With `owned`, an account that exists but is
        not owned by the program is an error (a look-alike is never read as program state)."""
        acc = self.account_info(address)
        if acc is None:
            return None
        if owned and acc.owner != self.program_id:
            raise ChainReadError(f"account {address} is owned by {acc.owner}, not the program {self.program_id}")
        return bytes(acc.data)

    def account_info(self, address: Pubkey):
        return self._call(f"getAccountInfo {address}", self.client.get_account_info, address)

    def program_accounts(self, discriminator: bytes) -> list[tuple[Pubkey, bytes]]:
        """Every account of the program whose data starts with `discriminator`."""
        got = self._call("getProgramAccounts", self.client.get_program_accounts, self.program_id,
                         memcmp=[(0, discriminator)])
        return [(key, bytes(acc.data)) for key, acc in got]

    def config_address(self) -> Pubkey:
        return pda.config(self.program_id)[0]

    def batch_address(self, index: int) -> Pubkey:
        return pda.batch(self.program_id, index)[0]

    def channel_address(self, customer: Pubkey, provider: Pubkey) -> Pubkey:
        return pda.channel(self.program_id, customer, provider)[0]

    def epoch_address(self, n: int) -> Pubkey:
        return pda.epoch(self.program_id, n)[0]

    def provider_epoch_address(self, provider: Pubkey, n: int) -> Pubkey:
        return pda.provider_epoch(self.program_id, provider, n)[0]

    def token_balance(self, address: Pubkey) -> int | None:
        """The amount held by an SPL token account (None when the account does not exist)."""
        acc = self.account_info(address)
        if acc is None:
            return None
        if acc.owner != TOKEN_PROGRAM or len(acc.data) < 72:
            raise ChainReadError(f"{address} is not an SPL token account")
        return int.from_bytes(bytes(acc.data)[64:72], "little")

    def unix_timestamp(self) -> int:
        """The cluster's Clock sysvar unix_timestamp (what the program sees as now)."""
        acc = self.account_info(CLOCK)
        if acc is None or len(acc.data) < 40:
            raise ChainReadError("the Clock sysvar cannot be read")
        return int.from_bytes(bytes(acc.data)[32:40], "little", signed=True)

    # --- history -------------------------------------------------------------------------------------------

    def signatures(self, address: Pubkey, limit: int | None = None) -> list[tuple[str, int]]:
        """(signature, slot) of every SUCCESSFUL transaction that touched `address`, oldest first."""
        out: list[tuple[str, int]] = []
        before: Signature | None = None
        while True:
            page = self._call(f"getSignaturesForAddress {address}", self.client.get_signatures_for_address,
                              address, before=before, limit=PAGE)
            out.extend((str(s.signature), s.slot) for s in page if s.err is None)
            if len(page) < PAGE or (limit is not None and len(out) >= limit):
                break
            before = page[-1].signature
            self.progress(f"read {len(out)} signatures of {address}")
        out.reverse()
        return out

    def transaction_logs(self, signature: str) -> tuple[int, int | None, list[str]] | None:
        """(slot, block time, log messages) of a transaction, or None when the node does not have it."""
        if signature in self._tx_cache:
            return self._tx_cache[signature]
        tx = self._call(f"getTransaction {signature}", self.client.get_transaction, Signature.from_string(signature))
        if tx is None:
            return None  # not (yet) served at this commitment: asked again next time, never remembered as absent
        else:
            meta = tx.transaction.meta
            if meta is None or meta.err is not None:
                got = None
            else:
                got = (tx.slot, tx.block_time, list(meta.log_messages or []))
        self._tx_cache[signature] = got
        return got

    def block_signatures(self, slot: int) -> list[str] | None:
        """The signatures of a block's transactions in the block's order (getBlock), or None when the node
        does not have the block (a pruned or skipped slot)."""
        if slot not in self._blocks:
            cfg = RpcBlockConfig(encoding=UiTransactionEncoding.Json, transaction_details=TransactionDetails.Signatures,
                                 rewards=False, commitment=self.client.commitment,
                                 max_supported_transaction_version=0)
            try:
                got = self.client.call(Request(GetBlock(slot, cfg), GetBlockResp))
            except ChainError as e:
                if "not available" in str(e).lower() or "skipped" in str(e).lower():
                    got = None
                else:
                    raise ChainReadError(f"RPC getBlock {slot} failed: {e}") from None
            block = getattr(got, "value", None)
            self._blocks[slot] = [str(s) for s in block.signatures] if block is not None and block.signatures \
                else None
        return self._blocks[slot]

    def events(self, addresses: Sequence[Pubkey], limit: int | None = None) -> Iterator[ChainEvent]:
        """The program's events from every successful transaction that touched any of `addresses`, in
        chain order (slot, then the order the signature history lists them), each transaction once."""
        seen: dict[str, int] = {}
        for a in addresses:
            for sig, slot in self.signatures(a, limit):
                seen.setdefault(sig, slot)
        ordered = sorted(seen.items(), key=lambda kv: kv[1])
        for n, (sig, _slot) in enumerate(ordered, 1):
            if n % 200 == 0:
                self.progress(f"read {n}/{len(ordered)} transactions")
            got = self.transaction_logs(sig)
            if got is None:
                continue
            slot, bt, logs = got
            for i, ev in enumerate(parse_events(logs, self.program_id)):
                yield ChainEvent(sig, slot, bt, ev.name, ev.data, i)

    def transaction_instructions(self, signature: str) -> tuple[int, list[Pubkey], list[tuple[int, list[int], bytes]]] | None:
        """(slot, account keys, top-level instructions as (program index, account indexes, data)) of a
        successful transaction, or None (failed, or unknown to the node)."""
        tx = self._call(f"getTransaction {signature}", self.client.get_transaction, Signature.from_string(signature))
        if tx is None or tx.transaction.meta is None or tx.transaction.meta.err is not None:
            return None
        msg = tx.transaction.transaction.message
        keys = list(msg.account_keys)
        loaded = tx.transaction.meta.loaded_addresses
        if loaded is not None:  # v0 transactions: lookup-table keys follow the static ones
            keys += list(loaded.writable) + list(loaded.readonly)
        ixs = [(ix.program_id_index, list(ix.accounts), base58_decode(ix.data)) for ix in msg.instructions]
        return tx.slot, keys, ixs

    def program_deploys(self, programdata: Pubkey) -> list[Deploy]:
        """Every DeployWithMaxDataLen / Upgrade of the program in its ProgramData's signature history, each with
        the sha256 of the bytes it deployed, replayed from the Write instructions of its buffer (in the
        buffer's own signature history, since the last InitializeBuffer before the deploy)."""
        out = []
        for sig, _slot in self.signatures(programdata):
            got = self.transaction_instructions(sig)
            if got is None:
                continue
            slot, keys, ixs = got
            for ix in loader_ixs(keys, ixs):
                d = deploy_of(ix, self.program_id)
                if d is None:
                    continue
                kind, buffer = d
                writes: list[tuple[int, bytes]] = []
                for bsig, bslot in self.signatures(buffer):
                    if bsig == sig or bslot > slot:
                        break
                    btx = self.transaction_instructions(bsig)
                    for bix in loader_ixs(btx[1], btx[2]) if btx is not None else ():
                        w = buffer_writes(bix, buffer)
                        if w == "reset":
                            writes = []
                        elif w is not None:
                            writes.append(w)
                sha = deployed_sha(writes)
                out.append(Deploy(kind, slot, sig, buffer, sha,
                                  "" if sha else f"no Write into buffer {buffer} found before it"))
        return out

    # --- the program itself --------------------------------------------------------------------------------

    def deployed_program(self) -> DeployedProgram:
        acc = self.account_info(self.program_id)
        if acc is None:
            raise ChainReadError(f"no program account at {self.program_id}")
        if not acc.executable:
            raise ChainReadError(f"{self.program_id} is not an executable account")
        if acc.owner == UPGRADEABLE_LOADER:
            pd = programdata_address(bytes(acc.data))
            pd_acc = self.account_info(pd)
            if pd_acc is None:
                raise ChainReadError(f"the ProgramData account {pd} of {self.program_id} does not exist")
            return parse_programdata(self.program_id, pd, bytes(pd_acc.data))
        if acc.owner in (LOADER_V2, LOADER_V1):
            return DeployedProgram(self.program_id, acc.owner, bytes(acc.data))
        raise ChainReadError(f"{self.program_id} is owned by {acc.owner}, not a BPF loader this audit reads")
