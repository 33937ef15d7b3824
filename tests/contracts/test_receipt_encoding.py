"""The canonical receipt encoding: fixed layout, round trip, range checks, one byte changes the id."""
import hashlib

import pytest
from hypothesis import given, strategies as st
from solders.pubkey import Pubkey

from contracts.receipt import RECEIPT_LEN, TAG, Receipt, ReceiptEncodingError

PK = st.binary(min_size=32, max_size=32).map(Pubkey)
H32 = st.binary(min_size=32, max_size=32)
U64 = st.integers(0, 2**64 - 1)


@st.composite
def receipts(draw):
    seq = draw(st.integers(1, 2**64 - 1))
    start = draw(st.integers(-(2**63), 2**63 - 1))
    end = draw(st.integers(start, 2**63 - 1))
    prev = bytes(32) if seq == 1 else draw(H32.filter(lambda b: b != bytes(32)))
    return Receipt(draw(PK), draw(U64), draw(PK), draw(PK), seq, start, end, draw(U64),
                   draw(st.integers(0, 2**128 - 1)), draw(U64), draw(U64), prev, draw(H32))


def sample(**kw):
    base = dict(program_id=Pubkey(bytes([1] * 32)), config_version=3, customer=Pubkey(bytes([2] * 32)),
                provider=Pubkey(bytes([3] * 32)), seq=2, period_start=1_700_000_000, period_end=1_700_000_060,
                cum_gpu_ms=5, cum_byte_seconds=2**70, cum_egress_bytes=7, cum_amount=1_000_000,
                prev_receipt_id=bytes([9] * 32), detail_hash=bytes([8] * 32))
    base.update(kw)
    return Receipt(**base)


def test_layout_is_fixed_and_little_endian():
    enc = sample().encode()
    assert len(enc) == RECEIPT_LEN == 248
    assert enc[:16] == TAG
    assert enc[48:56] == (3).to_bytes(8, "little")
    assert enc[120:128] == (2).to_bytes(8, "little")
    assert enc[152:168] == (2**70).to_bytes(16, "little")
    assert enc[176:184] == (1_000_000).to_bytes(8, "little")
    assert sample().receipt_id == hashlib.sha256(enc).digest()


@given(receipts())
def test_round_trip(r):
    assert Receipt.decode(r.encode()) == r


@given(receipts(), st.integers(16, RECEIPT_LEN - 1), st.integers(1, 255))
def test_any_changed_byte_changes_the_id(r, pos, flip):
    enc = bytearray(r.encode())
    enc[pos] ^= flip
    assert hashlib.sha256(bytes(enc)).digest() != r.receipt_id


@pytest.mark.parametrize("kw, needle", [
    (dict(cum_amount=2**64), "cum_amount"), (dict(cum_amount=-1), "cum_amount"), (dict(seq=0), "seq"),
    (dict(period_end=1), "period_end"), (dict(cum_byte_seconds=2**128), "cum_byte_seconds"),
    (dict(detail_hash=b"x"), "detail_hash"), (dict(seq=1), "prev_receipt_id"),
    (dict(prev_receipt_id=bytes(32)), "prev_receipt_id"),
])
def test_out_of_range_fields_are_named(kw, needle):
    with pytest.raises(ReceiptEncodingError, match=needle):
        sample(**kw).encode()


def test_decode_rejects_wrong_length_and_tag():
    enc = sample().encode()
    with pytest.raises(ReceiptEncodingError, match="248 bytes"):
        Receipt.decode(enc[:-1])
    with pytest.raises(ReceiptEncodingError, match="domain tag"):
        Receipt.decode(b"X" + enc[1:])
