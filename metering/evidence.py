"""Usage evidence, the meter's side (the encoding is contracts/evidence.py).

At ingest: a request's X-Solmeter-Evidence header carries, per customer in the batch, the provider's
signature over the Merkle root of that customer's events' payload hashes in request order. `request_groups`
checks it (one ed25519 verification per customer per request) before the transaction; the groups are stored
in the request's transaction and every event row names its group (usage_events.evidence_key). A request
without the header is accepted as before (agents older than this), its events carry no evidence, and the
auditor reports the quantities they back as NOT VERIFIED; a header that is present must be complete and
correct, or the whole request is refused (401, field X-Solmeter-Evidence).

At sealing: the payload hashes each seal marks are recorded per channel (meter_seal_evidence); a receipt
covers the seals since its channel's previous receipt, and its detail's `evidence` names their Merkle root.

Serving: `receipt_evidence` gives a receipt's events (bodies), each with its group and its inclusion proof
(sibling hashes only); every group is one customer's, so nothing of another customer is ever in it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from sqlalchemy import select

from contracts.evidence import (H_EVIDENCE, EvidenceError, by_customer, evidence_root, group_key, group_root,
                                inclusion_proof, parse_header, verify_group)

from .auth import AuthError
from .models import EvidenceGroup, ReceiptRow, SealEvidence, UsageEvent

EG, SEV, UE, RR = (EvidenceGroup.__table__, SealEvidence.__table__, UsageEvent.__table__, ReceiptRow.__table__)


@dataclass(frozen=True)
class Group:
    key: int
    provider: str
    customer: str
    root: bytes
    signature: bytes
    hashes: tuple[bytes, ...]


def request_groups(header: str | None, provider: str, events: Sequence[Any]) -> dict[str, Group] | None:
    """The request's evidence groups by customer, None without the header. `events`: ValidEvents in request
    order. Raises AuthError (401) when the header is malformed, misses a customer or names one not in the
    request, or a signature does not verify for that customer's events."""
    if header is None:
        return None
    try:
        sigs = parse_header(header)
    except EvidenceError as e:
        raise AuthError(H_EVIDENCE, str(e)) from None
    per = by_customer([(e.customer, e.payload_hash) for e in events])
    extra = set(sigs) - set(per)
    if extra:
        raise AuthError(H_EVIDENCE, f"names customer {sorted(extra)[0]}, who has no event in this request")
    out: dict[str, Group] = {}
    for customer, hashes in per.items():
        sig = sigs.get(customer)
        if sig is None:
            raise AuthError(H_EVIDENCE, f"no signature for customer {customer}'s {len(hashes)} event(s): "
                                        "every customer of the request needs one")
        root = group_root(hashes)
        if not verify_group(provider, customer, len(hashes), root, sig):
            raise AuthError(H_EVIDENCE, f"the signature for customer {customer} does not verify as the provider's "
                                        f"over the root of its {len(hashes)} event(s) in request order")
        out[customer] = Group(group_key(provider, customer, root), provider, customer, root, sig, tuple(hashes))
    return out


def store_groups(conn, groups: dict[str, Group] | None, now_ms: int) -> None:
    """In the request's transaction. A group already stored (the same events re-sent: ed25519 signatures are
    deterministic) is left as it is."""
    if not groups:
        return
    ph = "?" if conn.dialect.paramstyle == "qmark" else "%s"
    conn.exec_driver_sql(
        "INSERT INTO meter_evidence_groups (key, provider, customer, root, signature, count, hashes, created_ms) "
        f"VALUES ({', '.join([ph] * 8)}) ON CONFLICT (key) DO NOTHING",
        [(g.key, g.provider, g.customer, g.root, g.signature, len(g.hashes), b"".join(g.hashes), now_ms)
         for g in groups.values()])


def record_seal(conn, seal_id: int, channel: tuple[str, str], events: Sequence[tuple[bytes, int]]) -> None:
    """The (payload hash, usage_events.id) of the events a seal marked for one channel (inside that channel's
    savepoint: a channel held back takes its record with it)."""
    evs = sorted((bytes(h), int(i)) for h, i in events)
    conn.execute(SEV.insert().values(customer=channel[0], provider=channel[1], seal_id=seal_id, count=len(evs),
                                     hashes=b"".join(h for h, _ in evs),
                                     event_ids=b"".join(i.to_bytes(8, "little") for _, i in evs)))


