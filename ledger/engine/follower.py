"""The chain follower: every token movement of the billing program becomes a ledger posting.

It walks the program's transactions (getSignaturesForAddress, oldest first from a cursor), decodes the
events each successful one emitted (contracts.client.decode.parse_events) and posts them with the key
"<signature>:<event index>". Because the key is unique, a crash anywhere, a replay of the walk, or two
replicas following at once never post anything twice; and because postings are built from the events'
own figures (amount, fee, burned, provider_amount), the ledger equals the chain to the base unit.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Optional

from solders.pubkey import Pubkey
from sqlalchemy.orm import sessionmaker

from contracts import pda
from contracts.client.decode import decode_account_as, parse_events
from ledger.accounting import Account, Kind, chart, rules
from ledger.accounting.errors import InvalidPosting
from ledger.accounting.posting import Posting, PostingKind, credit, debit
from ledger.accounting.store import balances_in, post_in

from .chain import Chain
from .cursors import add_treasury, get_cursor, set_cursor, treasuries

CURSOR = "program_signatures"
PAGE = 500


@dataclass
class FollowerContext:
    """What the follower needs to know about the deployment to map token accounts to ledger accounts."""

    program_id: Pubkey
    treasury: Optional[str] = None                    # Config.treasury token account
    customers: set[str] = field(default_factory=set)  # wallets seen registering (to recognise escrow vaults)
    treasuries: set[str] = field(default_factory=set)  # every treasury so far (set_treasury keeps the old fees)


def settlement_from_event(key: str, ev, *, meta: dict) -> Posting:
    """A Settled event as a posting, using the program's own split (checked to add up)."""
    amount, fee, burned, prov = int(ev.amount), int(ev.fee), int(ev.burned), int(ev.provider_amount)
    if fee + burned + prov != amount:
        raise InvalidPosting(f"Settled event {key}: fee {fee} + burned {burned} + provider {prov} != amount {amount}")
    c, p = str(ev.customer), str(ev.provider)
    legs = [credit(chart.escrow(c), amount)]
    if fee:
        legs.append(debit(chart.treasury(), fee))
    if burned:
        legs.append(debit(chart.burned(), burned))
    if prov:
        legs.append(debit(chart.provider_revenue(p), prov))
    legs += [credit(chart.receivable(c, p), amount), debit(chart.payable(p, c), amount)]
    m = {"fee": fee, "burn": burned, "provider_share": prov, "seq": int(ev.seq), "cum_amount": int(ev.cum_amount),
         "epoch": int(ev.epoch), "receipt_id": bytes(ev.receipt_id).hex()}
    m.update(meta)
    return Posting(key, PostingKind.SETTLEMENT, tuple(legs), m)


def postings_for(signature: str, events, ctx: FollowerContext, *, fee_payer: Optional[str],
                 token_owner: Callable[[str], Optional[str]], slot: int, block_time: Optional[int]) -> list[Posting]:
    """Pure mapping of one transaction's events to postings (token_owner resolves a token account's owner)."""
    out: list[Posting] = []
    for i, ev in enumerate(events):
        key = f"{signature}:{i}"
        d = ev.data
        meta = {"signature": signature, "event": ev.name, "slot": slot, "block_time": block_time}
        amount = int(getattr(d, "amount", 0) or 0)
        if ev.name == "CustomerRegistered":
            ctx.customers.add(str(d.wallet))
            continue
        if ev.name == "Initialized":
            ctx.treasury = str(d.treasury)
            ctx.treasuries.add(ctx.treasury)
            continue
        if ev.name == "TreasuryChanged":
            ctx.treasury = str(d.new_treasury)
            ctx.treasuries |= {str(d.old_treasury), ctx.treasury}
            continue
        if amount == 0:
            continue  # events without a token movement (requests, limits, proposals) post nothing
        if ev.name == "Deposited":
            out.append(rules.deposit(key, str(d.wallet), amount, meta=meta))
        elif ev.name == "ToppedUp":
            out.append(rules.top_up(key, str(d.wallet), amount, meta=meta))
        elif ev.name == "Withdrawn":
            out.append(rules.withdrawal(key, str(d.wallet), amount, meta=meta))
        elif ev.name == "Staked":
            out.append(rules.stake(key, str(d.wallet), amount, meta=meta))
        elif ev.name == "StakeWithdrawn":
            out.append(rules.unstake(key, str(d.wallet), amount, meta=meta))
        elif ev.name == "Settled":
            out.append(settlement_from_event(key, d, meta=meta))
        elif ev.name == "EpochFunded":
            out.append(rules.reward_funded(key, int(d.epoch), fee_payer, amount, meta=meta))
        elif ev.name == "RewardsClaimed":
            out.append(rules.reward_claimed(key, int(d.epoch), str(d.provider), amount, meta=meta))
        elif ev.name == "SlashExecuted":
            out.append(rules.slash(key, str(d.provider), amount,
                                   _slash_destination(str(d.beneficiary), ctx, token_owner), meta=meta))
    return out


