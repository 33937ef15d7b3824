"""The public auditor view: `solmeter audit all`'s verdicts (every channel, batch, customer, provider and
epoch of the program, and the deployed program against the committed binary), each item linked to its
account on the chain, and the one-receipt verification behind the customer view's "verify" button.

The checks are the auditor package's own (chain as the only authority, the meter's receipts verified as
claims). An audit of everything reads the chain's history, so its result is kept until someone asks for a
new run."""
from __future__ import annotations

import threading
import time

from solders.pubkey import Pubkey

from auditor.api import MeterApi
from auditor.audits import ChainFacts, audit_all, audit_receipt
from auditor.chain import ChainReader
from auditor.receipt_file import parse_signed_receipt
from contracts import PROGRAM_SO

RERUN_MS = 30_000


def _address(program, kind: str, target: str) -> Pubkey | None:
    if kind == "channel":
        c, p = target.split(" -> ")
        return program.channel_address(Pubkey.from_string(c), Pubkey.from_string(p))
    if kind == "batch":
        return program.batch_address(int(target))
    if kind == "epoch":
        return program.epoch_address(int(target))
    if kind == "customer":
        return program.customer_address(Pubkey.from_string(target))
    if kind == "provider":
        return program.provider_address(Pubkey.from_string(target))
    if kind == "program":
        return Pubkey.from_string(target)
    return None


def report_json(ctx, rep) -> dict:
    out = rep.to_json()
    addr = _address(ctx.deployment.program, rep.kind, rep.target)
    out["address"] = str(addr) if addr is not None else None
    out["link"] = ctx.explorer("address", addr) if addr is not None else None
    return out


class AuditRuns:
    """The latest audit of everything, run on demand (one at a time)."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._lock = threading.Lock()
        self.latest: dict | None = None

    def facts(self) -> ChainFacts:
        return ChainFacts(ChainReader.connect(self.ctx.chain.url, Pubkey.from_string(self.ctx.deployment.program_id)))

    def run(self) -> dict:
        with self._lock:
            t0 = time.monotonic()
            api = MeterApi(self.ctx.api_url)
            try:
                reports = audit_all(self.facts(), api=api, committed=PROGRAM_SO)
            finally:
                api.close()
            self.latest = {"ran_ms": self.ctx.clock(), "seconds": round(time.monotonic() - t0, 2),
                           "ok": bool(reports) and all(r.ok for r in reports),
                           "reports": [report_json(self.ctx, r) for r in reports],
                           "rebuild_command": "solmeter contracts build --check",
                           "program_so": PROGRAM_SO.name}
            return self.latest

    def get(self) -> dict:
        return self.latest if self.latest is not None else self.run()

    def rerun(self) -> dict:
        """A new audit, unless the latest is younger than RERUN_MS: anyone may ask (the view is public),
        so asking often costs the chain one audit per interval, not one per request."""
        latest = self.latest
        if latest is not None and self.ctx.clock() - latest["ran_ms"] < RERUN_MS:
            return latest
        return self.run()

    def verify_receipt(self, receipt_doc: dict) -> dict:
        """The receipt as the meter serves it, verified like any claim: signature, registered meter key,
        Merkle proof against the on-chain batch, hash chain and settlement."""
        rep = audit_receipt(self.facts(), parse_signed_receipt(receipt_doc))
        out = rep.to_json()
        sig = (receipt_doc.get("batch") or {}).get("posted_signature")
        out["batch_link"] = self.ctx.explorer("tx", sig) if sig else None
        return out
