"""Consent off-chain: the meter bills only usage under a lease its customer signed (issue 11, "a provider can
bill any wallet"). Each attack below is refused by exactly the check it names; the honest counterpart of
each one is accepted, so the refusal is that check's doing."""
import base64
import json
from dataclasses import replace

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey
from sqlalchemy import select

from contracts import DEFAULT_PROGRAM_ID
from contracts.lease import GpuResource, Lease, Revocation, StorageResource
from contracts.receipt import Receipt
from meter_helpers import CUSTOMER_KEYS, T0, EventFactory
from metering.leases import lease_body, revocation_body
from metering.models import ReceiptRow, UsageEvent
from metering.receipts import Sealer
from metering.registry import add_provider

UE, RR = UsageEvent.__table__, ReceiptRow.__table__
PROGRAM = Pubkey.from_string(DEFAULT_PROGRAM_ID)
H100_PER_MS = (2_500_000, 3_600_000)  # the default price book: 2.5 tokens per H100-hour


@pytest.fixture
def cust_kp(customer):
    return CUSTOMER_KEYS[customer]


@pytest.fixture
def provider_b(engine, clock):
    kp = Keypair.from_seed(bytes([5]) * 32)
    add_provider(engine, str(kp.pubkey()), clock(), "provider B")
    return kp


def gpu_lease(lease_id, customer_kp, provider_kp, *, start=T0 - 600_000, expiry=T0 + 3_600_000, cap=10**12,
              count=2, cls="H100", version=1, nonce=b"n" * 16, customer=None):
    return Lease(PROGRAM, lease_id, customer or customer_kp.pubkey(), provider_kp.pubkey(), version, cap, start,
                 expiry, nonce, GpuResource(cls, count))


def sign(client, lease, kp):
    return client.post("/v1/leases", json=lease_body(lease, kp))


def post(poster, events, kp=None):
    return poster.post(events, kp=kp, sign_leases=False)  # no helper consent: only the leases signed here


def stored(engine):
    with engine.connect() as c:
        return c.execute(select(UE.c.event_id)).scalars().all()


def test_a_signed_lease_is_stored_and_served_publicly(client, cust_kp, provider_kp):
    lease = gpu_lease("job-1", cust_kp, provider_kp)
    r = sign(client, lease, cust_kp)
    assert r.status_code == 201 and r.json()["status"] == "stored"
    assert sign(client, lease, cust_kp).json()["status"] == "duplicate"  # idempotent
    got = client.get("/v1/leases/job-1").json()  # no credentials: public evidence
    assert base64.b64decode(got["encoding_base64"]) == lease.encode()
    assert got["lease_hash"] == lease.lease_hash.hex() and got["customer"] == str(cust_kp.pubkey())
    from solders.signature import Signature
    assert Signature.from_string(got["signature"]).verify(cust_kp.pubkey(), lease.encode())
    assert [x["lease_id"] for x in client.get("/v1/leases", params={"customer": got["customer"]}).json()["leases"]] \
        == ["job-1"]
    assert client.get("/v1/leases/nope").status_code == 404
    other_terms = replace(lease, cap=1)
    r = sign(client, other_terms, cust_kp)
    assert r.status_code == 409 and r.json()["field"] == "lease_id"


def test_a_lease_id_already_taken_is_refused_saying_what_to_do(client, cust_kp, provider_kp):
    """Found re-running the README's `lease sign datasets ... --hours 2`: the new start and expiry are other terms,
    refused as `lease datasets is already stored with other terms` without what to do; and lease ids are one
    namespace per meter, so a second customer's `datasets` got the same words about a lease it never signed."""
    lease = gpu_lease("datasets", cust_kp, provider_kp)
    assert sign(client, lease, cust_kp).status_code == 201
    r = sign(client, replace(lease, expiry_ms=lease.expiry_ms + 60_000), cust_kp)
    assert r.status_code == 409 and r.json()["field"] == "lease_id"
    assert "sign the new terms under another id" in r.json()["error"]
    assert "solmeter customer lease revoke datasets" in r.json()["error"]
    other = Keypair.from_seed(bytes([7]) * 32)
    r = sign(client, gpu_lease("datasets", other, provider_kp), other)
    assert r.status_code == 409 and "taken by another customer's lease" in r.json()["error"]
    assert "sign under another id" in r.json()["error"]


