"""Reopening failed intents by hand (`operator intents retry`) and by the failure classification: refused
for what resending can never fix, so that a batch refused as stale (its receipts released and reissued under
the new config version) is never posted after all."""
from __future__ import annotations

import pytest

from ledger.engine.failures import Kind, classify, is_transient, retry_after_ms
from ledger.engine.intents import IntentStore, RetryRefused


def _failed(store: IntentStore, key: str, error: str) -> int:
    intent = store.record(key, "post_batch", key, {"batch_id": 1})
    with store._sf.begin() as s:
        store.finish_in(s, intent.id, "failed", error)
    return intent.id


def test_a_failed_intent_is_reopened_and_one_that_cannot_succeed_is_refused(session_factory):
    store = IntentStore(session_factory)
    lacks = _failed(store, "a", "instruction 0 (billing -> system program): ResultWithNegativeLamports: the payer "
                                "has too few lamports (SOL) [Transfer: insufficient lamports 0, need 1677360]")
    store.retry(lacks)
    assert store.get(lacks).state == "pending" and store.get(lacks).error.startswith("retry by the operator: ")
    with pytest.raises(RetryRefused, match="is pending, not failed"):
        store.retry(lacks)
    stale = _failed(store, "b", "stale config version: receipts of version(s) 1, the chain is at 2")
    with pytest.raises(RetryRefused, match="cannot succeed by resending: stale config version"):
        store.retry(stale)
    assert store.get(stale).state == "failed"
    big = _failed(store, "c", "settle transaction too large: 1300 bytes > 1232")
    with pytest.raises(RetryRefused):
        store.retry(big)
    with pytest.raises(RetryRefused, match="no intent 999"):
        store.retry(999)


def test_failures_are_classified_by_their_words():
    assert classify("instruction 0 (x -> system program): ResultWithNegativeLamports: ...") is Kind.LACKS_SOL
    assert classify("AccountNotFound: the fee payer has no SOL on this cluster (no account): fund it first") \
        is Kind.LACKS_SOL
    assert is_transient("BlockhashNotFound: the blockhash expired or is unknown to this node (send again)")
    assert is_transient("AccountInUse: an account is locked by another transaction (send again)")
    assert classify("instruction 0 (billing): EscrowUnderfunded (6020): ...") is Kind.PROGRAM
    assert classify("stale config version: the program refused the batch") is Kind.NEVER
    # a program error is retried on a back-off of its attempts: 30 s, 60 s, ... at most 10 min
    assert retry_after_ms(1_000, 1) == 31_000 and retry_after_ms(1_000, 2) == 61_000
    assert retry_after_ms(0, 50) == 600_000
