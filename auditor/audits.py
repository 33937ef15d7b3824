"""One function per `solmeter audit` command: read the chain, run the checks, return a Report.

The chain is the only authority. Receipts come from files or the metering API and are verified; batch
roots, channel state, settlements, config versions and epochs come from the chain alone.
"""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable, Sequence

from solders.pubkey import Pubkey

from contracts import pda
from contracts.merkle import leaf_hash, node_hash

from . import decode
from .chain import ChainReader
from .errors import ApiForbidden
from .checks import check_meter_registered, check_signature
from .history import config_history
from .program import Builder, audit_program_checks
from .receipt_file import SignedReceipt
from .result import Check, Report, failed, skipped, verdict
from .verify import verify_batch, verify_channel, verify_epoch, verify_receipt
from .views import BatchView, ChannelView, ConfigAccountView, ConfigHistory, EpochView, SettlementView


def implied_root(receipt_id: bytes, proof: Sequence[bytes]) -> bytes:
    """The root a proof leads to (contracts.merkle's leaf and node rules)."""
    h = leaf_hash(receipt_id)
    for sib in proof:
        h = node_hash(h, sib)
    return h


class ChainFacts:
    """The program's state and history as views, read once per audit and cached."""

    def __init__(self, reader: ChainReader):
        self.reader = reader
        self._config: ConfigAccountView | None = None
        self._history: tuple[ConfigHistory, list] | None = None
        self._batches: dict[int, BatchView | None] = {}
        self._by_root: dict[bytes, BatchView] | None = None
        self._config_events: list | None = None
        self._closed: dict[int, BatchView] | None = None

    @property
    def program_id(self) -> Pubkey:
        return self.reader.program_id

    def config(self) -> ConfigAccountView | None:
        if self._config is None:
            addr = self.reader.config_address()
            data = self.reader.account(addr)
            self._config = decode.config_view(data, addr) if data is not None else None
        return self._config

    def config_events(self) -> list:
        """The program's events of every transaction that touched the Config (read once): config changes,
        and every post_batch and close_batch."""
        if self._config_events is None:
            self._config_events = list(self.reader.events([self.reader.config_address()]))
        return self._config_events

    def closed_batches(self) -> dict[int, BatchView]:
        """Batches whose account was closed, as their BatchPosted event recorded them: only where a
        BatchClosed event of the same index and root says the program closed it (an account that is merely
        missing from what the RPC node answers is not taken for a closed batch)."""
        if self._closed is None:
            posted, closed = {}, set()
            for ev in self.config_events():
                if ev.name == "BatchPosted":
                    posted[ev.data.index] = ev
                elif ev.name == "BatchClosed":
                    closed.add((ev.data.index, bytes(ev.data.root)))
            self._closed = {i: decode.closed_batch_view(ev.data, ev.signature, self.reader.batch_address(i))
                            for i, ev in posted.items() if (i, bytes(ev.data.root)) in closed}
        return self._closed

    def history(self) -> tuple[ConfigHistory, list]:
        if self._history is None:
            changes = []
            for ev in self.config_events():
                if (ch := decode.config_change(ev.name, ev.data, ev.signature, ev.slot)) is not None:
                    changes.append(ch)
            self._history = config_history(changes, self.config())
        return self._history

    def batch(self, index: int) -> BatchView | None:
        if index not in self._batches:
            addr = self.reader.batch_address(index)
            data = self.reader.account(addr)
            self._batches[index] = (decode.batch_view(data, addr) if data is not None
                                    else self.closed_batches().get(index))
        return self._batches[index]

    def batch_with_root(self, root: bytes) -> BatchView | None:
        if self._by_root is None:
            self._by_root = {}
            for addr, data in self.reader.program_accounts(decode.account_discriminator("Batch")):
                b = decode.batch_view(data, addr)
                self._by_root[bytes(b.root)] = b
                self._batches.setdefault(b.index, b)
            live = {b.index for b in self._by_root.values()}
            for b in self.closed_batches().values():
                if b.index not in live:
                    self._by_root.setdefault(bytes(b.root), b)
                    self._batches.setdefault(b.index, b)
        return self._by_root.get(bytes(root))

    def all_batches(self) -> list[BatchView]:
        self.batch_with_root(b"")  # loads every Batch account once
        return sorted(self._by_root.values(), key=lambda b: b.index)

    def resolve_batch(self, sr: SignedReceipt) -> BatchView | None:
        """The on-chain batch holding the root this receipt's proof leads to; failing that, the batch the
        document names (so the inclusion check can say why it fails). Batch ids in the metering API need
        not equal on-chain indexes, so the root, not the id, is what binds a receipt to a batch."""
        root = implied_root(sr.receipt_id, sr.proof)
        if sr.batch is not None:
            named = self.batch(sr.batch)
            if named is not None and bytes(named.root) == root:
                return named
        found = self.batch_with_root(root)
        if found is not None:
            return found
        return self.batch(sr.batch) if sr.batch is not None else None

    def channel(self, customer: Pubkey, provider: Pubkey) -> ChannelView | None:
        addr = self.reader.channel_address(customer, provider)
        data = self.reader.account(addr)
        return decode.channel_view(data, addr) if data is not None else None

    def settlements(self, addresses: Iterable[Pubkey], customer: Pubkey | None = None,
                    provider: Pubkey | None = None, epoch: int | None = None) -> list[SettlementView]:
        out = []
        for ev in self.reader.events(list(addresses)):
            if ev.name != "Settled":
                continue
            f = ev.data
            if customer is not None and f.customer != customer:
                continue
            if provider is not None and f.provider != provider:
                continue
            if epoch is not None and f.epoch != epoch:
                continue
            # the split follows the config in force when the settlement ran (not the receipt's version)
            in_force = self.history()[0].in_force_at(ev.slot)
            if not in_force:
                b = self.batch(f.batch_index)
                in_force = (b.config_version,) if b else ()
            out.append(decode.settlement_view(f, ev.signature, ev.slot, in_force or None))
        return out


