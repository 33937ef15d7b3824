"""Issue 15, "quantities backed by evidence", the meter's side: the provider signs, per customer of each ingest
request, the Merkle root of that customer's events (X-Solmeter-Evidence); the meter checks it at ingest, keeps
it, binds each receipt to the events it covers (detail.evidence.root, under the receipt's signature) and serves
them to the customer, the channel's provider, the operator and an auditor holding the customer's consent, never
to anyone else. Real app, real ed25519, real SQLite."""
import json

import pytest
from fastapi.testclient import TestClient
from solders.keypair import Keypair
from sqlalchemy import select

from contracts.evidence import (H_CONSENT, H_EVIDENCE, consent_message, encode_consent, evidence_root, group_root,
                                payload_hash, verify_group, verify_inclusion)
from meter_helpers import T0, EventFactory, Poster
from metering.api import create_app
from metering.auth import sign_request
from metering.agents.evidence import sign_request_groups
from metering.models import EvidenceGroup, UsageEvent
from metering.read_client import SignedReader
from metering.receipts import Sealer
from metering.registry import add_provider

W = 60_000
BASE = T0 - 10 * W
kp = {name: Keypair.from_seed(bytes([seed]) * 32) for name, seed in
      (("P", 1), ("A", 2), ("B", 3), ("Q", 4), ("OP", 5), ("X", 6))}
pk = {name: str(k.pubkey()) for name, k in kp.items()}


@pytest.fixture
def world(engine, cfg, meter_kp, clock, provider_kp):  # provider_kp: P
    """P serves A and B in ONE request (a mixed batch), Q serves A; sealed into receipts."""
    add_provider(engine, pk["Q"], clock(), "second provider")
    app = create_app(engine, cfg, meter_kp, clock=clock, admins=[pk["OP"]])
    with TestClient(app) as client:
        a, b = EventFactory(kp["P"], pk["A"]), EventFactory(kp["P"], pk["B"])
        mixed = [e for t in (0, 30_000, 60_000) for e in (a.hb("PA", BASE + t), b.hb("PB", BASE + t))]
        r = Poster(client, clock, kp["P"]).post(mixed)
        assert r.status_code == 200, r.text
        q = EventFactory(kp["Q"], pk["A"])
        r = Poster(client, clock, kp["Q"]).post([q.hb("QA", BASE + t) for t in (0, 30_000, 60_000)])
        assert r.status_code == 200, r.text
        Sealer(engine, cfg, meter_kp).seal_due(T0)
        yield client


def as_(client, clock, who):
    return SignedReader(keypair=kp[who], http=client, clock=clock)


def receipt_of(client, clock, customer, provider, seq=1):
    rs = as_(client, clock, customer).get("/v1/receipts", {"customer": pk[customer], "provider": pk[provider]})
    return next(r for r in rs.json()["receipts"] if r["seq"] == seq)


def evidence_path(r):
    return f"/v1/receipts/{r['receipt_id']}/evidence"


def test_ingest_stores_one_signed_group_per_customer_of_a_mixed_request(world, engine):
    with engine.connect() as c:
        groups = c.execute(select(EvidenceGroup.__table__)).all()
        events = c.execute(select(UsageEvent.__table__.c.customer, UsageEvent.__table__.c.payload_hash,
                                  UsageEvent.__table__.c.evidence_key)).all()
    assert sorted((g.provider, g.customer) for g in groups) == sorted(
        [(pk["P"], pk["A"]), (pk["P"], pk["B"]), (pk["Q"], pk["A"])])
    for g in groups:
        hashes = [bytes(g.hashes[i:i + 32]) for i in range(0, len(g.hashes), 32)]
        assert group_root(hashes) == bytes(g.root) and len(hashes) == g.count == 3
        assert verify_group(g.provider, g.customer, g.count, bytes(g.root), bytes(g.signature))
    assert all(e.evidence_key is not None for e in events)


def test_the_receipt_detail_binds_the_events_it_covers(world, clock):
    r = receipt_of(world, clock, "A", "P")
    doc = as_(world, clock, "A").get(evidence_path(r)).json()
    hashes = [payload_hash(e["body"]) for e in doc["events"]]
    assert r["detail"]["evidence"]["root"] == evidence_root(hashes).hex()
    assert r["detail"]["evidence"]["events"] == len(doc["events"]) == 2  # its window: the heartbeats at 0 and 30 s
    assert {json.loads(e["body"])["subject"] for e in doc["events"]} == {pk["A"]}  # B's events never served
    groups = {g["key"]: g for g in doc["groups"]}
    for e in doc["events"]:
        g = groups[e["group"]]
        assert verify_inclusion(payload_hash(e["body"]), [bytes.fromhex(p) for p in e["proof"]],
                                bytes.fromhex(g["root"]))
        assert g["customer"] == pk["A"] and g["provider"] == pk["P"]


