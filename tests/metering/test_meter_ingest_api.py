"""Ingestion over HTTP: signatures, validation naming the field, dedup and 409, all-or-nothing batches."""
import json

from solders.keypair import Keypair
from sqlalchemy import func, select

from metering.auth import sign_request
from metering.models import UsageEvent
from metering.registry import set_paused

from meter_helpers import sign_leases_for, T0

UE = UsageEvent.__table__


def count(engine):
    with engine.connect() as c:
        return c.execute(select(func.count()).select_from(UE)).scalar()


def test_single_event_accepted_then_duplicate_then_conflict(poster, ev, engine):
    e = ev.hb("L1", T0 - 5000)
    r = poster.post(e)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "accepted"
    r = poster.post(e)
    assert r.status_code == 200 and r.json()["status"] == "duplicate"
    changed = ev.hb("L1", T0 - 5000, count=2, eid=e["id"])
    r = poster.post(changed)
    assert r.status_code == 409
    assert r.json()["field"] == "id"
    assert count(engine) == 1
    with engine.connect() as c:
        assert c.execute(select(UE.c.value)).scalar() == 1  # the original stays


def test_batch_results_per_event(poster, ev, engine):
    a, b = ev.hb("L1", T0 - 9000), ev.hb("L1", T0 - 8000)
    assert poster.post([a]).status_code == 200
    r = poster.post([a, b, b])
    assert r.status_code == 200
    assert [x["status"] for x in r.json()["results"]] == ["duplicate", "accepted", "duplicate"]
    assert count(engine) == 2


def test_batch_conflict_writes_nothing(poster, ev, engine):
    a = ev.hb("L1", T0 - 9000)
    poster.post(a)
    c = ev.hb("L1", T0 - 9000, count=4, eid=a["id"])
    r = poster.post([ev.hb("L2", T0 - 1000), c])
    assert r.status_code == 409
    st = [x["status"] for x in r.json()["results"]]
    assert st == ["valid", "conflict"]
    assert count(engine) == 1


def _bad_cases(ev, customer):
    good = ev.hb("L1", T0 - 1000)
    d = good["data"]
    return [
        ("negative quantity", {**good, "data": {**d, "gpu_count": -1}}, 422, "data.gpu_count"),
        ("huge quantity", {**good, "data": {**d, "gpu_count": 10**9}}, 422, "data.gpu_count"),
        ("huge bytes", ev.sample("b", T0 - 1000, 1 << 62), 422, "data.bytes"),
        ("unknown type", {**good, "type": "io.example.unknown"}, 422, "type"),
        ("missing id", {k: v for k, v in good.items() if k != "id"}, 422, "id"),
        ("missing data field", {**good, "data": {k: v for k, v in d.items() if k != "gpu_class"}}, 422,
         "data.gpu_class"),
        ("wrong subject", {**good, "subject": "not-a-pubkey-at-all-not-a-pubkey!"}, 422, "subject"),
        ("future time", ev.hb("L1", T0 + 3_600_000), 422, "time"),
        ("too old", ev.hb("L1", T0 - 48 * 3_600_000), 422, "time"),
        ("string quantity", {**good, "data": {**d, "gpu_count": "8"}}, 422, "data.gpu_count"),
        ("another provider's usage", {**good, "data": {**d, "provider": str(Keypair().pubkey())}}, 403,
         "data.provider"),
        ("foreign source", {**good, "source": "/providers/somebody-else"}, 403, "source"),
        ("extra attribute", {**good, "color": "red"}, 422, "color"),
    ]


def test_bad_input_named_and_nothing_written(poster, ev, customer, engine):
    for name, bad, status, field in _bad_cases(ev, customer):
        r = poster.post(bad)
        assert r.status_code == status, (name, r.text)
        assert r.json()["field"] == field, (name, r.json())
        # the same event inside an otherwise good batch: the whole batch is refused
        r = poster.post([ev.hb("OK", T0 - 2000), bad])
        assert r.status_code == status, (name, r.text)
        res = r.json()["results"]
        assert res[0]["status"] == "valid" and res[1]["status"] == "rejected" and res[1]["field"] == field, name
    assert count(engine) == 0


def test_oversized_batch(poster, ev, engine, app):
    n = app.state.cfg.limits.max_batch + 1
    r = poster.post([ev.hb("L1", T0 - 1000 - i) for i in range(n)])
    assert r.status_code == 413 and r.json()["field"] == "body"
    assert count(engine) == 0


