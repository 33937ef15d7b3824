"""Pure verification functions: facts in, Check (or a list of them) out. No I/O, no clock, no globals.

Each function names its check(s) with a stable dotted identifier and says in the detail what holds or what
does not and why. Receipt bytes, receipt ids and Merkle rules come only from contracts/receipt.py and
contracts/merkle.py; this module never re-derives them.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from solders.pubkey import Pubkey
from solders.signature import Signature

from contracts import economics
from contracts.merkle import MAX_PROOF_LEN, MerkleTree, verify_proof
from contracts.receipt import ZERO_HASH, Receipt

from .result import Check, failed, passed, skipped, verdict
from .views import (BatchView, ChannelView, ConfigHistory, EpochView, SettlementView)

_SHOW = 3  # how many offenders a failing aggregate check lists


def _h(b: bytes) -> str:
    return bytes(b).hex()


def _short(b: bytes) -> str:
    return bytes(b).hex()[:16] + "…"


# --- one receipt -----------------------------------------------------------------------------------------

def check_signature(receipt_id: bytes, signature: Signature, meter: Pubkey) -> Check:
    """The meter's ed25519 signature is over the 32-byte receipt id (any Solana tool can check it)."""
    ok = signature.verify(meter, receipt_id)
    return verdict(
        "receipt.signature", ok,
        f"ed25519 signature verifies over receipt id {_short(receipt_id)} with meter key {meter}",
        f"ed25519 signature does NOT verify over receipt id {_short(receipt_id)} with meter key {meter}: "
        "the receipt bytes, the signature or the key were altered",
    )


def check_meter_registered(meter: Pubkey, config_version: int, history: ConfigHistory) -> Check:
    """The signing key is among the meter keys of the config version the receipt names: a key rotated out
    later still verifies its old receipts, and never a receipt claiming a version it was not registered in."""
    name = "receipt.meter_key"
    cfg = history.get(config_version)
    if cfg is None:
        known = ", ".join(str(v) for v in sorted(history.versions)) or "none"
        return failed(name, f"the receipt names config version {config_version}, which the chain never had "
                            f"(versions seen: {known}; current {history.current})")
    keys = sorted(str(k) for k in cfg.meter_keys)
    if meter in cfg.meter_keys:
        return passed(name, f"meter key {meter} is registered in config version {config_version}")
    return failed(name, f"meter key {meter} is NOT registered in config version {config_version} "
                        f"(registered: {', '.join(keys) or 'none'})")


def check_receipt_program(receipt: Receipt, program_id: Pubkey) -> Check:
    return verdict(
        "receipt.program", receipt.program_id == program_id,
        f"the receipt is for program {program_id}",
        f"the receipt names program {receipt.program_id}, not the audited program {program_id}",
    )


def check_inclusion(receipt_id: bytes, proof: Sequence[bytes], batch: BatchView) -> Check:
    """The inclusion proof leads from the receipt id to the batch root posted on-chain."""
    name = "receipt.inclusion"
    if len(proof) > MAX_PROOF_LEN:
        return failed(name, f"proof has {len(proof)} nodes, more than the maximum {MAX_PROOF_LEN}")
    bad = [i for i, p in enumerate(proof) if len(p) != 32]
    if bad:
        return failed(name, f"proof node {bad[0]} is {len(proof[bad[0]])} bytes, not 32")
    ok = verify_proof(receipt_id, proof, batch.root)
    return verdict(
        name, ok,
        f"{len(proof)}-node proof leads to the root {_short(batch.root)} of batch {batch.index} on-chain",
        f"the {len(proof)}-node proof does NOT lead to the on-chain root {_short(batch.root)} of batch "
        f"{batch.index}: the receipt is not in that batch, or the proof was altered",
    )


def check_link(prev: Receipt, cur: Receipt) -> list[Check]:
    """`cur` follows `prev` on the same channel: seq + 1, prev_receipt_id = id(prev), nothing decreases."""
    return check_chain([prev, cur], from_seq_one=False)


