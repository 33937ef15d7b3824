"""Double-entry ledger: domain validation, pure posting rules, the store (idempotency, atomicity, derived
balances), and a property test that any sequence of postings keeps both books at zero. Store tests run on
SQLite and, marked postgres, on PostgreSQL."""
from __future__ import annotations

import threading

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from solders.keypair import Keypair
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from ledger.accounting import (Account, Book, InvalidPosting, Kind, Ledger, Posting, PostingConflict,
                               PostingKind, UnbalancedTransaction, chart, credit, debit, post_in, rules)

C1, C2 = (str(Keypair().pubkey()) for _ in range(2))
P1, P2 = (str(Keypair().pubkey()) for _ in range(2))
OP = str(Keypair().pubkey())


# ---- domain ---------------------------------------------------------------------------------------------

def test_unbalanced_posting_is_refused_before_any_write():
    with pytest.raises(InvalidPosting, match="unbalanced: debits 5 != credits 4"):
        Posting("k", PostingKind.DEPOSIT, (debit(chart.escrow(C1), 5), credit(chart.wallet(C1), 4)))


@pytest.mark.parametrize("amount", [0, -1, 1.5, True, "3", 1 << 63])
def test_amounts_must_be_positive_integers_in_range(amount):
    with pytest.raises(InvalidPosting):
        debit(chart.escrow(C1), amount)


def test_a_posting_may_not_move_value_between_books():
    with pytest.raises(InvalidPosting, match="within the custody book"):
        Posting("k", PostingKind.DEPOSIT, (debit(chart.escrow(C1), 5), credit(chart.payable(P1, C1), 5)))


@pytest.mark.parametrize("bad", [lambda: chart.escrow("not a key"), lambda: Account(Kind.TREASURY_FEES, C1),
                                 lambda: Account(Kind.CUSTOMER_RECEIVABLE, C1), lambda: chart.reward_pool(-1),
                                 lambda: Account.parse("nonsense:x")])
def test_bad_account_keys_are_named(bad):
    with pytest.raises(InvalidPosting):
        bad()


def test_account_codes_round_trip():
    for a in (chart.escrow(C1), chart.treasury(), chart.reward_pool(7), chart.receivable(C1, P1)):
        assert Account.parse(a.code) == a


@pytest.mark.parametrize("amount,fee_bps,burn_bps,expect", [
    (10_000, 250, 100, (250, 100, 9_650)),
    (999, 250, 100, (24, 9, 966)),       # both rounded down, remainder to the provider
    (1, 9_999, 0, (0, 0, 1)),
    (7, 5_000, 5_000, (3, 3, 1)),
    ((1 << 63) - 1, 10_000, 0, ((1 << 63) - 1, 0, 0)),
])
def test_settlement_split_matches_the_program(amount, fee_bps, burn_bps, expect):
    s = rules.split_settlement(amount, fee_bps, burn_bps)
    assert (s.fee, s.burn, s.provider) == expect


@given(st.integers(1, (1 << 63) - 1), st.integers(0, 10_000), st.integers(0, 10_000))
def test_split_never_creates_or_loses_a_base_unit(amount, fee_bps, burn_bps):
    if fee_bps + burn_bps > 10_000:
        with pytest.raises(InvalidPosting):
            rules.split_settlement(amount, fee_bps, burn_bps)
        return
    s = rules.split_settlement(amount, fee_bps, burn_bps)
    assert s.fee + s.burn + s.provider == amount and min(s.fee, s.burn, s.provider) >= 0
    assert s.fee == amount * fee_bps // 10_000


def test_settlement_rule_clears_the_obligation_and_omits_zero_legs():
    p = rules.settlement("sig:0", C1, P1, 100, 0, 0)
    accounts = {e.account: (e.side.value, e.amount) for e in p.entries}
    assert accounts == {chart.escrow(C1): ("C", 100), chart.provider_revenue(P1): ("D", 100),
                        chart.receivable(C1, P1): ("C", 100), chart.payable(P1, C1): ("D", 100)}
    assert p.meta["fee"] == 0


