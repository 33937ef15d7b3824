"""The on-chain facts the checks need, as plain values.

chain.py fills these from accounts and events read over RPC (through contracts/client decoders); tests
build them directly. Keeping the checks on these small types keeps them pure and independent of the
exact account layouts.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from solders.pubkey import Pubkey



@dataclass(frozen=True)
class ConfigVersion:
    """The billing parameters in force under one config version."""

    version: int
    fee_bps: int
    burn_bps: int
    meter_keys: frozenset[Pubkey]
    source: str = ""  # where this was read: "account" or the signature of the update transaction


@dataclass(frozen=True)
class ConfigHistory:
    """Every config version seen on-chain, so a receipt is judged against the version it names."""

    versions: Mapping[int, ConfigVersion]
    current: int
    born_at: Mapping[int, int] = field(default_factory=dict)  # version -> slot of the transaction that made it
    # version -> (signature of that transaction, index of its event among the program's events in it)
    born_in: Mapping[int, tuple[str, int]] = field(default_factory=dict)

    def get(self, version: int) -> ConfigVersion | None:
        return self.versions.get(version)

    def born_in_slot(self, slot: int) -> bool:
        return any(s == slot for s in self.born_at.values())

    def in_force_at(self, slot: int, block: "BlockOrder | None" = None) -> tuple[int, ...]:
        """The version in force for a transaction in `slot`: the last one born in an earlier slot, or, when
        an update shares the slot, the last one born BEFORE it in the block: transactions in the block's
        order, then events (instructions) in the transaction's order. Without `block` (or when it does
        not place every transaction), the candidates are returned, several when an update shares the slot:
        the caller must not accept either. Empty when the birth slots are unknown."""
        if not self.born_at:
            return ()
        before = [v for v, s in self.born_at.items() if s < slot]
        same = [v for v, s in self.born_at.items() if s == slot]
        if same and block is not None:
            here = block.position(block.signature, block.event_index)
            born = {v: block.position(*self.born_in.get(v, ("", 0))) for v in same}
            if here is not None and all(p is not None for p in born.values()):
                earlier = before + [v for v, p in born.items() if p < here]
                return (max(earlier),) if earlier else ()
        return tuple(sorted(set(([max(before)] if before else []) + same)))


@dataclass(frozen=True)
class BlockOrder:
    """Where one transaction's event sits in its block: `signatures` are the block's transactions in order
    (getBlock), `signature` / `event_index` the transaction and event being placed."""

    signatures: tuple[str, ...]
    signature: str
    event_index: int

    def position(self, signature: str, event_index: int) -> tuple[int, int] | None:
        try:
            return self.signatures.index(signature), event_index
        except ValueError:
            return None


@dataclass(frozen=True)
class BatchView:
    index: int
    root: bytes
    count: int
    total: int
    meter: Pubkey | None = None
    config_version: int | None = None
    address: str = ""
    posted_in: str = ""  # signature of the post_batch transaction, when known
    closed: bool = False  # the account was closed (close_batch): read from its BatchPosted event


@dataclass(frozen=True)
class ChannelView:
    customer: Pubkey
    provider: Pubkey
    settled_cumulative: int
    last_seq: int
    last_receipt_id: bytes
    address: str = ""


@dataclass(frozen=True)
class SettlementView:
    """One settlement of a channel as the chain recorded it (the program's settle event)."""

    signature: str  # the transaction
    customer: Pubkey
    provider: Pubkey
    seq: int
    receipt_id: bytes
    cumulative: int  # the receipt's cum_amount as the program saw it
    moved: int
    fee: int
    burn: int
    provider_amount: int
    # the config version in force when it ran; a tuple when the chain leaves it open between several
    # (a config update in the same slot)
    config_version: int | tuple[int, ...] | None = None
    epoch: int | None = None
    batch: int | None = None
    slot: int | None = None
    previously_settled: int | None = None  # only when the event states it; otherwise derived by the walk


@dataclass(frozen=True)
class ProviderEpochView:
    provider: Pubkey
    revenue: int  # gross settled amount credited to this provider in the epoch
    claimed: bool
    reward: int  # what the claim paid (0 while unclaimed)


@dataclass(frozen=True)
class EpochView:
    number: int
    funded: int  # reward pool emitted for this epoch
    total_revenue: int  # settled revenue credited to the epoch
    claimed_total: int | None = None  # what the Epoch account says was claimed in all
    closed: bool = True
    providers: tuple[ProviderEpochView, ...] = field(default_factory=tuple)
    address: str = ""


@dataclass(frozen=True)
class ConfigAccountView:
    """The Config account as it is now."""

    version: int
    fee_bps: int
    burn_bps: int
    meters: tuple[tuple[Pubkey, int], ...]  # (key, since_version)
    batch_count: int = 0
    genesis_ts: int = 0
    epoch_length: int = 0
    paused: bool = False
    decimals: int | None = None  # of the mint, as initialize recorded it (for showing amounts in tokens)


@dataclass(frozen=True)
class ConfigChange:
    """One config version's birth, from the Initialized (version 1) or a ConfigUpdated event."""

    version: int
    fee_bps: int
    burn_bps: int
    added_meter: Pubkey | None
    removed_meter: Pubkey | None
    signature: str = ""
    slot: int | None = None
    event_index: int = 0  # among the program's events in that transaction (instruction order)


SLASH_STATES = ("Proposed", "Contested", "Upheld", "Rejected", "Executed")


@dataclass(frozen=True)
class ProviderView:
    wallet: Pubkey
    pending_slash: int
    slash_count: int
    total_revenue: int
    address: str = ""


@dataclass(frozen=True)
class SlashView:
    provider: Pubkey
    index: int
    amount: int
    beneficiary: Pubkey
    state: int  # index into SLASH_STATES
    contest_deadline: int
    address: str = ""


@dataclass(frozen=True)
class SlashEvent:
    """One step of a slash as the chain recorded it (SlashProposed / Contested / Resolved / Executed)."""

    name: str  # "proposed", "contested", "resolved", "executed"
    index: int
    signature: str
    block_time: int | None
    amount: int | None = None  # proposed or paid
    beneficiary: Pubkey | None = None
    contest_deadline: int | None = None
    upheld: bool | None = None
    resolve_deadline: int | None = None  # proposed: the arbiter's last second
    lapsed: bool | None = None  # resolved: by lapse_slash after resolve_deadline, not by the arbiter


@dataclass(frozen=True)
class CustomerView:
    wallet: Pubkey
    escrow: Pubkey
    total_deposited: int
    total_settled: int
    address: str = ""
