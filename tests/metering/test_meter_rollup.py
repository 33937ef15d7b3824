"""Pure rollup: exact GPU-ms and byte-seconds, gaps, stops, window attribution, cumulative pricing."""
import pytest

from metering.rollup import Point, PriceBook, Price, egress_usage, gpu_lease_usage, price_lines, rollup_channels, storage_usage
from metering.rollup.pricing import DEFAULT_PRICE_BOOK, HOUR_MS

HB, STOP, SAMPLE, EG = 1, 2, 3, 4
TO = 90_000


def hb(t, n=1, cls="H100"):
    return Point(t, HB, n, cls, f"hb{t}")


def stop(t):
    return Point(t, STOP, 0, "", f"stop{t}")


def test_regular_heartbeats():
    pts = [hb(t, 2) for t in range(0, 120_001, 30_000)]
    u = gpu_lease_usage(pts, TO, end_ms=10**12)
    assert u.quantities == {"H100": 2 * 120_000}
    assert u.gaps == []


def test_missed_heartbeat_within_timeout_is_billed_longer_gap_is_not():
    pts = [hb(0), hb(30_000), hb(90_000), hb(200_000), hb(230_000)]  # 60 s gap ok, 110 s gap > 90 s
    u = gpu_lease_usage(pts, TO, end_ms=10**12)
    assert u.quantities == {"H100": 30_000 + 60_000 + 30_000}
    assert u.gaps == [(90_000, 200_000)]


def test_gap_exactly_at_timeout_is_billed():
    u = gpu_lease_usage([hb(0), hb(TO)], TO, end_ms=10**12)
    assert u.quantities == {"H100": TO} and u.gaps == []


def test_stop_ends_billing_and_later_heartbeats_are_ignored():
    pts = [hb(0, 4), hb(30_000, 4), stop(45_000), hb(60_000, 4), hb(90_000, 4)]
    u = gpu_lease_usage(pts, TO, end_ms=10**12)
    assert u.quantities == {"H100": 4 * 45_000}


def test_stop_after_a_long_gap_bills_nothing_for_the_gap():
    u = gpu_lease_usage([hb(0), hb(30_000), stop(500_000)], TO, end_ms=10**12)
    assert u.quantities == {"H100": 30_000} and u.gaps == [(30_000, 500_000)]


def test_count_and_class_of_the_earlier_heartbeat_apply():
    pts = [hb(0, 2, "A100"), hb(30_000, 8, "H100"), hb(60_000, 1, "H100")]
    u = gpu_lease_usage(pts, TO, end_ms=10**12)
    assert u.quantities == {"A100": 2 * 30_000, "H100": 8 * 30_000}


def test_interval_goes_to_the_window_of_its_end_event():
    pts = [hb(50_000), hb(70_000), hb(100_000)]
    assert gpu_lease_usage(pts, TO, end_ms=60_000).quantities == {}
    assert gpu_lease_usage(pts, TO, end_ms=120_000, start_ms=60_000).quantities == {"H100": 50_000}
    assert gpu_lease_usage(pts, TO, end_ms=100_000).quantities == {"H100": 20_000}


def test_order_of_points_does_not_matter():
    pts = [hb(0, 2), hb(30_000, 3), stop(50_000), hb(10_000, 1)]
    a = gpu_lease_usage(pts, TO, end_ms=10**12)
    b = gpu_lease_usage(list(reversed(pts)), TO, end_ms=10**12)
    assert a == b and a.quantities == {"H100": 2 * 10_000 + 1 * 20_000 + 3 * 20_000}


def test_storage_byte_ms_with_gaps():
    pts = [Point(0, SAMPLE, 1000, "STANDARD", "a"), Point(60_000, SAMPLE, 3000, "STANDARD", "b"),
           Point(120_000, SAMPLE, 5000, "ARCHIVE", "c"), Point(2_000_000, SAMPLE, 5000, "ARCHIVE", "d"),
           Point(2_000_500, SAMPLE, 7, "ARCHIVE", "e")]
    u = storage_usage(pts, 600_000, end_ms=10**12)
    assert u.quantities == {"STANDARD": 1000 * 60_000 + 3000 * 60_000, "ARCHIVE": 5000 * 500}
    assert u.gaps == [(120_000, 2_000_000)]


def test_storage_huge_buckets_stay_exact():
    big = 1 << 60
    u = storage_usage([Point(0, SAMPLE, big, "S", "a"), Point(600_000, SAMPLE, big, "S", "b")], 600_000, end_ms=10**12)
    assert u.quantities == {"S": big * 600_000}  # beyond 2^64: Python ints, stored as decimal text


def test_egress_sums_per_class():
    pts = [Point(0, EG, 10, "INTERNET", "a"), Point(5, EG, 20, "INTERNET", "b"), Point(7, EG, 1, "REGION", "c")]
    assert egress_usage(pts, end_ms=100).quantities == {"INTERNET": 30, "REGION": 1}
    assert egress_usage(pts, end_ms=6).quantities == {"INTERNET": 30}


