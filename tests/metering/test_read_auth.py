"""Attacks on the read API (issue 11, "the read API answers anyone"): every private read is signed, and a
signer reads only what it is a party to (metering/read_policy.py), through the real app, signatures and
database. Setup: provider P serves customers A and B, provider Q serves A; each channel has receipts."""
import pytest
from fastapi.testclient import TestClient
from solders.keypair import Keypair

from meter_helpers import T0, EventFactory, Poster
from metering.api import create_app
from metering.auth import sign_request
from metering.read_client import SignedReader
from metering.receipts import Sealer
from metering.registry import add_provider

W = 60_000
BASE = T0 - 10 * W
kp = {name: Keypair.from_seed(bytes([seed]) * 32) for name, seed in
      (("P", 1), ("A", 2), ("B", 3), ("Q", 4), ("OP", 5), ("X", 6))}
pk = {name: str(k.pubkey()) for name, k in kp.items()}


@pytest.fixture
def world(engine, cfg, meter_kp, clock, provider_kp):  # provider_kp: P, registered
    """The app (operator admin key OP) with the three channels sealed into receipts."""
    add_provider(engine, pk["Q"], clock(), "second provider")
    app = create_app(engine, cfg, meter_kp, clock=clock, admins=[pk["OP"]])
    with TestClient(app) as client:
        for prov, cust in (("P", "A"), ("P", "B"), ("Q", "A")):
            ev = EventFactory(kp[prov], pk[cust])
            r = Poster(client, clock, kp[prov]).post([ev.hb(f"{prov}{cust}", BASE + t) for t in (0, 30_000, 60_000)])
            assert r.status_code == 200, r.text
        Sealer(engine, cfg, meter_kp).seal_due(T0)
        yield client


def as_(client, clock, who):
    return SignedReader(keypair=kp[who] if isinstance(who, str) else who, http=client, clock=clock)


def usage_q(customer, provider=None):
    return {"customer": pk[customer], "start_ms": BASE, "end_ms": T0, **({"provider": pk[provider]} if provider else {})}


def refused(r, status, field):
    assert r.status_code == status, r.text
    body = r.json()
    assert body["field"] == field, body
    assert set(body) == {"error", "field"}  # nothing of the data rides along with a refusal
    return body["error"]


# --- unsigned -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("path,params", [("/v1/usage", usage_q("A")), ("/v1/receipts", {"customer": pk["A"]}),
                                         ("/v1/receipts", {"provider": pk["P"]}), (f"/v1/customers/{pk['A']}/status", None),
                                         (f"/v1/providers/{pk['P']}/channels", None)])
def test_unsigned_private_read_is_401(world, path, params):
    err = refused(world.get(path, params=params), 401, "X-Solmeter-Signature")
    assert "private" in err and "sign the request" in err


def test_auditor_reads_stay_public_unsigned(world, engine):
    batches = world.get("/v1/batches")
    assert batches.status_code == 200
    from sqlalchemy import select

    from metering.models import ReceiptRow
    with engine.connect() as c:
        rid = c.execute(select(ReceiptRow.receipt_id)).scalars().first()
    r = world.get(f"/v1/receipts/{bytes(rid).hex()}")
    assert r.status_code == 200 and r.json()["signature"] and r.json()["meter_pubkey"]
    assert world.get("/v1/meter").status_code == 200 and world.get("/healthz").status_code == 200


def test_partial_signature_headers_name_the_missing_one(world, clock):
    h = sign_request(kp["A"], "GET", f"/v1/customers/{pk['A']}/status", b"", clock())
    del h["X-Solmeter-Timestamp"]
    err = refused(world.get(f"/v1/customers/{pk['A']}/status", headers=h), 401, "X-Solmeter-Timestamp")
    assert "missing" in err


# --- customers ----------------------------------------------------------------------------------------

def test_customer_reads_its_own_usage_receipts_and_status(world, clock):
    a = as_(world, clock, "A")
    u = a.get("/v1/usage", usage_q("A"))
    assert u.status_code == 200 and {c["provider"] for c in u.json()["channels"]} == {pk["P"], pk["Q"]}
    rs = a.get("/v1/receipts", {"customer": pk["A"]}).json()["receipts"]
    assert rs and {r["customer"] for r in rs} == {pk["A"]} and {r["provider"] for r in rs} == {pk["P"], pk["Q"]}
    assert a.get(f"/v1/customers/{pk['A']}/status").json()["channels"] == 2


