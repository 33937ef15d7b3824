"""Node, cluster, slot, block, epoch, blockhash and fee methods."""
from __future__ import annotations

import base64
import bisect

from solders.message import Message, MessageV0
from solders.pubkey import Pubkey

from .. import txmeta
from ..genesis import FAUCET_LAMPORTS, STAKE_PROGRAM, VOTE_PROGRAM, delegation_of
from . import encode
from .errors import BlockNotAvailable, InvalidParams, SlotSkipped, UnsupportedTransactionVersion
from .params import Params, check_common, max_version, parse_pubkey, tx_encoding
from .registry import Ctx, method

FEATURE_SET = 3294202862
MAX_BLOCK_RANGE = 500_000


def _cfg(ctx: Ctx, p: Params, i: int, allowed: set = frozenset()) -> dict:
    cfg = p.config(i, set(allowed))
    check_common(p.method, cfg, ctx.bank)
    return cfg


def _level_slot(ctx: Ctx, p: Params, i: int) -> int:
    """The slot of the commitment level the config at params[i] names (finalized by default)."""
    return check_common(p.method, p.config(i, set()), ctx.bank)


def _confirmed_at_least(method: str, cfg: dict) -> None:
    if cfg.get("commitment") in ("processed", "recent"):
        raise InvalidParams("Method does not support commitment below `confirmed`")


@method("getHealth")
def get_health(ctx: Ctx, p: Params):
    p.max(0)
    return "ok"


@method("getVersion")
def get_version(ctx: Ctx, p: Params):
    p.max(0)
    return {"solana-core": encode.API_VERSION, "feature-set": FEATURE_SET}


@method("getIdentity")
def get_identity(ctx: Ctx, p: Params):
    return {"identity": ctx.identity}


@method("getGenesisHash")
def get_genesis_hash(ctx: Ctx, p: Params):
    return ctx.bank.genesis_hash


@method("getSlot")
def get_slot(ctx: Ctx, p: Params):
    return _level_slot(ctx, p, 0)


@method("getBlockHeight")
def get_block_height(ctx: Ctx, p: Params):
    return ctx.bank.block_height_at(_level_slot(ctx, p, 0))


@method("getSlotLeader")
def get_slot_leader(ctx: Ctx, p: Params):
    _cfg(ctx, p, 0)
    return ctx.identity


@method("getSlotLeaders")
def get_slot_leaders(ctx: Ctx, p: Params):
    p.uint(0, "startSlot")
    limit = p.uint(1, "limit")
    if limit > 5000:
        raise InvalidParams("Invalid limit; max 5000")
    return [ctx.identity] * limit


@method("getMaxRetransmitSlot")
def get_max_retransmit_slot(ctx: Ctx, p: Params):
    return ctx.bank.slot


@method("getMaxShredInsertSlot")
def get_max_shred_insert_slot(ctx: Ctx, p: Params):
    return ctx.bank.slot


@method("minimumLedgerSlot")
def minimum_ledger_slot(ctx: Ctx, p: Params):
    return ctx.bank.block_slots[0] if ctx.bank.block_slots else 0


@method("getFirstAvailableBlock")
def get_first_available_block(ctx: Ctx, p: Params):
    return ctx.bank.block_slots[0] if ctx.bank.block_slots else 0


@method("getHighestSnapshotSlot")
def get_highest_snapshot_slot(ctx: Ctx, p: Params):
    return {"full": 0, "incremental": None}


@method("getTransactionCount")
def get_transaction_count(ctx: Ctx, p: Params):
    _cfg(ctx, p, 0)
    return ctx.bank.tx_count


@method("getEpochInfo")
def get_epoch_info(ctx: Ctx, p: Params):
    return epoch_info(ctx, _level_slot(ctx, p, 0))


def epoch_info(ctx: Ctx, slot: int) -> dict:
    bank = ctx.bank
    epoch, index = bank.epoch_schedule.get_epoch_and_slot_index(slot)
    return {
        "absoluteSlot": slot,
        "blockHeight": bank.block_height_at(slot),
        "epoch": epoch,
        "slotIndex": index,
        "slotsInEpoch": bank.epoch_schedule.get_slots_in_epoch(epoch),
        "transactionCount": bank.tx_count,
    }


