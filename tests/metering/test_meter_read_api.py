"""Read API: usage with samples and gaps, customer status and runway, meter info, /metrics, OpenAPI."""
from fastapi.testclient import TestClient

from meter_helpers import T0, Poster
from metering.api import create_app
from metering.escrow import StaticEscrowBalance
from metering.read_client import SignedReader
from metering.receipts import Sealer

W = 60_000
BASE = T0 - 10 * W


def test_usage_with_samples_and_gaps(poster, ev, reader, customer, provider_kp):
    evs = [ev.hb("L1", BASE + t, 2) for t in (0, 30_000, 60_000, 200_000, 230_000)]
    evs += [ev.sample("bk", BASE, 1000), ev.sample("bk", BASE + 60_000, 1000)]
    assert poster.post(evs).status_code == 200
    r = reader.get("/v1/usage", params={"customer": customer, "start_ms": BASE, "end_ms": BASE + 5 * W})
    assert r.status_code == 200, r.text
    body = r.json()
    ch = body["channels"][0]
    assert ch["provider"] == str(provider_kp.pubkey())
    lines = {(x["family"], x["class"]): x["quantity"] for x in ch["lines"]}
    assert lines == {("gpu", "H100"): 2 * 90_000, ("storage", "STANDARD"): 1000 * 60_000}
    assert ch["gaps"] == [{"family": "gpu", "resource": "L1", "start_ms": BASE + 60_000, "end_ms": BASE + 200_000}]
    assert len(body["samples"]) == 7 and body["samples_truncated"] is False
    # a window in the middle: only intervals ending inside it
    r = reader.get("/v1/usage", params={"customer": customer, "start_ms": BASE + 30_000, "end_ms": BASE + 60_001,
                                        "samples": False})
    assert r.json()["channels"][0]["lines"][0]["quantity"] == 2 * 60_000 and "samples" not in r.json()


def test_usage_bad_queries_name_the_field(client, customer):
    cases = [({"customer": "bad", "start_ms": 0, "end_ms": 1}, "customer"),
             ({"customer": customer, "start_ms": 5, "end_ms": 1}, "end_ms"),
             ({"customer": customer, "start_ms": 0, "end_ms": 10**12}, "end_ms"),
             ({"customer": customer, "end_ms": 1}, "start_ms"),
             ({"customer": "O" * 44, "start_ms": 0, "end_ms": 1}, "customer")]
    for params, field in cases:
        r = client.get("/v1/usage", params=params)
        assert r.status_code == 422 and r.json()["field"] == field, (params, r.text)


def test_status_and_runway(engine, cfg, meter_kp, clock, ev, customer, customer_kp, provider_kp, sign_lease):
    app = create_app(engine, cfg, meter_kp, clock=clock, escrow=StaticEscrowBalance({customer: 10_000_000}))
    with TestClient(app) as client:
        reader = SignedReader(keypair=customer_kp, http=client, clock=clock)
        st = reader.get(f"/v1/customers/{customer}/status").json()
        assert st["paused"] is False and st["runway_seconds"] is None
        assert st["runway_note"] == "no usage in the last hour and no lease in force"
        poster = Poster(client, clock, provider_kp)
        # one H100 (2.5 tokens an hour) for 30 min of a lease that ended -> 1_250_000 base units in the last hour
        sign_lease("L1", gpu_count=1, start_ms=T0 - 36 * W, expiry_ms=T0 - 4 * W)
        beats = [ev.hb("L1", T0 - 35 * W + t) for t in range(0, 30 * W + 1, 30_000)]
        assert poster.post(beats, sign_leases=False).status_code == 200
        Sealer(engine, cfg, meter_kp).seal_due(T0)
        st = reader.get(f"/v1/customers/{customer}/status").json()
        assert st["billed_total"] == 1_250_000 and st["burn_rate_per_hour"] == 1_250_000
        assert st["lease_burn_rate_per_hour"] == 0 and st["runway_basis"] == "last hour"
        assert st["available_balance"] == 10_000_000 and st["runway_seconds"] == 10_000_000 * 3600 // 1_250_000
        # a lease of 2 H100 signed a minute ago: the last hour shows none of it, its full rate (5 tokens an
        # hour) sets the runway (2 h, not the 8 h the last hour's rate would say)
        sign_lease("L2", gpu_count=2, start_ms=T0 - W, expiry_ms=T0 + 60 * W)
        st = reader.get(f"/v1/customers/{customer}/status").json()
        assert st["burn_rate_per_hour"] == 1_250_000 and st["lease_burn_rate_per_hour"] == 5_000_000
        assert st["runway_basis"] == "leases in force" and st["runway_seconds"] == 10_000_000 * 3600 // 5_000_000
    with TestClient(create_app(engine, cfg, meter_kp, clock=clock)) as client:
        st = SignedReader(keypair=customer_kp, http=client, clock=clock).get(f"/v1/customers/{customer}/status").json()
        assert st["runway_seconds"] is None and "no escrow balance source" in st["runway_note"]


def test_meter_info_metrics_and_openapi(client, poster, ev, meter_kp, cfg):
    info = client.get("/v1/meter").json()
    assert info["meter_pubkey"] == str(meter_kp.pubkey()) and info["config_version"] == cfg.config_version
    poster.post([ev.hb("L1", T0 - 1000), ev.egress("web", T0 - 500, 10)])
    poster.post({**ev.hb("L1", T0 - 900), "type": "nope"})
    m = client.get("/metrics").text
    assert 'solmeter_events_accepted_total{type="gpu_heartbeat"} 1.0' in m
    assert 'solmeter_events_accepted_total{type="egress"} 1.0' in m
    assert 'solmeter_events_rejected_total{reason="type"} 1.0' in m
    assert "solmeter_ingest_lag_seconds_bucket" in m and "solmeter_events_unsealed 2.0" in m
    doc = client.get("/openapi.json").json()
    assert "CloudEvent" in doc["components"]["schemas"] and "/v1/events/batch" in doc["paths"]
    assert client.get("/docs").status_code == 200