def _split(blob: bytes) -> list[bytes]:
    return [bytes(blob[i:i + 32]) for i in range(0, len(blob), 32)]


def covered(conn, customer: str, provider: str, after_seal: int, through_seal: int) -> list[tuple[bytes, int]]:
    """(payload hash, usage_events.id) of the events of the channel's seals in (after_seal, through_seal]."""
    out: list[tuple[bytes, int]] = []
    for blob, ids in conn.execute(select(SEV.c.hashes, SEV.c.event_ids).where(
            SEV.c.customer == customer, SEV.c.provider == provider, SEV.c.seal_id > after_seal,
            SEV.c.seal_id <= through_seal).order_by(SEV.c.seal_id)):
        ids = bytes(ids)
        out += zip(_split(bytes(blob)), (int.from_bytes(ids[i:i + 8], "little") for i in range(0, len(ids), 8)))
    return out


def detail_evidence(conn, customer: str, provider: str, prev_seal: int, seal_id: int, *,
                    heartbeat_timeout_ms: int, sample_timeout_ms: int) -> dict[str, Any]:
    """The `evidence` of a receipt's detail: root and count of the events it newly covers, and the rollup's
    timeouts the quantities follow from."""
    hs = [h for h, _ in covered(conn, customer, provider, prev_seal, seal_id)]
    return {"root": evidence_root(hs).hex(), "events": len(hs), "heartbeat_timeout_ms": heartbeat_timeout_ms,
            "sample_timeout_ms": sample_timeout_ms}


def receipt_evidence(conn, receipt_id: bytes) -> dict[str, Any] | None:
    """What the meter serves for one receipt (GET /v1/receipts/{id}/evidence), None for an unknown receipt:
    the events it newly covers (as stored), each with the group that carried it and its inclusion proof,
    and those groups (provider, customer, root, count, signature)."""
    r = conn.execute(select(RR.c.customer, RR.c.provider, RR.c.seq, RR.c.seal_id)
                     .where(RR.c.receipt_id == receipt_id)).first()
    if r is None:
        return None
    prev = conn.execute(select(RR.c.seal_id).where(RR.c.customer == r.customer, RR.c.provider == r.provider,
                                                   RR.c.seq == r.seq - 1)).scalar()
    cov = covered(conn, r.customer, r.provider, prev or 0, r.seal_id)
    hashes = [h for h, _ in cov]
    events: list[dict[str, Any]] = []
    groups: dict[int, Any] = {}
    wanted = set(hashes)
    rows: dict[bytes, tuple[str, int | None]] = {}
    ids = [i for _, i in cov]
    for k in range(0, len(ids), 500):
        for h, body, ek, c, p in conn.execute(select(UE.c.payload_hash, UE.c.body, UE.c.evidence_key, UE.c.customer,
                                                     UE.c.provider).where(UE.c.id.in_(ids[k:k + 500]))):
            if bytes(h) in wanted and (c, p) == (r.customer, r.provider):
                rows[bytes(h)] = (body, ek)
    keys = sorted({ek for _, ek in rows.values() if ek is not None})
    for k in range(0, len(keys), 500):
        for g in conn.execute(select(EG).where(EG.c.key.in_(keys[k:k + 500]))):
            groups[g.key] = g
    for h in sorted(hashes):
        if h not in rows:
            events.append({"payload_hash": h.hex(), "body": None, "group": None})  # its partition was dropped
            continue
        body, ek = rows[h]
        g = groups.get(ek) if ek is not None else None
        ev: dict[str, Any] = {"payload_hash": h.hex(), "body": body, "group": None}
        if g is not None and g.customer == r.customer and g.provider == r.provider:
            leaves = _split(bytes(g.hashes))
            if h in leaves:
                i = leaves.index(h)
                ev["group"] = str(g.key)
                ev["index"] = i
                ev["proof"] = [p.hex() for p in inclusion_proof(leaves, i)]
        events.append(ev)
    used = {int(e["group"]) for e in events if e["group"] is not None}
    return {
        "receipt_id": receipt_id.hex(), "customer": r.customer, "provider": r.provider, "seq": r.seq,
        "events": events,
        "groups": [{"key": str(k), "provider": groups[k].provider, "customer": groups[k].customer,
                    "root": bytes(groups[k].root).hex(), "count": groups[k].count,
                    "signature": bytes(groups[k].signature).hex()} for k in sorted(used)],
    }