@method("getEpochSchedule")
def get_epoch_schedule(ctx: Ctx, p: Params):
    es = ctx.bank.epoch_schedule
    return {
        "slotsPerEpoch": es.slots_per_epoch,
        "leaderScheduleSlotOffset": es.leader_schedule_slot_offset,
        "warmup": es.warmup,
        "firstNormalEpoch": es.first_normal_epoch,
        "firstNormalSlot": es.first_normal_slot,
    }


@method("getLeaderSchedule")
def get_leader_schedule(ctx: Ctx, p: Params):
    bank = ctx.bank
    epoch = bank.epoch_schedule.get_epoch(bank.slot)
    n = bank.epoch_schedule.get_slots_in_epoch(epoch)
    return {ctx.identity: list(range(n))}  # the one node leads every slot


@method("getLatestBlockhash")
def get_latest_blockhash(ctx: Ctx, p: Params):
    bank = ctx.bank
    block = bank.blocks[bank.block_slot_at(_level_slot(ctx, p, 0))]
    return encode.with_context(
        bank, {"blockhash": block.blockhash, "lastValidBlockHeight": bank.last_valid_block_height(block.slot)}
    )


@method("isBlockhashValid")
def is_blockhash_valid(ctx: Ctx, p: Params):
    bh = p.string(0, "blockhash")
    return encode.with_context(ctx.bank, _known_at_level(ctx, bh, _level_slot(ctx, p, 1)))


def _known_at_level(ctx: Ctx, blockhash: str, level_slot: int) -> bool:
    """A blockhash in the window, of a block the level has reached: the bank at that level knows it (a
    finalized bank does not know the newer, only confirmed, blockhashes)."""
    slot = ctx.bank.blockhash_slot(blockhash)
    return slot is not None and slot <= level_slot


@method("getFeeForMessage")
def get_fee_for_message(ctx: Ctx, p: Params):
    raw = p.string(0, "message")
    level_slot = _level_slot(ctx, p, 1)
    try:
        data = base64.b64decode(raw, validate=True)
        msg = MessageV0.from_bytes(data[1:]) if data and data[0] & 0x80 else Message.from_bytes(data)
    except Exception:
        raise InvalidParams("Invalid params for getFeeForMessage: `message` (params[0]) is not a base64 message") from None
    if not _known_at_level(ctx, str(msg.recent_blockhash), level_slot):
        return encode.with_context(ctx.bank, None)
    keys = [str(k) for k in msg.account_keys]
    return encode.with_context(ctx.bank, txmeta.fee_for(msg.header, msg.instructions, keys))


@method("getRecentPrioritizationFees")
def get_recent_prioritization_fees(ctx: Ctx, p: Params):
    """Per recent block: its lowest compute-unit price, raised to the lowest price paid to write-lock each
    account asked about (Agave's PrioritizationFeeCache::get_prioritization_fees)."""
    addrs = p.get(0, "lockedWritableAccounts", [], allow_none=True)
    if not isinstance(addrs, list):
        raise InvalidParams("Invalid params for getRecentPrioritizationFees: `lockedWritableAccounts` (params[0]) must be an array")
    if len(addrs) > 128:
        raise InvalidParams("Too many inputs provided; max 128")
    keys = [str(parse_pubkey(a, f"lockedWritableAccounts[{i}]")) for i, a in enumerate(addrs)]
    bank = ctx.bank
    out = []
    for s in bank.block_slots[-150:]:
        fee, by_account = bank.block_prioritization_fees(s)
        for k in keys:
            fee = max(fee, by_account.get(k, 0))
        out.append({"slot": s, "prioritizationFee": fee})
    return out


@method("getBlockTime")
def get_block_time(ctx: Ctx, p: Params):
    slot = p.uint(0, "slot")
    b = ctx.bank.blocks.get(slot)
    if b is None:
        _missing_block(ctx, slot)
    return b.block_time


def _missing_block(ctx: Ctx, slot: int):
    if slot < ctx.bank.block_slots[-1] and slot > ctx.bank.block_slots[0]:
        raise SlotSkipped(f"Slot {slot} was skipped, or missing due to ledger jump to recent snapshot")
    raise BlockNotAvailable(f"Block not available for slot {slot}")


