"""One function per `solmeter audit` command: read the chain, run the checks, return a Report.

The chain is the only authority. Receipts come from files or the metering API and are verified; batch
roots, channel state, settlements, config versions and epochs come from the chain alone.
"""
from __future__ import annotations

import time
from collections import defaultdict
from pathlib import Path
from typing import Callable, Iterable, Mapping, Sequence

from solders.pubkey import Pubkey

from contracts import pda
from contracts.economics import epoch_at

from . import decode
from .chain import ChainReader
from .customers import check_customer
from .checks import check_meter_registered, check_signature, committed_top, implied_root
from .errors import ApiForbidden
from .program_history import check_deploys, check_settlements_under, check_upgrade_authority
from .pricing import BookOnRecord, Books, book_on_record, detail_text
from .history import config_history
from .program import Builder, audit_program_checks
from .receipt_file import SignedReceipt
from .evidence import check_channel_evidence
from .leases import Consent, check_channel_cap, check_receipt_leases
from .result import Check, Report, failed, pending, verdict
from .slashes import check_provider_revenue, check_slashes
from .verify import verify_batch, verify_channel, verify_epoch, verify_receipt
from .views import BatchView, BlockOrder, ChannelView, ConfigAccountView, ConfigHistory, EpochView, SettlementView


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
        self._price_books: dict[int, bytes | None] = {}

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
                if (ch := decode.config_change(ev.name, ev.data, ev.signature, ev.slot, ev.index)) is not None:
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

    def price_book_commitment(self, version: int) -> bytes | None:
        """The sha256 the admin committed on-chain for price book `version` (its PriceBook account)."""
        if version not in self._price_books:
            addr = pda.price_book(self.reader.program_id, version)[0] if 0 < version < 1 << 64 else None
            data = self.reader.account(addr) if addr is not None else None
            self._price_books[version] = decode.price_book_sha256(data, addr) if data is not None else None
        return self._price_books[version]

    def books(self, files: "PriceFiles") -> Books:
        """Price books on the record: a version's file (from `files`) counts when it hashes to its on-chain
        commitment (resolved once per version)."""
        cache: dict[int, BookOnRecord] = {}

        def resolve(version: int) -> BookOnRecord:
            if version not in cache:
                cache[version] = book_on_record(version, files(version), self.price_book_commitment(version))
            return cache[version]
        return resolve

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
            # the split follows the config in force when the settlement ran (not the receipt's version); an
            # update in the same slot is placed by the block's transaction order and the events' order
            hist = self.history()[0]
            block = None
            if hist.born_in_slot(ev.slot):
                sigs = self.reader.block_signatures(ev.slot)
                block = BlockOrder(tuple(sigs), ev.signature, ev.index) if sigs is not None else None
            in_force = hist.in_force_at(ev.slot, block)
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

PriceFiles = Callable[[int], "bytes | None"]  # a price book version -> its file as published (None: not served)


def audit_receipt(facts: ChainFacts, sr: SignedReceipt, prev: SignedReceipt | None = None,
                  requested: bytes | None = None, requested_prev: bytes | None = None,
                  price_files: PriceFiles | None = None, consent: Consent | None = None) -> Report:
    """One receipt. `requested` / `requested_prev`: the ids the auditor asked the API for; a served receipt
    must be the one requested (an API answering with another, valid receipt is caught). `price_files`: the
    published price book files, to recompute the receipt's detail (pricing checks). `consent`: the served
    details and the customer-signed leases they name (lease checks)."""
    r = sr.receipt
    rep = Report("receipt", (requested or sr.receipt_id).hex())
    for what, want, got in (("receipt", requested, sr), ("previous receipt", requested_prev, prev)):
        if want is not None and got is not None:
            rep.add(verdict("receipt.requested", got.receipt_id == bytes(want),
                            f"the {what} served is the one requested ({bytes(want).hex()[:16]}…)",
                            f"asked for {what} {bytes(want).hex()[:16]}…, the API served "
                            f"{got.receipt_id.hex()[:16]}… (seq {got.receipt.seq}) instead"))
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
                           channel=channel, settlements=settlements,
                           books=facts.books(price_files) if price_files is not None else None,
                           prev_detail=detail_text(prev.detail, prev.detail_json)[1] if prev else None))
    if prev is not None:
        rep.add(Check("receipt.prev_signature", *_sig_status(prev, hist)))
    if consent is not None:
        rep.add(check_receipt_leases(r, consent.details.get(sr.receipt_id), consent.leases))
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