def _history_into(report: Report, facts: ChainFacts) -> ConfigHistory:
    hist, checks = facts.history()
    report.add(checks)
    cfg = facts.config()
    if cfg is not None:
        report.facts["current_config_version"] = cfg.version
    return hist


# --- receipt ---------------------------------------------------------------------------------------------------

def audit_receipt(facts: ChainFacts, sr: SignedReceipt, prev: SignedReceipt | None = None) -> Report:
    r = sr.receipt
    rep = Report("receipt", sr.receipt_id.hex())
    rep.facts.update(channel=f"{r.customer} -> {r.provider}", seq=r.seq, cum_amount=r.cum_amount,
                     config_version=r.config_version, meter=str(sr.meter))
    hist = _history_into(rep, facts)
    batch = facts.resolve_batch(sr)
    if batch is not None:
        rep.facts["onchain_batch"] = batch.index
        if sr.batch is not None and batch.index != sr.batch:
            rep.facts["document_batch"] = sr.batch
    channel = facts.channel(r.customer, r.provider)
    settlements = facts.settlements([facts.reader.channel_address(r.customer, r.provider)], r.customer, r.provider)
    rep.add(verify_receipt(sr, hist, batch, program_id=facts.program_id, prev=prev.receipt if prev else None,
                           channel=channel, settlements=settlements))
    if prev is not None:
        rep.add(Check("receipt.prev_signature", *_sig_status(prev, hist)))
    return rep


def _sig_status(sr: SignedReceipt, hist: ConfigHistory) -> tuple[str, str]:
    s = check_signature(sr.receipt_id, sr.signature, sr.meter)
    k = check_meter_registered(sr.meter, sr.receipt.config_version, hist)
    if s.failed:
        return s.status, "the previous receipt's " + s.detail
    if k.failed:
        return k.status, "the previous receipt's " + k.detail
    return "pass", f"the previous receipt (seq {sr.receipt.seq}) is signed by a registered meter key"


# --- channel ---------------------------------------------------------------------------------------------------

