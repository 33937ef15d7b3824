"""Reopening failed intents by hand (`operator intents retry`) and by the failure classification: refused
for what resending can never fix, so that a batch refused as stale (its receipts released and reissued under
the new config version) is never posted after all."""
from __future__ import annotations

from types import SimpleNamespace

import pytest

from ledger.engine.failures import Kind, classify, is_transient, retry_after_ms
from ledger.engine.intents import IntentStore, RetryRefused
from ledger.engine.jobs import Engine


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


def test_a_settle_over_the_channel_limit_is_retried_only_in_a_later_epoch():
    # Engine._retryable's ChannelLimitExceeded rule: the per-epoch cap resets with the epoch, so the settle
    # that hit it waits for the next one (genesis 1,000 s, 100 s epochs: failed at 1,250 s is epoch 2).
    epoch_now = {"n": 2}
    config = SimpleNamespace(get=lambda: SimpleNamespace(genesis_ts=1_000, epoch_length=100),
                             current_epoch=lambda: epoch_now["n"])
    engine = SimpleNamespace(config=config)
    over = SimpleNamespace(error="instruction 0 (billing): ChannelLimitExceeded (6011): over the cap",
                           updated_ms=1_250_000)
    assert not Engine._retryable(engine, over)
    epoch_now["n"] = 3
    assert Engine._retryable(engine, over)
    # a failure dated before genesis (a local clock behind the chain's): any epoch of the chain is later
    early = SimpleNamespace(error=over.error, updated_ms=500_000)
    epoch_now["n"] = 0
    assert Engine._retryable(engine, early)
