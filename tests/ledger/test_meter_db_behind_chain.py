"""A meter started on an empty database (the old one removed) against a program whose channels have settled
receipts: it must not issue receipts the chain has settled past (settle would refuse them as replays and that
usage would never be paid). Real localnet behind JSON-RPC: receipts are settled, the database is replaced
by an empty one, and the meter refuses to start naming the channels and the fix; its sealer, even if
started, writes no receipt with seq <= the chain's."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
from solders.pubkey import Pubkey

from contracts import DEFAULT_PROGRAM_ID
from contracts.client import BillingProgram
from db import make_engine, make_session_factory, migrate
from ledger.engine.chain import RpcChain
from ledger.engine.jobs import Engine
from ledger.ops.bootstrap import bootstrap
from metering.chain_floor import BehindChain, behind_chain, channel_floors_reader, check_against_chain
from metering.config import MeterConfig
from metering.receipts import Sealer

from ledger_helpers import MeterSim

PROGRAM = Pubkey.from_string(DEFAULT_PROGRAM_ID)
TOKENS = 10**6


def _migrated(path) -> object:
    e = make_engine(f"sqlite:///{path}")
    migrate(e)
    return e


@pytest.fixture
def settled(node, tmp_path):
    """Two providers x one customer, their receipts settled on-chain from the meter's database."""
    chain = RpcChain(node.rpc_url)
    w = bootstrap(chain, program_id=PROGRAM, n_providers=2, n_customers=1, wallet_tokens=1_000 * TOKENS,
                  stake=10 * TOKENS, deposit=50 * TOKENS)
    engine = _migrated(tmp_path / "meter.db")
    meter = MeterSim(engine, w.meter, DEFAULT_PROGRAM_ID)
    now = int(time.time() * 1000)
    start = now - 25 * 60_000
    for pi, p in enumerate(w.providers):
        meter.heartbeats(p, w.customers[0], f"lease-{pi}-{start}", start, 20 * 2)
    assert meter.seal_and_batch(now) is not None
    eng = Engine(make_session_factory(engine), chain, BillingProgram(PROGRAM), payer=w.admin, meter=w.meter)
    out = eng.crank_once()
    assert out["settle_channels"]["confirmed"] == 2 and out["settle_channels"]["failed"] == 0
    yield node, w, engine, now
    engine.dispose()


def test_an_empty_database_against_settled_channels_is_refused_naming_them_and_the_fix(settled, tmp_path,
                                                                                        isolated_env):
    node, w, old, now = settled
    floors = channel_floors_reader(node.rpc_url, DEFAULT_PROGRAM_ID)()
    customer = str(w.customers[0].pubkey())
    pairs = {(customer, str(p.pubkey())) for p in w.providers}
    assert set(floors) == pairs and all(seq >= 1 for seq in floors.values())
    # The database that settled them is level with the chain
    assert behind_chain(old, floors) == []
    check_against_chain(old, floors, "old")

    # Given the meter's database was removed and an empty one created in its place
    fresh = _migrated(tmp_path / "fresh.db")
    # Then the check names every channel, the chain's seq and the fix
    with pytest.raises(BehindChain) as e:
        check_against_chain(fresh, floors, "sqlite:///fresh.db")
    msg = str(e.value)
    for c, p in pairs:
        assert f"customer {c} / provider {p}: database seq none, chain settled seq {floors[(c, p)]}" in msg
    assert "Restore the meter's database from its backup" in msg

    # And a sealer given the chain's floors (as `meter serve` gives it) writes no receipt at or below them
    cfg = MeterConfig(program_id=DEFAULT_PROGRAM_ID, window_ms=60_000, grace_ms=0)
    sim = MeterSim(fresh, w.meter, DEFAULT_PROGRAM_ID)
    sim.sealer = Sealer(fresh, cfg, w.meter, floors=floors)
    later = now + 5 * 60_000
    for pi, p in enumerate(w.providers):
        sim.heartbeats(p, w.customers[0], f"again-{pi}-{now}", now, 6)
    rep = sim.sealer.seal_due(later)
    with fresh.connect() as conn:
        rows = conn.exec_driver_sql("SELECT customer, provider, seq FROM meter_receipts").all()
    assert all(seq > floors[(c, p)] for c, p, seq in rows), rows
    assert rows == [] and {(f.customer, f.provider) for f in rep.failed} == pairs
    assert all("chain has settled this channel up to seq" in f.cause for f in rep.failed)

    # And `meter serve` on the empty database does not start: one line, exit 1, no traceback
    env = {k: v for k, v in os.environ.items()}
    env.update(SOLMETER_RPC_URL=node.rpc_url, SOLMETER_DATABASE_URL=f"sqlite:///{tmp_path / 'fresh.db'}",
               SOLMETER_DATA_DIR=str(isolated_env / "data"))
    r = subprocess.run([sys.executable, "-m", "solmeter.cli", "meter", "serve", "--port", "0"], env=env,
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    [line] = [ln for ln in r.stderr.splitlines() if ln.startswith("error:")]
    assert "behind the chain for 2 channel(s)" in line and customer in line
    assert "Restore the meter's database from its backup" in line
    fresh.dispose()
