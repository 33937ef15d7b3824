"""Whole verifications, still pure: everything read from the chain is passed in as views.

These are the Python API of the auditor (`from auditor.verify import verify_receipt`); audits.py calls them
after reading the chain, and tests call them directly with views they build.
"""
from __future__ import annotations

from typing import Callable, Mapping, Sequence

from solders.pubkey import Pubkey

from contracts.receipt import Receipt, ReceiptEncodingError

from . import checks as C
from . import pricing as P
from .receipt_file import SignedReceipt
from .result import PENDING, Check, failed, passed, pending, skipped, verdict
from .views import BatchView, ChannelView, ConfigHistory, EpochView, SettlementView


def verify_receipt(
    sr: SignedReceipt,
    history: ConfigHistory,
    batch: BatchView | None,
    *,
    program_id: Pubkey | None = None,
    prev: Receipt | None = None,
    channel: ChannelView | None = None,
    settlements: Sequence[SettlementView] | None = None,
    books: P.Books | None = None,
    prev_detail: object = None,
) -> list[Check]:
    """A receipt: signed by a meter key registered for its config version, committed in `batch` (the
    on-chain batch the caller resolved for it, None when the chain has none), linked to the previous
    receipt (when given), and whether the chain has settled it. With `books` (price books on the record), its
    detail is recomputed too: hash, lines adding up, amounts and prices (auditor/pricing.py); with the previous
    receipt's detail as well, the lines' segment bases."""
    r = sr.receipt
    try:
        rid = r.receipt_id
    except ReceiptEncodingError as e:  # a hand-built value out of range: no canonical bytes, nothing to verify
        return [failed("receipt.encoding", f"the receipt has no canonical encoding: {e}")]
    out: list[Check] = []
    if program_id is not None:
        out.append(C.check_receipt_program(r, program_id))
    if sr.claimed_id is not None:
        out.append(verdict("receipt.id", sr.claimed_id == rid,
                           "the stated receipt id is sha256 of the canonical encoding",
                           f"the stated receipt id {sr.claimed_id.hex()[:16]}… is not sha256 of the encoding "
                           f"({rid.hex()[:16]}…)"))
    out.append(C.check_signature(rid, sr.signature, sr.meter))
    out.append(C.check_meter_registered(sr.meter, r.config_version, history))
    if sr.batch is None and batch is None:
        out.append(pending("receipt.inclusion", "the receipt names no batch and no proof: not (yet) committed "
                                                "on-chain, so nothing binds it to the chain"))
    elif not sr.has_proof:
        out.append(pending("receipt.inclusion", f"the receipt names batch {sr.batch} but no inclusion proof was "
                                                "served"))
    elif batch is None:
        out.append(failed("receipt.inclusion", f"the receipt names batch {sr.batch}, which is not on-chain"))
    else:
        out.append(C.check_inclusion(rid, sr.proof, batch))
        if batch.config_version is not None and batch.config_version != r.config_version:
            out.append(failed("receipt.batch_version", f"batch {batch.index} was posted under config version "
                                                       f"{batch.config_version}, the receipt names {r.config_version}"))
    if prev is not None:
        out.extend(Check(f"receipt.{c.name.split('.', 1)[1]}" if c.name != "chain.channel" else "receipt.channel",
                         c.status, c.detail, "link to previous") for c in C.check_link(prev, r))
    if settlements is not None or channel is not None:
        mine = [s for s in (settlements or []) if s.customer == r.customer and s.provider == r.provider]
        out.append(C.check_settled(r, rid, channel, mine))
    if books is not None:
        checks, lines = P.verify_detail(r, sr.detail, books, sr.detail_json)
        out.extend(checks)
        if prev is not None and lines is not None and isinstance(prev_detail, Mapping):
            try:
                before = P.parse_lines(prev_detail)
            except ValueError:
                before = None
            if before is not None:
                probs = P.check_segments(before, lines)
                out.append(verdict("receipt.line_segments", not probs,
                                   "each line continues the previous receipt's (segment bases, never dropped)",
                                   "; ".join(probs[:3]), "link to previous"))
    return out