MembersOf = Callable[[BatchView], Sequence[SignedReceipt] | None]


def api_members(api) -> MembersOf:
    """A batch's members as the metering API serves them (claims: committed_top recomputes the root)."""
    return lambda b: api.batch_members(bytes(b.root))


def supplied_members(facts: ChainFacts, receipts: Sequence[SignedReceipt]) -> MembersOf:
    """Batch members from the receipts supplied themselves (a channel's export): a batch counts as known only
    when those of its receipts make its whole on-chain root (committed_top checks), i.e. it holds nothing
    else; a batch shared with other channels stays unknown (give --api)."""
    by_batch: dict[int, list[SignedReceipt]] = defaultdict(list)
    for sr in receipts:
        b = facts.resolve_batch(sr)
        if b is not None:
            by_batch[b.index].append(sr)
    order = {i: sorted(rs, key=lambda s: (s.leaf_index if s.leaf_index is not None else s.receipt.seq))
             for i, rs in by_batch.items()}
    return lambda b: order.get(b.index)


def audit_channel(facts: ChainFacts, customer: Pubkey, provider: Pubkey,
                  receipts: Sequence[SignedReceipt] | None, members_of: MembersOf | None = None,
                  price_files: PriceFiles | None = None, consent: Consent | None = None,
                  evidence: Callable[[bytes], Mapping | None] | None = None) -> Report:
    """A channel. `receipts` None: chain only (what needs receipts is not verified). `members_of` gives an
    on-chain batch's receipts, to check that the receipts supplied reach the newest one committed on-chain
    (without it, that coverage is not verified). `price_files`: recompute every receipt's detail.
    `consent`: the served details and the customer-signed leases they name (lease checks)."""
    rep = Report("channel", f"{customer} -> {provider}")
    hist = _history_into(rep, facts)
    channel = facts.channel(customer, provider)
    settlements = facts.settlements([facts.reader.channel_address(customer, provider)], customer, provider)
    rep.facts.update(settlements=len(settlements), receipts=len(receipts) if receipts is not None else None)
    if channel is not None:
        rep.facts.update(settled_cumulative=channel.settled_cumulative, last_seq=channel.last_seq)
    if receipts is not None:
        receipts = list(receipts)
        mine = [s for s in receipts if (s.receipt.customer, s.receipt.provider) == (customer, provider)]
        if len(mine) != len(receipts):
            rep.add(failed("chain.channel", f"{len(receipts) - len(mine)} supplied receipt(s) belong to another "
                                            "channel"))
            receipts = mine
    committed = (committed_top(facts.all_batches(), members_of, customer, provider)
                 if members_of is not None else None)
    if committed is not None and committed.top_seq is not None:
        rep.facts["committed_seq"] = committed.top_seq
    rep.add(verify_channel(receipts, hist, facts.resolve_batch, settlements, channel, program_id=facts.program_id,
                           committed=committed, books=facts.books(price_files) if price_files is not None else None))
    if consent is not None and receipts:
        for sr in receipts:
            for c in check_receipt_leases(sr.receipt, consent.details.get(sr.receipt_id), consent.leases):
                rep.add(Check(c.name, c.status, c.detail, f"seq {sr.receipt.seq}"))
        rep.add(check_channel_cap([sr.receipt for sr in receipts],
                                  [consent.details.get(sr.receipt_id) for sr in receipts], consent.leases))
    if evidence is not None and receipts:
        # quantities recomputed from the provider-signed events (auditor/evidence.py)
        rep.add(check_channel_evidence([sr.receipt for sr in receipts],
                                       [consent.details.get(sr.receipt_id) if consent is not None else None
                                        for sr in receipts],
                                       [evidence(sr.receipt_id) for sr in receipts]))
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
        cfg = facts.config()
        if cfg is not None and index >= cfg.batch_count:  # not posted yet: nothing to verify, not a failure
            return rep.add(pending("batch.onchain", f"batch {index} is not posted yet: the program has posted "
                                                    f"{cfg.batch_count} batch(es) so far; audit it once the meter "
                                                    f"posts it"))
        # posted (its index is below the count), and neither its account nor a close of it is to be seen
        return rep.add(failed("batch.onchain", f"there is no batch {index} on-chain"))
    rep.facts.update(root=bytes(b.root).hex(), count=b.count, total=b.total, meter=str(b.meter),
                     batch_config_version=b.config_version)
    if b.closed:
        rep.facts["closed"] = f"account closed; root from the BatchPosted event of {b.posted_in}"
    if members is None:
        return rep.add(pending("batch.root", "no receipts supplied: nothing to recompute the root from"))
    amounts, why = batch_amounts_verified(members, hist, lookup)
    rep.add(verify_batch(b, members, hist, amounts))
    if amounts is None:
        rep.checks[:] = [c if c.name != "batch.total" else pending("batch.total", why, c.subject) for c in rep.checks]
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
        # The account is made by the epoch's first funding or settlement: none, and no transaction ever
        # touched its address, is an epoch without activity (pending: nothing to verify). A missing account
        # whose address has transactions is hidden or gone: a failure.
        if any(True for _ in reader.signatures(addr, 1)):
            return rep.add(failed("epoch.onchain", f"there is no epoch {n} account on-chain although transactions "
                                                   f"touched its address {addr}"))
        return rep.add(pending("epoch.onchain", f"epoch {n} has no activity on-chain yet (no funding, no settlement "
                                                f"created its account): nothing to verify"))
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
        now, genesis = int(reader.unix_timestamp()), int(cfg.genesis_ts)
        current = epoch_at(genesis, int(cfg.epoch_length), now) if now >= genesis else -1  # -1: before genesis
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