def test_forged_customer_signature_is_refused(client, cust_kp, provider_kp):
    # the provider fabricates the customer's consent: a lease naming the victim, signed with its own key
    lease = gpu_lease("job-1", cust_kp, provider_kp)
    body = lease_body(lease, cust_kp)
    forged = {"encoding": body["encoding"], "signature": str(provider_kp.sign_message(lease.encode()))}
    r = client.post("/v1/leases", json=forged)
    assert r.status_code == 403 and r.json()["field"] == "signature" and "does not verify" in r.json()["error"]
    # a real signature over other bytes (the cap raised after signing)
    raised = {"encoding": base64.b64encode(replace(lease, cap=lease.cap + 1).encode()).decode(),
              "signature": body["signature"]}
    assert client.post("/v1/leases", json=raised).status_code == 403
    assert client.get("/v1/leases/job-1").status_code == 404


def test_lease_signed_by_someone_other_than_its_customer_is_refused(client, cust_kp, provider_kp):
    stranger = Keypair.from_seed(bytes([9]) * 32)
    lease = gpu_lease("job-1", cust_kp, provider_kp)  # customer: cust_kp
    r = client.post("/v1/leases", json={"encoding": base64.b64encode(lease.encode()).decode(),
                                        "signature": str(stranger.sign_message(lease.encode()))})
    assert r.status_code == 403 and r.json()["field"] == "signature"
    assert sign(client, lease, cust_kp).status_code == 201  # the customer's own signature is accepted


def test_unacceptable_leases_are_refused_by_name(client, cust_kp, provider_kp, clock):
    stranger = Keypair.from_seed(bytes([8]) * 32)  # not a registered provider
    cases = [(gpu_lease("a", cust_kp, stranger), "provider"),
             (replace(gpu_lease("b", cust_kp, provider_kp), program_id=Pubkey(bytes(32))), "program_id"),
             (gpu_lease("c", cust_kp, provider_kp, start=T0 - 10_000, expiry=T0 - 1), "expiry_ms"),
             (gpu_lease("d", cust_kp, provider_kp, version=7), "price_book_version")]
    for lease, field in cases:
        r = sign(client, lease, cust_kp)
        assert r.status_code == 422 and r.json()["field"] == field, (field, r.json())
    r = client.post("/v1/leases", json={"encoding": "!!", "signature": "x"})
    assert r.status_code == 422 and r.json()["field"] == "encoding"


def test_provider_a_cannot_report_usage_on_provider_b_lease(client, poster, cust_kp, provider_kp, provider_b, engine):
    assert sign(client, gpu_lease("job-b", cust_kp, provider_b), cust_kp).status_code == 201
    a, b = EventFactory(provider_kp, str(cust_kp.pubkey())), EventFactory(provider_b, str(cust_kp.pubkey()))
    r = post(poster, [a.hb("job-b", T0 - 5_000)])
    assert r.status_code == 403 and r.json()["field"] == "data.provider" and "not the signing provider" in r.json()["error"]
    assert stored(engine) == []
    assert post(poster, [b.hb("job-b", T0 - 5_000)], kp=provider_b).status_code == 200  # B itself may


def test_usage_for_a_customer_that_never_signed_is_refused(client, poster, cust_kp, provider_kp, engine):
    victim = str(Keypair.from_seed(bytes([3]) * 32).pubkey())  # signed nothing
    f = EventFactory(provider_kp, victim)
    r = post(poster, [f.hb("invented", T0 - 5_000)])
    assert r.status_code == 403 and r.json()["field"] == "data.lease_id" and "no lease 'invented'" in r.json()["error"]
    # nor may the provider bill the victim under a lease another customer signed
    assert sign(client, gpu_lease("job-1", cust_kp, provider_kp), cust_kp).status_code == 201
    r = post(poster, [f.hb("job-1", T0 - 5_000)])
    assert r.status_code == 403 and r.json()["field"] == "subject"
    for ev in (f.sample("bk", T0 - 5_000, 10), f.egress("web", T0 - 5_000, 10)):  # every family
        assert post(poster, [ev]).status_code == 403
    assert stored(engine) == []
    assert post(poster, [EventFactory(provider_kp, str(cust_kp.pubkey())).hb("job-1", T0 - 5_000)]).status_code == 200


def test_usage_before_start_or_after_expiry_is_refused(client, poster, cust_kp, provider_kp, engine):
    lease = gpu_lease("job-1", cust_kp, provider_kp, start=T0 - 60_000, expiry=T0 - 10_000)
    # expiry before the meter's now is refused at signing; store it while it is current
    poster.clock.t -= 30_000
    assert sign(client, lease, cust_kp).status_code == 201
    poster.clock.t += 30_000
    f = EventFactory(provider_kp, str(cust_kp.pubkey()))
    r = post(poster, [f.hb("job-1", T0 - 10_000)])  # the expiry instant itself is outside
    assert r.status_code == 403 and r.json()["field"] == "time" and "expiry" in r.json()["error"]
    r = post(poster, [f.hb("job-1", T0 - 60_001)])
    assert r.status_code == 403 and "before the start" in r.json()["error"]
    assert post(poster, [f.hb("job-1", T0 - 10_001), f.hb("job-1", T0 - 60_000)]).status_code == 200