def check_settled(receipt: Receipt, rid: bytes, channel: ChannelView | None,
                  settlements: Sequence[SettlementView]) -> Check:
    """Whether, and by which transaction, the channel's settled cumulative covers this receipt.

    Settlement is cumulative: the first settlement at or beyond this seq pays everything up to its
    cumulative amount, this receipt's included. A settlement AT this seq must name this very receipt id;
    anything else means two different receipts were issued with the same seq.
    """
    name = "receipt.settled"
    same = [s for s in settlements if s.seq == receipt.seq]
    for s in same:
        if bytes(s.receipt_id) != rid:
            return failed(name, f"transaction {s.signature} settled a DIFFERENT receipt "
                                f"{_short(s.receipt_id)} at seq {receipt.seq}: two receipts share this seq")
        if s.cumulative != receipt.cum_amount:
            return failed(name, f"transaction {s.signature} settled seq {receipt.seq} at cumulative "
                                f"{s.cumulative}, but the receipt says {receipt.cum_amount}")
    covering = sorted((s for s in settlements if s.seq >= receipt.seq), key=lambda s: s.seq)
    if covering:
        s = covering[0]
        how = "settled directly" if s.seq == receipt.seq else f"covered by the settlement of seq {s.seq}"
        if s.seq != receipt.seq and s.cumulative < receipt.cum_amount:
            return failed(name, f"seq {s.seq} was settled at cumulative {s.cumulative}, below this "
                                f"receipt's {receipt.cum_amount}: a later receipt owes less")
        return passed(name, f"{how} in transaction {s.signature} (settled cumulative {s.cumulative})")
    if channel is None:
        return skipped(name, "the channel has no account on-chain yet: nothing settled")
    if channel.last_seq >= receipt.seq:
        if channel.settled_cumulative < receipt.cum_amount:
            return failed(name, f"the channel is settled to seq {channel.last_seq} but only to cumulative "
                                f"{channel.settled_cumulative}, below this receipt's {receipt.cum_amount}")
        return passed(name, f"the channel is settled to seq {channel.last_seq}, cumulative "
                            f"{channel.settled_cumulative} >= {receipt.cum_amount} (settling transaction "
                            "not found in the signature history searched)")
    return skipped(name, f"not settled yet: the channel is settled to seq {channel.last_seq}, cumulative "
                         f"{channel.settled_cumulative}")


# --- a chain of receipts -----------------------------------------------------------------------------------

_CUMULATIVES = ("cum_amount", "cum_gpu_ms", "cum_byte_seconds", "cum_egress_bytes")


