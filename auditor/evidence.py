"""Quantities recomputed from the provider-signed usage events (issue 15). Pure: documents in, Checks out.

For each receipt of a channel, from seq 1 on, with its served detail (bound by detail_hash) and its served
evidence (GET /v1/receipts/{id}/evidence, contracts/evidence.py):

- evidence.signature  every event was carried by an evidence group of THIS channel's provider and customer,
                      whose ed25519 signature verifies over (provider, customer, count, root);
- evidence.inclusion  every event's payload hash (sha256 of the body served) is in its group's signed root
                      (the sibling hashes served), and the event is of this channel;
- evidence.root       the Merkle root over the served events' payload hashes (sorted) and their count are the
                      detail's `evidence` (which the meter signed through detail_hash);
- evidence.quantities the receipt's cumulative quantities, line by line, are the pure rollup
                      (contracts/rollup.py: the meter's one implementation, imported) of the events of
                      receipts 1..N through its period end.

What cannot be checked (a detail or evidence not served, events sent without evidence, a receipt issued before
evidence was kept, an event body pruned by retention) is NOT VERIFIED (pending), never passed: the receipt's
quantities, and those of every later receipt of the channel (cumulative), are then not verified."""
from __future__ import annotations

from typing import Any, Mapping, Sequence

from contracts.evidence import EvidenceError, event_row, evidence_root, payload_hash, verify_group, verify_inclusion
from contracts.receipt import Receipt
from contracts.rollup import EGRESS, GPU_HEARTBEAT, STORAGE_SAMPLE, rollup_channels

from .leases import detail_matches
from .result import Check, failed, passed, pending

FAMILY_NAME = {GPU_HEARTBEAT: "gpu", STORAGE_SAMPLE: "storage", EGRESS: "egress"}
NAMES = ("evidence.signature", "evidence.inclusion", "evidence.root", "evidence.quantities")


def _hex(s: Any, n: int) -> bytes | None:
    try:
        b = bytes.fromhex(s)
    except (TypeError, ValueError):
        return None
    return b if len(b) == n else None


def _one(receipt: Receipt, detail: Mapping, doc: Mapping, subject: str) -> tuple[list[Check], list | None]:
    """Checks of one receipt's served evidence, and its events' rollup rows (None if not all verifiable)."""
    out: list[Check] = []
    c, p = str(receipt.customer), str(receipt.provider)
    groups = {str(g.get("key")): g for g in doc.get("groups") or [] if isinstance(g, Mapping)}
    bad_sig: list[str] = []
    bad_inc: list[str] = []
    unverifiable: list[str] = []
    rows: list = []
    hashes: list[bytes] = []
    good_groups: dict[str, bool] = {}
    for i, ev in enumerate(doc.get("events") or []):
        body = ev.get("body") if isinstance(ev, Mapping) else None
        if not isinstance(body, str):
            unverifiable.append(f"event {i}: its body is not served (pruned by retention?)")
            continue
        h = payload_hash(body)
        hashes.append(h)
        try:
            row = event_row(body)
        except EvidenceError as e:
            bad_inc.append(f"event {i}: {e}")
            continue
        if (row[0], row[1]) != (c, p):
            bad_inc.append(f"event {row[7]} is of customer {row[0]} / provider {row[1]}, not this channel")
            continue
        g = groups.get(str(ev.get("group")))
        if g is None:
            unverifiable.append(f"event {row[7]} came without a provider-signed evidence group")
            continue
        key = str(ev.get("group"))
        if key not in good_groups:
            root, sig = _hex(g.get("root"), 32), _hex(g.get("signature"), 64)
            cnt = g.get("count")
            good_groups[key] = bool(
                root is not None and sig is not None and isinstance(cnt, int)
                and (g.get("provider"), g.get("customer")) == (p, c) and verify_group(p, c, cnt, root, sig))
        if not good_groups[key]:
            bad_sig.append(f"event {row[7]}: its group {key} is not signed by provider {p} for customer {c}")
            continue
        proof = [_hex(x, 32) for x in ev.get("proof") or []]
        if any(x is None for x in proof) or not verify_inclusion(h, proof, bytes.fromhex(g["root"])):  # type: ignore[arg-type]
            bad_inc.append(f"event {row[7]}: its body is not in the provider-signed root of group {key} (altered?)")
            continue
        rows.append(row)
    n = len(doc.get("events") or [])
    out.append(failed("evidence.signature", "; ".join(bad_sig[:3]), subject) if bad_sig else
               pending("evidence.signature", "; ".join(unverifiable[:2]), subject) if unverifiable else
               passed("evidence.signature", f"the groups of all {n} event(s) are signed by the channel's provider "
                                            "for its customer", subject))
    out.append(failed("evidence.inclusion", "; ".join(bad_inc[:3]), subject) if bad_inc else
               passed("evidence.inclusion", "every event is in its group's signed root, and of this channel",
                      subject))
    ev_doc = detail["evidence"]
    want_root, want_n = _hex(ev_doc.get("root"), 32), ev_doc.get("events")
    got = evidence_root(hashes)
    if len(hashes) != n:
        out.append(pending("evidence.root", "; ".join(unverifiable[:2]), subject))
    elif got != want_root or n != want_n:
        out.append(failed("evidence.root", f"the {n} event(s) served hash to the evidence root {got.hex()[:16]}…; the "
                                           f"signed detail names {want_n} event(s) with root "
                                           f"{str(ev_doc.get('root'))[:16]}…", subject))
    else:
        out.append(passed("evidence.root", f"the {n} event(s) served are the ones the signed detail names", subject))
    ok = not bad_sig and not bad_inc and not unverifiable and got == want_root and n == want_n
    return out, rows if ok else None


