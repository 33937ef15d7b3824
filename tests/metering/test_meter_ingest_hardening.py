"""Attacks on the ingest edge: bodies too large (chunked, lying), JSON nested to exhaust the decoder's stack,
timestamp headers of non-ASCII digits, requests dated in the future, and refusal reasons chosen by the
caller (unknown JSON keys) that must not become Prometheus label values."""
import asyncio
import json
import re
import uuid

import pytest

from meter_helpers import T0
from metering.api import create_app
from metering.auth import H_TIMESTAMP, AuthError, sign_request, verify_request
from metering.config import MeterConfig
from metering.metrics import KNOWN_FIELDS

CHUNK = 64 << 10


def _asgi_post(app, path: str, headers: dict[str, str], body_chunks):
    """Drive the ASGI app directly with a request body that arrives chunk by chunk (no Content-Length, as
    Transfer-Encoding: chunked gives), counting how many bytes the app pulled before it answered."""
    pulled = 0
    sent: list[dict] = []
    chunks = iter(body_chunks)
    nxt = next(chunks, None)

    async def receive():
        nonlocal pulled, nxt
        if nxt is None:
            return {"type": "http.request", "body": b"", "more_body": False}
        cur, nxt = nxt, next(chunks, None)
        pulled += len(cur)
        return {"type": "http.request", "body": cur, "more_body": nxt is not None}

    async def send(msg):
        sent.append(msg)

    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(k.lower().encode(), v if isinstance(v, bytes) else v.encode()) for k, v in headers.items()],
             "client": ("127.0.0.1", 5000), "server": ("127.0.0.1", 80)}
    asyncio.run(app(scope, receive, send))
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], dict((k.decode(), v.decode()) for k, v in start["headers"]), json.loads(body), pulled


