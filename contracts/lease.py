"""The customer-signed lease and its revocation: the single Python implementation of their encoding.

A lease is the customer's consent to be billed: it names the provider, what is rented, the price book
version, a spending cap, a start and an expiry. The customer signs its canonical bytes with its wallet key
(plain ed25519 over the bytes, what a Solana wallet's signMessage does); the meter bills only usage under a
lease whose signature verifies, and serves the signed lease publicly so that an auditor can check it.
PROTOCOL.md ("Leases") is the normative description.

Lease encoding (little-endian, variable length):

    len  field
     16  tag                b"SOLMETER-LEAS-V1"
     32  program_id         the deployment the lease is for (a lease never carries over to another one)
      1  lease_id length n  1..95
      n  lease_id           ASCII, [A-Za-z0-9][A-Za-z0-9._@+/-]* (no ':': events name it as their resource,
                            a storage sample as LEASE or LEASE:CLASS)
     32  customer           wallet pubkey, the signer
     32  provider           wallet pubkey, the only provider that may report usage under it
      8  price_book_version u64
      8  cap                u64, token base units: the most that may ever be billed under the lease
      8  start_ms           i64 unix milliseconds, inclusive
      8  expiry_ms          i64 unix milliseconds, exclusive (> start_ms)
     16  nonce              random: two leases with the same fields still differ
      1  kind               1 = GPU, 2 = storage
    GPU (kind 1):
      1  gpu_class length m, m bytes gpu_class (CLASS pattern)
      4  gpu_count          u32, 1..4096: at most this many GPUs at a time
    storage (kind 2):
      2  bucket length b (u16, 1..256), b bytes bucket (UTF-8: bucket, bucket/prefix or s3://bucket/prefix)
      1  class count k      1..16, classes in ascending byte order, each unique
      k x (1 class length, class bytes, 8 max_bytes u64): at most this many bytes stored in that class

lease_hash = sha256(encoding); the customer's ed25519 signature is over the whole encoding.

Revocation encoding (fixed, 120 bytes):

     16  tag                b"SOLMETER-LREV-V1"
     32  program_id
     32  lease_hash         the one lease it revokes (a revocation cannot be replayed onto another lease)
     32  customer           must be the lease's customer, the signer
      8  revoked_at_ms      i64: usage at or after this instant is not billed
"""
from __future__ import annotations

import hashlib
import re
import struct
from dataclasses import dataclass, field
from typing import Mapping

from solders.pubkey import Pubkey
from solders.signature import Signature

LEASE_TAG = b"SOLMETER-LEAS-V1"
REVOCATION_TAG = b"SOLMETER-LREV-V1"
KIND_GPU, KIND_STORAGE = 1, 2
KIND_NAMES = {KIND_GPU: "gpu", KIND_STORAGE: "storage"}
U64_MAX = (1 << 64) - 1
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
MAX_GPU_COUNT = 4096
MAX_CLASSES = 16
LEASE_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._@+/-]{0,94}$"  # an event resource without ":CLASS" (128 - 33)
CLASS_PATTERN = r"^[A-Z0-9][A-Z0-9_.-]{0,31}$"
REVOCATION_LEN = 120

_LEASE_ID = re.compile(LEASE_ID_PATTERN)
_CLASS = re.compile(CLASS_PATTERN)
_MID = struct.Struct("<32s32sQQqq16sB")  # customer .. kind
_REV = struct.Struct("<16s32s32s32sq")
assert _REV.size == REVOCATION_LEN


class LeaseError(ValueError):
    """A lease or revocation field is out of range, the bytes are not one, or a signature does not verify."""


def _pk(v, name: str) -> Pubkey:
    if isinstance(v, Pubkey):
        return v
    try:
        pk = Pubkey.from_string(v)
    except (ValueError, TypeError):
        raise LeaseError(f"{name} is not a base58 Solana public key: {v!r}") from None
    if str(pk) != v:
        raise LeaseError(f"{name} is not a base58 Solana public key: {v!r}")
    return pk


def _class(v, name: str) -> str:
    if not isinstance(v, str) or not _CLASS.match(v):
        raise LeaseError(f"{name} must match {CLASS_PATTERN}, got {v!r}")
    return v


