"""The customer-signed lease and revocation: layout, round trip, canonical form, signatures by the customer
only, revocations bound to one lease."""
import hashlib

import pytest
from hypothesis import given, strategies as st
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from contracts.lease import (LEASE_TAG, REVOCATION_LEN, REVOCATION_TAG, GpuResource, Lease, LeaseError, Revocation,
                             StorageResource, sign_lease, sign_revocation, verify_lease, verify_revocation)

CUSTOMER = Keypair.from_seed(bytes([2]) * 32)
PROVIDER = Keypair.from_seed(bytes([1]) * 32)
OTHER = Keypair.from_seed(bytes([9]) * 32)
PROGRAM = Pubkey(bytes([4] * 32))


def gpu_lease(**kw):
    base = dict(program_id=PROGRAM, lease_id="job-1", customer=CUSTOMER.pubkey(), provider=PROVIDER.pubkey(),
                price_book_version=3, cap=5_000_000, start_ms=1_000, expiry_ms=2_000, nonce=bytes(range(16)),
                resource=GpuResource("H100", 8))
    base.update(kw)
    return Lease(**base)


def storage_lease(**kw):
    return gpu_lease(lease_id="photos", resource=StorageResource("s3://photos/2026", {"STANDARD": 10, "GLACIER": 1 << 40}),
                     **kw)


def test_gpu_layout_byte_for_byte():
    enc = gpu_lease().encode()
    assert enc[:16] == LEASE_TAG == b"SOLMETER-LEAS-V1"
    assert enc[16:48] == bytes(PROGRAM)
    assert enc[48] == 5 and enc[49:54] == b"job-1"
    assert enc[54:86] == bytes(CUSTOMER.pubkey()) and enc[86:118] == bytes(PROVIDER.pubkey())
    assert enc[118:126] == (3).to_bytes(8, "little")
    assert enc[126:134] == (5_000_000).to_bytes(8, "little")
    assert enc[134:142] == (1_000).to_bytes(8, "little") and enc[142:150] == (2_000).to_bytes(8, "little")
    assert enc[150:166] == bytes(range(16))
    assert enc[166] == 1 and enc[167] == 4 and enc[168:172] == b"H100"
    assert enc[172:176] == (8).to_bytes(4, "little") and len(enc) == 176
    assert gpu_lease().lease_hash == hashlib.sha256(enc).digest()


def test_storage_layout_sorts_classes():
    enc = storage_lease().encode()
    tail = enc[167:]  # "photos" is one byte longer than "job-1"
    b = b"s3://photos/2026"
    assert tail[0] == 2 and tail[1:3] == len(b).to_bytes(2, "little") and tail[3:3 + len(b)] == b
    rest = tail[3 + len(b):]
    assert rest[0] == 2
    assert rest[1:2 + 7] == b"\x07GLACIER" and rest[9:17] == (1 << 40).to_bytes(8, "little")
    assert rest[17:26] == b"\x08STANDARD"


@st.composite
def leases(draw):
    start = draw(st.integers(-(2**63), 2**63 - 2))
    if draw(st.booleans()):
        res = GpuResource(draw(st.sampled_from(["H100", "A100", "RTX4090"])), draw(st.integers(1, 4096)))
    else:
        res = StorageResource(draw(st.text(st.characters(min_codepoint=33, max_codepoint=0x2FFF), min_size=1,
                                           max_size=60)),
                              draw(st.dictionaries(st.sampled_from(["STANDARD", "GLACIER", "ARCHIVE"]),
                                                   st.integers(0, 2**64 - 1), min_size=1)))
    return Lease(Pubkey(draw(st.binary(min_size=32, max_size=32))),
                 draw(st.from_regex(r"\A[A-Za-z0-9][A-Za-z0-9._@+/-]{0,94}\Z")), CUSTOMER.pubkey(),
                 PROVIDER.pubkey(), draw(st.integers(1, 2**64 - 1)), draw(st.integers(0, 2**64 - 1)), start,
                 draw(st.integers(start + 1, 2**63 - 1)), draw(st.binary(min_size=16, max_size=16)), res)


@given(leases())
def test_round_trip(lease):
    assert Lease.decode(lease.encode()) == lease


@given(leases(), st.data())
def test_any_changed_byte_breaks_the_signature(lease, data):
    enc = bytearray(lease.encode())
    sig = sign_lease(lease, CUSTOMER)
    pos = data.draw(st.integers(0, len(enc) - 1))
    enc[pos] ^= data.draw(st.integers(1, 255))
    with pytest.raises(LeaseError):
        verify_lease(bytes(enc), sig)