@pytest.mark.parametrize("who", ["A", "P", "OP"])
def test_customer_provider_and_operator_read_the_evidence(world, clock, who):
    r = receipt_of(world, clock, "A", "P")
    assert as_(world, clock, who).get(evidence_path(r)).status_code == 200


def test_another_customer_is_refused(world, clock):
    r = receipt_of(world, clock, "A", "P")
    resp = as_(world, clock, "B").get(evidence_path(r))
    assert resp.status_code == 403 and resp.json()["field"] == "customer", resp.text


def test_an_unsigned_reader_is_refused(world, clock):
    r = receipt_of(world, clock, "A", "P")
    assert world.get(evidence_path(r)).status_code == 401


def test_the_provider_of_another_channel_is_refused(world, clock):
    r = receipt_of(world, clock, "A", "P")  # Q serves A too, but this is P's channel
    assert as_(world, clock, "Q").get(evidence_path(r)).status_code == 403


def _consented_get(client, clock, reader, path, consent):
    h = sign_request(kp[reader], "GET", path, b"", clock())
    clock.t += 1
    return client.get(path, headers={**h, H_CONSENT: consent})


def test_an_auditor_with_the_customers_consent_reads_it(world, clock):
    r = receipt_of(world, clock, "A", "P")
    exp = clock() + 3_600_000
    sig = bytes(kp["A"].sign_message(consent_message(pk["A"], pk["X"], exp)))
    assert _consented_get(world, clock, "X", evidence_path(r), encode_consent(pk["A"], exp, sig)).status_code == 200


@pytest.mark.parametrize("case", ["other_reader", "expired", "other_customer_signs", "b_consents_for_a"])
def test_a_consent_not_for_this_reader_customer_or_time_is_refused(world, clock, case):
    r = receipt_of(world, clock, "A", "P")
    exp = clock() + 3_600_000
    if case == "other_reader":  # A consented for X; OP... no: B presents X's consent
        sig, reader, cust = bytes(kp["A"].sign_message(consent_message(pk["A"], pk["X"], exp))), "B", "A"
    elif case == "expired":
        exp = clock() - 1
        sig, reader, cust = bytes(kp["A"].sign_message(consent_message(pk["A"], pk["X"], exp))), "X", "A"
    elif case == "other_customer_signs":  # B signs a consent claiming to be A's
        sig, reader, cust = bytes(kp["B"].sign_message(consent_message(pk["A"], pk["X"], exp))), "X", "A"
    else:  # B's genuine consent does not open A's receipt
        sig, reader, cust = bytes(kp["B"].sign_message(consent_message(pk["B"], pk["X"], exp))), "X", "B"
    resp = _consented_get(world, clock, reader, evidence_path(r), encode_consent(pk[cust], exp, sig))
    assert resp.status_code in (401, 403), resp.text


def _post_with(client, clock, events, evidence):
    body = json.dumps(events).encode()
    clock.t += 1
    h = sign_request(kp["P"], "POST", "/v1/events/batch", body, clock())
    if evidence is not None:
        h[H_EVIDENCE] = evidence
    return client.post("/v1/events/batch", content=body, headers={**h, "content-type": "application/json"})


def test_a_wrong_or_incomplete_evidence_header_refuses_the_request(world, clock, engine):
    a, b = EventFactory(kp["P"], pk["A"]), EventFactory(kp["P"], pk["B"])
    events = [a.hb("PA", BASE + 90_000), b.hb("PB", BASE + 90_000)]
    good = sign_request_groups(kp["P"], json.dumps(events).encode())
    only_a = ";".join(p for p in good.split(";") if p.startswith(pk["A"]))
    swapped = good.replace(pk["A"], "TMP").replace(pk["B"], pk["A"]).replace("TMP", pk["B"])
    other_body = sign_request_groups(kp["P"], json.dumps([a.hb("PA", BASE + 91_000), events[1]]).encode())
    with engine.connect() as c:
        before = c.execute(select(UsageEvent.__table__.c.id)).all()
    for bad in (only_a, swapped, other_body, "garbage"):
        resp = _post_with(world, clock, events, bad)
        assert resp.status_code == 401 and resp.json()["field"] == H_EVIDENCE, (bad, resp.text)
    with engine.connect() as c:
        assert c.execute(select(UsageEvent.__table__.c.id)).all() == before  # nothing written
    assert _post_with(world, clock, events, good).status_code == 200


def test_consent_also_opens_the_customers_receipt_list_to_that_reader_only(world, clock):
    exp = clock() + 3_600_000
    consent = encode_consent(pk["A"], exp, bytes(kp["A"].sign_message(consent_message(pk["A"], pk["X"], exp))))
    path = f"/v1/receipts?customer={pk['A']}"
    assert _consented_get(world, clock, "X", path, consent).status_code == 200
    assert _consented_get(world, clock, "X", f"/v1/receipts?customer={pk['B']}", consent).status_code == 403
    assert as_(world, clock, "X").get("/v1/receipts", {"customer": pk["A"]}).status_code == 403  # without it
