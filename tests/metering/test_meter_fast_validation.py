"""The msgspec fast path of batch validation against pydantic, the schema of record: on random valid and
invalid events the fast path never accepts what pydantic refuses, produces the identical ValidEvent
(canonical body, hash, time) when both accept, and the full parse (fast path, then pydantic fallback)
gives exactly pydantic's per-event verdicts and field names."""
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair

from metering.events import EGRESS, GPU_HEARTBEAT, GPU_STOP, STORAGE_SAMPLE, EventRejected, validate_event
from metering.events.envelope import validate_batch_fast
from metering.events.fast import validate_batch_msgspec
from metering.ingest.parse import parse_body

PKS = [str(Keypair.from_seed(bytes([i]) * 32).pubkey()) for i in (1, 2)]
JUNK = st.one_of(st.none(), st.booleans(), st.integers(min_value=-(1 << 70), max_value=1 << 70),
                 st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=8), st.just([]), st.just({}))


def _s(valid, bad_suffixes=("\n", " ", "\u0660", "é")):
    """A string field: (valid values, values to mutate it to: a suffix the pattern must refuse, or junk)."""
    return valid, st.one_of(valid.flatmap(lambda v: st.sampled_from(bad_suffixes).map(lambda x: v + x)), JUNK)


def _i(lo, hi):
    return st.integers(lo, hi), st.one_of(st.sampled_from([lo - 1, hi + 1, lo, hi]), st.integers(lo, hi).map(float),
                                          st.booleans(), st.integers(lo, hi).map(str), JUNK)


def _opt(field):
    return st.one_of(st.none(), field[0]), field[1]


CLS = _s(st.from_regex(r"[A-Z0-9][A-Z0-9_.-]{0,31}", fullmatch=True))
RES = _s(st.from_regex(r"[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,20}", fullmatch=True))
RES = RES[0], st.one_of(RES[1], st.just("r" * 129), st.just("-r"))
PK = st.sampled_from(PKS), st.one_of(st.sampled_from(PKS).map(lambda p: p + "\n"), JUNK, st.sampled_from(
    ["1" * 32, "0" * 32, "11111111111111111111111111111112", PKS[0][:-1] + "O", PKS[0][:31]]))
FRAC = st.one_of(st.just(""), st.text("0123456789", min_size=1, max_size=6).map(lambda f: "." + f))
TIME_OK = st.builds(lambda dt, frac, off: dt.strftime("%Y-%m-%dT%H:%M:%S") + frac + off,
                    st.datetimes(), FRAC, st.sampled_from(["Z", "+00:00", "-00:00", "+05:30", "-23:59", "+14:00"]))
TIME = TIME_OK, st.one_of(
    st.builds(lambda y, mo, d, h, mi, s, frac, off: f"{y:04d}-{mo:02d}-{d:02d}T{h:02d}:{mi:02d}:{s:02d}{frac}{off}",
              st.integers(0, 9999), st.integers(0, 13), st.integers(0, 32), st.integers(0, 24), st.integers(0, 60),
              st.integers(0, 60), st.one_of(FRAC, st.text("0123456789", min_size=7, max_size=9).map(lambda f: "." + f)),
              st.sampled_from(["Z", "z", "+00:00", "-00:00", "+05:30", "-23:59", "+24:00", "+0200", "", "+02"])),
    st.sampled_from(["2026-11-18 00:00:00Z", "2026-11-18t00:00:00Z", "2026-11-18T00:00Z", "2026-11-18T00:00:00.123Z\n",
                     "\u0662026-11-18T00:00:00Z", "2026-11-18", "2026-02-30T00:00:00Z", "2026-11-18T00:00:00.Z"]),
    st.integers(0, 1 << 40), JUNK)
TELEMETRY = st.fixed_dictionaries({"index": _i(0, 1024)[0]}, optional={
    "utilization_pct": st.one_of(st.none(), *_i(0, 100)), "memory_used_bytes": _i(0, 1 << 48)[0],
    "temperature_c": st.one_of(*_i(-50, 200)), "power_mw": _i(0, 10_000_000)[0]})
TELE = st.lists(TELEMETRY, max_size=3), st.one_of(st.lists(TELEMETRY.map(lambda d: {**d, "extra": 1}), min_size=1,
                                                           max_size=2), JUNK)