def test_customer_a_may_not_read_customer_b_usage(world, clock):
    err = refused(as_(world, clock, "A").get("/v1/usage", usage_q("B")), 403, "customer")
    assert pk["A"] in err and pk["B"] in err and "usage" in err


def test_customer_a_may_not_read_customer_b_usage_at_one_provider(world, clock):
    refused(as_(world, clock, "A").get("/v1/usage", usage_q("B", "P")), 403, "provider")


def test_customer_a_may_not_read_customer_b_receipts(world, clock):
    err = refused(as_(world, clock, "A").get("/v1/receipts", {"customer": pk["B"]}), 403, "customer")
    assert "receipts of customer " + pk["B"] in err


def test_customer_a_may_not_read_customer_b_status(world, clock):
    err = refused(as_(world, clock, "A").get(f"/v1/customers/{pk['B']}/status"), 403, "customer")
    assert "its own status" in err


def test_customer_may_not_list_a_providers_customers(world, clock):
    refused(as_(world, clock, "A").get("/v1/receipts", {"provider": pk["P"]}), 403, "provider")


# --- providers ----------------------------------------------------------------------------------------

def test_provider_lists_its_own_customers(world, clock):
    rs = as_(world, clock, "P").get("/v1/receipts", {"provider": pk["P"]}).json()["receipts"]
    assert {r["customer"] for r in rs} == {pk["A"], pk["B"]} and {r["provider"] for r in rs} == {pk["P"]}


def test_provider_may_not_read_another_providers_customer_list(world, clock):
    err = refused(as_(world, clock, "P").get("/v1/receipts", {"provider": pk["Q"]}), 403, "provider")
    assert "own channels" in err
    refused(as_(world, clock, "P").get(f"/v1/providers/{pk['Q']}/channels"), 403, "provider")
    refused(as_(world, clock, "A").get(f"/v1/providers/{pk['P']}/channels"), 403, "provider")


def test_provider_channels_list_the_latest_receipt_of_each_customer(world, clock):
    p = as_(world, clock, "P")
    chans = p.get(f"/v1/providers/{pk['P']}/channels").json()["channels"]
    assert sorted(c["customer"] for c in chans) == sorted([pk["A"], pk["B"]])
    newest = p.get("/v1/receipts", {"provider": pk["P"], "customer": pk["A"], "newest_first": True}).json()["receipts"]
    a = next(c for c in chans if c["customer"] == pk["A"])
    assert (a["seq"], a["cum_amount"]) == (newest[0]["seq"], newest[0]["cum_amount"]) and a["batched"] is False
    assert [r["seq"] for r in newest] == sorted((r["seq"] for r in newest), reverse=True)


def test_provider_reads_usage_of_its_own_channel_only(world, clock):
    p = as_(world, clock, "P")
    u = p.get("/v1/usage", usage_q("A", "P")).json()
    assert [c["provider"] for c in u["channels"]] == [pk["P"]]
    assert {s["provider"] for s in u["samples"]} == {pk["P"]}
    refused(p.get("/v1/usage", usage_q("A")), 403, "customer")  # all of A's: Q's usage too
    refused(p.get("/v1/usage", usage_q("A", "Q")), 403, "provider")


def test_provider_reads_the_status_of_customers_it_serves_only(world, clock):
    assert as_(world, clock, "P").get(f"/v1/customers/{pk['B']}/status").status_code == 200
    err = refused(as_(world, clock, "Q").get(f"/v1/customers/{pk['B']}/status"), 403, "customer")
    assert "customers it serves" in err


# --- operator -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("who", ["OP", "meter"])
def test_the_operator_reads_all(world, clock, meter_kp, who):
    o = as_(world, clock, meter_kp if who == "meter" else "OP")
    assert o.get("/v1/usage", usage_q("B")).status_code == 200
    rs = o.get("/v1/receipts", {"provider": pk["Q"]}).json()["receipts"]
    assert {r["customer"] for r in rs} == {pk["A"]}
    assert o.get(f"/v1/customers/{pk['B']}/status").json()["channels"] == 1


def test_a_key_that_is_no_admin_is_no_operator(world, clock):
    refused(as_(world, clock, "X").get("/v1/receipts", {"customer": pk["B"]}), 403, "customer")