def audit_channel(facts: ChainFacts, customer: Pubkey, provider: Pubkey,
                  receipts: Sequence[SignedReceipt] | None) -> Report:
    rep = Report("channel", f"{customer} -> {provider}")
    hist = _history_into(rep, facts)
    channel = facts.channel(customer, provider)
    settlements = facts.settlements([facts.reader.channel_address(customer, provider)], customer, provider)
    rep.facts.update(settlements=len(settlements), receipts=len(receipts) if receipts is not None else None)
    if channel is not None:
        rep.facts.update(settled_cumulative=channel.settled_cumulative, last_seq=channel.last_seq)
    receipts = list(receipts or [])
    mine = [s for s in receipts if (s.receipt.customer, s.receipt.provider) == (customer, provider)]
    if len(mine) != len(receipts):
        rep.add(failed("chain.channel", f"{len(receipts) - len(mine)} supplied receipt(s) belong to another "
                                        "channel"))
        receipts = mine
    rep.add(verify_channel(receipts, hist, facts.resolve_batch, settlements, channel, program_id=facts.program_id))
    return rep


# --- batch -----------------------------------------------------------------------------------------------------

PrevLookup = Callable[[bytes], SignedReceipt | None]


def batch_amounts_verified(members: Sequence[SignedReceipt], hist: ConfigHistory,
                           lookup: PrevLookup | None) -> tuple[list[int] | None, str]:
    """Each receipt's new amount (cumulative minus its predecessor's), from verified data only: the
    predecessor is taken from the batch itself or looked up by its id, and must be signed by a registered
    key. (None, why) when one cannot be established."""
    by_id = {s.receipt_id: s for s in members}
    out = []
    for s in members:
        r = s.receipt
        if r.seq == 1:
            out.append(r.cum_amount)
            continue
        pid = bytes(r.prev_receipt_id)
        p = by_id.get(pid) or (lookup(pid) if lookup else None)
        if p is None:
            return None, f"the receipt before seq {r.seq} ({pid.hex()[:16]}…) could not be fetched"
        if p.receipt_id != pid:
            return None, f"the receipt fetched as {pid.hex()[:16]}… has another id"
        if not p.signature.verify(p.meter, pid) or check_meter_registered(p.meter, p.receipt.config_version,
                                                                          hist).failed:
            return None, f"the receipt before seq {r.seq} is not validly signed"
        out.append(r.cum_amount - p.receipt.cum_amount)
    return out, ""


def audit_batch(facts: ChainFacts, index: int, members: Sequence[SignedReceipt] | None,
                lookup: PrevLookup | None = None) -> Report:
    rep = Report("batch", str(index))
    hist = _history_into(rep, facts)
    b = facts.batch(index)
    if b is None:
        return rep.add(failed("batch.onchain", f"there is no batch {index} on-chain"))
    rep.facts.update(root=bytes(b.root).hex(), count=b.count, total=b.total, meter=str(b.meter),
                     batch_config_version=b.config_version)
    if b.closed:
        rep.facts["closed"] = f"account closed; root from the BatchPosted event of {b.posted_in}"
    if members is None:
        return rep.add(skipped("batch.root", "no receipts supplied: nothing to recompute the root from"))
    amounts, why = batch_amounts_verified(members, hist, lookup)
    rep.add(verify_batch(b, members, hist, amounts))
    if amounts is None:
        rep.checks[:] = [c if c.name != "batch.total" else skipped("batch.total", why, c.subject) for c in rep.checks]
    wrong_version = [s.receipt.seq for s in members if s.receipt.config_version != b.config_version]
    rep.add(verdict("batch.config_version", not wrong_version,
                    f"every receipt carries the batch's config version {b.config_version}",
                    f"{len(wrong_version)} receipt(s) carry another config version than the batch's "
                    f"{b.config_version}", f"batch {index}"))
    return rep


# --- epoch -----------------------------------------------------------------------------------------------------