def test_signed_by_its_customer_verifies():
    lease = gpu_lease()
    assert verify_lease(lease.encode(), sign_lease(lease, CUSTOMER)) == lease


def test_signature_of_someone_else_than_the_customer_is_refused():
    lease = gpu_lease()
    for kp in (PROVIDER, OTHER):  # the provider forging consent, a third party
        sig = bytes(kp.sign_message(lease.encode()))
        with pytest.raises(LeaseError, match="does not verify"):
            verify_lease(lease.encode(), sig)
    with pytest.raises(LeaseError, match="not the lease's customer"):
        sign_lease(lease, PROVIDER)


def test_non_canonical_and_foreign_bytes_are_refused():
    enc = storage_lease().encode()
    with pytest.raises(LeaseError, match="domain tag"):
        Lease.decode(b"SOLMETER-RCPT-V1" + enc[16:])
    with pytest.raises(LeaseError, match="malformed|truncated"):
        Lease.decode(enc[:-3])
    with pytest.raises(LeaseError, match="canonical"):
        Lease.decode(enc + b"\x00")
    # classes out of order: the same lease spelled differently would have another hash
    g = enc.index(b"\x07GLACIER")
    swapped = enc[:g] + enc[g + 16:] + enc[g:g + 16]  # 1 + 7 + 8 bytes
    with pytest.raises(LeaseError, match="ascending"):
        Lease.decode(swapped)


@pytest.mark.parametrize("kw, needle", [
    (dict(lease_id="a:b"), "lease_id"), (dict(lease_id=""), "lease_id"), (dict(lease_id="x" * 96), "lease_id"),
    (dict(cap=2**64), "cap"), (dict(cap=-1), "cap"), (dict(price_book_version=0), "price_book_version"),
    (dict(expiry_ms=1_000), "expiry_ms"), (dict(nonce=b"x"), "nonce"),
    (dict(resource=GpuResource("H100", 0)), "gpu_count"), (dict(resource=GpuResource("h100", 1)), "gpu_class"),
    (dict(resource=StorageResource("b", {})), "storage classes"),
    (dict(provider=CUSTOMER.pubkey()), "same key"),
])
def test_out_of_range_fields_are_named(kw, needle):
    with pytest.raises(LeaseError, match=needle):
        gpu_lease(**kw).encode()


def test_revocation_layout_and_binding():
    lease = gpu_lease()
    rev = Revocation(PROGRAM, lease.lease_hash, CUSTOMER.pubkey(), 1_500)
    enc = rev.encode()
    assert len(enc) == REVOCATION_LEN == 120 and enc[:16] == REVOCATION_TAG == b"SOLMETER-LREV-V1"
    assert enc[48:80] == lease.lease_hash and enc[112:120] == (1_500).to_bytes(8, "little")
    sig = sign_revocation(rev, CUSTOMER)
    assert verify_revocation(enc, sig, lease) == rev


def test_revocation_of_another_lease_is_not_accepted_for_this_one():
    mine, other = gpu_lease(), gpu_lease(nonce=bytes(16))  # same fields, another nonce: another lease
    rev = Revocation(PROGRAM, other.lease_hash, CUSTOMER.pubkey(), 1_500)
    with pytest.raises(LeaseError, match="another lease"):
        verify_revocation(rev.encode(), sign_revocation(rev, CUSTOMER), mine)


def test_revocation_signed_by_the_provider_or_for_another_deployment_is_refused():
    lease = gpu_lease()
    rev = Revocation(PROGRAM, lease.lease_hash, CUSTOMER.pubkey(), 1_500)
    with pytest.raises(LeaseError, match="does not verify"):
        verify_revocation(rev.encode(), bytes(PROVIDER.sign_message(rev.encode())), lease)
    foreign = Revocation(Pubkey(bytes(32)), lease.lease_hash, CUSTOMER.pubkey(), 1_500)
    with pytest.raises(LeaseError, match="deployment"):
        verify_revocation(foreign.encode(), sign_revocation(foreign, CUSTOMER), lease)
    by_other = Revocation(PROGRAM, lease.lease_hash, OTHER.pubkey(), 1_500)
    with pytest.raises(LeaseError, match="not the lease's customer"):
        verify_revocation(by_other.encode(), sign_revocation(by_other, OTHER), lease)
