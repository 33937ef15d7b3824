"""What a verification found: one Check per property, gathered into a Report."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

from contracts.amounts import tokens

PASS, FAIL, SKIP, PENDING = "pass", "fail", "skip", "pending"
# the facts that are token amounts (base units); the text report shows each in tokens beside it
AMOUNT_FACTS = frozenset({"cum_amount", "settled_cumulative", "total", "funded", "total_revenue", "claimed",
                          "pending_slash", "escrow_balance", "total_deposited", "withdrawn", "total_settled"})


@dataclass(frozen=True)
class Check:
    """One property of the audited object.

    name    a stable dotted identifier (e.g. "receipt.signature"); tests and machines key on it
    status  "pass", "fail", "skip" (does not apply, or was not asked for; the detail says why) or "pending"
            ("not verified": something the audit needs was not served or is not on-chain yet, e.g. a
            receipt not yet batched, a missing proof, a channel whose receipts were not supplied; never
            counted as clean, see Report.passes)
    detail  a plain sentence saying what holds or does not, and why
    """

    name: str
    status: str
    detail: str
    subject: str = ""  # which object, when a report covers many (e.g. "seq 7", "batch 3")

    @property
    def ok(self) -> bool | None:
        return {PASS: True, FAIL: False}.get(self.status)

    @property
    def failed(self) -> bool:
        return self.status == FAIL

    def to_json(self) -> dict[str, Any]:
        out = {"name": self.name, "status": self.status, "ok": self.ok, "detail": self.detail}
        if self.subject:
            out["subject"] = self.subject
        return out


def passed(name: str, detail: str, subject: str = "") -> Check:
    return Check(name, PASS, detail, subject)


def failed(name: str, detail: str, subject: str = "") -> Check:
    return Check(name, FAIL, detail, subject)


def skipped(name: str, detail: str, subject: str = "") -> Check:
    return Check(name, SKIP, detail, subject)


def pending(name: str, detail: str, subject: str = "") -> Check:
    return Check(name, PENDING, detail, subject)


def verdict(name: str, ok: bool, if_ok: str, if_not: str, subject: str = "") -> Check:
    return passed(name, if_ok, subject) if ok else failed(name, if_not, subject)


@dataclass
class Report:
    """Everything one audit found about one object (a receipt, a channel, a batch, an epoch, the program)."""

    kind: str
    target: str
    checks: list[Check] = field(default_factory=list)
    facts: dict[str, Any] = field(default_factory=dict)  # what was read, for the reader (ids, amounts, slots)

    def add(self, *checks: Check | Iterable[Check]) -> "Report":
        for c in checks:
            if isinstance(c, Check):
                self.checks.append(c)
            else:
                self.checks.extend(c)
        return self

    @property
    def failures(self) -> list[Check]:
        return [c for c in self.checks if c.failed]

    @property
    def pending(self) -> list[Check]:
        return [c for c in self.checks if c.status == PENDING]

    @property
    def verified_something(self) -> bool:
        """At least one property of the audited object itself was verified (the config history alone,
        checked on the way, does not count)."""
        return any(c.status == PASS and not c.name.startswith("config.") for c in self.checks)

    @property
    def ok(self) -> bool:
        """CLEAN: nothing failed, nothing is left unverified, and something was verified."""
        return self.passes(allow_pending=False)

    def passes(self, allow_pending: bool = False) -> bool:
        """Whether the audit succeeds; `allow_pending` (the CLI's --allow-pending) accepts items that are
        not verified yet, never failures, and never a report that verified nothing."""
        return not self.failures and (allow_pending or not self.pending) and self.verified_something

    @property
    def outcome(self) -> str:
        if self.failures:
            return "FAILED"
        if self.pending or not self.verified_something:
            return "NOT VERIFIED"
        return "CLEAN"

    def failed_names(self) -> set[str]:
        return {c.name for c in self.failures}

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "ok": self.ok,
            "outcome": self.outcome,
            "failed": sorted(self.failed_names()),
            "pending": sorted({c.name for c in self.pending}),
            "facts": self.facts,
            "checks": [c.to_json() for c in self.checks],
        }

    def render(self, decimals: int | None = None) -> str:
        """The report as text. With the mint's `decimals`, it says what its amounts are and shows each amount fact
        in tokens beside its base units; the checks' sentences keep the exact base units the chain holds."""
        mark = {PASS: "ok  ", FAIL: "FAIL", SKIP: "skip", PENDING: "NOT VERIFIED"}
        lines = [f"audit {self.kind} {self.target}"]
        shown = decimals is not None and any(k in AMOUNT_FACTS for k in self.facts)
        if shown:
            lines.append(f"  amounts in token base units ({decimals} decimals: 1 token = {10**decimals:,} units)")
        for k, v in self.facts.items():
            tok = f" ({tokens(v, decimals)} tokens)" if shown and k in AMOUNT_FACTS and isinstance(v, int) else ""
            lines.append(f"  {k}: {v}{tok}")
        for c in self.checks:
            where = f" [{c.subject}]" if c.subject else ""
            lines.append(f"  {mark[c.status]} {c.name}{where}: {c.detail}")
        n_fail = len(self.failures)
        n_pass = sum(c.status == PASS for c in self.checks)
        n_skip = sum(c.status == SKIP for c in self.checks)
        n_pending = len(self.pending)
        summary = self.outcome
        if summary == "NOT VERIFIED" and not n_pending:
            summary = "NOTHING VERIFIED"
        lines.append(f"  => {summary}: {n_pass} passed, {n_fail} failed, {n_pending} not verified, "
                     f"{n_skip} skipped")
        return "\n".join(lines)


@dataclass(frozen=True)
class Summary:
    """The verdict over many reports (`audit all`): CLEAN only when every report is clean."""

    outcome: str  # CLEAN | FAILED | NOT VERIFIED
    line: str
    has_failures: bool
    verified_all: bool  # every report verified something and nothing is pending

    def passes(self, allow_pending: bool = False) -> bool:
        return not self.has_failures and (self.verified_all or allow_pending) and self.outcome != "NOTHING"


def all_summary(reports: Sequence[Report]) -> Summary:
    bad = [f"{r.kind} {r.target}" for r in reports if r.failures]
    open_ = [f"{r.kind} {r.target}" for r in reports if not r.failures and not r.ok]
    n = len(reports)
    if not any(r.verified_something for r in reports):
        return Summary("NOTHING", f"== {n} audits: NOTHING VERIFIED", bool(bad), False)
    if bad:
        return Summary("FAILED", f"== {n} audits: FAILED: {', '.join(bad)}", True, False)
    if open_:
        return Summary("NOT VERIFIED", f"== {n} audits: NOT VERIFIED ({len(open_)} with items not verified: "
                                       f"{', '.join(open_[:5])}{' ...' if len(open_) > 5 else ''}); nothing failed",
                       False, False)
    return Summary("CLEAN", f"== {n} audits: all CLEAN", False, True)