def verify_channel(
    receipts: Sequence[SignedReceipt] | None,
    history: ConfigHistory,
    batch_for: Callable[[SignedReceipt], BatchView | None],
    settlements: Sequence[SettlementView],
    channel: ChannelView | None,
    *,
    program_id: Pubkey | None = None,
    committed: C.Committed | None = None,
    books: P.Books | None = None,
) -> list[Check]:
    """A channel: its receipts from seq 1 (signatures, keys, inclusion), the hash chain, their coverage of
    everything settled and everything committed on-chain, and every settlement on-chain (moved = cumulative -
    previously settled, split per the config in force, tied to the inclusion proof of the receipt it paid),
    then the account.

    `receipts` None means none were supplied (chain-only): whatever needs them is "not verified", never
    clean. `committed` is the channel's last receipt committed in any on-chain batch (see
    checks.committed_top); None when the batches' members could not be established. `books`: recompute each
    receipt's detail against the price books on the record, and each line's continuity from receipt to
    receipt (`chain.line_segments`)."""
    out: list[Check] = []
    supplied = receipts is not None
    ordered = sorted(receipts or (), key=lambda s: s.receipt.seq)
    if supplied:
        out.extend(C.check_chain([s.receipt for s in ordered], from_seq_one=True))
    else:
        out.append(pending("chain.seq", "no receipts supplied (chain only): the receipt chain was not walked"))
    results, lines = [], {}
    for sr in ordered:
        b = batch_for(sr)
        cs = verify_receipt(sr, history, b, program_id=program_id)
        if books is not None:
            more, lines[sr.receipt.seq] = P.verify_detail(sr.receipt, sr.detail, books, sr.detail_json)
            cs = cs + more
        results.append((sr, b, cs))
    results = bound_through_the_chain(results, out)
    out.extend(aggregate([(f"seq {sr.receipt.seq}", cs) for sr, _b, cs in results]))
    if books is not None and ordered:
        probs, unchecked = [], 0
        for sr in ordered:
            seq = sr.receipt.seq
            cur, before = lines.get(seq), (lines.get(seq - 1) if seq > 1 else [])
            if cur is None or before is None:
                unchecked += 1
                continue
            probs += [f"seq {seq}: {p}" for p in P.check_segments(before, cur)]
        if probs:
            out.append(failed("chain.line_segments", "; ".join(probs[:3])))
        elif unchecked:
            out.append(pending("chain.line_segments", f"{unchecked} receipt(s) without a verified detail (or without "
                                                      "their predecessor's): line continuity not checked"))
        else:
            out.append(passed("chain.line_segments", f"the lines of all {len(ordered)} receipts continue from one "
                                                     "receipt to the next (segment bases by the meter's rule)"))
    top = ordered[-1].receipt.seq if ordered else 0
    settled_seq = channel.last_seq if channel is not None else 0
    if not supplied:
        if settled_seq:
            out.append(pending("chain.covers_settled", f"the chain settled up to seq {settled_seq}; no receipts "
                                                       "were supplied to cover it"))
    else:
        out.append(verdict("chain.covers_settled", top >= settled_seq,
                           f"the receipts supplied (to seq {top}) cover everything settled (seq {settled_seq})",
                           f"the chain settled up to seq {settled_seq}, but receipts were supplied only up to "
                           f"seq {top}: settled receipts are being withheld"))
    out.append(C.check_covers_committed(top if supplied else None, committed))
    by_seq = {s.receipt.seq: s.receipt for s in ordered}
    included = {sr.receipt.seq: b.index for sr, b, cs in results if b is not None and any(
        c.name == "receipt.inclusion" and c.status == "pass" for c in cs)}
    out.extend(C.check_channel_settlements(settlements, by_seq, channel, history,
                                           included=included if supplied else None))
    return out