def test_revocation_stops_billing_at_its_instant(client, poster, cust_kp, provider_kp, engine, cfg, meter_kp):
    lease = gpu_lease("job-1", cust_kp, provider_kp, count=1)
    assert sign(client, lease, cust_kp).status_code == 201
    f = EventFactory(provider_kp, str(cust_kp.pubkey()))
    base = T0 - 300_000
    assert post(poster, [f.hb("job-1", base), f.hb("job-1", base + 30_000)]).status_code == 200
    # a revocation dated at or before usage already accepted cannot rewrite it
    early = Revocation(PROGRAM, lease.lease_hash, cust_kp.pubkey(), base + 30_000)
    r = client.post("/v1/revocations", json=revocation_body(early, cust_kp))
    assert r.status_code == 409 and r.json()["field"] == "revoked_at_ms"
    rev = Revocation(PROGRAM, lease.lease_hash, cust_kp.pubkey(), base + 60_000)
    r = client.post("/v1/revocations", json=revocation_body(rev, cust_kp))
    assert r.status_code == 200 and r.json() == {"status": "revoked", "lease_id": "job-1", "revoked_at_ms": base + 60_000}
    r = post(poster, [f.hb("job-1", base + 60_000)])  # the revocation instant itself is not billed
    assert r.status_code == 403 and r.json()["field"] == "time" and "revoked" in r.json()["error"]
    assert post(poster, [f.hb("job-1", base + 59_999)]).status_code == 200  # before it still is
    got = client.get("/v1/leases/job-1").json()
    assert got["revoked_at_ms"] == base + 60_000
    assert base64.b64decode(got["revocation_base64"]) == rev.encode()
    Sealer(engine, cfg, meter_kp).seal_due(T0 + 10 * cfg.window_ms)
    with engine.connect() as c:
        last = c.execute(select(RR.c.encoding).order_by(RR.c.seq.desc()).limit(1)).scalar()
    assert Receipt.decode(bytes(last)).cum_gpu_ms == 59_999  # not a millisecond past the revocation


def test_replayed_revocation_of_another_lease_does_not_revoke_this_one(client, poster, cust_kp, provider_kp):
    mine = gpu_lease("job-1", cust_kp, provider_kp)
    other = gpu_lease("job-2", cust_kp, provider_kp, nonce=b"m" * 16)
    assert sign(client, mine, cust_kp).status_code == 201 and sign(client, other, cust_kp).status_code == 201
    rev_other = Revocation(PROGRAM, other.lease_hash, cust_kp.pubkey(), T0)
    body = revocation_body(rev_other, cust_kp)
    assert client.post("/v1/revocations", json=body).json()["lease_id"] == "job-2"
    # the provider (who wants billing to go on, or to stop: either way not its call) re-targets the signed
    # revocation at job-1: the bytes name job-1's hash, the signature is over job-2's revocation
    forged = base64.b64encode(replace(rev_other, lease_hash=mine.lease_hash).encode()).decode()
    r = client.post("/v1/revocations", json={"encoding": forged, "signature": body["signature"]})
    assert r.status_code == 403 and r.json()["field"] == "revocation"
    by_provider = Revocation(PROGRAM, mine.lease_hash, cust_kp.pubkey(), T0)
    r = client.post("/v1/revocations", json={"encoding": base64.b64encode(by_provider.encode()).decode(),
                                             "signature": str(provider_kp.sign_message(by_provider.encode()))})
    assert r.status_code == 403
    assert client.get("/v1/leases/job-1").json()["revoked_at_ms"] is None
    f = EventFactory(provider_kp, str(cust_kp.pubkey()))
    assert post(poster, [f.hb("job-1", T0 - 1_000)]).status_code == 200
    assert post(poster, [f.hb("job-2", T0)]).status_code == 403  # job-2 is revoked from T0


def test_usage_over_the_cap_is_refused_and_the_receipt_stays_within_it(client, poster, cust_kp, provider_kp, engine,
                                                                       cfg, meter_kp):
    start = T0 - 120_000
    # 1 H100 for 36 s costs exactly 25,000 base units at 2.5 tokens an hour
    lease = gpu_lease("job-1", cust_kp, provider_kp, start=start, count=1, cap=25_000)
    assert sign(client, lease, cust_kp).status_code == 201
    f = EventFactory(provider_kp, str(cust_kp.pubkey()))
    assert post(poster, [f.hb("job-1", start), f.hb("job-1", start + 30_000), f.hb("job-1", start + 36_000)]) \
        .status_code == 200
    r = post(poster, [f.hb("job-1", start + 36_001)])
    assert r.status_code == 403 and r.json()["field"] == "data" and "cap of 25000" in r.json()["error"]
    Sealer(engine, cfg, meter_kp).seal_due(T0 + 10 * cfg.window_ms)
    with engine.connect() as c:
        amounts = [Receipt.decode(bytes(e)).cum_amount for e in c.execute(select(RR.c.encoding)).scalars()]
    assert max(amounts) == 25_000