def test_slash_goes_only_to_treasury_or_a_customer():
    assert rules.slash("s", P1, 5).entries[0].account == chart.treasury()
    assert rules.slash("s", P1, 5, chart.escrow(C1)).entries[0].account == chart.escrow(C1)
    with pytest.raises(InvalidPosting, match="treasury or a customer"):
        rules.slash("s", P1, 5, chart.stake(P2))


# ---- store ----------------------------------------------------------------------------------------------

def test_balances_are_derived_from_the_journal(session_factory):
    led = Ledger(session_factory)
    led.post(rules.deposit("d1", C1, 1_000_000))
    led.post(rules.receipt_accrued("r1", C1, P1, 10_000))
    led.post(rules.settlement("s1", C1, P1, 10_000, 250, 100))
    led.post(rules.stake("st1", P1, 500))
    led.post(rules.reward_funded("f1", 3, OP, 900))
    led.post(rules.reward_claimed("c1", 3, P1, 600))
    led.post(rules.slash("x1", P1, 200, chart.escrow(C1)))
    led.post(rules.withdrawal("w1", C1, 5_000))
    led.post(rules.unstake("u1", P1, 300))
    assert led.balance(chart.escrow(C1)) == 1_000_000 - 10_000 + 200 - 5_000
    assert led.balance(chart.treasury()) == 250
    assert led.balance(chart.burned()) == 100
    assert led.balance(chart.provider_revenue(P1)) == 9_650
    assert led.balance(chart.provider_rewards(P1)) == 600
    assert led.balance(chart.reward_pool(3)) == 300
    assert led.balance(chart.stake(P1)) == 0
    assert led.balance(chart.receivable(C1, P1)) == 0 and led.balance(chart.payable(P1, C1)) == 0
    assert led.balance(chart.wallet(C1)) == -1_000_000 + 5_000
    assert led.trial_balance() == {Book.CUSTODY: 0, Book.OBLIGATION: 0}
    by_owner = led.balances(owner=C1)
    assert by_owner[chart.escrow(C1)] == 985_200
    assert [l.external_key for l in led.statement(chart.escrow(C1))] == ["d1", "s1", "x1", "w1"]
    assert led.totals_by_kind()["settlement"] == 20_000  # escrow + receivable legs, each 10_000


def test_replay_posts_nothing_and_a_changed_replay_is_a_conflict(session_factory):
    led = Ledger(session_factory)
    first = led.post(rules.deposit("sig:1", C1, 50))
    again = led.post(rules.deposit("sig:1", C1, 50, meta={"note": "meta is not identity"}))
    assert first.created and not again.created and first.tx_id == again.tx_id
    with pytest.raises(PostingConflict, match="different entries"):
        led.post(rules.deposit("sig:1", C1, 51))
    assert led.balance(chart.escrow(C1)) == 50
    with session_factory() as s:
        assert s.execute(text("SELECT count(*) FROM ledger_entries")).scalar() == 2


def test_post_many_is_all_or_nothing(session_factory):
    led = Ledger(session_factory)
    led.post(rules.deposit("a", C1, 10))
    with pytest.raises(PostingConflict):
        led.post_many([rules.deposit("b", C1, 5), rules.deposit("a", C1, 11)])
    assert not led.is_posted("b")
    assert led.balance(chart.escrow(C1)) == 10


def test_the_store_refuses_an_unbalanced_transaction_even_if_the_domain_is_bypassed(session_factory):
    bad = rules.deposit("tampered", C1, 10)
    # Forge an unbalanced posting past the domain check (as a bug elsewhere could), and see the store stop it.
    object.__setattr__(bad, "entries", (bad.entries[0], credit(chart.wallet(C1), 9)))
    with pytest.raises(UnbalancedTransaction):
        with session_factory.begin() as s:
            post_in(s, bad)
    led = Ledger(session_factory)
    assert not led.is_posted("tampered") and led.balances() == {}


