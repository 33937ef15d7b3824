"""The node's history beside the bank: sealed blocks, landed transactions (with the compact metadata a real
validator reports), signatures per address, performance samples and the per-block prioritization fees.

Plain data structures and queries over them; the bank appends to them as it executes and seals slots, the
ledger stores and restores them, the RPC reads them. Single-threaded, like the bank.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from typing import Optional

from solders.transaction import VersionedTransaction

from . import fees, txmeta

MAX_RECENT_BLOCKHASHES = 150


class TxRecord:
    """One landed transaction. `core` is the compact form that is stored; `meta` (the RPC json meta) is built
    from it on first use, since most transactions are never fetched again."""

    __slots__ = ("signature", "slot", "index", "block_time", "raw", "account_keys", "loaded_writable",
                 "loaded_readonly", "core", "version", "_meta")

    def __init__(self, signature: str, slot: int, index: int, block_time: int, raw: bytes, account_keys: list[str],
                 loaded_writable: list[str], loaded_readonly: list[str], core: dict, version: object) -> None:
        self.signature = signature
        self.slot = slot
        self.index = index  # position in its block
        self.block_time = block_time
        self.raw = raw  # the VersionedTransaction as sent
        self.account_keys = account_keys  # static keys, then loaded writable, then loaded readonly
        self.loaded_writable = loaded_writable
        self.loaded_readonly = loaded_readonly
        self.core = core
        self.version = version  # "legacy" or 0
        self._meta: Optional[dict] = None

    @property
    def err(self):
        return self.core["err"]

    @property
    def logs(self) -> list[str]:
        return self.core["logs"]

    @property
    def meta(self) -> dict:
        if self._meta is None:
            self._meta = txmeta.rpc_meta(self.core, self.loaded_writable, self.loaded_readonly)
        return self._meta


@dataclass(slots=True)
class Block:
    slot: int
    parent_slot: int
    blockhash: str
    previous_blockhash: str
    block_time: int
    signatures: list[str] = field(default_factory=list)


@dataclass(slots=True)
class PerfSample:
    slot: int
    num_transactions: int
    num_slots: int
    sample_period_secs: int


class History:
    """Blocks and transactions. `transactions` maps a signature to its record; `by_address` maps an account to
    its (slot, index, signature) entries in ascending order; `block_slots` lists the sealed slots in order."""

    def __init__(self, now: float) -> None:
        self.blocks: dict[int, Block] = {}
        self.block_slots: list[int] = []  # sorted slots that produced a block
        self.open_signatures: list[str] = []  # the open slot's transactions, in order
        self.transactions: dict[str, TxRecord] = {}
        self.by_address: dict[str, list[tuple[int, int, str]]] = {}
        self.perf_samples: list[PerfSample] = []
        self._prio_cache: dict[int, tuple[int, dict[str, int]]] = {}
        self._sample_start: tuple[int, float, int] = (0, now, 0)

    # ----- writing -------------------------------------------------------------------------------------------

    def remember(self, rec: TxRecord) -> None:
        self.transactions[rec.signature] = rec
        entry = (rec.slot, rec.index, rec.signature)
        by_address = self.by_address
        for k in set(rec.account_keys):
            lst = by_address.get(k)
            if lst is None:
                by_address[k] = [entry]
            elif lst[-1] < entry:
                lst.append(entry)
            else:
                bisect.insort(lst, entry)

    def add_block(self, block: Block) -> None:
        """A sealed block; the open slot's signatures go with it when it is the open slot's block."""
        self.blocks[block.slot] = block
        self.block_slots.append(block.slot)

    def restore(self, blocks: list[Block], transactions: list[TxRecord], open_slot: int, now: float) -> None:
        """What the ledger holds (blocks in slot order, transactions) replaces the genesis history."""
        self.blocks, self.block_slots = {}, []
        for b in blocks:
            self.blocks[b.slot] = b
            self.block_slots.append(b.slot)
        self.block_slots.sort()
        for rec in transactions:
            self.remember(rec)
        for rec in sorted(transactions, key=lambda r: (r.slot, r.index)):
            if rec.slot not in self.blocks and rec.slot >= open_slot:
                self.open_signatures.append(rec.signature)
        self._sample_start = (open_slot, now, 0)

    def sample(self, block: Block, now: float) -> None:
        """Counts a sealed block into the current 60-second performance sample."""
        start_slot, start_time, count = self._sample_start
        count += len(block.signatures)
        if now - start_time >= 60:
            self.perf_samples.append(PerfSample(block.slot, count, block.slot - start_slot + 1, 60))
            del self.perf_samples[:-720]
            self._sample_start = (block.slot + 1, now, 0)
        else:
            self._sample_start = (start_slot, start_time, count)

    # ----- queries -------------------------------------------------------------------------------------------

    def signatures_for(self, address: str, *, before: Optional[str], until: Optional[str], limit: int,
                       max_slot: Optional[int] = None) -> list[TxRecord]:
        entries = self.by_address.get(address, [])
        hi = len(entries) if max_slot is None else bisect.bisect_left(entries, (max_slot + 1,))
        if before is not None:
            rec = self.transactions.get(before)
            if rec is None:
                return []
            hi = min(hi, bisect.bisect_left(entries, (rec.slot, rec.index, rec.signature)))
        stop = None
        if until is not None:
            urec = self.transactions.get(until)
            stop = (urec.slot, urec.index, urec.signature) if urec else None
        out = []
        i = hi - 1
        while i >= 0 and len(out) < limit:
            e = entries[i]
            if stop is not None and e <= stop:
                break
            out.append(self.transactions[e[2]])
            i -= 1
        return out

    def block_prioritization_fees(self, slot: int) -> tuple[int, dict[str, int]]:
        """(lowest compute-unit price of the block's transactions, {writable account: lowest price among the
        transactions that write-lock it}), as the validator's prioritization fee cache keeps them per block.
        Computed from the stored transactions on first ask (a sealed block does not change)."""
        cached = self._prio_cache.get(slot)
        if cached is not None:
            return cached
        lowest: Optional[int] = None
        by_account: dict[str, int] = {}
        for sig in self.blocks[slot].signatures:
            rec = self.transactions[sig]
            msg = VersionedTransaction.from_bytes(rec.raw).message
            _limit, price = fees.compute_budget(msg.instructions, rec.account_keys)
            lowest = price if lowest is None else min(lowest, price)
            n_static = len(rec.account_keys) - len(rec.loaded_writable) - len(rec.loaded_readonly)
            flags = txmeta.writable_flags(msg.header, n_static, len(rec.loaded_writable), len(rec.loaded_readonly))
            for key, w in zip(rec.account_keys, flags):
                if w:
                    by_account[key] = min(by_account.get(key, price), price)
        cached = self._prio_cache[slot] = (lowest or 0, by_account)
        if len(self._prio_cache) > 4 * MAX_RECENT_BLOCKHASHES:
            self._prio_cache.pop(next(iter(self._prio_cache)))
        return cached
