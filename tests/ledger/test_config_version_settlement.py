"""End to end on the localnet: update_config (a fee change bumps Config.version) in the middle of billing.

The meter reads the chain's version every run (MeterJobs' config_version_source); receipts issued under the
old version are carried over, batches never mix versions, the crank never posts a stale batch nor sends a
settlement that cannot pass (and when update_config lands between its check and its post, the program refuses
the post with StaleConfigVersion), and every channel still settles to its full cumulative amount. The crank sends
prepare_settle as its own transaction only when a Channel / Epoch / ProviderEpoch is missing, so that
every settle runs on its cheap path."""
from __future__ import annotations

import re
import time

import pytest
from solders.pubkey import Pubkey
from sqlalchemy import select

from contracts import DEFAULT_PROGRAM_ID
from contracts.client import BillingProgram, decode_account_as
from contracts.receipt import Receipt
from ledger.accounting import Book, Kind, Ledger
from ledger.engine.chain import RpcChain
from ledger.engine.jobs import STALE_BATCH, Engine
from ledger.ops import roles
from ledger.ops.bootstrap import bootstrap
from ledger.ops.deployment import InitParams, read_config
from metering.models import ReceiptRow
from metering.service import MeterJobs

from ledger_helpers import MeterSim

PROGRAM = Pubkey.from_string(DEFAULT_PROGRAM_ID)
TOKENS = 10**6
SETTLE_CU_BUDGET = 30_000


