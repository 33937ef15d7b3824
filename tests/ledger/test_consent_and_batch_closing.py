"""The crank and on-chain consent, and the close_batches job, end to end on the localnet.

- A receipt for a channel its customer never opened is not sent at all: the settlement is recorded as
  failed once, with ChannelNotOpened and the customer named, and logged once; it settles after the
  customer opens the channel (`roles.open_channel`, what `solmeter customer open-channel` runs).
- close_batches gives the meter its rent back for batches past their retention whose receipts are all
  settled or superseded, keeps a batch holding a channel's newest unsettled receipt, and the auditor still
  verifies a closed batch (its root from the BatchPosted event)."""
from __future__ import annotations

import json
import logging
import time

import pytest
from fastapi.testclient import TestClient
from solders.pubkey import Pubkey

from auditor.api import MeterApi
from auditor.audits import ChainFacts, audit_all, audit_batch
from auditor.chain import ChainReader
from contracts import DEFAULT_PROGRAM_ID
from contracts.client import BillingProgram, decode_account_as
from ledger.engine.chain import RpcChain
from ledger.engine.jobs import NOT_OPENED, Engine
from ledger.ops import roles
from ledger.ops.bootstrap import bootstrap
from ledger.ops.deployment import InitParams
from metering.api import create_app

from ledger_helpers import MeterSim

PROGRAM = Pubkey.from_string(DEFAULT_PROGRAM_ID)
TOKENS = 10**6


@pytest.fixture
def world(node, engine, session_factory):
    chain = RpcChain(node.rpc_url)
    # customer 0 opened its channel with provider 0; customer 1 never opened one
    w = bootstrap(chain, program_id=PROGRAM, n_providers=1, n_customers=2, wallet_tokens=1_000 * TOKENS,
                  stake=10 * TOKENS, deposit=50 * TOKENS, params=InitParams(fee_bps=250, burn_bps=100),
                  channels=[(0, 0)])
    meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
    eng = Engine(session_factory, chain, BillingProgram(PROGRAM), payer=w.admin, meter=w.meter)
    return dict(chain=chain, w=w, meter=meter, eng=eng, node=node, now=[int(time.time() * 1000)])


def _usage(x, customers, minutes=10):
    start = x["now"][0] - (minutes + 5) * 60_000
    p = x["w"].providers[0]
    for ci in customers:
        c = str(x["w"].customers[ci].pubkey())
        x["meter"].heartbeats(p, c, f"lease-{ci}-{start}", start, minutes * 2)
    batch = x["meter"].seal_and_batch(x["now"][0])
    x["now"][0] += (minutes + 5) * 60_000
    return batch


def _channel(x, ci):
    prog = BillingProgram(PROGRAM)
    data = x["chain"].account_data(prog.channel_address(x["w"].customers[ci].pubkey(), x["w"].providers[0].pubkey()))
    return None if data is None else decode_account_as("Channel", data)


def test_unopened_channel_is_refused_once_by_name_and_settles_once_opened(world, caplog):
    x = world
    eng, w = x["eng"], x["w"]
    c1 = str(w.customers[1].pubkey())
    assert _usage(x, [0, 1]) is not None
    # When the crank runs / Then only the opened channel settles; the other is refused without a transaction
    with caplog.at_level(logging.WARNING, logger="ledger.engine.jobs"):
        out = eng.crank_once()["settle_channels"]
        again = eng.crank_once()["settle_channels"]
    assert out["confirmed"] == 1 and out["not_opened"] == 1 and out["failed"] == 0
    assert again["confirmed"] == 0 and again["not_opened"] == 1
    refused = [i for i in eng.intents.all("settle") if i.subject.startswith(c1)]
    assert len(refused) == 1 and refused[0].state == "failed" and refused[0].attempts == 0
    assert refused[0].signature is None and refused[0].error.startswith(NOT_OPENED) and c1 in refused[0].error
    warnings = [r for r in caplog.records if "has not opened its channel" in r.getMessage()]
    assert len(warnings) == 1 and c1 in warnings[0].getMessage()  # said once, not every run
    assert _channel(x, 1) is None  # and nothing was created on-chain for it
    # When the customer opens the channel / Then the same receipt settles on the next run
    roles.open_channel(x["chain"], w.dep, w.customers[1], w.providers[0].pubkey())
    out = eng.crank_once()["settle_channels"]
    assert out["confirmed"] == 1 and out["not_opened"] == 0
    assert int(_channel(x, 1).last_seq) == json.loads(refused[0].payload)["seq"]
    recon = eng.reconcile()
    assert recon.ok, [str(d) for d in recon.differences]


def test_close_batches_returns_rent_only_for_batches_nobody_needs(world, engine):
    x = world
    eng, w, chain, node = x["eng"], x["w"], x["chain"], x["node"]
    prog = BillingProgram(PROGRAM)
    # Given batch 0 holding receipts of both customers (customer 1's channel not opened: its receipt stays
    # the newest unsettled one) and batch 1 with customer 0's next receipt; everything else settled
    assert _usage(x, [0, 1]) is not None
    eng.crank_once()
    first = int(_channel(x, 0).last_seq)
    assert _usage(x, [0]) is not None
    eng.crank_once()
    assert int(_channel(x, 0).last_seq) > first
    assert chain.account_data(prog.batch_address(0)) and chain.account_data(prog.batch_address(1))
    # When the batches' retention has passed and the crank runs
    retention = InitParams().batch_retention
    t = chain.unix_time() + retention + 1
    node.call(lambda bank: bank.time_travel(timestamp=t))
    meter_before = chain.lamports(w.meter.pubkey())
    out = eng.crank_once()
    # Then batch 1 (all settled) is closed and its rent is back with the meter; batch 0 is kept
    assert out["close_batches"] == 1
    assert chain.account_data(prog.batch_address(1)) is None
    assert chain.account_data(prog.batch_address(0)) is not None
    assert chain.lamports(w.meter.pubkey()) > meter_before + 1_000_000
    # When customer 1 opens its channel and the receipt settles / Then batch 0 is closed too
    roles.open_channel(chain, w.dep, w.customers[1], w.providers[0].pubkey())
    out = eng.crank_once()
    assert out["settle_channels"]["confirmed"] == 1 and out["close_batches"] == 1
    assert chain.account_data(prog.batch_address(0)) is None
    assert eng.crank_once()["close_batches"] == 0  # nothing left to close, nothing sent twice
    recon = eng.reconcile()
    assert recon.ok, [str(d) for d in recon.differences]
    # and the auditor verifies the closed batches from their BatchPosted events
    facts = ChainFacts(ChainReader.connect(node.rpc_url, PROGRAM))
    b = facts.batch(1)
    assert b is not None and b.closed and b.posted_in
    app = create_app(engine, x["meter"].cfg, w.meter, clock=lambda: x["now"][0])
    with TestClient(app) as http:
        reports = audit_all(facts, MeterApi("http://meter", client=http, keypair=w.meter, clock=lambda: x["now"][0]))
    batch_reports = [r for r in reports if r.kind == "batch"]
    assert len(batch_reports) == 2 and all(r.ok for r in batch_reports), "\n".join(r.render() for r in batch_reports)
    assert audit_batch(facts, 0, None).facts.get("closed")