def test_database_constraints_refuse_non_positive_amounts(session_factory):
    Ledger(session_factory).post(rules.deposit("a", C1, 10))
    with pytest.raises(IntegrityError):
        with session_factory.begin() as s:
            s.execute(text("UPDATE ledger_entries SET amount = 0"))
    assert Ledger(session_factory).balance(chart.escrow(C1)) == 10


def test_concurrent_posting_of_one_key_writes_it_once(session_factory):
    led = Ledger(session_factory)
    results, errors = [], []

    def worker():
        try:
            results.append(led.post(rules.deposit("race", C1, 77)))
        except Exception as e:  # pragma: no cover - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert sum(r.created for r in results) == 1 and len(results) == 6
    assert led.balance(chart.escrow(C1)) == 77


# ---- property: any sequence keeps the books at zero --------------------------------------------------

WALLETS = [C1, C2, P1, P2, OP]
amounts = st.integers(1, 10**12)
ops = st.one_of(
    st.tuples(st.just("deposit"), st.sampled_from([C1, C2]), amounts),
    st.tuples(st.just("top_up"), st.sampled_from([C1, C2]), amounts),
    st.tuples(st.just("withdrawal"), st.sampled_from([C1, C2]), amounts),
    st.tuples(st.just("accrue"), st.sampled_from([C1, C2]), st.sampled_from([P1, P2]), amounts),
    st.tuples(st.just("settle"), st.sampled_from([C1, C2]), st.sampled_from([P1, P2]), amounts,
              st.integers(0, 5_000), st.integers(0, 5_000)),
    st.tuples(st.just("stake"), st.sampled_from([P1, P2]), amounts),
    st.tuples(st.just("unstake"), st.sampled_from([P1, P2]), amounts),
    st.tuples(st.just("fund"), st.integers(0, 3), amounts),
    st.tuples(st.just("claim"), st.integers(0, 3), st.sampled_from([P1, P2]), amounts),
    st.tuples(st.just("slash"), st.sampled_from([P1, P2]), amounts, st.booleans()),
)


def _to_posting(key: str, op) -> Posting:
    name, *a = op
    if name == "deposit":
        return rules.deposit(key, a[0], a[1])
    if name == "top_up":
        return rules.top_up(key, a[0], a[1])
    if name == "withdrawal":
        return rules.withdrawal(key, a[0], a[1])
    if name == "accrue":
        return rules.receipt_accrued(key, a[0], a[1], a[2])
    if name == "settle":
        return rules.settlement(key, a[0], a[1], a[2], a[3], a[4])
    if name == "stake":
        return rules.stake(key, a[0], a[1])
    if name == "unstake":
        return rules.unstake(key, a[0], a[1])
    if name == "fund":
        return rules.reward_funded(key, a[0], OP, a[1])
    if name == "claim":
        return rules.reward_claimed(key, a[0], a[1], a[2])
    return rules.slash(key, a[0], a[1], chart.escrow(C1) if a[2] else None)


_counter = iter(range(10**9))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seq=st.lists(st.tuples(ops, st.booleans()), min_size=1, max_size=12))
def test_any_sequence_of_postings_keeps_the_trial_balance_at_zero(session_factory, seq):
    led = Ledger(session_factory)
    before = led.balances(natural=False)
    expected = dict(before)
    run = next(_counter)
    for i, (op, replay) in enumerate(seq):
        p = _to_posting(f"h{run}:{i}", op)
        assert led.post(p).created
        if replay:  # a replay of the same event must change nothing
            assert not led.post(p).created
        for e in p.entries:
            expected[e.account] = expected.get(e.account, 0) + e.signed
    assert led.trial_balance() == {Book.CUSTODY: 0, Book.OBLIGATION: 0}
    assert led.balances(natural=False) == expected
    assert sum(led.balances(natural=False).values()) == 0
