"""Usage evidence: the provider-signed events a receipt bills, in one encoding shared by the agents (which sign),
the meter (which verifies at ingest, keeps and serves) and the auditor (which verifies and recomputes). Pure.

Evidence group (per customer, per ingest request). A provider's request may mix customers; for each customer in
it the provider signs the Merkle root (contracts/merkle.py rules) of that customer's events' payload hashes in
request order (payload hash = sha256 of the event's canonical JSON, what the meter stores as `body`):

    message = "SOLMETER-EVID-V1" || provider (32) || customer (32) || count (u32 LE) || root (32)
    header  X-Solmeter-Evidence: <customer base58>=<base58 ed25519 signature>[;<customer>=<signature>...]

so a customer can be shown its own events and the provider's signature over them, with the sibling hashes that
connect them to the signed root, never another customer's events.

Receipt evidence root. Each receipt's detail names the events it newly covers (those sealed since the channel's
previous receipt): `detail.evidence = {"root": hex, "events": n, "heartbeat_timeout_ms": .., "sample_timeout_ms":
..}`, root = the Merkle root over those events' payload hashes sorted bytewise (32 zero bytes for none). The
receipt's detail_hash, which the meter signs, binds it. Receipt seq N's cumulative quantities are the pure rollup
(contracts/rollup.py) of the events of receipts 1..N through its period end.

Consent. A customer lets an auditor read its evidence by signing

    message = "SOLMETER-CONSENT-V1" || customer (32) || auditor (32) || expiry_ms (u64 LE)
    header  X-Solmeter-Consent: <customer base58>:<expiry_ms>:<base58 signature>

which the auditor sends beside its own signed read."""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timezone
from typing import Mapping, NamedTuple, Sequence

from solders.pubkey import Pubkey
from solders.signature import Signature

from .kinds import KIND_OF_TYPE, Kind
from .merkle import MerkleTree, merkle_root, verify_proof

GROUP_TAG = b"SOLMETER-EVID-V1"
CONSENT_TAG = b"SOLMETER-CONSENT-V1"
H_EVIDENCE = "X-Solmeter-Evidence"
H_CONSENT = "X-Solmeter-Consent"
EMPTY_ROOT = bytes(32)
MAX_GROUP = 0xFFFF_FFFF


class EvidenceError(ValueError):
    """Malformed evidence (a header, a group, an event body); the message names what is wrong."""


def _key(b58: str, what: str) -> bytes:
    try:
        return bytes(Pubkey.from_string(b58))
    except ValueError:
        raise EvidenceError(f"{what}: {b58!r} is not a base58 public key") from None


def group_root(payload_hashes: Sequence[bytes]) -> bytes:
    """The signed root of one group: the Merkle root over its payload hashes in request order."""
    return merkle_root(list(payload_hashes))


def group_message(provider: str, customer: str, count: int, root: bytes) -> bytes:
    if not 0 < count <= MAX_GROUP:
        raise EvidenceError(f"evidence group of {count} events (1..{MAX_GROUP})")
    if len(root) != 32:
        raise EvidenceError("evidence root must be 32 bytes")
    return GROUP_TAG + _key(provider, "provider") + _key(customer, "customer") + count.to_bytes(4, "little") + root


def verify_group(provider: str, customer: str, count: int, root: bytes, signature: bytes) -> bool:
    """Does `signature` (64 bytes) verify as the provider's over this group?"""
    try:
        msg = group_message(provider, customer, count, root)
        sig = Signature.from_bytes(bytes(signature))
    except (EvidenceError, ValueError):
        return False
    return bool(sig.verify(Pubkey.from_string(provider), msg))


def group_key(provider: str, customer: str, root: bytes) -> int:
    """A signed 64-bit id of a group (what an event row stores to name its group)."""
    h = hashlib.sha256(b"evidence-group" + _key(provider, "provider") + _key(customer, "customer") + root).digest()
    return int.from_bytes(h[:8], "little", signed=True)


def by_customer(events: Sequence[tuple[str, bytes]]) -> dict[str, list[bytes]]:
    """(customer, payload hash) of a request's events, in order -> each customer's payload hashes in order."""
    out: dict[str, list[bytes]] = {}
    for customer, h in events:
        out.setdefault(customer, []).append(h)
    return out


def encode_header(signatures: Mapping[str, bytes]) -> str:
    """X-Solmeter-Evidence's value: customer=signature pairs (signatures as base58)."""
    return ";".join(f"{c}={Signature.from_bytes(s)}" for c, s in sorted(signatures.items()))