# --- a customer's whole bill ---------------------------------------------------------------------------------

def audit_bill(facts: ChainFacts, wallet: Pubkey, api, price_files: PriceFiles | None = None) -> list[Report]:
    """Everything a customer is billed, checked from public data: its escrow (deposits, withdrawals and
    settlements as the transactions say), and each of its channels (every Channel account it has on-chain and
    every provider the meter issued it receipts for): the receipts from the API, their coverage of what is
    settled and committed, the settlements and, with price book files (default: the API's), every receipt's
    detail recomputed against the prices on the record."""
    reports = [audit_customer(facts, wallet)]
    providers = {decode.channel_view(d, a).provider
                 for a, d in facts.reader.program_accounts(decode.account_discriminator("Channel"))
                 if decode.channel_view(d, a).customer == wallet}
    providers |= {Pubkey.from_string(p) for p in api.customer_providers(str(wallet))}
    files = price_files if price_files is not None else api.price_book_file
    for prov in sorted(providers, key=str):
        rs = api.channel_receipts(str(wallet), str(prov))
        consent = api.consent(rs) if rs else None  # the leases its customer signed: part of the bill
        reports.append(audit_channel(facts, wallet, prov, rs, api_members(api), files, consent=consent,
                                     evidence=api.evidence))
    return reports


# --- program ---------------------------------------------------------------------------------------------------

def audit_program(reader: ChainReader, committed: Path, builder: Builder | None,
                  facts: "ChainFacts | None" = None) -> Report:
    """The deployed bytes against the committed binary (and a rebuild when `builder` is given); under the
    upgradeable loader, the program's history too: every deploy and upgrade replayed from its buffer's writes,
    and each settlement (from `facts`' events) judged by the bytes in force when it ran."""
    rep = Report("program", str(reader.program_id))
    deployed = reader.deployed_program()
    checks, f = audit_program_checks(deployed, committed, builder)
    rep.facts.update(f)
    rep.add(checks)
    rep.add(check_upgrade_authority(deployed.upgrade_authority, deployed.loader))
    if deployed.programdata is None:  # loader v1/v2: the bytes were never replaced
        return rep
    deploys = reader.program_deploys(deployed.programdata)
    rep.facts["deploys"] = [f"{d.kind} slot {d.slot} sha256 {d.sha256}" for d in deploys]
    verified = f.get("committed_sha256")
    rep.add(check_deploys(deploys, verified))
    if facts is not None:
        settled = [(ev.slot, ev.signature, f"settlement of seq {ev.data.seq} ({ev.data.customer} -> "
                                           f"{ev.data.provider})")
                   for ev in facts.config_events() if ev.name == "Settled"]
        rep.add(check_settlements_under(deploys, settled, verified))
    return rep

# --- everything ------------------------------------------------------------------------------------------------