def check_chain(receipts: Sequence[Receipt], from_seq_one: bool = True) -> list[Check]:
    """The hash chain of one channel's receipts, in the order given.

    chain.start      (from_seq_one) the first receipt is seq 1 with an all-zero prev_receipt_id
    chain.channel    every receipt names the same program, customer and provider
    chain.seq        seq goes up by exactly one
    chain.link       each prev_receipt_id is the id of the receipt before it
    chain.monotonic  cumulative amount and quantities never decrease
    chain.period     periods never go back in time (each starts at or after the previous one ended)
    """
    if not receipts:
        return [skipped("chain.seq", "no receipts supplied: the receipt chain was not walked")]
    ids = [r.receipt_id for r in receipts]
    out: list[Check] = []
    if from_seq_one:
        r0 = receipts[0]
        out.append(verdict("chain.start", r0.seq == 1 and bytes(r0.prev_receipt_id) == ZERO_HASH,
                           "the chain starts at seq 1 with an all-zero previous id",
                           f"the chain starts at seq {r0.seq}, not 1"))
    pairs = list(zip(receipts, receipts[1:], ids))
    wrong_channel = [c.seq for c in receipts[1:]
                     if (c.program_id, c.customer, c.provider) != (receipts[0].program_id, receipts[0].customer,
                                                                   receipts[0].provider)]
    out.append(verdict("chain.channel", not wrong_channel,
                       f"all {len(receipts)} receipts belong to channel {receipts[0].customer} -> "
                       f"{receipts[0].provider}",
                       f"receipts of another channel or program in the chain at seq "
                       f"{', '.join(map(str, wrong_channel[:_SHOW]))}"))
    bad_seq = [(p.seq, c.seq) for p, c, _ in pairs if c.seq != p.seq + 1]
    out.append(verdict("chain.seq", not bad_seq,
                       f"seq runs {receipts[0].seq}..{receipts[-1].seq} without gaps or repeats",
                       "seq does not go up by one: " + "; ".join(f"{a} then {b}" for a, b in bad_seq[:_SHOW])))
    bad_link = [c.seq for p, c, pid in pairs if bytes(c.prev_receipt_id) != pid]
    out.append(verdict("chain.link", not bad_link,
                       f"each of {len(pairs)} receipts names the id of the one before it",
                       "prev_receipt_id is not the id of the previous receipt at seq "
                       + ", ".join(map(str, bad_link[:_SHOW]))))
    drops = []
    for p, c, _ in pairs:
        for f in _CUMULATIVES:
            if getattr(c, f) < getattr(p, f):
                drops.append(f"{f} falls from {getattr(p, f)} to {getattr(c, f)} at seq {c.seq}")
    out.append(verdict("chain.monotonic", not drops,
                       f"cumulative amount and quantities never decrease (final amount {receipts[-1].cum_amount})",
                       "; ".join(drops[:_SHOW])))
    back = [c.seq for p, c, _ in pairs if c.period_start < p.period_end]
    out.append(verdict("chain.period", not back,
                       "each period starts at or after the previous one ended",
                       "period starts before the previous one ended at seq " + ", ".join(map(str, back[:_SHOW]))))
    return out


# --- settlements -----------------------------------------------------------------------------------------

def expected_split(moved: int, fee_bps: int, burn_bps: int) -> tuple[int, int, int]:
    """(fee, burn, provider) for an amount moved: fee and burn round down, the provider gets the rest, so
    the three always add up to what left the escrow."""
    s = economics.split(moved, fee_bps, burn_bps)
    return s.fee, s.burn, s.provider


def check_settlement(s: SettlementView, previously_settled: int, history: ConfigHistory,
                     receipt: Receipt | None = None) -> list[Check]:
    """One settlement: it moved exactly its cumulative minus what the settlements before it had paid,
    split into fee, burn and provider share per the config version in force (the batch's)."""
    subj = f"seq {s.seq} tx {s.signature[:12]}"
    out = []
    if s.previously_settled is not None:
        out.append(verdict("settlement.previous", s.previously_settled == previously_settled,
                           f"starts from the previously settled {previously_settled}",
                           f"claims {s.previously_settled} was settled before, but the settlements before it "
                           f"add up to {previously_settled}", subj))
    want = s.cumulative - previously_settled
    out.append(verdict("settlement.moved", s.moved == want and want >= 0,
                       f"moved {s.moved} = cumulative {s.cumulative} - previously settled {previously_settled}",
                       f"moved {s.moved}, but cumulative {s.cumulative} - previously settled "
                       f"{previously_settled} = {want}", subj))
    v = s.config_version if s.config_version is not None else (receipt.config_version if receipt else None)
    candidates = [] if v is None else ([v] if isinstance(v, int) else list(v))
    cfgs = [c for c in (history.get(x) for x in candidates) if c is not None]
    if not cfgs:
        out.append(skipped("settlement.split", f"config version {v} unknown: cannot check the split", subj))
    else:
        got = (s.fee, s.burn, s.provider_amount)
        match = next((c for c in cfgs if expected_split(s.moved, c.fee_bps, c.burn_bps) == got), None)
        if match is not None:
            out.append(passed("settlement.split",
                              f"fee {s.fee} + burn {s.burn} + provider {s.provider_amount} = {s.moved} per config "
                              f"v{match.version} in force ({match.fee_bps} bps fee, {match.burn_bps} bps burn)", subj))
        else:
            c = cfgs[-1]
            fee, burn, prov = expected_split(s.moved, c.fee_bps, c.burn_bps)
            out.append(failed("settlement.split",
                              f"split fee {s.fee} / burn {s.burn} / provider {s.provider_amount}, but config "
                              f"v{c.version} in force ({c.fee_bps} bps fee, {c.burn_bps} bps burn) gives "
                              f"{fee} / {burn} / {prov} of {s.moved}", subj))
    if receipt is not None:
        rid = receipt.receipt_id
        ok = (bytes(s.receipt_id) == rid and s.cumulative == receipt.cum_amount and s.seq == receipt.seq
              and s.customer == receipt.customer and s.provider == receipt.provider)
        out.append(verdict("settlement.receipt", ok,
                           f"settled receipt {_short(rid)} at its cumulative {receipt.cum_amount}",
                           f"the settlement names receipt {_short(s.receipt_id)} cumulative {s.cumulative}, "
                           f"but the receipt at seq {receipt.seq} is {_short(rid)} cumulative "
                           f"{receipt.cum_amount}", subj))
    return out