def test_rollup_channels_groups_by_channel_and_key():
    rows = [("c1", "p1", HB, "L1", "H100", 1, 0, "a"), ("c1", "p1", HB, "L1", "H100", 1, 30_000, "b"),
            ("c1", "p1", HB, "L2", "H100", 2, 0, "c"), ("c1", "p1", HB, "L2", "H100", 2, 30_000, "d"),
            ("c2", "p1", SAMPLE, "bk", "STANDARD", 10, 0, "e"), ("c2", "p1", SAMPLE, "bk", "STANDARD", 10, 1000, "f")]
    out = rollup_channels(rows, 10**12, heartbeat_timeout_ms=TO, sample_timeout_ms=600_000)
    assert out[("c1", "p1")].quantities == {(HB, "H100"): 90_000}
    assert out[("c2", "p1")].quantities == {(SAMPLE, "STANDARD"): 10_000}


def test_cumulative_pricing_never_drifts():
    book = PriceBook(1, gpu={"H100": Price(7, 3)})  # 7 base units per 3 GPU-ms: every increment rounds
    prev = {}
    cum = 0
    for step in range(1, 200):
        cum += step % 5 + 1
        lines = price_lines(prev, {("gpu", "H100"): cum}, {("gpu", "H100"): step % 5 + 1}, book)
        prev = {("gpu", "H100"): lines[0]}
        assert lines[0].amount == cum * 7 // 3  # a function of the cumulative, not a sum of rounded parts
        assert lines[0].adjustment == 0


def test_price_change_starts_a_segment():
    b1 = PriceBook(1, gpu={"H100": Price(10, HOUR_MS)})
    b2 = PriceBook(2, gpu={"H100": Price(20, HOUR_MS)})
    l1 = price_lines({}, {("gpu", "H100"): 2 * HOUR_MS}, {("gpu", "H100"): 2 * HOUR_MS}, b1)[0]
    assert l1.amount == 20
    l2 = price_lines({("gpu", "H100"): l1}, {("gpu", "H100"): 3 * HOUR_MS}, {("gpu", "H100"): HOUR_MS}, b2)[0]
    assert (l2.segment_base_quantity, l2.segment_base_amount, l2.amount, l2.price_version) == (2 * HOUR_MS, 20, 40, 2)
    l3 = price_lines({("gpu", "H100"): l2}, {("gpu", "H100"): 4 * HOUR_MS}, {("gpu", "H100"): HOUR_MS}, b2)[0]
    assert l3.amount == 60 and l3.price_version == 2


def test_late_usage_is_an_adjustment_and_totals_never_go_down():
    book = DEFAULT_PRICE_BOOK
    l1 = price_lines({}, {("gpu", "H100"): 1000}, {("gpu", "H100"): 1000}, book)[0]
    l2 = price_lines({("gpu", "H100"): l1}, {("gpu", "H100"): 1500}, {("gpu", "H100"): 200}, book)[0]
    assert (l2.quantity, l2.adjustment, l2.cumulative) == (200, 300, 1500)
    l3 = price_lines({("gpu", "H100"): l2}, {("gpu", "H100"): 1400}, {}, book)[0]
    assert l3.cumulative == 1500 and l3.amount == l2.amount


def test_unknown_class_uses_wildcard_or_is_flagged_unpriced():
    assert price_lines({}, {("gpu", "B200"): HOUR_MS}, {}, DEFAULT_PRICE_BOOK)[0].unit_price == 1_000_000
    ln = price_lines({}, {("gpu", "B200"): HOUR_MS}, {}, PriceBook(1))[0]
    assert ln.unpriced and ln.amount == 0


@pytest.mark.parametrize("bad", [{"version": 0}, {"version": 1, "gpu": {"H100": {"unit_price": -1, "per": 1}}},
                                 {"version": 1, "gpu": {"H100": {"unit_price": 1, "per": 0}}}, {"version": 1, "x": {}}])
def test_malformed_price_books_refused(bad):
    with pytest.raises(ValueError):
        PriceBook.from_dict(bad)


def test_price_book_round_trip():
    assert PriceBook.from_json(DEFAULT_PRICE_BOOK.to_json()) == DEFAULT_PRICE_BOOK


from hypothesis import given, settings, strategies as st  # noqa: E402

from metering.rollup.usage import Carry, advance, carry_of, key_usage  # noqa: E402

_pt = st.builds(lambda t, k, v, c, i: Point(t, k, v, c, f"e{i}"), st.integers(0, 600_000), st.sampled_from([HB, HB, HB, STOP]),
                st.integers(1, 8), st.sampled_from(["H100", "A100"]), st.integers(0, 10**6))


@settings(max_examples=200, deadline=None)
@given(pts=st.lists(_pt, max_size=40), cuts=st.lists(st.integers(1, 700_000), max_size=6), fam=st.sampled_from([HB, SAMPLE]))
def test_advancing_window_by_window_equals_the_full_computation(pts, cuts, fam):
    if fam == SAMPLE:
        pts = [Point(p.t_ms, SAMPLE, p.value * 1000, p.rclass, p.event_id) for p in pts]
    kw = dict(heartbeat_timeout_ms=TO, sample_timeout_ms=60_000)
    bounds = sorted(set(cuts)) + [700_000]
    carry, start, total, gaps = Carry(), 0, {}, []
    for end in bounds:
        window = [p for p in pts if start <= p.t_ms < end]
        u, carry = advance(fam, carry, window, end, start_ms=start, **kw)
        for c, q in u.quantities.items():
            total[c] = total.get(c, 0) + q
        gaps += u.gaps
        assert carry == carry_of(fam, pts, end)
        start = end
    full = key_usage(fam, pts, 700_000, **kw)
    assert {c: q for c, q in total.items() if q} == {c: q for c, q in full.quantities.items() if q}
    assert gaps == full.gaps
