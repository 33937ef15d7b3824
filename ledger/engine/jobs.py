"""The engine's jobs. Each takes the job lease (for renewals on long runs) and returns a small summary.
Order of a pass: follow the chain, accrue receipts, post batches, settle channels, close batches, top up, fund epochs,
apply pauses, reconcile."""
from __future__ import annotations

import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Optional

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import select

from contracts.client import BillingProgram, account_size, decode_account_as, params_at
from contracts.client.errors import error_code
from contracts.economics import epoch_at
from ledger.accounting import Kind as AccountKind
from ledger.accounting.store import balances_in
from ledger.ops.cluster import identify
from metering.settlement import SettleableReceipt, SettlementPort, SqlSettlement

from . import accrual, pause
from .actions import (CloseBatchAction, ConfigCache, FundEpochAction, PostBatchAction, PrepareSettleAction,
                      SettleAction, TopUpAction)
from .chain import Chain
from .executor import Executor, Fault, _no_fault
from .failures import Kind, classify, error_name, retry_after_ms, short_key, sol
from .follower import Follower, FollowerContext
from .intents import IntentStore, now_ms, record_in
from .lease import Lease
from .models import Intent
from .reconcile import reconcile
from .service import JobBlocked, JobSpec

# Program errors after which a settlement is retried once the cause may have gone away.
_RETRY_WHEN_FUNDED = ("EscrowUnderfunded",)
_RETRY_NEXT_EPOCH = ("ChannelLimitExceeded",)
# The epoch rolled between build and execution, an expired send, or the treasury / a payout account changed
# (set_treasury / set_payout) between build and execution: rebuilt at once with the accounts read fresh.
_RETRY_ALWAYS = ("WrongPda", "expired", "WrongTokenAccount")
# A customer that never opened its channel with the provider has not consented to be billed by it: the
# settlement is a permanent failure until the customer opens the channel (then it is retried once).
NOT_OPENED = "ChannelNotOpened"
log = logging.getLogger(__name__)
DEFAULT_INTERVALS_MS = {
    "follow_chain": 1_000, "accrue_receipts": 1_000, "post_batches": 2_000, "settle_channels": 2_000,
    "close_batches": 60_000, "top_up": 5_000, "fund_epochs": 10_000, "apply_pauses": 2_000, "reconcile": 15_000}
JOB_NAMES = ("follow_chain", "accrue_receipts", "post_batches", "settle_channels", "close_batches", "top_up",
             "fund_epochs", "apply_pauses", "reconcile")
# The error of a post_batch intent refused before sending: its receipts are of another config version than
# the chain's (the meter reissues them under the new version; this batch is never posted).
STALE_BATCH = "stale config version"
# The program's refusal of a post_batch whose config version is no longer Config.version (an update_config
# landed between the crank's check and the post): handled like the check above.
_STALE_ON_CHAIN = "StaleConfigVersion"