DATA = {
    GPU_HEARTBEAT: dict(lease_id=RES, provider=PK, gpu_class=CLS, gpu_count=_i(1, 1024), interval_ms=_i(1000, 3_600_000),
                        telemetry=_opt(TELE)),
    GPU_STOP: dict(lease_id=RES, provider=PK, reason=(st.one_of(st.none(), st.text(max_size=5)),
                                                      st.one_of(st.just("x" * 257), JUNK))),
    STORAGE_SAMPLE: dict(bucket=RES, provider=PK, storage_class=CLS, bytes=_i(0, 1 << 60), objects=_opt(_i(0, 1 << 48))),
    EGRESS: dict(resource=RES, provider=PK, egress_class=CLS, bytes=_i(1, 1 << 50)),
}
ENV = dict(specversion=(st.just("1.0"), st.sampled_from(["0.3", "1.0\n", 1.0])), id=_s(st.text(min_size=1, max_size=12)),
           source=_s(st.just(f"/providers/{PKS[0]}/agent")), subject=PK, time=TIME,
           datacontenttype=(st.sampled_from([None, "application/json"]), st.sampled_from(["text/plain", 1])))
OPTIONAL = {"telemetry", "reason", "objects", "egress_class", "datacontenttype"}


@st.composite
def events(draw):
    """A valid event of a random type, then 0-2 mutations: a field set to a bad or edge value, dropped,
    an extra attribute, an unknown type."""
    typ = draw(st.sampled_from(list(DATA)))
    spec = DATA[typ]
    data = {k: draw(v[0]) for k, v in spec.items() if k not in OPTIONAL or draw(st.booleans())}
    env = {k: draw(v[0]) for k, v in ENV.items() if k not in OPTIONAL or draw(st.booleans())}
    env["type"], env["data"] = typ, data
    for _ in range(draw(st.sampled_from([0, 0, 0, 1, 1, 1, 2]))):
        where, fields = draw(st.sampled_from([(env, ENV), (data, spec)]))
        m = draw(st.sampled_from(["bad", "bad", "bad", "drop", "extra", "type"]))
        name = draw(st.sampled_from(sorted(fields)))
        if m == "bad":
            where[name] = draw(fields[name][1])
        elif m == "drop":
            where.pop(name, None)
        elif m == "extra":
            where["unexpected"] = "x"
        else:
            env["type"] = draw(st.sampled_from(list(DATA) + ["io.solmeter.unknown", None]))
    return env


def _verdict(item):
    return ("rejected", item.field, item.reason) if isinstance(item, EventRejected) else ("valid", item)


@settings(max_examples=1500, deadline=None, suppress_health_check=list(HealthCheck))
@given(st.lists(events(), min_size=1, max_size=3))
def test_fast_path_agrees_with_pydantic(evs):
    raw = json.dumps(evs, ensure_ascii=False).encode()
    fast = validate_batch_msgspec(raw)
    if fast is not None:  # accepted: pydantic accepts the same batch into the same rows
        assert validate_batch_fast(raw) == fast
    reference = []
    for e in evs:
        try:
            reference.append(validate_event(json.loads(json.dumps(e))))
        except EventRejected as r:
            reference.append(r)
    got = parse_body(raw, batch=True, max_batch=100, max_body_bytes=1 << 20)
    assert [_verdict(x) for x in got] == [_verdict(x) for x in reference]


def test_fast_path_accepts_what_agents_send(ev, provider_kp):
    """Not vacuous: the events agents produce (all types, optional fields, offsets, fractions) take the
    fast path, and give the same rows as pydantic."""
    t = 1_794_999_960_123
    batch = [ev.hb("L1", t), ev.hb("L1", t + 1000, count=2), ev.stop("L1", t + 2000),
             ev.sample("b1", t, 1 << 40), ev.egress("e1", t, 5), {**ev.egress("e2", t, 6), "datacontenttype": "application/json"},
             {**ev.stop("L2", t), "time": "2026-11-18T01:02:03.5+05:30"}, {**ev.hb("L3", t), "time": "2026-11-18T01:02:03-00:00"}]
    batch[2]["data"]["reason"] = "job ended ✓ \"quoted\"\n"
    batch[3]["data"]["objects"] = 12
    batch[4]["data"]["egress_class"] = "CDN"
    batch[0]["data"]["telemetry"] = [{"index": 0, "utilization_pct": 97, "power_mw": 300_000}, {"index": 1}]
    raw = json.dumps(batch).encode()
    fast = validate_batch_msgspec(raw)
    assert fast is not None and fast == validate_batch_fast(raw)
    assert [e.body for e in fast] == [json.loads(json.dumps(e.body)) for e in fast]


def test_fast_path_refuses_trailing_newline_and_unicode_digits(ev):
    """Python's `$` and `\\d` would let these through; pydantic refuses them."""
    for bad in ({**ev.hb("L1", 1_794_999_960_000, cls="H100\n")}, {**ev.hb("L1\n", 1_794_999_960_000)},
                {**ev.hb("L1", 1_794_999_960_000), "time": "2026-11-18T00:00:0\u0660Z"}):
        raw = json.dumps([bad]).encode()
        assert validate_batch_msgspec(raw) is None
        assert isinstance(parse_body(raw, batch=True, max_batch=10, max_body_bytes=1 << 20)[0], EventRejected)
