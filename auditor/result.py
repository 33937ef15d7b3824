"""What a verification found: one Check per property, gathered into a Report."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass(frozen=True)
class Check:
    """One property of the audited object.

    name    a stable dotted identifier (e.g. "receipt.signature"); tests and machines key on it
    status  "pass", "fail", or "skip" (could not be checked from the data given; the detail says why)
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
    def ok(self) -> bool:
        """True when nothing failed and at least one property of the audited object itself was verified
        (the config history alone, checked on the way, does not count)."""
        return not self.failures and any(c.status == PASS and not c.name.startswith("config.")
                                         for c in self.checks)

    def failed_names(self) -> set[str]:
        return {c.name for c in self.failures}

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "target": self.target,
            "ok": self.ok,
            "failed": sorted(self.failed_names()),
            "facts": self.facts,
            "checks": [c.to_json() for c in self.checks],
        }

    def render(self) -> str:
        mark = {PASS: "ok  ", FAIL: "FAIL", SKIP: "skip"}
        lines = [f"audit {self.kind} {self.target}"]
        for k, v in self.facts.items():
            lines.append(f"  {k}: {v}")
        for c in self.checks:
            where = f" [{c.subject}]" if c.subject else ""
            lines.append(f"  {mark[c.status]} {c.name}{where}: {c.detail}")
        n_fail = len(self.failures)
        n_pass = sum(c.status == PASS for c in self.checks)
        n_skip = sum(c.status == SKIP for c in self.checks)
        summary = "CLEAN" if self.ok else ("FAILED" if n_fail else "NOTHING VERIFIED")
        lines.append(f"  => {summary}: {n_pass} passed, {n_fail} failed, {n_skip} skipped")
        return "\n".join(lines)