def _u64(v, name: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v <= U64_MAX:
        raise LeaseError(f"{name} must be an integer in 0..2^64-1, got {v!r}")
    return v


def _i64(v, name: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not I64_MIN <= v <= I64_MAX:
        raise LeaseError(f"{name} must be an i64, got {v!r}")
    return v


@dataclass(frozen=True)
class GpuResource:
    gpu_class: str
    gpu_count: int

    def validate(self) -> None:
        _class(self.gpu_class, "gpu_class")
        if not isinstance(self.gpu_count, int) or isinstance(self.gpu_count, bool) \
                or not 1 <= self.gpu_count <= MAX_GPU_COUNT:
            raise LeaseError(f"gpu_count must be an integer in 1..{MAX_GPU_COUNT}, got {self.gpu_count!r}")

    def to_dict(self) -> dict:
        return {"kind": "gpu", "gpu_class": self.gpu_class, "gpu_count": self.gpu_count}


@dataclass(frozen=True)
class StorageResource:
    bucket: str
    classes: Mapping[str, int] = field(default_factory=dict)  # storage class -> max bytes stored in it

    def validate(self) -> None:
        if not isinstance(self.bucket, str) or not 1 <= len(self.bucket.encode()) <= 256 \
                or any(ord(ch) < 32 for ch in self.bucket):
            raise LeaseError(f"bucket must be 1..256 bytes of printable UTF-8, got {self.bucket!r}")
        if not 1 <= len(self.classes) <= MAX_CLASSES:
            raise LeaseError(f"a storage lease names 1..{MAX_CLASSES} storage classes, got {len(self.classes)}")
        for c, n in self.classes.items():
            _class(c, "storage class")
            _u64(n, f"max_bytes of {c}")

    def to_dict(self) -> dict:
        return {"kind": "storage", "bucket": self.bucket, "classes": dict(sorted(self.classes.items()))}


@dataclass(frozen=True)
class Lease:
    program_id: Pubkey
    lease_id: str
    customer: Pubkey
    provider: Pubkey
    price_book_version: int
    cap: int
    start_ms: int
    expiry_ms: int
    nonce: bytes
    resource: GpuResource | StorageResource

    @property
    def kind(self) -> int:
        return KIND_GPU if isinstance(self.resource, GpuResource) else KIND_STORAGE

    def validate(self) -> None:
        if not isinstance(self.lease_id, str) or not _LEASE_ID.match(self.lease_id):
            raise LeaseError(f"lease_id must match {LEASE_ID_PATTERN}, got {self.lease_id!r}")
        for name in ("program_id", "customer", "provider"):
            if not isinstance(getattr(self, name), Pubkey):
                raise LeaseError(f"{name} must be a Pubkey")
        if self.customer == self.provider:
            raise LeaseError("customer and provider are the same key")
        _u64(self.price_book_version, "price_book_version")
        if self.price_book_version < 1:
            raise LeaseError("price_book_version starts at 1")
        _u64(self.cap, "cap")
        _i64(self.start_ms, "start_ms")
        _i64(self.expiry_ms, "expiry_ms")
        if self.expiry_ms <= self.start_ms:
            raise LeaseError("expiry_ms must be after start_ms")
        if not isinstance(self.nonce, (bytes, bytearray)) or len(self.nonce) != 16:
            raise LeaseError("nonce must be 16 bytes")
        if not isinstance(self.resource, (GpuResource, StorageResource)):
            raise LeaseError("resource must be a GpuResource or a StorageResource")
        self.resource.validate()

    def encode(self) -> bytes:
        self.validate()
        lid = self.lease_id.encode()
        out = [LEASE_TAG, bytes(self.program_id), bytes([len(lid)]), lid,
               _MID.pack(bytes(self.customer), bytes(self.provider), self.price_book_version, self.cap,
                         self.start_ms, self.expiry_ms, bytes(self.nonce), self.kind)]
        r = self.resource
        if isinstance(r, GpuResource):
            c = r.gpu_class.encode()
            out += [bytes([len(c)]), c, struct.pack("<I", r.gpu_count)]
        else:
            b = r.bucket.encode()
            out += [struct.pack("<H", len(b)), b, bytes([len(r.classes)])]
            for cls in sorted(r.classes):
                c = cls.encode()
                out += [bytes([len(c)]), c, struct.pack("<Q", r.classes[cls])]
        return b"".join(out)

    @property
    def lease_hash(self) -> bytes:
        return hashlib.sha256(self.encode()).digest()

    @classmethod
    def decode(cls, data: bytes) -> "Lease":
        try:
            lease = _decode(bytes(data))
        except (struct.error, IndexError, UnicodeDecodeError) as e:
            raise LeaseError(f"truncated or malformed lease encoding ({e})") from None
        lease.validate()
        if lease.encode() != bytes(data):  # one lease, one encoding: no alternative spellings
            raise LeaseError("not the canonical encoding of this lease")
        return lease

    def to_dict(self) -> dict:
        return {"program_id": str(self.program_id), "lease_id": self.lease_id, "customer": str(self.customer),
                "provider": str(self.provider), "price_book_version": self.price_book_version, "cap": self.cap,
                "start_ms": self.start_ms, "expiry_ms": self.expiry_ms, "nonce": bytes(self.nonce).hex(),
                "resource": self.resource.to_dict()}


def _decode(d: bytes) -> Lease:
    if d[:16] != LEASE_TAG:
        raise LeaseError("bad domain tag: not a solmeter v1 lease")
    program_id = Pubkey(d[16:48])
    n = d[48]
    lease_id = d[49:49 + n].decode("ascii")
    if len(lease_id) != n:
        raise LeaseError("truncated lease_id")
    off = 49 + n
    customer, provider, pbv, cap, start, expiry, nonce, kind = _MID.unpack_from(d, off)
    off += _MID.size
    if kind == KIND_GPU:
        m = d[off]
        gpu_class = d[off + 1:off + 1 + m].decode("ascii")
        (count,) = struct.unpack_from("<I", d, off + 1 + m)
        res: GpuResource | StorageResource = GpuResource(gpu_class, count)
    elif kind == KIND_STORAGE:
        (b,) = struct.unpack_from("<H", d, off)
        bucket = d[off + 2:off + 2 + b].decode("utf-8")
        off += 2 + b
        k = d[off]
        off += 1
        classes: dict[str, int] = {}
        prev = None
        for _ in range(k):
            m = d[off]
            c = d[off + 1:off + 1 + m].decode("ascii")
            (mx,) = struct.unpack_from("<Q", d, off + 1 + m)
            off += 1 + m + 8
            if prev is not None and c <= prev:
                raise LeaseError("storage classes must be unique and in ascending order")
            classes[c], prev = mx, c
        res = StorageResource(bucket, classes)
    else:
        raise LeaseError(f"unknown lease kind {kind}")
    return Lease(program_id, lease_id, Pubkey(customer), Pubkey(provider), pbv, cap, start, expiry, nonce, res)


@dataclass(frozen=True)
class Revocation:
    program_id: Pubkey
    lease_hash: bytes
    customer: Pubkey
    revoked_at_ms: int

    def encode(self) -> bytes:
        if not isinstance(self.lease_hash, (bytes, bytearray)) or len(self.lease_hash) != 32:
            raise LeaseError("lease_hash must be 32 bytes")
        _i64(self.revoked_at_ms, "revoked_at_ms")
        return _REV.pack(REVOCATION_TAG, bytes(self.program_id), bytes(self.lease_hash), bytes(self.customer),
                         self.revoked_at_ms)

    @classmethod
    def decode(cls, data: bytes) -> "Revocation":
        if len(data) != REVOCATION_LEN:
            raise LeaseError(f"a revocation is {REVOCATION_LEN} bytes, got {len(data)}")
        tag, pid, lh, cust, at = _REV.unpack(bytes(data))
        if tag != REVOCATION_TAG:
            raise LeaseError("bad domain tag: not a solmeter v1 lease revocation")
        return cls(Pubkey(pid), lh, Pubkey(cust), at)


def _verify(message: bytes, signature: bytes, signer: Pubkey, what: str) -> None:
    try:
        sig = Signature.from_bytes(bytes(signature))
    except (ValueError, TypeError):
        raise LeaseError(f"{what} signature is not 64 bytes") from None
    if not sig.verify(signer, message):
        raise LeaseError(f"{what} signature does not verify for {signer}")


def verify_lease(encoding: bytes, signature: bytes) -> Lease:
    """Decode a lease and check that its customer signed exactly these bytes; raises LeaseError."""
    lease = Lease.decode(encoding)
    _verify(bytes(encoding), signature, lease.customer, "the customer's lease")
    return lease


def verify_revocation(encoding: bytes, signature: bytes, lease: Lease) -> Revocation:
    """Check a revocation of `lease`: same deployment, this lease's hash, its customer's signature."""
    rev = Revocation.decode(encoding)
    if rev.program_id != lease.program_id:
        raise LeaseError("the revocation is for another deployment (program id)")
    if bytes(rev.lease_hash) != lease.lease_hash:
        raise LeaseError(f"the revocation names another lease than {lease.lease_id} (lease hash differs)")
    if rev.customer != lease.customer:
        raise LeaseError(f"the revocation's customer {rev.customer} is not the lease's customer {lease.customer}")
    _verify(bytes(encoding), signature, lease.customer, "the customer's revocation")
    return rev


def sign_lease(lease: Lease, keypair) -> bytes:
    """The customer's signature over the lease encoding (the keypair must be the lease's customer)."""
    if keypair.pubkey() != lease.customer:
        raise LeaseError(f"the signing key {keypair.pubkey()} is not the lease's customer {lease.customer}")
    return bytes(keypair.sign_message(lease.encode()))


def sign_revocation(rev: Revocation, keypair) -> bytes:
    if keypair.pubkey() != rev.customer:
        raise LeaseError(f"the signing key {keypair.pubkey()} is not the revocation's customer {rev.customer}")
    return bytes(keypair.sign_message(rev.encode()))