def check_channel_settlements(settlements: Sequence[SettlementView], receipts_by_seq: dict[int, Receipt],
                              channel: ChannelView | None, history: ConfigHistory) -> list[Check]:
    """Every settlement of a channel, in chain order, then the channel account against the last one."""
    out: list[Check] = []
    prev = 0
    last_seq = 0
    for s in settlements:
        if s.seq <= last_seq:
            out.append(failed("settlement.order", f"seq {s.seq} settled after seq {last_seq} was already settled",
                              f"seq {s.seq} tx {s.signature[:12]}"))
        out.extend(check_settlement(s, prev, history, receipts_by_seq.get(s.seq)))
        if s.seq not in receipts_by_seq:
            out.append(skipped("settlement.receipt", f"receipt seq {s.seq} was not supplied",
                               f"seq {s.seq} tx {s.signature[:12]}"))
        prev = s.cumulative
        last_seq = max(last_seq, s.seq)
    if channel is None:
        out.append(verdict("channel.settled", not settlements, "no channel account and no settlements",
                           "settlements were found but the channel account does not exist"))
        return out
    out.append(verdict(
        "channel.settled", channel.settled_cumulative == prev and channel.last_seq == last_seq,
        f"the channel account says settled to seq {channel.last_seq}, cumulative {channel.settled_cumulative}, "
        f"as the {len(settlements)} settlement(s) add up",
        f"the channel account says seq {channel.last_seq}, cumulative {channel.settled_cumulative}, but the "
        f"{len(settlements)} settlement(s) found add up to seq {last_seq}, cumulative {prev}"))
    if channel.last_seq and channel.last_seq in receipts_by_seq:
        rid = receipts_by_seq[channel.last_seq].receipt_id
        out.append(verdict("channel.last_receipt", bytes(channel.last_receipt_id) == rid,
                           f"the channel's last receipt id is that of receipt seq {channel.last_seq}",
                           f"the channel's last receipt id {_short(channel.last_receipt_id)} is not receipt seq "
                           f"{channel.last_seq}'s {_short(rid)}"))
    return out


# --- a batch -----------------------------------------------------------------------------------------------

def check_batch(batch: BatchView, receipt_ids: Sequence[bytes], amounts: Sequence[int] | None) -> list[Check]:
    """Recompute the batch from its receipts (in the batch's order): the root, the count and the total.

    `amounts` are each receipt's contribution to the batch total as the protocol defines it (None when
    they cannot be known, e.g. the previous receipts of a channel are missing).
    """
    subj = f"batch {batch.index}"
    out = []
    if not receipt_ids:
        return [failed("batch.root", "no receipts supplied to recompute the root from", subj)]
    root = MerkleTree(receipt_ids).root
    out.append(verdict("batch.root", root == bytes(batch.root),
                       f"the root recomputed from {len(receipt_ids)} receipts is the on-chain {_short(root)}",
                       f"the root recomputed from {len(receipt_ids)} receipts is {_short(root)}, the chain has "
                       f"{_short(batch.root)}", subj))
    out.append(verdict("batch.count", len(receipt_ids) == batch.count,
                       f"{batch.count} receipts, as posted", f"{len(receipt_ids)} receipts supplied, the chain "
                       f"says the batch has {batch.count}", subj))
    if amounts is None:
        out.append(skipped("batch.total", "the receipts' amounts could not all be determined", subj))
    else:
        total = sum(amounts)
        out.append(verdict("batch.total", total == batch.total, f"total {total}, as posted",
                           f"the receipts add up to {total}, the chain says {batch.total}", subj))
    return out