def test_egress_counts_against_the_cap(client, poster, cust_kp, provider_kp):
    gib = 1 << 30
    lease = Lease(PROGRAM, "bk", cust_kp.pubkey(), provider_kp.pubkey(), 1, 100_000, T0 - 60_000, T0 + 60_000,
                  b"e" * 16, StorageResource("bk", {"STANDARD": 0}))  # no bytes stored: egress only
    assert sign(client, lease, cust_kp).status_code == 201
    f = EventFactory(provider_kp, str(cust_kp.pubkey()))
    assert post(poster, [f.egress("bk", T0 - 2_000, gib)]).status_code == 200  # 50,000 base units
    assert post(poster, [f.egress("bk:cdn", T0 - 1_500, gib)]).status_code == 200  # 100,000: at the cap
    r = post(poster, [f.egress("bk", T0 - 1_000, 1)])
    assert r.status_code == 403 and "cap" in r.json()["error"]


def test_what_is_reported_must_be_what_was_rented(client, poster, cust_kp, provider_kp):
    assert sign(client, gpu_lease("job-1", cust_kp, provider_kp, count=2), cust_kp).status_code == 201
    storage = Lease(PROGRAM, "bk", cust_kp.pubkey(), provider_kp.pubkey(), 1, 10**12, T0 - 60_000, T0 + 60_000,
                    b"s" * 16, StorageResource("bk", {"STANDARD": 1000}))
    assert sign(client, storage, cust_kp).status_code == 201
    f = EventFactory(provider_kp, str(cust_kp.pubkey()))
    t = T0 - 1_000
    for ev, field in [(f.hb("job-1", t, count=3), "data.gpu_count"), (f.hb("job-1", t, cls="A100"), "data.gpu_class"),
                      (f.sample("bk", t, 1001), "data.bytes"), (f.sample("bk", t, 10, cls="ARCHIVE"), "data.storage_class"),
                      (f.sample("bk:ARCHIVE", t, 10), "data.bucket"), (f.sample("job-1", t, 10), "data.bucket"),
                      (f.hb("bk", t), "data.lease_id")]:
        r = post(poster, [ev])
        assert r.status_code == 403 and r.json()["field"] == field, (field, r.json())
    assert post(poster, [f.hb("job-1", t, count=2), f.sample("bk:STANDARD", t, 1000), f.sample("bk", t + 1, 5)]) \
        .status_code == 200


def test_receipt_detail_names_the_leases_of_each_line(client, poster, cust_kp, provider_kp, engine, cfg, meter_kp):
    for lid in ("job-1", "job-2"):
        assert sign(client, gpu_lease(lid, cust_kp, provider_kp, nonce=lid.encode().ljust(16, b".")), cust_kp) \
            .status_code == 201
    f = EventFactory(provider_kp, str(cust_kp.pubkey()))
    base = T0 - 300_000
    assert post(poster, [f.hb("job-1", base), f.hb("job-1", base + 30_000), f.hb("job-2", base + 60_000),
                         f.hb("job-2", base + 90_000)]).status_code == 200
    Sealer(engine, cfg, meter_kp).seal_due(T0 + 10 * cfg.window_ms)
    with engine.connect() as c:
        details = [json.loads(d) for d in c.execute(select(RR.c.detail).order_by(RR.c.seq)).scalars()]
    # per receipt, the leases whose usage the line bills in it (job-1's 30 s, then job-2's)
    assert [d["lines"][0]["leases"] for d in details] == [["job-1"], ["job-2"]]


def test_a_new_price_book_ends_a_lease_already_in_use(client, poster, cust_kp, provider_kp, engine, clock):
    from metering.prices import publish_price_book
    from metering.rollup.pricing import DEFAULT_PRICE_BOOK

    assert sign(client, gpu_lease("job-1", cust_kp, provider_kp), cust_kp).status_code == 201  # version 1
    f = EventFactory(provider_kp, str(cust_kp.pubkey()))
    assert post(poster, [f.hb("job-1", T0 - 20_000)]).status_code == 200  # the meter knows the lease's terms now
    publish_price_book(engine, replace(DEFAULT_PRICE_BOOK, version=2), T0 - 10_000, clock())
    assert post(poster, [f.hb("job-1", T0 - 15_000)]).status_code == 200  # still priced by version 1
    r = post(poster, [f.hb("job-1", T0 - 5_000)])
    assert r.status_code == 403 and "price book version 1" in r.json()["error"]