# --- the signature: freshness, coverage, replay -------------------------------------------------------

def _status_headers(who, path_signed, ts, method="GET"):
    return sign_request(kp[who], method, path_signed, b"", ts)


def test_stale_timestamp_is_401(world, clock, cfg):
    path = f"/v1/customers/{pk['A']}/status"
    err = refused(world.get(path, headers=_status_headers("A", path, clock() - cfg.signature_max_age_ms - 1)),
                  401, "X-Solmeter-Timestamp")
    assert "stale" in err


def test_future_timestamp_is_401(world, clock, cfg):
    path = f"/v1/customers/{pk['A']}/status"
    err = refused(world.get(path, headers=_status_headers("A", path, clock() + cfg.signature_max_age_ms + 1)),
                  401, "X-Solmeter-Timestamp")
    assert "stale" in err


def test_signature_for_another_path_is_401(world, clock):
    h = _status_headers("A", f"/v1/customers/{pk['A']}/status", clock())
    err = refused(world.get(f"/v1/customers/{pk['B']}/status", headers=h), 401, "X-Solmeter-Signature")
    assert "does not verify" in err


def test_signature_for_another_query_is_401(world, clock):
    # a reader allowed to sign `?provider=A...` (its own key) must not turn it into `?customer=B...`
    signed = f"/v1/receipts?customer={pk['A']}"
    h = _status_headers("A", signed, clock())
    assert world.get(signed, headers=h).status_code == 200
    h = _status_headers("A", signed, clock() + 1)
    refused(world.get(f"/v1/receipts?customer={pk['A']}&limit=1", headers=h), 401, "X-Solmeter-Signature")
    h = _status_headers("A", signed, clock() + 2)
    refused(world.get(f"/v1/receipts?customer={pk['B']}", headers=h), 401, "X-Solmeter-Signature")


def test_signature_for_another_method_is_401(world, clock):
    path = f"/v1/customers/{pk['A']}/status"
    refused(world.get(path, headers=_status_headers("A", path, clock(), method="POST")), 401, "X-Solmeter-Signature")


def test_a_captured_signed_read_is_not_replayable_within_the_window(world, clock):
    path = f"/v1/customers/{pk['A']}/status"
    h = _status_headers("A", path, clock())
    assert world.get(path, headers=h).status_code == 200
    err = refused(world.get(path, headers=h), 401, "X-Solmeter-Signature")
    assert "replayed" in err
    clock.t += 1000  # a second later, still inside the window: still remembered
    assert "replayed" in refused(world.get(path, headers=h), 401, "X-Solmeter-Signature")


def test_a_replay_after_the_window_is_stale(world, clock, cfg):
    path = f"/v1/customers/{pk['A']}/status"
    h = _status_headers("A", path, clock())
    assert world.get(path, headers=h).status_code == 200
    clock.t += cfg.signature_max_age_ms + 1
    assert "stale" in refused(world.get(path, headers=h), 401, "X-Solmeter-Timestamp")


def test_the_client_signs_identical_reads_in_one_millisecond_apart(world, clock):
    a = as_(world, clock, "A")
    for _ in range(3):  # the clock does not move: the reader's timestamps do
        assert a.get(f"/v1/customers/{pk['A']}/status").status_code == 200


# --- the memory of used signatures --------------------------------------------------------------------

def test_seen_reads_refuses_when_full_rather_than_forgetting():
    from metering.api.read_auth import SeenReads
    from metering.auth import AuthError

    s = SeenReads(max_age_ms=60_000, capacity=2)
    s.claim("s1", T0, T0)
    s.claim("s2", T0, T0)
    with pytest.raises(AuthError) as e:
        s.claim("s3", T0, T0)
    assert e.value.status == 429 and "retry" in e.value.reason
    with pytest.raises(AuthError, match="replayed"):  # a full set still refuses the replay, not "full"
        s.claim("s1", T0, T0)


def test_seen_reads_forgets_a_signature_once_its_timestamp_is_stale():
    from metering.api.read_auth import SeenReads

    s = SeenReads(max_age_ms=60_000, capacity=2)
    s.claim("s1", T0 - 30_000, T0)  # signed half a window ago: fresh until T0 + 30 s
    s.claim("s2", T0 + 10_000, T0)
    s.claim("s3", T0, T0 + 30_001)  # s1 is stale by now and makes room
    assert len(s) == 2