@method("getBlock")
def get_block(ctx: Ctx, p: Params):
    slot = p.uint(0, "slot")
    cfg = p.get(1, "config", None, allow_none=True)
    if isinstance(cfg, str):  # the deprecated positional encoding form
        cfg = {"encoding": cfg}
        p = Params(p.method, [slot, cfg])
    cfg = _cfg(ctx, p, 1, {"encoding", "transactionDetails", "rewards", "maxSupportedTransactionVersion"})
    _confirmed_at_least(p.method, cfg)
    level_slot = ctx.bank.context_slot
    enc = tx_encoding(p.method, cfg)
    details = cfg.get("transactionDetails", "full")
    if details not in ("full", "signatures", "none", "accounts"):
        raise InvalidParams(f"Invalid params for getBlock: unknown `transactionDetails` {details!r}")
    mv = max_version(p.method, cfg)
    if slot > level_slot:  # sealed perhaps, but not yet at the level asked for
        raise BlockNotAvailable(f"Block not available for slot {slot}")
    b = ctx.bank.blocks.get(slot)
    if b is None:
        _missing_block(ctx, slot)
    if details == "full" and mv is None:
        for s in b.signatures:
            if ctx.bank.history[s].version != "legacy":
                raise UnsupportedTransactionVersion(
                    "Transaction version (0) is not supported by the requesting client. Please try the request "
                    "again with the following configuration parameter: \"maxSupportedTransactionVersion\": 0"
                )
    return encode.block(ctx.bank, b, encoding=enc, details=details, rewards=cfg.get("rewards", True), max_version=mv)


@method("getBlocks")
def get_blocks(ctx: Ctx, p: Params):
    start = p.uint(0, "startSlot")
    end = p.get(1, "endSlot", None, allow_none=True)
    if isinstance(end, dict):
        cfg = _cfg(ctx, p, 1)
        end = None
    else:
        if end is not None:
            end = p.uint(1, "endSlot")
        cfg = _cfg(ctx, p, 2)
    _confirmed_at_least(p.method, cfg)
    level_slot = ctx.bank.context_slot
    slots = ctx.bank.block_slots
    end = level_slot if end is None else min(end, level_slot)
    if end - start > MAX_BLOCK_RANGE:
        raise InvalidParams(f"Slot range too large; max {MAX_BLOCK_RANGE}")
    lo, hi = bisect.bisect_left(slots, start), bisect.bisect_right(slots, end)
    return slots[lo:hi]


@method("getBlocksWithLimit")
def get_blocks_with_limit(ctx: Ctx, p: Params):
    start = p.uint(0, "startSlot")
    limit = p.uint(1, "limit")
    cfg = _cfg(ctx, p, 2)
    _confirmed_at_least(p.method, cfg)
    if limit > MAX_BLOCK_RANGE:
        raise InvalidParams(f"Limit too large; max {MAX_BLOCK_RANGE}")
    slots = ctx.bank.block_slots
    lo = bisect.bisect_left(slots, start)
    hi = bisect.bisect_right(slots, ctx.bank.context_slot)
    return slots[lo : min(lo + limit, hi)]


@method("getBlockCommitment")
def get_block_commitment(ctx: Ctx, p: Params):
    slot = p.uint(0, "slot")
    return {"commitment": [0] * 31 + [1] if slot in ctx.bank.blocks else None, "totalStake": 1}


@method("getBlockProduction")
def get_block_production(ctx: Ctx, p: Params):
    _cfg(ctx, p, 0, {"identity", "range"})
    slots = ctx.bank.block_slots
    first = slots[0] if slots else 0
    return encode.with_context(
        ctx.bank,
        {"byIdentity": {ctx.identity: [len(slots), len(slots)]},
         "range": {"firstSlot": first, "lastSlot": encode.context_slot(ctx.bank)}},
    )


@method("getRecentPerformanceSamples")
def get_recent_performance_samples(ctx: Ctx, p: Params):
    limit = p.uint(0, "limit", 720)
    if limit > 720:
        raise InvalidParams("Invalid limit; max 720")
    samples = ctx.bank.perf_samples[::-1][:limit]
    return [
        {"slot": s.slot, "numTransactions": s.num_transactions, "numSlots": s.num_slots,
         "samplePeriodSecs": s.sample_period_secs, "numNonVoteTransactions": s.num_transactions}
        for s in samples
    ]