@pytest.fixture
def world(node, engine, session_factory):
    chain = RpcChain(node.rpc_url)
    w = bootstrap(chain, program_id=PROGRAM, n_providers=1, n_customers=2, wallet_tokens=1_000 * TOKENS,
                  stake=10 * TOKENS, deposit=50 * TOKENS, params=InitParams(fee_bps=250, burn_bps=100))
    program = BillingProgram(PROGRAM)
    sim = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
    now = [int(time.time() * 1000) // 60_000 * 60_000]
    jobs = MeterJobs(engine, sim.cfg, w.meter, lambda: now[0],
                     config_version_source=lambda: int(read_config(chain, program).version))
    eng = Engine(session_factory, chain, program, payer=w.admin, meter=w.meter)
    return dict(chain=chain, w=w, program=program, sim=sim, now=now, jobs=jobs, eng=eng)


def usage(x, minutes: int = 10) -> None:
    """GPU heartbeats of every channel through x["now"], then the meter seals them (no batch yet)."""
    start = x["now"][0] - (minutes + 2) * 60_000
    for ci, c in enumerate(x["w"].customers):
        p = x["w"].providers[0]
        x["sim"].heartbeats(p, str(c.pubkey()), f"lease-{ci}-{start}", start, minutes * 2, gpus=1 + ci,
                            now_ms=x["now"][0])


def receipts(engine):
    with engine.connect() as c:
        return c.execute(select(ReceiptRow.__table__).order_by(ReceiptRow.id)).all()


def newest(engine) -> dict:
    out = {}
    for r in receipts(engine):
        out[(r.customer, r.provider)] = r
    return out


def channel(x, customer: str, provider: str):
    data = x["chain"].account_data(x["program"].channel_address(Pubkey.from_string(customer),
                                                                Pubkey.from_string(provider)))
    return decode_account_as("Channel", data)


def version(x) -> int:
    return int(read_config(x["chain"], x["program"]).version)


def settle_cu(x, signature: str) -> int:
    info = x["chain"].transaction(signature)
    used = [int(m.group(1)) for line in info.logs
            if (m := re.search(rf"Program {PROGRAM} consumed (\d+) of", line))]
    assert used, info.logs
    return used[-1]


def creates_accounts(x, signature: str) -> bool:
    """Whether the transaction created an account (the program's CreateAccount CPI to the system program)."""
    return any(line.startswith("Program 11111111111111111111111111111111 invoke")
               for line in x["chain"].transaction(signature).logs)


def assert_audits_clean(x, engine_, rpc_url: str) -> None:
    """The independent auditor, reading the chain over RPC and the receipts from the meter's API."""
    from fastapi.testclient import TestClient

    from auditor.api import MeterApi
    from auditor.audits import ChainFacts, audit_all
    from auditor.chain import ChainReader
    from metering.api import create_app

    app = create_app(engine_, x["sim"].cfg, x["w"].meter, clock=lambda: x["now"][0])
    with TestClient(app) as http:
        reports = audit_all(ChainFacts(ChainReader.connect(rpc_url, PROGRAM)),
                            MeterApi("http://meter", client=http, keypair=x["w"].meter, clock=lambda: x["now"][0]))
    assert [r for r in reports if r.kind == "channel"] and [r for r in reports if r.kind == "batch"]
    assert all(r.ok for r in reports), "\n".join(r.render() for r in reports if not r.ok)


def assert_books_clean(x, engine_) -> None:
    eng = x["eng"]
    recon = eng.reconcile()
    assert recon.ok, [str(d) for d in recon.differences]
    led = Ledger(eng.session_factory)
    assert led.trial_balance() == {Book.CUSTODY: 0, Book.OBLIGATION: 0}
    assert all(v == 0 for v in led.balances(kind=Kind.CUSTOMER_RECEIVABLE).values())


def test_a_fee_change_before_the_batch_is_posted_still_settles_everything(node, engine, world):
    x = world
    eng, jobs = x["eng"], x["jobs"]
    v1 = version(x)
    # Given receipts of two channels issued and batched under the current version, not yet posted
    usage(x)
    first = jobs.run_once(force_batch=True)
    assert first.config_version == v1 and first.batch is not None and first.batch.count >= 2
    owed = {k: int(r.cum_amount) for k, r in newest(engine).items()}
    encodings = {bytes(r.receipt_id): bytes(r.encoding) for r in receipts(engine)}
    assert all(a > 0 for a in owed.values())

    # When the operator changes the fee (update_config bumps Config.version)
    roles.set_fees(x["chain"], x["w"].dep, x["w"].admin, 500, None)
    assert version(x) == v1 + 1
    # Then the crank refuses to post the stale batch (its receipts could never settle under it) ...
    out = eng.crank_once()
    assert out["post_batches"] == 0 and out["settle_channels"]["confirmed"] == 0
    stale = eng.intents.by_key(f"post_batch:{first.batch.id}")
    assert stale.state == "failed" and stale.error.startswith(STALE_BATCH)
    assert all(r.batch_id is None for r in receipts(engine))  # released: they name no batch that never lands
    assert int(read_config(x["chain"], x["program"]).batch_count) == 0  # nothing went on-chain

    # ... the meter reissues each channel's newest receipt under the new version, in a batch of its own ...
    second = jobs.run_once(force_batch=True)
    assert second.config_version == v1 + 1 and second.carried_over == 2
    assert second.batch is not None and second.batch.count == 2 and second.batch.total == 0

    # ... and the crank prepares the provider's new epoch accounts in a transaction of their own (once for
    # both channels: Epoch and ProviderEpoch are per provider and epoch), then settles them in full
    out = eng.crank_once()
    assert out["post_batches"] == 1
    st = out["settle_channels"]
    assert st["confirmed"] == 2 and st["failed"] == 0 and st["prepared"] == 1
    fee_bps = int(read_config(x["chain"], x["program"]).fee_bps)
    assert fee_bps == 500
    for (c, p), amount in owed.items():
        ch = channel(x, c, p)
        assert int(ch.settled_amount) == amount
    prepares = eng.intents.all("prepare_settle")
    settles = eng.intents.all("settle")
    assert len(prepares) == 1 and all(i.state == "confirmed" for i in prepares)
    assert {i.signature for i in prepares}.isdisjoint({i.signature for i in settles})
    assert all(creates_accounts(x, i.signature) for i in prepares)
    for s in settles:  # the accounts existed: settle took its cheap path
        assert not creates_accounts(x, s.signature)
        assert settle_cu(x, s.signature) <= SETTLE_CU_BUDGET
    # No receipt was rewritten; the reissued ones carry the new version
    assert {bytes(r.receipt_id): bytes(r.encoding) for r in receipts(engine)
            if bytes(r.receipt_id) in encodings} == encodings
    assert {Receipt.decode(bytes(r.encoding)).config_version for r in newest(engine).values()} == {v1 + 1}
    assert_books_clean(x, engine)

    # More usage in the same epoch: nothing left to prepare, settle alone stays cheap
    x["now"][0] += 15 * 60_000
    usage(x, minutes=5)
    out = eng.crank_once()  # the meter has not batched yet: nothing to do
    jobs.run_once(force_batch=True)
    out = eng.crank_once()
    assert out["settle_channels"]["confirmed"] == 2 and out["settle_channels"]["prepared"] == 0
    assert len(eng.intents.all("prepare_settle")) == 1
    for s in eng.intents.all("settle")[2:]:
        assert not creates_accounts(x, s.signature)
        assert settle_cu(x, s.signature) <= SETTLE_CU_BUDGET
    for (c, p), r in newest(engine).items():
        assert int(channel(x, c, p).settled_amount) == int(r.cum_amount)
    assert_books_clean(x, engine)
    assert_audits_clean(x, engine, node.rpc_url)


def test_a_batch_posted_before_the_change_settles_and_the_carry_over_adds_nothing(node, engine, world):
    x = world
    eng, jobs = x["eng"], x["jobs"]
    # Given receipts batched and posted under the current version but not settled yet
    usage(x)
    jobs.run_once(force_batch=True)
    eng.follow_chain()
    assert eng.post_batches() == 1
    owed = {k: int(r.cum_amount) for k, r in newest(engine).items()}
    # When the fee changes, then they still settle under their batch's version
    roles.set_fees(x["chain"], x["w"].dep, x["w"].admin, 400, None)
    out = eng.crank_once()
    assert out["settle_channels"]["confirmed"] == 2 and out["settle_channels"]["failed"] == 0
    # and the reissued receipts (nothing new owed) are posted but never sent for settlement
    rep = jobs.run_once(force_batch=True)
    assert rep.carried_over == 2
    out = eng.crank_once()
    assert out["post_batches"] == 1 and out["settle_channels"]["confirmed"] == 0
    assert all(i.state == "confirmed" for i in eng.intents.all("settle"))
    for (c, p), amount in owed.items():
        assert int(channel(x, c, p).settled_amount) == amount
    assert_books_clean(x, engine)
    assert_audits_clean(x, engine, node.rpc_url)


@pytest.mark.parametrize("named_version", [True, False], ids=["payload-names-version", "legacy-payload"])
def test_an_update_config_between_the_check_and_the_post_is_refused_on_chain_and_everything_settles(
        node, engine, world, named_version):
    x = world
    eng, jobs = x["eng"], x["jobs"]
    usage(x)
    first = jobs.run_once(force_batch=True)
    v1 = version(x)
    owed = {k: int(r.cum_amount) for k, r in newest(engine).items()}
    # Given the crank checked the version and recorded its post_batch intent under it (then crashed before
    # sending; a legacy intent, recorded before payloads named the version, takes its receipts' version) ...
    cfg = read_config(x["chain"], x["program"])
    payload = {"batch_id": first.batch.id, "index": int(cfg.batch_count), "root": first.batch.root.hex(),
               "count": first.batch.count, "total": first.batch.total}
    if named_version:
        payload["config_version"] = v1
    intent = eng.intents.record(f"post_batch:{first.batch.id}", "post_batch", str(first.batch.id), payload)
    # ... and the fee changed before the restarted crank sent it
    roles.set_fees(x["chain"], x["w"].dep, x["w"].admin, 300, None)
    assert version(x) == v1 + 1
    out = eng.crank_once()
    # Then the program refuses the batch (StaleConfigVersion): nothing lands, the intent fails saying why
    refused = eng.intents.get(intent.id)
    assert refused.state == "failed" and out["post_batches"] == 0, refused.error
    assert refused.error.startswith(STALE_BATCH) and "0x17a7" in refused.error, refused.error  # 6055
    assert int(read_config(x["chain"], x["program"]).batch_count) == 0
    assert all(r.batch_id is None for r in receipts(engine))  # released for the meter to reissue
    assert eng.intents.all("settle") == []
    # ... and once the meter has carried the channels over, they settle in full and the auditor is satisfied
    second = jobs.run_once(force_batch=True)
    assert second.carried_over == 2 and second.config_version == v1 + 1
    out = eng.crank_once()
    assert out["post_batches"] == 1 and out["settle_channels"]["confirmed"] == 2
    assert out["settle_channels"]["failed"] == 0
    for (c, p), amount in owed.items():
        assert int(channel(x, c, p).settled_amount) == amount
    assert_books_clean(x, engine)
    assert_audits_clean(x, engine, node.rpc_url)


class Crash(Exception):
    pass


def test_a_new_epoch_is_prepared_once_and_a_crash_after_sending_the_prepare_is_resumed(
        node, engine, session_factory, world):
    x = world
    usage(x)
    x["jobs"].run_once(force_batch=True)
    assert x["eng"].crank_once()["settle_channels"]["confirmed"] == 2
    # Given the next epoch has begun (its Epoch and ProviderEpoch do not exist yet) and there is new usage
    cfg = read_config(x["chain"], x["program"])
    epoch_length = int(cfg.epoch_length)
    t = x["chain"].unix_time() + epoch_length
    node.call(lambda bank: bank.time_travel(timestamp=t))
    x["now"][0] += 15 * 60_000
    usage(x, minutes=5)
    x["jobs"].run_once(force_batch=True)
    # When the crank dies right after sending the first prepare_settle ...
    armed = [False]

    def fault(point: str) -> None:
        if point == "after_send" and armed[0]:
            armed[0] = False
            raise Crash(point)

    crashing = Engine(session_factory, x["chain"], x["program"], payer=x["w"].admin, meter=x["w"].meter, fault=fault)
    crashing.follow_chain()
    assert crashing.post_batches() == 1
    armed[0] = True
    with pytest.raises(Crash):
        crashing.settle_channels()
    sent = [i for i in crashing.intents.all("prepare_settle") if i.state == "sent"]
    assert len(sent) == 1
    assert all(i.state == "pending" for i in crashing.intents.all("settle")[2:])  # recorded, never sent
    # ... then a restarted crank resolves the sent prepare (never a blind second one) and settles everything
    again = Engine(session_factory, x["chain"], x["program"], payer=x["w"].admin, meter=x["w"].meter)
    out = again.crank_once()
    assert out["settle_channels"]["confirmed"] == 2 and out["settle_channels"]["failed"] == 0
    epoch = (t - int(cfg.genesis_ts)) // epoch_length
    prepares = [i for i in again.intents.all("prepare_settle") if i.key.endswith(f":{epoch}")]
    assert len(prepares) == 1 and all(i.state == "confirmed" for i in prepares)  # one per provider and epoch
    assert prepares[0].id == sent[0].id and prepares[0].attempts == 1  # the same transaction, not sent again
    for s in again.intents.all("settle")[2:]:
        assert not creates_accounts(x, s.signature)
    for (c, p), r in newest(engine).items():
        assert int(channel(x, c, p).settled_amount) == int(r.cum_amount)
    assert_books_clean(x, engine)
