"""The follower's pure mapping from decoded program events to postings: each event's own figures, keys
"<signature>:<index>", events without a token movement post nothing, and a Settled event whose parts do not
add up is refused rather than booked."""
from __future__ import annotations

from types import SimpleNamespace as NS

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from contracts import DEFAULT_PROGRAM_ID, pda
from ledger.accounting import InvalidPosting, PostingKind, chart
from ledger.engine.follower import FollowerContext, postings_for

C, P, OP = (Keypair().pubkey() for _ in range(3))
TREASURY = Keypair().pubkey()
PROGRAM = Pubkey.from_string(DEFAULT_PROGRAM_ID)


def ev(name, **data):
    return NS(name=name, data=NS(**data))


def _map(events, owner=None):
    ctx = FollowerContext(PROGRAM, treasury=str(TREASURY), customers={str(C)})
    return postings_for("SIG", events, ctx, fee_payer=str(OP), token_owner=lambda a: owner, slot=7, block_time=None)


def test_events_map_to_postings_with_their_own_figures():
    settled = ev("Settled", customer=C, provider=P, batch_index=0, seq=3, receipt_id=bytes(32), cum_amount=900,
                 amount=400, fee=10, burned=2, provider_amount=388, epoch=1)
    out = _map([ev("Deposited", wallet=C, amount=1_000, escrow_balance=1_000), settled,
                ev("WithdrawalRequested", wallet=C, amount=5, requested_at=0, available_at=1),
                ev("EpochFunded", epoch=1, amount=50, reward_pool=50),
                ev("SlashExecuted", provider=P, index=0, amount=7, beneficiary=TREASURY)])
    assert [p.external_key for p in out] == ["SIG:0", "SIG:1", "SIG:3", "SIG:4"]  # the request moved nothing
    assert [p.kind for p in out] == [PostingKind.DEPOSIT, PostingKind.SETTLEMENT, PostingKind.REWARD_FUNDED,
                                     PostingKind.SLASH]
    legs = {(e.account, e.side.value): e.amount for e in out[1].entries}
    assert legs[(chart.treasury(), "D")] == 10 and legs[(chart.burned(), "D")] == 2
    assert legs[(chart.provider_revenue(str(P)), "D")] == 388 and legs[(chart.escrow(str(C)), "C")] == 400
    assert out[2].entries[1].account == chart.wallet(str(OP))  # the fee payer funded the epoch
    assert out[3].entries[0].account == chart.treasury()


def test_a_slash_to_a_customer_escrow_or_wallet_is_recognised():
    escrow = pda.escrow(PROGRAM, C)[0]
    to_escrow = _map([ev("SlashExecuted", provider=P, index=0, amount=7, beneficiary=escrow)])[0]
    assert to_escrow.entries[0].account == chart.escrow(str(C))
    other = Keypair().pubkey()
    to_wallet = _map([ev("SlashExecuted", provider=P, index=0, amount=7, beneficiary=Keypair().pubkey())],
                     owner=str(other))[0]
    assert to_wallet.entries[0].account == chart.wallet(str(other))


def test_a_settled_event_that_does_not_add_up_is_refused():
    bad = ev("Settled", customer=C, provider=P, batch_index=0, seq=1, receipt_id=bytes(32), cum_amount=100,
             amount=100, fee=10, burned=0, provider_amount=91, epoch=0)
    with pytest.raises(InvalidPosting, match="!= amount 100"):
        _map([bad])