def test_malformed_bodies(poster, engine):
    for raw, batch in ((b"{not json", False), (b"[1, 2]", False), (b"{}", True), (b"[]", True)):
        r = poster.post(None, batch=batch, raw=raw)
        assert 400 <= r.status_code < 500, raw
        assert r.json()["field"] in ("body", "event", "type", "specversion"), r.json()
    r = poster.post(None, batch=True, raw=b'[{"type": 1}]')
    assert r.status_code == 422 and r.json()["results"][0]["status"] == "rejected"
    assert count(engine) == 0


def test_signature_required_and_checked(poster, ev, client, clock, provider_kp, engine):
    e = ev.hb("L1", T0 - 1000)
    body = json.dumps(e).encode()
    r = client.post("/v1/events", content=body)
    assert r.status_code == 401 and r.json()["field"] == "X-Solmeter-Pubkey"
    h = sign_request(provider_kp, "POST", "/v1/events", body, clock())
    tampered = body.replace(b'"gpu_count": 1', b'"gpu_count": 9')
    r = client.post("/v1/events", content=tampered, headers=h)
    assert r.status_code == 401 and r.json()["field"] == "X-Solmeter-Signature"
    r = client.post("/v1/events", content=body, headers={**h, "X-Solmeter-Signature": "zzz"})
    assert r.status_code == 401
    stale = sign_request(provider_kp, "POST", "/v1/events", body, clock() - 120_000)
    r = client.post("/v1/events", content=body, headers=stale)
    assert r.status_code == 401 and "stale" in r.json()["error"]
    other_path = sign_request(provider_kp, "POST", "/v1/events/batch", body, clock())
    assert client.post("/v1/events", content=body, headers=other_path).status_code == 401
    assert count(engine) == 0
    sign_leases_for(engine, e)
    r = client.post("/v1/events", content=body, headers=h)
    assert r.status_code == 200
    r = client.post("/v1/events", content=body, headers=h)  # the same signed request again
    assert r.status_code == 401 and "replayed" in r.json()["error"]


def test_unregistered_provider_refused(poster, ev, customer, engine):
    stranger = Keypair()
    from meter_helpers import EventFactory
    e = EventFactory(stranger, customer).hb("L1", T0 - 1000)
    r = poster.post(e, kp=stranger)
    assert r.status_code == 403 and r.json()["field"] == "X-Solmeter-Pubkey"
    assert count(engine) == 0


def test_paused_customer_gets_no_new_leases(poster, ev, customer, engine, clock, reader):
    assert poster.post(ev.hb("OLD", T0 - 5000)).status_code == 200
    set_paused(engine, customer, True, clock(), "escrow exhausted")
    r = poster.post(ev.hb("NEW", T0 - 4000))
    assert r.status_code == 403 and r.json()["field"] == "subject"
    assert poster.post(ev.hb("OLD", T0 - 4000)).status_code == 200  # running work may still report
    assert poster.post(ev.stop("OLD", T0 - 3000)).status_code == 200
    st = reader.get(f"/v1/customers/{customer}/status").json()
    assert st["paused"] is True and st["paused_reason"] == "escrow exhausted"
    set_paused(engine, customer, False, clock())
    assert poster.post(ev.hb("NEW", T0 - 2000)).status_code == 200
    assert reader.get(f"/v1/customers/{customer}/status").json()["paused"] is False


def test_body_over_the_byte_limit_is_refused_unread(engine, meter_kp, clock, provider_kp, ev):
    from fastapi.testclient import TestClient

    from meter_helpers import Poster
    from metering.api import create_app
    from metering.config import MeterConfig
    from metering.events.limits import Limits

    app = create_app(engine, MeterConfig(limits=Limits(max_body_bytes=2_000)), meter_kp, clock=clock)
    with TestClient(app) as c:
        r = Poster(c, clock, provider_kp).post([ev.hb("L1", T0 - 1000 - i) for i in range(10)])
        assert r.status_code == 413 and r.json()["field"] == "body"
    assert count(engine) == 0


def test_concurrent_identical_batches_store_each_event_once(engine, cfg, ev, provider_kp):
    import threading

    from meter_helpers import ingest_direct
    from metering.ingest.service import Ingestor

    ing = Ingestor(engine, cfg)
    batch = [ev.hb(f"L{i % 7}", T0 - 60_000 + i) for i in range(300)]
    outs = []

    def post():
        outs.append(ingest_direct(ing, str(provider_kp.pubkey()), batch, T0))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(o.accepted for o in outs) == [0, 0, 0, 300]
    assert sorted(o.duplicates for o in outs) == [0, 300, 300, 300]
    assert count(engine) == 300