def bound_through_the_chain(results: list, chain_checks: Sequence[Check]) -> list:
    """A receipt that was never batched itself (e.g. superseded when the meter reissued the channel's newest
    receipt under a new config version) is still bound to the chain when a LATER receipt of the same, unbroken
    hash chain is committed: that receipt's signed prev_receipt_id links back to it. Its inclusion is then
    established through the chain; receipts after the last committed one stay not verified."""
    if any(c.failed for c in chain_checks if c.name.startswith("chain.")):
        return results
    committed = [(sr.receipt.seq, b.index) for sr, b, cs in results
                 if b is not None and any(c.name == "receipt.inclusion" and c.status == "pass" for c in cs)]
    if not committed:
        return results
    top, top_batch = max(committed)
    out = []
    for sr, b, cs in results:
        if sr.receipt.seq < top and not sr.has_proof and sr.batch is None:
            cs = [passed("receipt.inclusion", f"not batched itself, bound through the hash chain to seq {top}, "
                                              f"committed in batch {top_batch}")
                  if c.name == "receipt.inclusion" and c.status == PENDING else c for c in cs]
        out.append((sr, b, cs))
    return out


def aggregate(per_subject: Sequence[tuple[str, Sequence[Check]]], show: int = 3) -> list[Check]:
    """One check per name over many subjects (e.g. every receipt of a channel), so a report stays readable:
    it fails when any subject fails and then names the first few, with their own details."""
    names: dict[str, list[tuple[str, Check]]] = {}
    for subj, checks in per_subject:
        for c in checks:
            names.setdefault(c.name, []).append((subj, c))
    out = []
    for name, items in names.items():
        bad = [(s, c) for s, c in items if c.failed]
        good = sum(c.status == "pass" for _, c in items)
        skip = [(s, c) for s, c in items if c.status == "skip"]
        waiting = [(s, c) for s, c in items if c.status == PENDING]
        if bad:
            more = f" (and {len(bad) - show} more)" if len(bad) > show else ""
            out.append(failed(name, f"{len(bad)} of {len(items)} fail: "
                                    + "; ".join(f"{s}: {c.detail}" for s, c in bad[:show]) + more))
        elif waiting:
            more = f" (and {len(waiting) - show} more)" if len(waiting) > show else ""
            out.append(pending(name, f"{len(waiting)} of {len(items)} not verified: "
                                     + "; ".join(f"{s}: {c.detail}" for s, c in waiting[:show]) + more))
        elif good:
            tail = f"; {len(skip)} not checked ({skip[0][0]}: {skip[0][1].detail})" if skip else ""
            out.append(Check(name, "pass", f"holds for all {good} receipts checked{tail}"))
        else:
            out.append(skipped(name, f"{skip[0][0]}: {skip[0][1].detail}" + (
                f" (and {len(skip) - 1} more)" if len(skip) > 1 else "")))
    return out


def verify_batch(batch: BatchView, receipts: Sequence[SignedReceipt], history: ConfigHistory,
                 amounts: Sequence[int] | None) -> list[Check]:
    """A batch: recompute the root from its receipts, their count and total; and each receipt signed by a
    meter key registered for its config version."""
    out = C.check_batch(batch, [s.receipt_id for s in receipts], amounts)
    bad_sig = [s.receipt.seq for s in receipts if not s.signature.verify(s.meter, s.receipt_id)]
    out.append(verdict("batch.signatures", not bad_sig, f"all {len(receipts)} receipt signatures verify",
                       f"{len(bad_sig)} receipt signature(s) do not verify", f"batch {batch.index}"))
    unreg = [s for s in receipts if C.check_meter_registered(s.meter, s.receipt.config_version, history).failed]
    out.append(verdict("batch.meter_keys", not unreg,
                       "every receipt is signed by a meter key registered for its config version",
                       f"{len(unreg)} receipt(s) signed by a key not registered for their config version",
                       f"batch {batch.index}"))
    if batch.meter is not None:
        cfg = history.get(batch.config_version) if batch.config_version is not None else None
        keys = cfg.meter_keys if cfg else frozenset().union(*(v.meter_keys for v in history.versions.values()))
        out.append(verdict("batch.poster", batch.meter in keys,
                           f"posted by registered meter key {batch.meter}",
                           f"posted by {batch.meter}, which is not a registered meter key", f"batch {batch.index}"))
    return out


def verify_epoch(epoch: EpochView, settled_revenue: dict[Pubkey, int] | None = None) -> list[Check]:
    return C.check_epoch(epoch, settled_revenue)