def test_chunked_24mib_body_is_cut_at_the_limit_before_auth(engine, meter_kp, clock):
    app = create_app(engine, MeterConfig(), meter_kp, clock=clock)
    limit = MeterConfig().limits.max_body_bytes
    total = 24 << 20
    # no signature headers at all: the size refusal comes before any authentication work
    status, headers, body, pulled = _asgi_post(
        app, "/v1/events/batch", {"content-type": "application/json"}, (b" " * CHUNK for _ in range(total // CHUNK)))
    assert status == 413 and body["field"] == "body", body
    assert pulled <= limit + CHUNK < total  # stopped at the limit: never read whole
    assert headers.get("connection") == "close"


def test_declared_length_over_the_limit_is_refused_unread(engine, meter_kp, clock):
    app = create_app(engine, MeterConfig(), meter_kp, clock=clock)
    declared = 24 << 20
    status, _, body, pulled = _asgi_post(app, "/v1/events/batch", {"content-length": str(declared)},
                                         (b" " * CHUNK for _ in range(declared // CHUNK)))
    assert status == 413 and str(declared) in body["error"] and pulled == 0


def test_body_at_the_limit_is_read_and_one_byte_over_is_not(engine, meter_kp, clock, provider_kp):
    from metering.events.limits import Limits

    app = create_app(engine, MeterConfig(limits=Limits(max_body_bytes=1000)), meter_kp, clock=clock)
    at_limit = b"[" + b" " * 998 + b"]"
    h = sign_request(provider_kp, "POST", "/v1/events/batch", at_limit, clock())
    status, _, body, _ = _asgi_post(app, "/v1/events/batch", h, [at_limit[:500], at_limit[500:]])
    assert status == 400 and body["field"] == "body" and "empty batch" in body["error"]  # read, then parsed
    status, _, body, _ = _asgi_post(app, "/v1/events/batch", h, [at_limit[:500], at_limit[500:] + b" "])
    assert status == 413 and body["field"] == "body"


def test_content_length_of_non_ascii_digits_is_a_clear_400(engine, meter_kp, clock):
    app = create_app(engine, MeterConfig(), meter_kp, clock=clock)
    for declared in ("²".encode("latin-1"), "1²".encode("latin-1"), "١٠".encode()):
        status, _, body, _ = _asgi_post(app, "/v1/events", {"content-length": declared}, [b"{}"])
        assert status == 400 and body["field"] == "Content-Length", body


def test_deeply_nested_json_is_a_clear_400(poster, ev, engine):
    deep_array = b"[" * 100_000 + b"]" * 100_000
    deep_object = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
    inside_event = json.dumps([ev.hb("L1", T0 - 1000)]).encode().replace(b'"gpu_count": 1', b'"gpu_count": '
                                                                          + b"[" * 5000 + b"]" * 5000)
    for raw in (deep_array, deep_object, inside_event):
        for batch in (True, False):
            r = poster.post(None, batch=batch, raw=raw)
            assert r.status_code == 400, (r.status_code, r.text[:200])
            assert r.json()["field"] == "body" and "nested too deeply" in r.json()["error"]
    assert engine.connect().exec_driver_sql("SELECT count(*) FROM usage_events").scalar() == 0


def test_timestamp_header_of_non_ascii_digits_is_401_naming_it(engine, meter_kp, clock, provider_kp, ev):
    """On the wire a header is bytes, read as latin-1: "²" (0xB2) passes str.isdigit() and int() refuses it.
    (Driven at the ASGI level: the test client re-encodes header bytes as UTF-8, which never shows a "²".)"""
    app = create_app(engine, MeterConfig(), meter_kp, clock=clock)
    body = json.dumps(ev.hb("L1", T0 - 1000)).encode()
    for ts in ("²", "1794999960000²", "¹²³"):
        h = {**sign_request(provider_kp, "POST", "/v1/events", body, clock()), H_TIMESTAMP: ts.encode("latin-1")}
        status, _, out, _ = _asgi_post(app, "/v1/events", h, [body])
        assert status == 401 and out["field"] == H_TIMESTAMP and "ASCII" in out["error"], (ts, status, out)
    assert engine.connect().exec_driver_sql("SELECT count(*) FROM usage_events").scalar() == 0


def test_timestamp_of_arabic_indic_digits_is_refused_though_int_reads_it(clock, provider_kp):
    """A header mapping of str (another server, the ingest pool) may carry digits that int() reads as the
    right number: signed over the ASCII timestamp, only the ASCII check refuses them."""
    body = b"{}"
    ascii_ts = str(clock())
    for digits in ("٠١٢٣٤٥٦٧٨٩", "０１２３４５６７８９", "۰۱۲۳۴۵۶۷۸۹"):
        ts = ascii_ts.translate(str.maketrans("0123456789", digits))
        assert int(ts) == clock()
        h = {**sign_request(provider_kp, "POST", "/v1/events", body, clock()), H_TIMESTAMP: ts}
        with pytest.raises(AuthError) as e:
            verify_request(h, "POST", "/v1/events", body, clock(), 60_000)
        assert e.value.field == H_TIMESTAMP and e.value.status == 401 and "ASCII" in e.value.reason


def test_request_timestamp_window_holds_in_both_directions(client, clock, provider_kp, ev, cfg, sign_lease):
    """A request dated in the future is as stale as one from the past; the window's edges are inclusive."""
    sign_lease("L1")
    max_age = cfg.signature_max_age_ms
    for i, (offset, ok) in enumerate(((max_age + 1, False), (-(max_age + 1), False), (max_age, True),
                                      (-max_age, True))):
        body = json.dumps(ev.hb("L1", T0 - 1000 - i)).encode()
        h = sign_request(provider_kp, "POST", "/v1/events", body, clock() + offset)
        r = client.post("/v1/events", content=body, headers=h)
        if ok:
            assert r.status_code == 200, (offset, r.text)
        else:
            assert r.status_code == 401 and r.json()["field"] == H_TIMESTAMP and "stale" in r.json()["error"], offset


def _label_values(metrics_text: str, metric: str) -> set[str]:
    return set(re.findall(rf'^{metric}\{{reason="([^"]*)"\}}', metrics_text, re.M))


def test_unknown_json_keys_never_become_metric_labels(poster, ev, client, clock, provider_kp):
    names = [f"k_{uuid.uuid4().hex[:12]}" for _ in range(30)]
    for n in names[:10]:  # unknown envelope attributes
        assert poster.post({**ev.hb("L1", T0 - 1000), n: 1}).status_code == 422
    for n in names[10:20]:  # unknown data keys
        e = ev.hb("L1", T0 - 1000)
        assert poster.post({**e, "data": {**e["data"], n: 1}}).status_code == 422
    for n in names[20:]:  # unknown keys inside telemetry entries (a list index in the path too)
        e = ev.hb("L1", T0 - 1000)
        assert poster.post({**e, "data": {**e["data"], "telemetry": [{"index": 0, n: 1}]}}).status_code == 422
    text = client.get("/metrics").text
    labels = _label_values(text, "solmeter_events_rejected_total")
    assert labels and labels <= KNOWN_FIELDS | {"other"}, labels
    assert not any(n in text for n in names)
    assert len(KNOWN_FIELDS) < 64  # the label set is fixed and small whatever is posted


def test_a_replay_is_refused_for_as_long_as_its_timestamp_is_fresh(client, clock, provider_kp, ev, cfg, sign_lease):
    """The signature is remembered while the request could still pass the freshness check: a replay just
    before its timestamp goes stale is refused as a replay, after it as stale."""
    sign_lease("L1")
    body = json.dumps(ev.hb("L1", T0 - 1000)).encode()
    h = sign_request(provider_kp, "POST", "/v1/events", body, clock())
    assert client.post("/v1/events", content=body, headers=h).status_code == 200
    clock.t += cfg.signature_max_age_ms  # the last millisecond the timestamp is fresh
    r = client.post("/v1/events", content=body, headers=h)
    assert r.status_code == 401 and "replayed" in r.json()["error"]
    clock.t += 1
    r = client.post("/v1/events", content=body, headers=h)
    assert r.status_code == 401 and "stale" in r.json()["error"]
