"""A self-consistent, really signed sample of what a meter and the chain produce, built offline.

Used by the benchmark and the tests as the honest baseline that tampering then breaks. Receipts are
encoded by contracts/receipt.py, signed with a real ed25519 key and committed in Merkle trees by
contracts/merkle.py; settlements split per expected_split of the config in force.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace

from solders.keypair import Keypair
from solders.pubkey import Pubkey

from contracts.merkle import MerkleTree
from contracts.pricing import DEFAULT_PRICE_BOOK, canonical_json, detail_hash, price_lines
from contracts.receipt import ZERO_HASH, Receipt

from .checks import expected_claim, expected_split
from .receipt_file import SignedReceipt
from .views import (BatchView, ChannelView, ConfigHistory, ConfigVersion, EpochView, ProviderEpochView,
                    SettlementView)


def sign(receipt: Receipt, meter: Keypair, batch: int | None = None, proof: tuple[bytes, ...] = (),
         leaf_index: int | None = None) -> SignedReceipt:
    rid = receipt.receipt_id
    return SignedReceipt(receipt=receipt, signature=meter.sign_message(rid), meter=meter.pubkey(), batch=batch,
                         proof=tuple(proof), leaf_index=leaf_index)


def next_receipt(prev: Receipt | None, *, program_id: Pubkey, config_version: int, customer: Pubkey,
                 provider: Pubkey, add_amount: int, add_gpu_ms: int = 1000, add_byte_seconds: int = 0,
                 add_egress: int = 0, period: int = 60, t0: int = 1_700_000_000) -> Receipt:
    seq = prev.seq + 1 if prev else 1
    start = prev.period_end if prev else t0
    return Receipt(
        program_id=program_id, config_version=config_version, customer=customer, provider=provider, seq=seq,
        period_start=start, period_end=start + period,
        cum_gpu_ms=(prev.cum_gpu_ms if prev else 0) + add_gpu_ms,
        cum_byte_seconds=(prev.cum_byte_seconds if prev else 0) + add_byte_seconds,
        cum_egress_bytes=(prev.cum_egress_bytes if prev else 0) + add_egress,
        cum_amount=(prev.cum_amount if prev else 0) + add_amount,
        prev_receipt_id=prev.receipt_id if prev else ZERO_HASH,
        detail_hash=hashlib.sha256(b"detail %d" % seq).digest(),
    )


@dataclass
class SampleWorld:
    program_id: Pubkey
    meter: Keypair
    history: ConfigHistory
    customer: Pubkey
    provider: Pubkey
    receipts: list[SignedReceipt]  # one channel, seq 1..n, each with its batch and proof
    batches: dict[int, BatchView]
    settlements: list[SettlementView]
    channel: ChannelView
    epoch: EpochView
    batch_members: dict[int, list[SignedReceipt]] = field(default_factory=dict)

    def batch_amounts(self, index: int) -> list[int]:
        by_seq = {s.receipt.seq: s.receipt for s in self.receipts}
        out = []
        for s in self.batch_members[index]:
            r = s.receipt
            out.append(r.cum_amount - (by_seq[r.seq - 1].cum_amount if r.seq > 1 else 0))
        return out


def build_world(n_receipts: int = 10, per_batch: int = 4, settle_every: int = 3, fee_bps: int = 250,
                burn_bps: int = 100, config_version: int = 1, epoch_funded: int = 1_000_000,
                seed: int = 7) -> SampleWorld:
    """One channel of `n_receipts` receipts, batched `per_batch` at a time, settled at every `settle_every`-th
    receipt and at the last, all in one funded and fully claimed epoch (with a second provider for pro rata)."""
    def kp(tag: str) -> Keypair:
        return Keypair.from_seed(hashlib.sha256(f"{seed}:{tag}".encode()).digest())

    program_id, meter = kp("program").pubkey(), kp("meter")
    customer, provider, other = kp("customer").pubkey(), kp("provider").pubkey(), kp("other").pubkey()
    history = ConfigHistory({config_version: ConfigVersion(config_version, fee_bps, burn_bps,
                                                           frozenset({meter.pubkey()}), "sample")}, config_version)
    chain: list[Receipt] = []
    for i in range(n_receipts):
        chain.append(next_receipt(chain[-1] if chain else None, program_id=program_id,
                                  config_version=config_version, customer=customer, provider=provider,
                                  add_amount=1_000 + 37 * i, add_byte_seconds=10**12 * i, add_egress=i))
    signed: list[SignedReceipt] = []
    batches: dict[int, BatchView] = {}
    members: dict[int, list[SignedReceipt]] = {}
    for b, start in enumerate(range(0, n_receipts, per_batch)):
        group = chain[start:start + per_batch]
        tree = MerkleTree([r.receipt_id for r in group])
        prev_cum = chain[start - 1].cum_amount if start else 0
        total = group[-1].cum_amount - prev_cum
        batches[b] = BatchView(index=b, root=tree.root, count=len(group), total=total, meter=meter.pubkey(),
                               config_version=config_version)
        members[b] = [sign(r, meter, b, tuple(tree.proof(j)), j) for j, r in enumerate(group)]
        signed.extend(members[b])
    settlements: list[SettlementView] = []
    settled = 0
    seqs = sorted({*range(settle_every, n_receipts + 1, settle_every), n_receipts})
    for seq in seqs:
        r = chain[seq - 1]
        moved = r.cum_amount - settled
        fee, burn, prov = expected_split(moved, fee_bps, burn_bps)
        settlements.append(SettlementView(
            signature=f"sig{seq:04d}" + "1" * 80, customer=customer, provider=provider, seq=seq,
            receipt_id=r.receipt_id, cumulative=r.cum_amount, moved=moved, fee=fee, burn=burn,
            provider_amount=prov, config_version=config_version, epoch=0, batch=(seq - 1) // per_batch))
        settled = r.cum_amount
    last = settlements[-1]
    channel = ChannelView(customer=customer, provider=provider, settled_cumulative=settled, last_seq=last.seq,
                          last_receipt_id=last.receipt_id)
    revenue = settled
    other_revenue = 12_345
    total = revenue + other_revenue
    pes = (ProviderEpochView(provider, revenue, True, expected_claim(epoch_funded, revenue, total)),
           ProviderEpochView(other, other_revenue, True, expected_claim(epoch_funded, other_revenue, total)))
    epoch = EpochView(number=0, funded=epoch_funded, total_revenue=total,
                      claimed_total=sum(p.reward for p in pes), providers=pes)
    return SampleWorld(program_id, meter, history, customer, provider, signed, batches, settlements, channel,
                       epoch, members)


def retamper(sr: SignedReceipt, **fields) -> SignedReceipt:
    """The same signed document with receipt fields changed and the old signature and proof kept."""
    return replace(sr, receipt=replace(sr.receipt, **fields))


def priced_world(n_receipts: int = 10, per_batch: int = 4, seed: int = 7):
    """Receipts with real line-item details, priced like the meter does (contracts.pricing.price_lines
    with its default book, the detail hashed as its canonical JSON), really signed and batched:
    (receipts with detail_json, on-chain roots by batch, {version: book})."""
    def kp(tag: str) -> Keypair:
        return Keypair.from_seed(hashlib.sha256(f"{seed}:{tag}".encode()).digest())

    program_id, meter = kp("program").pubkey(), kp("meter")
    customer, provider = kp("customer").pubkey(), kp("provider").pubkey()
    book = DEFAULT_PRICE_BOOK
    receipts: list[tuple[Receipt, str]] = []
    prev_lines: dict = {}
    cum: dict = {}
    for i in range(n_receipts):
        period = {("gpu", "H100"): 60_000 * 2, ("egress", "*"): (i + 1) << 20,
                  ("storage", "STANDARD"): 60 * (10**9 + i)}
        for k, q in period.items():
            cum[k] = cum.get(k, 0) + q
        lines = price_lines(prev_lines, cum, period, book)
        prev = receipts[-1][0] if receipts else None
        start = prev.period_end if prev else 1_700_000_000
        detail = {"detail_version": 1, "program_id": str(program_id), "config_version": 1,
                  "customer": str(customer), "provider": str(provider), "seq": i + 1, "period_start": start,
                  "period_end": start + 60, "price_book_version": book.version,
                  "lines": [ln.to_dict() for ln in lines], "gaps": []}
        text = canonical_json(detail)
        sums = {f: sum(ln.cumulative for ln in lines if ln.family == f) for f in ("gpu", "storage", "egress")}
        r = Receipt(program_id=program_id, config_version=1, customer=customer, provider=provider, seq=i + 1,
                    period_start=start, period_end=start + 60, cum_gpu_ms=sums["gpu"],
                    cum_byte_seconds=sums["storage"], cum_egress_bytes=sums["egress"],
                    cum_amount=sum(ln.amount for ln in lines),
                    prev_receipt_id=prev.receipt_id if prev else ZERO_HASH, detail_hash=detail_hash(text))
        receipts.append((r, text))
        prev_lines = {(ln.family, ln.rclass): ln for ln in lines}
    signed, roots = [], {}
    for b, start in enumerate(range(0, n_receipts, per_batch)):
        group = receipts[start:start + per_batch]
        tree = MerkleTree([r.receipt_id for r, _ in group])
        roots[b] = tree.root
        signed += [replace(sign(r, meter, b, tuple(tree.proof(j)), j), detail_json=text)
                   for j, (r, text) in enumerate(group)]
    return signed, roots, {book.version: book}
