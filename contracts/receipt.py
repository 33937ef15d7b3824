"""The canonical receipt encoding: the single Python implementation.

Mirrored byte for byte by `contracts/program/src/receipt.rs`; `tests/contracts/test_parity.py` checks the
two agree. PROTOCOL.md ("Receipt encoding") is the normative description.

Layout (little-endian, fixed size RECEIPT_LEN = 248 bytes):

    off  len  field
      0   16  tag                 b"SOLMETER-RCPT-V1"
     16   32  program_id
     48    8  config_version      u64
     56   32  customer            wallet pubkey
     88   32  provider            wallet pubkey
    120    8  seq                 u64, 1, 2, 3, ... per channel
    128    8  period_start        i64 unix seconds
    136    8  period_end          i64 unix seconds
    144    8  cum_gpu_ms          u64 cumulative GPU-milliseconds (all classes)
    152   16  cum_byte_seconds    u128 cumulative byte-seconds (all classes)
    168    8  cum_egress_bytes    u64
    176    8  cum_amount          u64 cumulative amount owed, token base units
    184   32  prev_receipt_id     sha256 of the previous receipt's encoding (zeros for seq 1)
    216   32  detail_hash         sha256 of the canonical line-item detail served beside it

receipt_id = sha256(encoding). The meter's ed25519 signature is over the 32-byte receipt_id.
"""
from __future__ import annotations

import hashlib
import struct
from dataclasses import dataclass

from solders.pubkey import Pubkey

TAG = b"SOLMETER-RCPT-V1"
RECEIPT_LEN = 248
U64_MAX = (1 << 64) - 1
U128_MAX = (1 << 128) - 1
I64_MIN, I64_MAX = -(1 << 63), (1 << 63) - 1
ZERO_HASH = bytes(32)

_HEAD = struct.Struct("<16s32sQ32s32sQqqQ")  # up to cum_gpu_ms
_TAIL = struct.Struct("<QQ32s32s")  # cum_egress_bytes .. detail_hash
assert _HEAD.size + 16 + _TAIL.size == RECEIPT_LEN


class ReceiptEncodingError(ValueError):
    """A receipt field is out of range or the bytes are not a receipt."""


@dataclass(frozen=True)
class Receipt:
    program_id: Pubkey
    config_version: int
    customer: Pubkey
    provider: Pubkey
    seq: int
    period_start: int
    period_end: int
    cum_gpu_ms: int
    cum_byte_seconds: int
    cum_egress_bytes: int
    cum_amount: int
    prev_receipt_id: bytes
    detail_hash: bytes

    def validate(self) -> None:
        for name in ("config_version", "seq", "cum_gpu_ms", "cum_egress_bytes", "cum_amount"):
            v = getattr(self, name)
            if not isinstance(v, int) or not 0 <= v <= U64_MAX:
                raise ReceiptEncodingError(f"{name} must be an integer in 0..2^64-1, got {v!r}")
        if self.seq < 1:
            raise ReceiptEncodingError("seq starts at 1")
        for name in ("period_start", "period_end"):
            v = getattr(self, name)
            if not isinstance(v, int) or not I64_MIN <= v <= I64_MAX:
                raise ReceiptEncodingError(f"{name} must be an i64, got {v!r}")
        if self.period_end < self.period_start:
            raise ReceiptEncodingError("period_end is before period_start")
        if not isinstance(self.cum_byte_seconds, int) or not 0 <= self.cum_byte_seconds <= U128_MAX:
            raise ReceiptEncodingError("cum_byte_seconds must be an integer in 0..2^128-1")
        for name in ("prev_receipt_id", "detail_hash"):
            v = getattr(self, name)
            if not isinstance(v, (bytes, bytearray)) or len(v) != 32:
                raise ReceiptEncodingError(f"{name} must be 32 bytes")
        if (self.seq == 1) != (bytes(self.prev_receipt_id) == ZERO_HASH):
            raise ReceiptEncodingError("prev_receipt_id is all zeros exactly when seq is 1")

    def encode(self) -> bytes:
        self.validate()
        return (
            _HEAD.pack(
                TAG,
                bytes(self.program_id),
                self.config_version,
                bytes(self.customer),
                bytes(self.provider),
                self.seq,
                self.period_start,
                self.period_end,
                self.cum_gpu_ms,
            )
            + self.cum_byte_seconds.to_bytes(16, "little")
            + _TAIL.pack(self.cum_egress_bytes, self.cum_amount, bytes(self.prev_receipt_id), bytes(self.detail_hash))
        )

    @property
    def receipt_id(self) -> bytes:
        return receipt_id(self.encode())

    @classmethod
    def decode(cls, data: bytes) -> "Receipt":
        if len(data) != RECEIPT_LEN:
            raise ReceiptEncodingError(f"a receipt is {RECEIPT_LEN} bytes, got {len(data)}")
        h = _HEAD.unpack_from(data, 0)
        if h[0] != TAG:
            raise ReceiptEncodingError("bad domain tag: not a solmeter v1 receipt")
        cum_bs = int.from_bytes(data[_HEAD.size : _HEAD.size + 16], "little")
        t = _TAIL.unpack_from(data, _HEAD.size + 16)
        r = cls(
            program_id=Pubkey(h[1]),
            config_version=h[2],
            customer=Pubkey(h[3]),
            provider=Pubkey(h[4]),
            seq=h[5],
            period_start=h[6],
            period_end=h[7],
            cum_gpu_ms=h[8],
            cum_byte_seconds=cum_bs,
            cum_egress_bytes=t[0],
            cum_amount=t[1],
            prev_receipt_id=t[2],
            detail_hash=t[3],
        )
        r.validate()
        return r


def receipt_id(encoding: bytes) -> bytes:
    """The receipt id: sha256 of the canonical encoding."""
    return hashlib.sha256(encoding).digest()
