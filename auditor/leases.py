"""Consent checks from public data: every receipt line bills usage under a lease its customer signed.

Inputs are what the meter serves publicly: a receipt's detail (its sha256 must be the receipt's
detail_hash, so the meter cannot change it after signing) and, for each lease a line names, the signed
lease and its revocation (GET /v1/leases/{id}). Lease bytes and signatures are checked with
contracts/lease.py only. Pure: facts in, Checks out."""
from __future__ import annotations

import base64
import hashlib
import json
from dataclasses import dataclass
from typing import Mapping, Sequence

from solders.signature import Signature

from contracts.lease import KIND_GPU, KIND_STORAGE, Lease, LeaseError, verify_lease, verify_revocation
from contracts.receipt import Receipt

from .result import Check, failed, passed, pending, skipped

FAMILY_KINDS = {"gpu": (KIND_GPU,), "storage": (KIND_STORAGE,), "egress": (KIND_GPU, KIND_STORAGE)}


@dataclass(frozen=True)
class LeaseDoc:
    """A lease as served: the customer-signed bytes and, if revoked, the customer-signed revocation."""

    encoding: bytes
    signature: bytes
    revocation: bytes | None = None
    revocation_signature: bytes | None = None

    @classmethod
    def from_api(cls, doc: Mapping) -> "LeaseDoc":
        rev = doc.get("revocation_base64")
        return cls(base64.b64decode(doc["encoding_base64"]), bytes(Signature.from_string(doc["signature"])),
                   base64.b64decode(rev) if rev else None,
                   bytes(Signature.from_string(doc["revocation_signature"])) if rev else None)


@dataclass(frozen=True)
class Consent:
    """The public consent evidence of some receipts: their details by receipt id, the leases they name."""

    details: Mapping[bytes, Mapping]
    leases: Mapping[str, LeaseDoc | None]


def detail_matches(receipt: Receipt, detail: Mapping) -> bool:
    # the meter's canonical JSON (PROTOCOL.md, "Receipt detail"): sorted keys, no spaces, ASCII
    canon = json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return hashlib.sha256(canon.encode()).digest() == bytes(receipt.detail_hash)


def lease_ids(detail: Mapping) -> set[str]:
    return {lid for ln in detail.get("lines") or [] for lid in ln.get("leases") or []}


def _valid(lid: str, doc: LeaseDoc | None) -> tuple[Lease | None, int | None, str]:
    """(lease, end of billing ms, why not) for a served lease: signature, revocation."""
    if doc is None:
        return None, None, f"lease {lid} is not served by the meter"
    try:
        lease = verify_lease(doc.encoding, doc.signature)
    except LeaseError as e:
        return None, None, f"lease {lid}: {e}"
    if lease.lease_id != lid:
        return None, None, f"the document served as lease {lid} is lease {lease.lease_id}"
    end = lease.expiry_ms
    if doc.revocation is not None:
        try:
            rev = verify_revocation(doc.revocation, doc.revocation_signature or b"", lease)
        except LeaseError as e:
            return None, None, f"lease {lid}'s revocation: {e}"
        end = min(end, rev.revoked_at_ms)
    return lease, end, ""


def check_receipt_leases(receipt: Receipt, detail: Mapping | None, leases: Mapping[str, LeaseDoc | None]) -> list[Check]:
    """lease.detail: the detail is the signed one; lease.lines: every line billing new usage names leases,
    each signed by this receipt's customer for this provider and program, of the line's kind, started
    before the period ended and (for on-time usage) not ended, by expiry or revocation, before it began."""
    if detail is None:
        return [pending("lease.lines", "no receipt detail supplied: the leases of its lines are not verified")]
    if not detail_matches(receipt, detail):
        return [failed("lease.detail", "the served detail does not hash to the receipt's detail_hash: the lines' "
                                       "leases cannot be trusted")]
    out = [passed("lease.detail", "the served detail is the one the meter signed (detail_hash)")]
    p_start, p_end = receipt.period_start * 1000, receipt.period_end * 1000
    bad: list[str] = []
    n = 0
    for ln in detail.get("lines") or []:
        on_time, late = int(ln.get("quantity") or 0), int(ln.get("adjustment") or 0)
        if not on_time and not late:
            continue
        what = f"line {ln.get('family')}/{ln.get('rclass')}"
        ids = ln.get("leases") or []
        if not ids:
            bad.append(f"{what} bills {on_time + late} units under no lease")
            continue
        for lid in ids:
            n += 1
            lease, end, why = _valid(lid, leases.get(lid))
            if lease is None:
                bad.append(f"{what}: {why}")
            elif (lease.customer, lease.provider) != (receipt.customer, receipt.provider):
                bad.append(f"{what}: lease {lid} is between {lease.customer} and {lease.provider}, not this channel")
            elif lease.program_id != receipt.program_id:
                bad.append(f"{what}: lease {lid} is for program {lease.program_id}")
            elif lease.kind not in FAMILY_KINDS.get(ln.get("family"), ()):
                bad.append(f"{what}: lease {lid} does not rent {ln.get('family')}")
            elif lease.start_ms >= p_end:
                bad.append(f"{what}: lease {lid} starts at {lease.start_ms} ms, after the period ends")
            elif on_time and end <= p_start:
                bad.append(f"{what}: lease {lid} ended (expiry or revocation) at {end} ms, before the period "
                           f"starting {p_start} ms")
    if bad:
        out.append(failed("lease.lines", "; ".join(bad[:3]) + (f" (and {len(bad) - 3} more)" if len(bad) > 3 else "")))
    else:
        out.append(passed("lease.lines", f"every line billing usage is under a valid customer-signed lease "
                                         f"({n} lease reference(s))"))
    return out


def check_channel_cap(receipts: Sequence[Receipt], details: Sequence[Mapping | None],
                      leases: Mapping[str, LeaseDoc | None]) -> Check:
    """lease.cap: what the channel's receipts bill in all never exceeds the caps of the leases they name."""
    if not receipts:
        return skipped("lease.cap", "no receipts")
    if any(d is None for d in details):
        return pending("lease.cap", "some receipt details were not supplied: the caps are not verified")
    ids = set().union(*(lease_ids(d) for d in details))
    caps = 0
    for lid in ids:
        lease, _, why = _valid(lid, leases.get(lid))
        if lease is None:
            return failed("lease.cap", why)
        caps += lease.cap
    latest = max(receipts, key=lambda r: r.seq)
    if latest.cum_amount > caps:
        return failed("lease.cap", f"the channel's cumulative amount {latest.cum_amount} exceeds the caps of its "
                                   f"leases ({caps}: {', '.join(sorted(ids)) or 'none'})")
    return passed("lease.cap", f"cumulative amount {latest.cum_amount} is within the caps of its leases ({caps})")