def parse_header(value: str) -> dict[str, bytes]:
    """X-Solmeter-Evidence -> {customer: 64-byte signature}; EvidenceError names what is malformed."""
    out: dict[str, bytes] = {}
    for part in value.split(";"):
        c, sep, s = part.strip().partition("=")
        if not sep:
            raise EvidenceError(f"{H_EVIDENCE}: {part[:60]!r} is not customer=signature")
        _key(c, H_EVIDENCE)
        try:
            sig = bytes(Signature.from_string(s))
        except ValueError:
            raise EvidenceError(f"{H_EVIDENCE}: the signature for {c} is not a base58 ed25519 signature") from None
        if c in out:
            raise EvidenceError(f"{H_EVIDENCE}: customer {c} appears twice")
        out[c] = sig
    return out


def inclusion_proof(payload_hashes: Sequence[bytes], index: int) -> list[bytes]:
    return MerkleTree(list(payload_hashes)).proof(index)


def verify_inclusion(payload_hash: bytes, proof: Sequence[bytes], root: bytes) -> bool:
    return verify_proof(payload_hash, proof, root)


def evidence_root(payload_hashes: Sequence[bytes]) -> bytes:
    """A receipt's evidence root: the Merkle root over the payload hashes it newly covers, sorted bytewise."""
    hs = sorted(bytes(h) for h in payload_hashes)
    return merkle_root(hs) if hs else EMPTY_ROOT


def consent_message(customer: str, auditor: str, expiry_ms: int) -> bytes:
    if not 0 <= expiry_ms < 1 << 64:
        raise EvidenceError("consent expiry out of range")
    return CONSENT_TAG + _key(customer, "customer") + _key(auditor, "auditor") + expiry_ms.to_bytes(8, "little")


class Consent(NamedTuple):
    customer: str
    expiry_ms: int
    signature: bytes


def encode_consent(customer: str, expiry_ms: int, signature: bytes) -> str:
    return f"{customer}:{expiry_ms}:{Signature.from_bytes(signature)}"


def parse_consent(value: str) -> Consent:
    parts = value.split(":")
    if len(parts) != 3 or not parts[1].isascii() or not parts[1].isdigit() or len(parts[1]) > 20:
        raise EvidenceError(f"{H_CONSENT}: must be customer:expiry_ms:signature")
    _key(parts[0], H_CONSENT)
    try:
        sig = bytes(Signature.from_string(parts[2]))
    except ValueError:
        raise EvidenceError(f"{H_CONSENT}: not a base58 ed25519 signature") from None
    return Consent(parts[0], int(parts[1]), sig)


def verify_consent(c: Consent, auditor: str, now_ms: int) -> str | None:
    """None when `c` is the customer's consent for `auditor`, unexpired; else why not."""
    if c.expiry_ms <= now_ms:
        return f"the consent expired at {c.expiry_ms} ms"
    try:
        ok = Signature.from_bytes(c.signature).verify(Pubkey.from_string(c.customer),
                                                       consent_message(c.customer, auditor, c.expiry_ms))
    except (EvidenceError, ValueError):
        ok = False
    return None if ok else f"the consent does not verify as {c.customer}'s for reader {auditor}"


# (customer, provider, kind, resource, rclass, value, t_ms, event_id): contracts.rollup.Row
EventRow = tuple[str, str, int, str, str, int, int, str]
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


def _t_ms(s: str) -> int:
    t = datetime.fromisoformat(s)
    if t.tzinfo is None:
        raise EvidenceError("event time has no offset")
    d = t - _EPOCH  # exact integer arithmetic; sub-millisecond parts truncate (the meter's rule)
    return (d.days * 86_400 + d.seconds) * 1000 + d.microseconds // 1000


def event_row(body: str) -> EventRow:
    """The rollup's row of an event as the meter stored it (its canonical JSON `body`)."""
    try:
        e = json.loads(body)
        d, typ = e["data"], e["type"]
        kind = KIND_OF_TYPE.get(typ) if isinstance(typ, str) else None
        if kind == Kind.GPU_HEARTBEAT:
            res, cls, val = d["lease_id"], d["gpu_class"], d["gpu_count"]
        elif kind == Kind.GPU_STOP:
            res, cls, val = d["lease_id"], "", 0
        elif kind == Kind.STORAGE_SAMPLE:
            res, cls, val = d["bucket"], d["storage_class"], d["bytes"]
        elif kind == Kind.EGRESS:
            res, cls, val = d["resource"], d["egress_class"], d["bytes"]
        else:
            raise EvidenceError(f"unknown event type {typ!r}")
        if not isinstance(val, int) or isinstance(val, bool) or val < 0:
            raise EvidenceError("event value is not a non-negative integer")
        return (str(e["subject"]), str(d["provider"]), int(kind), str(res), str(cls), val, _t_ms(e["time"]), str(e["id"]))
    except EvidenceError:
        raise
    except (ValueError, KeyError, TypeError) as ex:
        raise EvidenceError(f"event body is not a usage event ({type(ex).__name__}: {ex})") from None


def payload_hash(body: str) -> bytes:
    return hashlib.sha256(body.encode()).digest()