@dataclass
class Engine:
    session_factory: object
    chain: Chain
    program: BillingProgram
    payer: Keypair
    meter: Optional[Keypair] = None
    funder: Optional[Keypair] = None
    epoch_emission: int = 0
    fault: Fault = _no_fault
    settle_chunk: int = 64
    intervals_ms: dict = field(default_factory=dict)  # per job; jobs not named run at DEFAULT_INTERVALS_MS
    port: SettlementPort = field(default_factory=SqlSettlement)  # the meter's store, through metering's port

    def __post_init__(self) -> None:
        self.intervals_ms = {**DEFAULT_INTERVALS_MS, **self.intervals_ms}
        self.config = ConfigCache(self.chain, self.program)
        self.prepare = PrepareSettleAction(self.program, self.payer.pubkey())
        self.settle_action = SettleAction(self.program, self.config, self.payer.pubkey())
        actions = [self.settle_action, TopUpAction(self.program, self.config), self.prepare]
        if self.meter is not None:
            actions += [PostBatchAction(self.program, self.meter, self._receipts_version, self.port),
                        CloseBatchAction(self.program, self.meter)]
        if self.funder is not None:
            actions.append(FundEpochAction(self.program, self.config, self.funder))
        self.executor = Executor(self.session_factory, self.chain, self.payer, actions, fault=self.fault,
                                 poll_interval_s=0.05, confirm_polls=100)
        self.intents = IntentStore(self.session_factory)
        self.follower = Follower(self.session_factory, self.chain, FollowerContext(self.program.program_id))
        self.last_recon: list = []
        self.escrow_view = pause.LedgerEscrowBalance(self.session_factory, refresh=False)
        self._batch_versions: dict[int, int] = {}  # chain batch index -> its config version (immutable)
        self.blocked: dict[str, tuple[str, str]] = {}  # job -> (cause key, cause in words) of its last run
        self._local: Optional[bool] = None

    # ---- jobs -----------------------------------------------------------------------------------------

    def follow_chain(self, lease: Lease | None = None) -> int:
        return self.follower.run(renew=lease.renew if lease else None)

    def accrue_receipts(self, lease: Lease | None = None) -> int:
        return accrual.accrue_receipts(self.session_factory, meter=self.port)

    def _resume_open(self, kind: str) -> dict:
        ids = [i.id for i in self.intents.open([kind])]
        return self.executor.drive_many(ids) if ids else {}

    def post_batches(self, lease: Lease | None = None) -> int:
        """Post the meter's batches in order; the chain index is the Config's batch_count."""
        if self.meter is None:
            return 0
        posted = 0
        for intent_id, out in self._resume_open("post_batch").items():
            posted += out.state == "confirmed"
            if out.state == "failed":
                self._release_if_refused_as_stale(intent_id)
        while True:
            if self.intents.open(["post_batch"]):
                return posted  # one in flight: the next run resolves it before posting the next
            with self.session_factory() as s:
                done_ids = {json.loads(p)["batch_id"] for (p, state, err) in s.execute(
                    select(Intent.payload, Intent.state, Intent.error).where(Intent.kind == "post_batch"))
                    if state == "confirmed" or (state == "failed" and err.startswith(STALE_BATCH))}
                row = self.port.next_batch_to_post(s, done_ids)
            if row is None:
                return posted
            versions = row.config_versions
            cfg = self.config.get(fresh=True)
            index, version = int(cfg.batch_count), int(cfg.version)
            if versions != {version}:
                # The program would stamp this batch with `version` and settle none of its receipts.
                self._refuse_batch(row.id, f"{STALE_BATCH}: receipts of version(s) "
                                           f"{', '.join(map(str, sorted(versions)))}, the chain is at {version}")
                continue
            intent = self.intents.record(f"post_batch:{row.id}", "post_batch", str(row.id),
                                         {"batch_id": row.id, "index": index, "root": row.root.hex(),
                                          "count": row.count, "total": row.total, "config_version": version})
            if intent.state == "failed":
                if not self._reopen_if_cause_gone(intent):
                    # Batches post strictly in order: none after this one posts until its cause is gone.
                    self._block("post_batches", intent)
                    return posted
            out = self.executor.drive(intent.id)
            if out.state == "failed":
                if self._release_if_refused_as_stale(intent.id):
                    continue  # update_config landed after the check above: the program refused the batch
                self._block("post_batches", self.intents.get(intent.id))
                return posted
            posted += out.state == "confirmed"
            if lease:
                lease.renew()

    def _refuse_batch(self, batch_id: int, reason: str) -> None:
        """Never post this batch. Its receipts are released from it (they name no batch again: nothing
        on-chain ever will hold them, and the meter batches only receipts of the version in force), all in
        one transaction with the failed intent that says why, so a crash leaves nothing half done."""
        with self.session_factory.begin() as s:
            intent = record_in(s, f"post_batch:{batch_id}", "post_batch", str(batch_id),
                               {"batch_id": batch_id, "refused": True})
            if intent.state != "pending" or intent.attempts != 0:
                return  # sent before: the executor resolves it, this batch is not ours to release
            self.intents.finish_in(s, intent.id, "failed", reason)
            self.port.release_batch(s, batch_id)

    def _release_if_refused_as_stale(self, intent_id: int) -> bool:
        """A failed post_batch the program refused with StaleConfigVersion: nothing went on-chain, so release
        its receipts (the meter reissues them under the new version) and say so in the intent, in one
        transaction, exactly as when the crank's own check refuses a batch. False for any other failure."""
        with self.session_factory.begin() as s:
            intent = s.get(Intent, intent_id)
            if intent is None or intent.state != "failed" or not _is_stale_refusal(intent.error or ""):
                return False
            payload = json.loads(intent.payload)
            self.intents.finish_in(s, intent.id, "failed",
                                   f"{STALE_BATCH}: the program refused the batch (config version "
                                   f"{payload.get('config_version', '?')} is no longer current) | {intent.error}")
            self.port.release_batch(s, payload["batch_id"])
        return True

    def _receipts_version(self, batch_id: int) -> int:
        """The one config version of a batch's receipts (0, which no Config holds, if they mix or are gone:
        the program then refuses the batch as stale)."""
        with self.session_factory() as s:
            versions = self.port.batch_config_versions(s, batch_id)
        return int(versions.pop()) if len(versions) == 1 else 0

    def _batch_config_versions(self, indices: set[int]) -> dict[int, int]:
        """The config version each posted batch was stamped with on-chain (read once: batches never change)."""
        missing = sorted(i for i in indices if i not in self._batch_versions)
        if missing:
            accts = self._multiple(["Batch"] * len(missing), [self.program.batch_address(i) for i in missing])
            for i, b in zip(missing, accts):
                if b is not None:
                    self._batch_versions[i] = int(b.config_version)
        return {i: self._batch_versions[i] for i in indices if i in self._batch_versions}

    def _chain_batch_index(self) -> dict[int, int]:
        with self.session_factory() as s:
            rows = s.execute(select(Intent.payload).where(Intent.kind == "post_batch", Intent.state == "confirmed")).all()
        return {json.loads(p)["batch_id"]: json.loads(p)["index"] for (p,) in rows}

    def settle_channels(self, lease: Lease | None = None) -> dict:
        """The crank: per channel, settle up to the newest receipt whose batch is on-chain, one
        transaction per channel (cumulative amounts make that all-or-nothing). Pairs whose customer never
        opened the channel are not sent at all (`_refuse_unopened`)."""
        summary = {"confirmed": 0, "failed": 0, "skipped_underfunded": 0, "in_flight": 0, "skipped_stale_version": 0,
                   "prepared": 0, "not_opened": 0}
        self._resume_open("prepare_settle")
        for out in self._resume_open("settle").values():
            summary["confirmed" if out.state == "confirmed" else "failed" if out.state == "failed" else "in_flight"] += 1
        index_of = self._chain_batch_index()
        if not index_of:
            return summary
        # Treasury and payout accounts can change (set_treasury / set_payout): read them once per run, and
        # the clock's epoch with them (a settle built for a past epoch fails WrongPda and waits a run).
        self.config.get(fresh=True)
        self.config.current_epoch(max_age_s=0)
        self.settle_action.forget_payouts()
        with self.session_factory() as s:
            rows = self.port.newest_receipts(s, list(index_of))
        channels = [(r, self.program.channel_address(Pubkey.from_string(r.customer), Pubkey.from_string(r.provider)))
                    for r in rows]
        onchain = self._multiple(["Channel"] * len(channels), [a for _, a in channels])
        escrows = self._escrow_balances({r.customer for r, _ in channels})
        batch_versions = self._batch_config_versions({index_of[r.batch_id] for r, _ in channels})
        todo = []
        stuck: list[Intent] = []  # failed settlements whose cause is still there
        need_prepare: list[tuple[str, str]] = []
        owed_by_customer: dict[str, int] = {}
        for (r, _addr), ch in zip(channels, onchain):
            if ch is None:
                self._refuse_unopened(r, self._settle_payload(r, index_of[r.batch_id]))
                summary["not_opened"] += 1
                continue
            last_seq, settled = int(ch.last_seq), int(ch.settled_amount)
            if r.seq <= last_seq or r.cum_amount <= settled:
                continue
            if batch_versions.get(index_of[r.batch_id]) != r.config_version:
                # Posted under another version than the receipt's (update_config landed in between): settle
                # would refuse it. The meter reissues the receipt under the new version; that one settles.
                summary["skipped_stale_version"] += 1
                continue
            owed = r.cum_amount - settled
            # All or nothing per channel: do not send what the escrow cannot pay (the customer is paused
            # by apply_pauses and this channel is settled after the next deposit).
            already = owed_by_customer.get(r.customer, 0)
            if escrows.get(r.customer, 0) < already + owed:
                summary["skipped_underfunded"] += 1
                continue
            owed_by_customer[r.customer] = already + owed
            key = f"settle:{r.customer}:{r.provider}:{r.seq}"
            existing = self.intents.by_key(key)
            if existing is not None and existing.state == "failed":
                if not self._retryable(existing):
                    stuck.append(existing)
                    continue
                self.intents.reopen(existing.id, "retry: " + existing.error[:200])
            intent = self.intents.record(key, "settle", f"{r.customer}:{r.provider}",
                                         self._settle_payload(r, index_of[r.batch_id]))
            todo.append(intent.id)
            need_prepare.append((r.customer, r.provider))
        summary["prepared"] = self._prepare_settlements(need_prepare, lease)
        for i in range(0, len(todo), self.settle_chunk):
            outs = self.executor.drive_many(todo[i:i + self.settle_chunk], fresh=True)
            for intent_id, o in outs.items():
                summary["confirmed" if o.state == "confirmed" else "failed" if o.state == "failed" else "in_flight"] += 1
                if o.state == "failed":
                    stuck.append(self.intents.get(intent_id))
            if lease:
                lease.renew()
        if stuck:
            # Each channel settles on its own: the others went ahead; these wait for their cause to go.
            self._block("settle_channels", stuck[0], count=len(stuck))
        return summary

    def _settle_payload(self, r: SettleableReceipt, batch_index: int) -> dict:
        """What a settle intent needs to build its transaction: the receipt, its proof and batch."""
        with self.session_factory() as s:
            proof = self.port.proof(s, r.batch_id, r.batch_index)
        return {"customer": r.customer, "provider": r.provider, "seq": r.seq, "cum_amount": r.cum_amount,
                "receipt": r.encoding.hex(), "proof": [p.hex() for p in proof], "batch_index": batch_index}

    def _refuse_unopened(self, r: SettleableReceipt, payload: dict) -> None:
        """The receipt's customer never opened its channel with the provider (no on-chain consent): send
        nothing, record the settlement as failed with the reason, and say so once. It is retried once the
        channel exists (`_retryable`)."""
        key = f"settle:{r.customer}:{r.provider}:{r.seq}"
        subject = f"{r.customer}:{r.provider}"
        with self.session_factory.begin() as s:
            said = s.execute(select(Intent.id).where(Intent.kind == "settle", Intent.subject == subject,
                                                     Intent.key != key, Intent.error.startswith(NOT_OPENED))
                             .limit(1)).first() is not None  # an earlier receipt of this channel was refused
            intent = record_in(s, key, "settle", subject, payload)
            if intent.state != "pending" or intent.attempts != 0:
                return  # already refused (said once), or sent before the chain view we hold
            self.intents.finish_in(s, intent.id, "failed",
                                   f"{NOT_OPENED}: customer {r.customer} has not opened its channel with provider "
                                   f"{r.provider}; nothing is billed on it until the customer opens it "
                                   f"(`solmeter customer open-channel {r.provider}`)")
        (log.debug if said else log.warning)(
            "customer %s has not opened its channel with provider %s: receipt seq %s (and any later one) will not "
            "settle until the customer runs `solmeter customer open-channel %s`", r.customer, r.provider, r.seq,
            r.provider)

    def _prepare_settlements(self, pairs: list[tuple[str, str]], lease: Lease | None) -> int:
        """Before settling: one prepare_settle transaction per provider whose Epoch or ProviderEpoch of the
        current epoch is missing (looked up with getMultipleAccounts), as intents keyed
        `prepare_settle:<c>:<p>:<epoch>` (idempotent on-chain and off). A failed or unconfirmed prepare does
        not hold the settle back: settle creates what is still missing itself, at a higher compute cost.
        Every pair here has an open Channel (settle_channels sends nothing for the others)."""
        if not pairs:
            return 0
        epoch = self.config.current_epoch()
        shared = [self.program.epoch_address(epoch)] + sorted(
            {self.program.provider_epoch_address(Pubkey.from_string(p), epoch) for _, p in pairs}, key=bytes)
        present = dict(zip(shared, self._exists(shared)))
        todo = []
        prepared_for: set[str] = set()  # Epoch and ProviderEpoch are per provider and epoch: one prepare each
        for customer, provider in pairs:
            pe = self.program.provider_epoch_address(Pubkey.from_string(provider), epoch)
            if (present[shared[0]] and present[pe]) or provider in prepared_for:
                continue
            prepared_for.add(provider)
            intent = self.intents.record(f"prepare_settle:{customer}:{provider}:{epoch}", "prepare_settle",
                                         f"{customer}:{provider}",
                                         {"customer": customer, "provider": provider, "epoch": epoch})
            if intent.state in ("pending", "sent"):
                todo.append(intent.id)
        prepared = 0
        for i in range(0, len(todo), self.settle_chunk):
            # fresh: the accounts were just looked up (a resumed, already sent prepare is resolved as usual)
            outs = self.executor.drive_many(todo[i:i + self.settle_chunk], fresh=True)
            prepared += sum(o.state == "confirmed" for o in outs.values())
            if lease:
                lease.renew()
        return prepared

    def _retryable(self, intent: Intent) -> bool:
        err = intent.error or ""
        if NOT_OPENED in err:
            return True  # asked only for a channel that is open now (settle_channels skips the others)
        if any(e in err for e in _RETRY_ALWAYS + _RETRY_WHEN_FUNDED):
            return True  # the escrow check before it (all or nothing per channel) says it is funded now
        if any(e in err for e in _RETRY_NEXT_EPOCH):
            cfg = self.config.get()
            failed_at = intent.updated_ms // 1000
            genesis = int(cfg.genesis_ts)
            # before genesis (a clock the chain's is ahead of): any epoch is later than it
            failed_epoch = epoch_at(genesis, int(cfg.epoch_length), failed_at) if failed_at >= genesis else -1
            return self.config.current_epoch() > failed_epoch
        return self._cause_gone(intent)

    # ---- permanent failures: said once, retried once their cause is gone -------------------------------

    def _cause_gone(self, intent: Intent) -> bool:
        """Whether a failed intent may be tried again now: a key that lacked SOL has enough now; a passing
        refusal always; another program error after a back-off on its attempts (the state it depends on may
        change in ways the engine cannot see); a refusal resending can never fix, never."""
        kind = classify(intent.error or "")
        if kind is Kind.NEVER:
            return False
        if kind is Kind.LACKS_SOL:
            return self._sol_shortfall(intent.kind) is None
        if kind is Kind.TRANSIENT:
            return True
        return now_ms() >= retry_after_ms(intent.updated_ms, intent.attempts)

    def _reopen_if_cause_gone(self, intent: Intent) -> bool:
        if not self._cause_gone(intent):
            return False
        self.intents.reopen(intent.id, "retry: " + (intent.error or "")[:200])
        return True

    def _is_local(self) -> bool:
        if self._local is None:
            try:
                self._local = identify(self.chain).local
            except Exception:  # a chain without a genesis hash (not an RPC): say "transfer", never "airdrop"
                self._local = False
        return self._local

    def _sol_needs(self, kind: str) -> list[tuple[str, Keypair, int, str]]:
        """(role, key, lamports it needs at least, what for) for the keys an intent of `kind` spends SOL of."""
        fee = 10_000  # two signatures at 5,000 lamports
        needs = [("payer key", self.payer, fee, f"{kind} needs ~{sol(fee)} SOL a transaction for its fee")]
        rent = getattr(self.chain, "rent_exempt", None)
        if kind == "post_batch" and self.meter is not None and rent is not None:
            batch_rent = rent(account_size("Batch"))
            needs.append(("meter key", self.meter, batch_rent,
                          f"post_batch needs ~{sol(batch_rent)} SOL a batch (the Batch account's rent)"))
        if kind in ("settle", "prepare_settle") and rent is not None:
            epoch_rent = rent(account_size("Epoch")) + rent(account_size("ProviderEpoch"))
            needs[0] = ("payer key", self.payer, fee + epoch_rent,
                        f"{kind} needs ~{sol(fee + epoch_rent)} SOL when it opens an epoch's accounts")
        return needs

    def _sol_shortfall(self, kind: str) -> Optional[tuple[str, str]]:
        """(cause key, cause in words) for the first key that has too little SOL for `kind`, else None."""
        lamports = getattr(self.chain, "lamports", None)
        if lamports is None:
            return None
        for role, key, need, what in self._sol_needs(kind):
            have = lamports(key.pubkey())
            if have < need:
                k = str(key.pubkey())
                how = (f"`solmeter airdrop 1 {k}`" if self._is_local()
                       else f"a transfer of SOL to {k} (e.g. `solana transfer {k} 0.1`)")
                return (f"lacks_sol:{k}", f"{role} {short_key(k)} has {sol(have)} SOL: {what}; fund it with {how}")
        return None

    def _block(self, job: str, intent: Intent, count: int = 1) -> None:
        """Record why `job` cannot go on: the job's runner (Service) counts the run as failed, shows the cause
        in `operator jobs` and logs it once. The cause is named in words, with the fix where it is known."""
        error = intent.error or "failed"
        cause = None
        if classify(error) is Kind.LACKS_SOL:
            cause = self._sol_shortfall(intent.kind)
        if cause is None:
            cause = (f"{error_name(error)}:{intent.kind}",
                     f"{intent.kind} {intent.subject} failed: {error[:300]}")
        more = f" (and {count - 1} more)" if count > 1 else ""
        self.blocked[job] = (cause[0], cause[1] + more)

    def _datas(self, addresses: list[Pubkey]) -> list[bytes | None]:
        """Account data of many addresses: getMultipleAccounts, 100 at a time, where the chain has it (None: no
        account)."""
        many = getattr(self.chain, "accounts_data", None)
        if many is not None:
            return many(addresses)
        return [self.chain.account_data(a) for a in addresses]

    def _exists(self, addresses: list[Pubkey]) -> list[bool]:
        return [d is not None for d in self._datas(addresses)]

    def _multiple(self, names: list[str], addresses: list[Pubkey]) -> list:
        return [None if d is None else decode_account_as(n, d) for n, d in zip(names, self._datas(addresses))]

    def _escrow_balances(self, customers: set[str]) -> dict[str, int]:
        out = {}
        for c in customers:
            out[c] = self.chain.token_balance(self.program.escrow_address(Pubkey.from_string(c))) or 0
        return out

    def close_batches(self, lease: Lease | None = None) -> int:
        """Close the meter's batches that are past their retention and no longer needed, rent back to it.

        A batch is no longer needed when, for every channel with receipts in it, the newest of them is
        settled on-chain (channel.last_seq >= its seq) or superseded by a later receipt of the channel in
        a batch that is posted and still open: a cumulative receipt pays everything before it. A batch
        holding a channel's newest unsettled receipt is kept however old it is (its rent stays locked
        until the channel settles); the program enforces the retention, this job the rest."""
        if self.meter is None:
            return 0
        for _ in self._resume_open("close_batch").values():
            pass
        index_of = self._chain_batch_index()
        with self.session_factory() as s:
            closed = {json.loads(p)["index"] for (p,) in s.execute(
                select(Intent.payload).where(Intent.kind == "close_batch", Intent.state == "confirmed"))}
            rows = self.port.newest_seqs(s, list(index_of))
        open_ids = sorted(b for b, i in index_of.items() if i not in closed)
        if not open_ids:
            return 0
        newest_in: dict[int, dict[tuple[str, str], int]] = {}
        for row in rows:
            newest_in.setdefault(row.batch_id, {})[(row.customer, row.provider)] = row.seq
        # the newest receipt of each channel in any open batch
        newest_open: dict[tuple[str, str], int] = {}
        for b in open_ids:
            for pair, seq in newest_in.get(b, {}).items():
                newest_open[pair] = max(newest_open.get(pair, 0), seq)
        batches = self._multiple(["Batch"] * len(open_ids), [self.program.batch_address(index_of[b]) for b in open_ids])
        now = self.chain.unix_time()
        retention = int(params_at(self.config.get(fresh=True), now).batch_retention)
        due = [(b, acct) for b, acct in zip(open_ids, batches)
               if acct is not None and acct.meter == self.meter.pubkey() and int(acct.posted_at) + retention <= now]
        pairs = sorted({pair for b, _ in due for pair in newest_in.get(b, {})})
        chans = dict(zip(pairs, self._multiple(["Channel"] * len(pairs), [
            self.program.channel_address(Pubkey.from_string(c), Pubkey.from_string(p)) for c, p in pairs])))
        closed_now = 0
        for b, _acct in due:
            needed = [pair for pair, seq in newest_in.get(b, {}).items()
                      if (chans.get(pair) is None or int(chans[pair].last_seq) < seq) and newest_open[pair] <= seq]
            if needed:
                continue  # holds a channel's newest unsettled receipt: kept
            intent = self.intents.record(f"close_batch:{index_of[b]}", "close_batch", str(index_of[b]),
                                         {"batch_id": b, "index": index_of[b]})
            if intent.state == "failed" and not self._reopen_if_cause_gone(intent):
                self._block("close_batches", intent)
                continue
            out = self.executor.drive(intent.id)
            closed_now += out.state == "confirmed"
            if out.state == "failed":
                self._block("close_batches", self.intents.get(intent.id))
            if lease:
                lease.renew()
        return closed_now

    def top_up(self, lease: Lease | None = None) -> int:
        """Permissionless top-up crank for customers below their threshold who granted an allowance."""
        for _ in self._resume_open("top_up").values():
            pass
        with self.session_factory() as s:
            customers = sorted({a.owner for a in balances_in(s, kind=AccountKind.CUSTOMER_ESCROW)}
                               | {a.owner for a in balances_in(s, kind=AccountKind.CUSTOMER_RECEIVABLE)})
        addrs = [self.program.customer_address(Pubkey.from_string(c)) for c in customers]
        accounts = self._multiple(["Customer"] * len(addrs), addrs)
        sent = 0
        for c, acct in zip(customers, accounts):
            if acct is None or int(acct.top_up_amount) == 0 or int(acct.top_up_threshold) == 0:
                continue
            bal = self.chain.token_balance(self.program.escrow_address(Pubkey.from_string(c))) or 0
            if bal >= int(acct.top_up_threshold):
                continue
            src = acct.top_up_source
            data = self.chain.account_data(src)
            if not data or len(data) < 165:
                continue
            delegated = int.from_bytes(data[121:129], "little") if data[72:76] != b"\0\0\0\0" else 0
            src_balance = int.from_bytes(data[64:72], "little")
            if delegated == 0 or src_balance == 0:
                continue  # nothing the crank may pull: the customer stays paused until it deposits
            key = f"top_up:{c}:{int(acct.total_deposited)}"
            intent = self.intents.record(key, "top_up", c, {"customer": c, "source": str(src),
                                                            "total_deposited": int(acct.total_deposited)})
            if intent.state == "failed":  # the conditions were just re-checked: the cause (allowance) changed
                self.intents.reopen(intent.id, "retry: " + intent.error[:200])
            out = self.executor.drive(intent.id)
            sent += out.state == "confirmed"
        return sent

    def fund_epochs(self, lease: Lease | None = None) -> int:
        """Fund the current epoch's reward pool with the configured emission, once per epoch."""
        if self.funder is None or self.epoch_emission <= 0:
            return 0
        for _ in self._resume_open("fund_epoch").values():
            pass
        ep = self.config.current_epoch()
        intent = self.intents.record(f"fund_epoch:{ep}", "fund_epoch", str(ep), {"epoch": ep, "amount": self.epoch_emission})
        if intent.state == "confirmed":
            return 0
        if intent.state == "failed" and not self._reopen_if_cause_gone(intent):
            self._block("fund_epochs", intent)
            return 0
        out = self.executor.drive(intent.id)
        if out.state == "failed":
            self._block("fund_epochs", self.intents.get(intent.id))
        return int(out.state == "confirmed")

    def apply_pauses(self, lease: Lease | None = None) -> dict:
        return pause.apply_pauses(self.session_factory, time.time_ns() // 1_000_000, self.escrow_view,
                                  self.pending_withdrawals, meter=self.port)

    def pending_withdrawals(self, customers) -> dict[str, int]:
        """Each customer's withdrawal request on-chain (Customer account) that has not expired, at the
        chain's clock and the withdrawal delay in force."""
        cs = sorted(customers)
        if not cs:
            return {}
        accounts = self._multiple(["Customer"] * len(cs), [self.program.customer_address(Pubkey.from_string(c))
                                                             for c in cs])
        now = self.chain.unix_time()
        delay = int(params_at(self.config.get(fresh=True), now).withdrawal_delay)
        return {c: pause.pending_withdrawal(int(a.withdrawal_amount), int(a.withdrawal_requested_at), delay, now)
                for c, a in zip(cs, accounts) if a is not None}

    def reconcile(self, lease: Lease | None = None) -> list:
        self.last_recon = reconcile(self.session_factory, self.chain, self.program, store=True)
        return self.last_recon

    # ---- wiring ---------------------------------------------------------------------------------------

    def job_specs(self) -> list[JobSpec]:
        """The jobs for a Service (short names; a job whose progress stopped on a permanent failure raises
        JobBlocked after its run, so the failure is counted, shown and logged once)."""
        return [JobSpec(n, self.intervals_ms[n], self._guarded(n), n) for n in JOB_NAMES]

    def _guarded(self, name: str):
        fn = getattr(self, name)

        def run(lease: Lease | None = None):
            self.blocked.pop(name, None)
            result = fn(lease)
            cause = self.blocked.get(name)
            if cause is not None:
                raise JobBlocked(cause[1], cause[0])
            return result

        run.__name__ = name
        return run

    def crank_once(self) -> dict:
        """One full pass of every job, in order, in this process (no leases): the demo's and tests' crank.
        The chain is followed again after settling so that the pauses and the reconciliation see it.
        `self.blocked` says afterwards which jobs stopped on a permanent failure, and why."""
        out = {}
        self.blocked.clear()
        for name in JOB_NAMES:
            if name == "apply_pauses":
                out["follow_chain"] = self.follow_chain(None)
            out[name] = getattr(self, name)(None)
        return out


def _is_stale_refusal(error: str) -> bool:
    """Whether a failed transaction's error text is the program's StaleConfigVersion, however it surfaced:
    by name in the logs, as the preflight's hex custom error, or as a landed InstructionError's Custom(n)."""
    code = error_code(_STALE_ON_CHAIN)
    return (re.search(rf"\b{_STALE_ON_CHAIN}\b", error) is not None
            or re.search(rf"custom program error: {code:#x}\b", error, re.IGNORECASE) is not None
            or re.search(rf"Custom\({code}\)", error) is not None)
