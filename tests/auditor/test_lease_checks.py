"""The auditor's consent checks (auditor/leases.py): a receipt line is a PASS only under a valid lease its
customer signed for this channel, inside the lease's window and before its revocation; the channel's
cumulative amount stays within the caps of its leases. Each failing case breaks exactly one rule."""
import hashlib
import json

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from auditor.leases import LeaseDoc, check_channel_cap, check_receipt_leases
from contracts.lease import GpuResource, Lease, Revocation, sign_lease, sign_revocation
from contracts.receipt import ZERO_HASH, Receipt

PROGRAM = Pubkey(bytes([4] * 32))
CUST, PROV, OTHER = (Keypair.from_seed(bytes([i]) * 32) for i in (2, 1, 9))
T = 1_800_000_000  # period start, unix seconds


def lease(lid="job-1", **kw):
    base = dict(program_id=PROGRAM, lease_id=lid, customer=CUST.pubkey(), provider=PROV.pubkey(),
                price_book_version=1, cap=1_000, start_ms=(T - 600) * 1000, expiry_ms=(T + 3600) * 1000,
                nonce=lid.encode().ljust(16, b"."), resource=GpuResource("H100", 1))
    base.update(kw)
    return Lease(**base)


def doc(ls, signer=CUST, revoked_at=None):
    rev = rsig = None
    if revoked_at is not None:
        r = Revocation(ls.program_id, ls.lease_hash, ls.customer, revoked_at)
        rev, rsig = r.encode(), sign_revocation(r, CUST)
    sig = sign_lease(ls, signer) if signer is CUST else bytes(signer.sign_message(ls.encode()))
    return LeaseDoc(ls.encode(), sig, rev, rsig)


def receipt(leases=("job-1",), quantity=60_000, adjustment=0, amount=500, period=(T, T + 60)):
    detail = {"detail_version": 1, "lines": [{"family": "gpu", "rclass": "H100", "quantity": quantity,
                                              "adjustment": adjustment, "amount": amount, "leases": list(leases)}]}
    canon = json.dumps(detail, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    r = Receipt(PROGRAM, 1, CUST.pubkey(), PROV.pubkey(), 1, period[0], period[1], quantity, 0, 0, amount, ZERO_HASH,
                hashlib.sha256(canon.encode()).digest())
    return r, detail


def status(checks, name="lease.lines"):
    [c] = [c for c in checks if c.name == name]
    return c.status, c.detail


def test_a_line_under_a_valid_lease_passes():
    r, d = receipt()
    assert status(check_receipt_leases(r, d, {"job-1": doc(lease())}))[0] == "pass"


@pytest.mark.parametrize("served, needle", [
    ({}, "not served"),
    ({"job-1": doc(lease(), signer=PROV)}, "does not verify"),  # consent forged by the provider
    ({"job-1": doc(lease(provider=OTHER.pubkey()))}, "not this channel"),  # another provider's lease
    ({"job-1": doc(lease(program_id=Pubkey(bytes(32))))}, "program"),
    ({"job-1": doc(lease(start_ms=(T + 60) * 1000))}, "starts at"),  # usage before the lease
    ({"job-1": doc(lease(expiry_ms=T * 1000))}, "ended"),  # usage after expiry
    ({"job-1": doc(lease(), revoked_at=T * 1000 - 1)}, "ended"),  # usage after revocation
    ({"job-1": doc(lease("job-2"))}, "is lease job-2"),
])
def test_a_line_without_a_valid_lease_fails_naming_it(served, needle):
    r, d = receipt()
    st, why = status(check_receipt_leases(r, d, served))
    assert st == "fail" and "job-1" in why and needle in why, why


def test_a_line_naming_no_lease_fails_and_a_tampered_detail_is_caught():
    r, d = receipt(leases=())
    st, why = status(check_receipt_leases(r, d, {}))
    assert st == "fail" and "under no lease" in why
    r, d = receipt()
    d["lines"][0]["leases"] = ["job-9"]  # the meter re-points the line after signing
    assert status(check_receipt_leases(r, d, {"job-9": doc(lease("job-9"))}), "lease.detail")[0] == "fail"


def test_late_usage_of_an_ended_lease_still_passes_but_on_time_usage_does_not():
    ended = {"job-1": doc(lease(), revoked_at=T * 1000 - 1)}
    r, d = receipt(quantity=0, adjustment=5_000)  # usage of an earlier window, arriving late
    assert status(check_receipt_leases(r, d, ended))[0] == "pass"


def test_channel_cap():
    r, d = receipt(amount=1_000)
    assert check_channel_cap([r], [d], {"job-1": doc(lease(cap=1_000))}).status == "pass"
    over = check_channel_cap([r], [d], {"job-1": doc(lease(cap=999))})
    assert over.status == "fail" and "exceeds the caps" in over.detail and "job-1" in over.detail
    assert check_channel_cap([r], [None], {}).status == "pending"  # not served: NOT VERIFIED, never skipped