def audit_epoch(facts: ChainFacts, n: int) -> Report:
    rep = Report("epoch", str(n))
    reader = facts.reader
    addr = reader.epoch_address(n)
    data = reader.account(addr)
    if data is None:
        return rep.add(failed("epoch.onchain", f"there is no epoch {n} account on-chain"))
    e = decode.epoch_fields(data, addr)
    pes = []
    for a, d in reader.program_accounts(decode.account_discriminator("ProviderEpoch")):
        num, pe = decode.provider_epoch_view(d, a)
        if num == n:
            pes.append(pe)
    view = EpochView(number=n, funded=e["reward_pool"], total_revenue=e["total_revenue"],
                     claimed_total=e["claimed"], providers=tuple(sorted(pes, key=lambda p: str(p.provider))),
                     address=str(addr))
    rep.facts.update(funded=view.funded, total_revenue=view.total_revenue, claimed=view.claimed_total,
                     providers=len(pes))
    revenue: dict[Pubkey, int] = defaultdict(int)
    funded = 0
    claims: dict[Pubkey, int] = defaultdict(int)
    for ev in reader.events([addr]):
        name, f = ev.name, ev.data
        # only settlements credited for rewards count (settle skips the epoch while the provider is
        # below min_stake: Settled.rewarded is false)
        if name == "Settled" and f.epoch == n and f.rewarded:
            revenue[f.provider] += f.amount
        elif name == "EpochFunded" and f.epoch == n:
            funded += f.amount
        elif name == "RewardsClaimed" and f.epoch == n:
            claims[f.provider] += f.amount
    rep.add(verify_epoch(view, dict(revenue)))
    cfg = facts.config()
    if cfg is not None and cfg.epoch_length > 0:
        current = (reader.unix_timestamp() - cfg.genesis_ts) // cfg.epoch_length
        rep.facts["current_epoch"] = current
        early = [str(p.provider) for p in view.providers if p.claimed] if n >= current else []
        rep.add(verdict("epoch.closed", not early,
                        f"epoch {n} is closed (current epoch {current})" if n < current else
                        f"epoch {n} is still open (current {current}) and nothing was claimed from it",
                        f"epoch {n} is not closed (current {current}) yet {len(early)} provider(s) claimed "
                        f"from it", f"epoch {n}"))
    rep.add(verdict("epoch.funded", funded == view.funded,
                    f"the funding transactions add up to the pool {view.funded}",
                    f"the funding transactions add up to {funded}, the epoch account says {view.funded}",
                    f"epoch {n}"))
    mism = [f"{p.provider}: account {p.reward}, claim events {claims.get(p.provider, 0)}" for p in view.providers
            if p.reward != claims.get(p.provider, 0)]
    rep.add(verdict("epoch.claim_events", not mism, "each claim transaction paid what the account records",
                    "; ".join(mism[:3]), f"epoch {n}"))
    return rep


# --- provider: slashes and revenue -----------------------------------------------------------------------------

def audit_provider(facts: ChainFacts, wallet: Pubkey) -> Report:
    """A provider's slashes (each one's lifecycle, the Slash accounts, the pending amount) and its revenue."""
    from .slashes import check_provider_revenue, check_slashes

    rep = Report("provider", str(wallet))
    reader = facts.reader
    addr = pda.provider(reader.program_id, wallet)[0]
    data = reader.account(addr)
    if data is None:
        return rep.add(failed("provider.onchain", f"no provider account for {wallet} on-chain"))
    prov = decode.provider_view(data, addr)
    slashes = {}
    for i in range(prov.slash_count):
        a = pda.slash(reader.program_id, wallet, i)[0]
        d = reader.account(a)
        slashes[i] = decode.slash_view(d, a) if d is not None else None
    events, settled = [], 0
    for ev in reader.events([addr]):
        if ev.name == "Settled" and ev.data.provider == wallet:
            settled += ev.data.amount
        elif getattr(ev.data, "provider", None) == wallet and (
                se := decode.slash_event(ev.name, ev.data, ev.signature, ev.block_time)) is not None:
            events.append(se)
    rep.facts.update(slash_count=prov.slash_count, pending_slash=prov.pending_slash,
                     total_revenue=prov.total_revenue)
    rep.add(check_slashes(prov, slashes, events))
    rep.add(check_provider_revenue(prov, settled))
    return rep


# --- customer: escrow ------------------------------------------------------------------------------------------