def check_channel_evidence(receipts: Sequence[Receipt], details: Sequence[Mapping | None],
                           evidence: Sequence[Mapping | None]) -> list[Check]:
    """The evidence checks of one channel's receipts (in seq order, from seq 1, with their served details and
    evidence documents, None where not served)."""
    out: list[Check] = []
    order = sorted(range(len(receipts)), key=lambda k: receipts[k].seq)
    rows: list | None = []
    expected_seq = 1
    for k in order:
        r, d, doc = receipts[k], details[k], evidence[k]
        subject = f"seq {r.seq}"
        if r.seq != expected_seq:
            rows = None  # a gap: the events of the missing receipts are not known
        expected_seq = r.seq + 1
        if d is None or not detail_matches(r, d):
            out.append(pending("evidence.quantities", "the receipt's signed detail was not served", subject))
            rows = None
            continue
        if not isinstance(d.get("evidence"), Mapping):
            out.append(pending("evidence.quantities", "the receipt's detail names no evidence (issued before the "
                                                      "meter kept provider-signed events)", subject))
            rows = None
            continue
        if doc is None:
            out.append(pending("evidence.quantities", "the receipt's evidence was not served (sign as the customer "
                                                      "with -k, or send its consent)", subject))
            rows = None
            continue
        checks, mine = _one(r, d, doc, subject)
        out += checks
        if rows is None or mine is None:
            if not any(c.failed for c in checks):
                out.append(pending("evidence.quantities", "the events of this or an earlier receipt of the channel "
                                                          "are not all verifiable", subject))
            rows = None
            continue
        rows = rows + mine
        out.append(_quantities(r, d, rows, subject))
    return out


def _quantities(r: Receipt, d: Mapping, rows: list, subject: str) -> Check:
    ev = d["evidence"]
    hb, st = ev.get("heartbeat_timeout_ms"), ev.get("sample_timeout_ms")
    if not isinstance(hb, int) or not isinstance(st, int):
        return failed("evidence.quantities", "the detail's evidence names no rollup timeouts", subject)
    usage = rollup_channels(rows, r.period_end * 1000, heartbeat_timeout_ms=hb, sample_timeout_ms=st)
    ch = usage.get((str(r.customer), str(r.provider)))
    want: dict[tuple[str, str], int] = {}
    for (fam, cls), q in (ch.quantities.items() if ch is not None else ()):
        name = FAMILY_NAME[fam]
        want[(name, cls)] = want.get((name, cls), 0) + q
    want = {k: (v // 1000 if k[0] == "storage" else v) for k, v in want.items()}  # byte-ms -> whole byte-seconds
    billed = {(str(ln.get("family")), str(ln.get("rclass"))): int(ln.get("cumulative") or 0)
              for ln in d.get("lines") or []}
    bad = [f"{f}/{c}: billed {billed.get((f, c), 0)}, the signed events give {want.get((f, c), 0)}"
           for f, c in sorted(set(billed) | set(want)) if billed.get((f, c), 0) != want.get((f, c), 0)]
    if bad:
        return failed("evidence.quantities", "cumulative quantities do not follow from the provider-signed events: "
                                             + "; ".join(bad[:3]), subject)
    return passed("evidence.quantities", f"cumulative quantities recomputed from {len(rows)} provider-signed "
                                         "event(s) with the meter's rollup", subject)