@method("getSupply")
def get_supply(ctx: Ctx, p: Params):
    _cfg(ctx, p, 0, {"excludeNonCirculatingAccountsList"})
    total = FAUCET_LAMPORTS
    return encode.with_context(
        ctx.bank, {"total": total, "circulating": total, "nonCirculating": 0, "nonCirculatingAccounts": []}
    )


@method("getInflationGovernor")
def get_inflation_governor(ctx: Ctx, p: Params):
    _cfg(ctx, p, 0)
    return {"initial": 0.08, "terminal": 0.015, "taper": 0.15, "foundation": 0.05, "foundationTerm": 7.0}


@method("getInflationRate")
def get_inflation_rate(ctx: Ctx, p: Params):
    epoch = ctx.bank.epoch_schedule.get_epoch(ctx.bank.slot)
    return {"total": 0.08, "validator": 0.076, "foundation": 0.004, "epoch": epoch}


@method("getInflationReward")
def get_inflation_reward(ctx: Ctx, p: Params):
    addrs = p.get(0, "addresses")
    if not isinstance(addrs, list):
        raise InvalidParams("Invalid params for getInflationReward: `addresses` (params[0]) must be an array")
    return [None] * len(addrs)


@method("getClusterNodes")
def get_cluster_nodes(ctx: Ctx, p: Params):
    return [
        {
            "pubkey": ctx.identity,
            "gossip": ctx.rpc_addr,
            "tpu": ctx.rpc_addr,
            "tpuQuic": None,
            "rpc": ctx.rpc_addr,
            "pubsub": ctx.ws_addr,
            "version": encode.API_VERSION,
            "featureSet": FEATURE_SET,
            "shredVersion": 0,
        }
    ]


@method("getVoteAccounts")
def get_vote_accounts(ctx: Ctx, p: Params):
    cfg = _cfg(ctx, p, 0, {"votePubkey", "keepUnstakedDelinquents", "delinquentSlotDistance"})
    bank = ctx.bank
    stake: dict[str, int] = {}
    for key in bank.owner_index.get(str(STAKE_PROGRAM), ()):
        d = delegation_of(bytes(bank.svm.get_account(Pubkey.from_string(key)).data))
        if d is not None:
            stake[d[0]] = stake.get(d[0], 0) + d[1]
    current = []
    for key in sorted(bank.owner_index.get(str(VOTE_PROGRAM), ())):
        if cfg.get("votePubkey") not in (None, key):
            continue
        data = bytes(bank.svm.get_account(Pubkey.from_string(key)).data)
        if len(data) < 140 or int.from_bytes(data[:4], "little") not in (2, 3):
            continue
        # VoteState: node pubkey first; the commission a percent in v3, basis points (offset 132) in v4.
        commission = data[68] if data[0] == 2 else int.from_bytes(data[132:134], "little") // 100
        # The one validator votes every block it seals: its last vote is the confirmed slot, its root the
        # finalized one (the vote program's own state is not replayed per slot).
        current.append({"votePubkey": key, "nodePubkey": str(Pubkey.from_bytes(data[4:36])),
                        "activatedStake": stake.get(key, 0), "epochVoteAccount": True, "commission": commission,
                        "lastVote": bank.commitment_slot("confirmed"), "epochCredits": [],
                        "rootSlot": bank.commitment_slot("finalized")})
    return {"current": current, "delinquent": []}


@method("getStakeMinimumDelegation")
def get_stake_minimum_delegation(ctx: Ctx, p: Params):
    _cfg(ctx, p, 0)
    return encode.with_context(ctx.bank, 1_000_000_000)


@method("getMinimumBalanceForRentExemption")
def get_minimum_balance_for_rent_exemption(ctx: Ctx, p: Params):
    size = p.uint(0, "dataLength")
    _cfg(ctx, p, 1)
    if size > 10 * 1024 * 1024:
        raise InvalidParams("Invalid params for getMinimumBalanceForRentExemption: `dataLength` exceeds 10 MiB")
    return ctx.bank.svm.minimum_balance_for_rent_exemption(size)