def audit_customer(facts: ChainFacts, wallet: Pubkey) -> Report:
    """A customer's escrow: deposits and settlements recorded as the events say; the escrow's balance is
    deposits minus withdrawals minus settlements."""
    from .customers import check_customer

    rep = Report("customer", str(wallet))
    reader = facts.reader
    addr = pda.customer(reader.program_id, wallet)[0]
    data = reader.account(addr)
    if data is None:
        return rep.add(failed("customer.onchain", f"no customer account for {wallet} on-chain"))
    c = decode.customer_view(data, addr)
    deposited = withdrawn = settled = 0
    for ev in reader.events([addr]):
        d = ev.data
        if ev.name in ("Deposited", "ToppedUp") and d.wallet == wallet:
            deposited += d.amount
        elif ev.name == "Withdrawn" and d.wallet == wallet:
            withdrawn += d.amount
        elif ev.name == "Settled" and d.customer == wallet:
            settled += d.amount
    balance = reader.token_balance(c.escrow)
    if balance is None:
        return rep.add(failed("customer.escrow", f"the escrow token account {c.escrow} does not exist"))
    rep.facts.update(escrow=str(c.escrow), escrow_balance=balance, total_deposited=c.total_deposited,
                     withdrawn=withdrawn, total_settled=c.total_settled)
    return rep.add(check_customer(c, deposited, withdrawn, settled, balance))


# --- program ---------------------------------------------------------------------------------------------------

def audit_program(reader: ChainReader, committed: Path, builder: Builder | None) -> Report:
    rep = Report("program", str(reader.program_id))
    deployed = reader.deployed_program()
    checks, f = audit_program_checks(deployed, committed, builder)
    rep.facts.update(f)
    return rep.add(checks)

# --- everything ------------------------------------------------------------------------------------------------

def audit_all(facts: ChainFacts, api=None, committed: Path | None = None,
              progress: Callable[[str], None] = lambda _m: None) -> list[Report]:
    """Every channel, batch, customer, provider and epoch the program holds on-chain, and the deployed program
    (no rebuild).

    Receipts come from `api` (an auditor.api.MeterApi) when given; without it, channels are checked from
    the chain alone and batches cannot be recomputed (skipped, saying so)."""
    reader = facts.reader
    reports: list[Report] = []
    if committed is not None:
        reports.append(audit_program(reader, committed, None))
    channels = [decode.channel_view(d, a) for a, d in reader.program_accounts(decode.account_discriminator("Channel"))]
    for ch in sorted(channels, key=lambda c: (str(c.customer), str(c.provider))):
        progress(f"channel {ch.customer} -> {ch.provider}")
        private = None
        try:
            rs = api.channel_receipts(str(ch.customer), str(ch.provider)) if api is not None else None
        except ApiForbidden as e:  # not a party of this channel: its settlements still verify from the chain
            rs, private = None, e
        rep = audit_channel(facts, ch.customer, ch.provider, rs)
        if private is not None:
            rep.add(skipped("channel.receipts", "the metering API serves a channel's receipt list to its customer, "
                                                f"its provider and the operator only (sign with -k): {private}"))
        reports.append(rep)
    for b in facts.all_batches():
        index = b.index
        progress(f"batch {index}")
        members = None
        lookup = None
        if api is not None:
            doc = api.batch_by_root(bytes(b.root))
            if doc is not None:
                members = [api.receipt(rid) for rid in doc.get("receipt_ids") or []]
                if any(m is None for m in members):
                    members = None
            lookup = lambda rid: api.receipt(rid.hex())  # noqa: E731
        rep = audit_batch(facts, index, members, lookup)
        if members is None and api is not None:
            rep.add(failed("batch.receipts", "the metering API does not serve this batch's receipts"))
        reports.append(rep)
    for a, d in sorted(reader.program_accounts(decode.account_discriminator("Customer")), key=lambda x: str(x[0])):
        wallet = decode.customer_view(d, a).wallet
        progress(f"customer {wallet}")
        reports.append(audit_customer(facts, wallet))
    for a, d in sorted(reader.program_accounts(decode.account_discriminator("Provider")), key=lambda x: str(x[0])):
        wallet = decode.provider_view(d, a).wallet
        progress(f"provider {wallet}")
        reports.append(audit_provider(facts, wallet))
    epochs = sorted(decode.epoch_fields(d, a)["number"]
                    for a, d in reader.program_accounts(decode.account_discriminator("Epoch")))
    for n in epochs:
        progress(f"epoch {n}")
        reports.append(audit_epoch(facts, n))
    return reports