# --- an epoch ----------------------------------------------------------------------------------------------

def expected_claim(funded: int, revenue: int, total_revenue: int) -> int:
    """A provider's reward: the pool pro rata to its settled revenue, rounded down (never over-pays)."""
    return economics.reward_share(funded, revenue, total_revenue)


def check_epoch(epoch: EpochView, settled_revenue: dict[Pubkey, int] | None = None) -> list[Check]:
    """Funded emission, each claim pro rata to settled revenue (rounded down), nothing over-claimed.

    `settled_revenue`, when given, is each provider's gross settled amount in this epoch summed from the
    settlement events; it is compared with what the ProviderEpoch accounts say.
    """
    subj = f"epoch {epoch.number}"
    out = []
    rev_sum = sum(p.revenue for p in epoch.providers)
    out.append(verdict("epoch.revenue", rev_sum == epoch.total_revenue,
                       f"the {len(epoch.providers)} providers' revenue adds up to the epoch's {epoch.total_revenue}",
                       f"the providers' revenue adds up to {rev_sum}, the epoch says {epoch.total_revenue}", subj))
    if settled_revenue is not None:
        diffs = []
        for p in epoch.providers:
            got = settled_revenue.get(p.provider, 0)
            if got != p.revenue:
                diffs.append(f"{p.provider}: account {p.revenue}, settlements {got}")
        extra = sorted(str(k) for k in set(settled_revenue) - {p.provider for p in epoch.providers}
                       if settled_revenue[k])
        diffs += [f"{k}: settled revenue but no ProviderEpoch account" for k in extra]
        out.append(verdict("epoch.settled_revenue", not diffs,
                           "each provider's revenue equals its settlements in this epoch",
                           "; ".join(diffs[:_SHOW]), subj))
    bad = []
    for p in epoch.providers:
        want = expected_claim(epoch.funded, p.revenue, epoch.total_revenue)
        if p.claimed and p.reward != want:
            bad.append(f"{p.provider} was paid {p.reward}, its pro-rata share is {want}")
        if not p.claimed and p.reward:
            bad.append(f"{p.provider} has not claimed but shows a reward of {p.reward}")
    claimed = sum(p.reward for p in epoch.providers)
    n = sum(p.claimed for p in epoch.providers)
    out.append(verdict("epoch.pro_rata", not bad,
                       f"{n} claim(s), each funded {epoch.funded} x revenue / total {epoch.total_revenue}, "
                       "rounded down",
                       "; ".join(bad[:_SHOW]), subj))
    if epoch.claimed_total is not None:
        out.append(verdict("epoch.claimed_total", epoch.claimed_total == claimed,
                           f"the epoch's claimed total {epoch.claimed_total} is the sum of the claims",
                           f"the epoch says {epoch.claimed_total} was claimed, the claims add up to {claimed}",
                           subj))
    total_claimed = max(claimed, epoch.claimed_total or 0)
    out.append(verdict("epoch.not_over_claimed", total_claimed <= epoch.funded,
                       f"claimed {total_claimed} <= funded {epoch.funded}",
                       f"claimed {total_claimed} exceeds the funded emission {epoch.funded}", subj))
    return out


def first_failure(checks: Iterable[Check]) -> Check | None:
    return next((c for c in checks if c.failed), None)
