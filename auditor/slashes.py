"""Pure checks of a provider's slashes: each one's life on-chain followed the rules, the Slash accounts say
what the events say, and the provider's pending slash is what is still open.

Rules (PROTOCOL.md, propose/contest/resolve/execute_slash): a slash is proposed with an amount, a
beneficiary and a contest deadline; the provider may contest it up to the deadline; only a contested slash
is resolved (upheld or rejected) by the arbiter up to its resolve deadline, or lapses (rejected) after it;
it is executed when upheld, or when still merely proposed after the deadline, paying at most the proposed
amount to the proposed beneficiary; a rejected one never pays.
"""
from __future__ import annotations

from typing import Mapping, Sequence

from .result import Check, passed, skipped, verdict
from .views import SLASH_STATES, ProviderView, SlashEvent, SlashView

PROPOSED, CONTESTED, UPHELD, REJECTED, EXECUTED = range(5)
OPEN = (PROPOSED, CONTESTED, UPHELD)


def replay_slash(events: Sequence[SlashEvent]) -> tuple[int | None, SlashEvent | None, list[str]]:
    """(state reached, the proposal, rule violations) from one slash's events in chain order."""
    state: int | None = None
    proposal: SlashEvent | None = None
    bad: list[str] = []
    for e in events:
        where = f"{e.name} in {e.signature[:12]}"
        if e.name == "proposed":
            if state is not None:
                bad.append(f"{where}: proposed twice")
            state, proposal = PROPOSED, e
        elif state is None:
            bad.append(f"{where} before any proposal")
        elif e.name == "contested":
            if state != PROPOSED:
                bad.append(f"{where}: contested while {SLASH_STATES[state]}")
            elif None not in (e.block_time, proposal.contest_deadline) and e.block_time > proposal.contest_deadline:
                bad.append(f"{where}: contested at {e.block_time}, after the deadline {proposal.contest_deadline}")
            state = CONTESTED
        elif e.name == "resolved":
            if state != CONTESTED:
                bad.append(f"{where}: resolved while {SLASH_STATES[state]} (only a contested slash is resolved)")
            deadline = proposal.resolve_deadline if proposal is not None else None
            if None not in (e.block_time, deadline):
                if e.lapsed and e.block_time <= deadline:
                    bad.append(f"{where}: lapsed at {e.block_time}, before the arbiter's deadline {deadline}")
                elif not e.lapsed and e.block_time > deadline:
                    bad.append(f"{where}: resolved at {e.block_time}, after the arbiter's deadline {deadline}")
            state = UPHELD if e.upheld else REJECTED
        elif e.name == "executed":
            if state == PROPOSED:
                if None not in (e.block_time, proposal.contest_deadline) and e.block_time <= proposal.contest_deadline:
                    bad.append(f"{where}: executed at {e.block_time}, inside the contest window "
                               f"(deadline {proposal.contest_deadline})")
            elif state != UPHELD:
                bad.append(f"{where}: executed while {SLASH_STATES[state]}")
            if proposal is not None and e.amount is not None and e.amount > proposal.amount:
                bad.append(f"{where}: paid {e.amount}, more than the proposed {proposal.amount}")
            if proposal is not None and e.beneficiary is not None and e.beneficiary != proposal.beneficiary:
                bad.append(f"{where}: paid {e.beneficiary}, not the proposed beneficiary {proposal.beneficiary}")
            state = EXECUTED
    return state, proposal, bad


def check_slashes(provider: ProviderView, slashes: Mapping[int, SlashView | None],
                  events: Sequence[SlashEvent]) -> list[Check]:
    out: list[Check] = []
    by_index: dict[int, list[SlashEvent]] = {}
    for e in events:
        by_index.setdefault(e.index, []).append(e)
    if provider.slash_count == 0 and not by_index:
        return [passed("slash.none", "no slash was ever proposed against this provider")]
    missing, lifecycle, mismatch = [], [], []
    pending = 0
    untimed = 0
    for i in range(provider.slash_count):
        acc = slashes.get(i)
        evs = by_index.get(i, [])
        untimed += sum(e.block_time is None for e in evs)
        if acc is None:
            missing.append(i)
            continue
        state, proposal, bad = replay_slash(evs)
        lifecycle += [f"slash {i}: {b}" for b in bad]
        if state is None:
            mismatch.append(f"slash {i}: account in state {SLASH_STATES[acc.state]} but no events found")
        else:
            if state != acc.state:
                mismatch.append(f"slash {i}: events lead to {SLASH_STATES[state]}, the account says "
                                f"{SLASH_STATES[acc.state]}")
            if proposal is not None and (proposal.amount, proposal.beneficiary) != (acc.amount, acc.beneficiary):
                mismatch.append(f"slash {i}: proposed {proposal.amount} to {proposal.beneficiary}, the account says "
                                f"{acc.amount} to {acc.beneficiary}")
        if acc.state in OPEN:
            pending += acc.amount
    beyond = sorted(i for i in by_index if i >= provider.slash_count)
    if beyond:
        mismatch.append(f"events of slash(es) {beyond} beyond the provider's slash count {provider.slash_count}")
    n = provider.slash_count
    out.append(verdict("slash.account", not missing, f"all {n} slash accounts exist",
                       f"slash account(s) {missing} are missing"))
    out.append(verdict("slash.lifecycle", not lifecycle,
                       f"each of {n} slash(es) went proposed -> (contested -> resolved) -> executed by the rules",
                       "; ".join(lifecycle[:3])))
    out.append(verdict("slash.state", not mismatch, "each slash account says what its events say",
                       "; ".join(mismatch[:3])))
    out.append(verdict("provider.pending_slash", provider.pending_slash == pending,
                       f"pending slash {provider.pending_slash} = the amounts of the slashes still open",
                       f"the provider's pending slash is {provider.pending_slash}, the open slashes add up to "
                       f"{pending}"))
    if untimed:
        out.append(skipped("slash.timing", f"{untimed} slash event(s) have no block time: contest and execution "
                                           "times were not checked against the deadline"))
    return out


def check_provider_revenue(provider: ProviderView, settled: int) -> Check:
    return verdict("provider.revenue", provider.total_revenue == settled,
                   f"total revenue {provider.total_revenue} = the sum of its settlements",
                   f"the provider account says total revenue {provider.total_revenue}, its settlements add up to "
                   f"{settled}")