# Checks that compare an account as it is now with the history read a moment before or after it. On a live
# chain (the meter and its crank running) a settlement or deposit landing between the two reads makes them
# differ for a moment, and a node may serve accounts a little ahead of its transaction history. A report
# that fails on these checks alone is taken again from fresh reads (RETAKES times, RETAKE_PAUSE_S apart); a
# real difference stays and is reported as it was.
MOVING_CHECKS = frozenset({"channel.settled", "chain.covers_settled", "customer.deposits", "customer.settled",
                           "customer.escrow", "provider.revenue", "epoch.revenue", "epoch.settled_revenue"})
RETAKES = 5
RETAKE_PAUSE_S = 1.0


def _pause(seconds: float) -> None:
    time.sleep(seconds)


def retaken(take: Callable[[ChainFacts], Report], facts: ChainFacts, *, tries: int = RETAKES) -> Report:
    """`take(facts)`, and again on fresh facts (nothing cached) while it fails only on MOVING_CHECKS."""
    rep = take(facts)
    for _ in range(tries):
        failed_names = {c.name for c in rep.failures}
        if not failed_names or not failed_names <= MOVING_CHECKS:
            return rep
        _pause(RETAKE_PAUSE_S)
        rep = take(ChainFacts(facts.reader))
    return rep


def audit_all(facts: ChainFacts, api=None, committed: Path | None = None,
              progress: Callable[[str], None] = lambda _m: None, builder: Builder | None = None) -> list[Report]:
    """Every channel, batch, customer, provider and epoch the program holds on-chain, and the deployed program
    (its history, and a rebuild from source when `builder` is given: the CLI's default).

    Receipts come from `api` (an auditor.api.MeterApi) when given; without it, channels are checked from
    the chain alone and batches cannot be recomputed: both are "not verified", never clean)."""
    reader = facts.reader
    reports: list[Report] = []
    if committed is not None:
        progress("program" + (" (rebuilding from source)" if builder is not None else ""))
        reports.append(audit_program(reader, committed, builder, facts))
    channels = [decode.channel_view(d, a) for a, d in reader.program_accounts(decode.account_discriminator("Channel"))]
    for ch in sorted(channels, key=lambda c: (str(c.customer), str(c.provider))):
        progress(f"channel {ch.customer} -> {ch.provider}")

        def take(f: ChainFacts, ch=ch) -> Report:  # the receipts are read again with the chain on a retake
            private = None
            try:
                rs = api.channel_receipts(str(ch.customer), str(ch.provider)) if api is not None else None
            except ApiForbidden as e:  # not a party of this channel: its settlements still verify from the chain
                rs, private = None, e
            consent = api.consent(rs) if api is not None and rs else None  # details and the leases they name
            rep = audit_channel(f, ch.customer, ch.provider, rs,
                                api_members(api) if api is not None else None,
                                api.price_book_file if api is not None else None, consent=consent,
                                evidence=api.evidence if api is not None else None)
            if private is not None:
                # fail closed: what the auditor could not read is NOT VERIFIED, never clean
                rep.add(pending("channel.receipts", "the metering API serves a channel's receipt list to its "
                                                    f"customer, its provider and the operator only (sign with -k): "
                                                    f"{private}"))
            return rep
        reports.append(retaken(take, facts))
    for b in facts.all_batches():
        index = b.index
        progress(f"batch {index}")
        members = api.batch_members(bytes(b.root)) if api is not None else None
        lookup = (lambda rid: api.receipt(rid.hex())) if api is not None else None
        rep = audit_batch(facts, index, members, lookup)
        if members is None and api is not None:
            rep.add(failed("batch.receipts", "the metering API does not serve this batch's receipts"))
        reports.append(rep)
    for a, d in sorted(reader.program_accounts(decode.account_discriminator("Customer")), key=lambda x: str(x[0])):
        wallet = decode.customer_view(d, a).wallet
        progress(f"customer {wallet}")
        reports.append(retaken(lambda f, w=wallet: audit_customer(f, w), facts))
    for a, d in sorted(reader.program_accounts(decode.account_discriminator("Provider")), key=lambda x: str(x[0])):
        wallet = decode.provider_view(d, a).wallet
        progress(f"provider {wallet}")
        reports.append(retaken(lambda f, w=wallet: audit_provider(f, w), facts))
    epochs = sorted(decode.epoch_fields(d, a)["number"]
                    for a, d in reader.program_accounts(decode.account_discriminator("Epoch")))
    for n in epochs:
        progress(f"epoch {n}")
        reports.append(retaken(lambda f, n=n: audit_epoch(f, n), facts))
    return reports