def _slash_destination(beneficiary: str, ctx: FollowerContext, token_owner) -> Account:
    if beneficiary == ctx.treasury or beneficiary in ctx.treasuries:
        return chart.treasury()
    for c in ctx.customers:
        if str(pda.escrow(ctx.program_id, Pubkey.from_string(c))[0]) == beneficiary:
            return chart.escrow(c)
    owner = token_owner(beneficiary)
    return chart.wallet(owner or beneficiary)


class Follower:
    def __init__(self, session_factory: sessionmaker, chain: Chain, ctx: FollowerContext) -> None:
        self._sf = session_factory
        self.chain = chain
        self.ctx = ctx

    def _token_owner(self, token_account: str) -> Optional[str]:
        data = self.chain.account_data(Pubkey.from_string(token_account))
        return str(Pubkey.from_bytes(data[32:64])) if data and len(data) >= 64 else None

    def _refresh_context(self) -> None:
        # After a restart the registrations may lie before the cursor: take the treasury from the Config
        # account and the customers from the ledger's escrow accounts.
        if self.ctx.treasury is None:
            data = self.chain.account_data(pda.config(self.ctx.program_id)[0])
            if data:
                self.ctx.treasury = str(decode_account_as("Config", data).treasury)
        with self._sf() as s:
            self.ctx.customers |= {a.owner for a in balances_in(s, kind=Kind.CUSTOMER_ESCROW)}
            self.ctx.treasuries |= treasuries(s)

    def pending_signatures(self) -> list[tuple[str, int, bool]]:
        """Signatures newer than the cursor, oldest first."""
        with self._sf() as s:
            until = get_cursor(s, CURSOR) or None
        newest_first: list[tuple[str, int, bool]] = []
        before = None
        while True:
            page = self.chain.program_signatures(self.ctx.program_id, until=until, before=before, limit=PAGE)
            newest_first += page
            if len(page) < PAGE:
                break
            before = page[-1][0]
        return list(reversed(newest_first))

    def run(self, *, renew: Callable[[], None] | None = None) -> int:
        """Follow the chain up to now; returns the number of postings created."""
        created = 0
        self._refresh_context()

        pending = self.pending_signatures()
        for start in range(0, len(pending), 50):
            chunk = pending[start:start + 50]
            wanted = [sig for sig, _slot, failed in chunk if not failed]
            fetch = getattr(self.chain, "transactions", None)
            infos = dict(zip(wanted, fetch(wanted) if fetch else [self.chain.transaction(s) for s in wanted]))
            # One database transaction per chunk: its postings and the cursor move together.
            batch: list[Posting] = []
            last = None
            for sig, _slot, failed in chunk:
                if not failed:
                    tx = infos.get(sig)
                    if tx is None:
                        break  # not yet visible at this commitment: the cursor stays before it
                    if tx.err is None:
                        events = parse_events(tx.logs, self.ctx.program_id)
                        batch += postings_for(sig, events, self.ctx,
                                              fee_payer=tx.account_keys[0] if tx.account_keys else None,
                                              token_owner=self._token_owner, slot=tx.slot, block_time=tx.block_time)
                last = sig
            if last is None:
                return created
            with self._sf.begin() as s:
                for p in batch:
                    created += post_in(s, p).created
                for t in self.ctx.treasuries:
                    add_treasury(s, t)
                set_cursor(s, CURSOR, last)
            if last != chunk[-1][0]:
                return created
            if renew:
                renew()
        return created
