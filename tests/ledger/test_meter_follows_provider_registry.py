"""The meter follows the chain's provider registry (metering.chain_providers over the RPC layer in chain/): a
provider registered and staked on-chain is accepted by ingest without `solmeter meter providers add`; one
below the minimum stake is refused; the meter's own `providers remove` wins; an unknown key triggers one
registry read, rate-limited, so a flood of made-up keys costs the RPC one read per interval; an unreadable
registry answers 503 for keys it does not know and keeps serving the ones it does."""
from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from contracts import DEFAULT_PROGRAM_ID
from contracts.amounts import tokens
from db import make_engine, migrate
from ledger.engine.chain import RpcChain
from ledger.ops import roles, token
from ledger.ops.bootstrap import airdrop, bootstrap
from ledger.ops.deployment import InitParams
from ledger_helpers import start_node
from metering.api import create_app
from metering.auth import sign_request
from metering.chain_providers import ChainProviders, provider_registry_reader
from metering.config import MeterConfig
from metering.registry import add_provider, deactivate_provider

MIN_STAKE = 1_000_000
T0 = 1_794_999_960_000


class Clock:
    def __init__(self, t: float = 0.0):
        self.t = t

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def world(tmp_path):
    node = start_node(tmp_path / "chain")
    try:
        chain = RpcChain(node.rpc_url)
        w = bootstrap(chain, program_id=Pubkey.from_string(DEFAULT_PROGRAM_ID), n_providers=1, n_customers=1,
                      wallet_tokens=10**9, stake=MIN_STAKE, deposit=10**7, params=InitParams(min_stake=MIN_STAKE))
        yield node, chain, w
    finally:
        node.stop()


def _register(chain, w, stake: int) -> Keypair:
    kp = Keypair()
    airdrop(chain, kp.pubkey())
    token.mint_to(chain, w.admin, w.admin, w.dep.mint_key, kp.pubkey(), 10**9, w.dep.decimals)
    roles.register_provider(chain, w.dep, kp)
    if stake:
        roles.stake(chain, w.dep, kp, stake)
    return kp


def _lease_id(provider: Keypair) -> str:
    return f"L-{str(provider.pubkey())[:12]}"


def _hb(provider: Keypair, customer: str, eid: str, t_ms: int) -> bytes:
    p = str(provider.pubkey())
    return json.dumps({"specversion": "1.0", "id": eid, "source": f"/providers/{p}/agent",
                       "type": "io.solmeter.gpu.lease.heartbeat", "subject": customer,
                       "time": "2026-11-18T09:05:59.000Z",
                       "data": {"lease_id": _lease_id(provider), "provider": p, "gpu_class": "H100", "gpu_count": 1,
                                "interval_ms": 30_000}}).encode()


class Meter:
    def __init__(self, tmp_path, rpc_url: str, clock: Clock, customers=()):
        self.engine = make_engine(f"sqlite:///{tmp_path / 'meter.db'}")
        migrate(self.engine)
        self.reads = 0
        read = provider_registry_reader(rpc_url, DEFAULT_PROGRAM_ID, timeout_s=5)

        def counted():
            self.reads += 1
            return read()

        self.providers = ChainProviders(counted, max_age_s=60, min_refresh_s=10, clock=clock)
        self.now = T0
        self.client = TestClient(create_app(self.engine, MeterConfig(), Keypair.from_seed(bytes([7]) * 32),
                                            clock=lambda: self.now, chain_providers=self.providers))
        self.n = 0
        self.customers = {str(k.pubkey()): k for k in customers}
        self.signed: set[tuple[str, str]] = set()

    def _consent(self, kp: Keypair, customer: str) -> None:
        """The customer signs a lease with this provider (through the API, as `customer lease sign` does):
        the meter accepts it for a provider it knows only from the chain's registry."""
        from contracts.lease import GpuResource, Lease
        from metering.leases import lease_body

        if (customer, str(kp.pubkey())) in self.signed or customer not in self.customers:
            return
        ck = self.customers[customer]
        lid = _lease_id(kp)
        lease = Lease(Pubkey.from_string(DEFAULT_PROGRAM_ID), lid, ck.pubkey(), kp.pubkey(), 1, (1 << 64) - 1, 0,
                      1 << 62, lid.encode()[:16].ljust(16, b"."), GpuResource("H100", 1))
        r = self.client.post("/v1/leases", json=lease_body(lease, ck))
        if r.status_code in (200, 201):
            self.signed.add((customer, str(kp.pubkey())))

    def post(self, kp: Keypair, customer: str):
        self._consent(kp, customer)
        self.n += 1
        self.now += 1
        body = _hb(kp, customer, f"e{self.n}", T0 - 1000)
        h = sign_request(kp, "POST", "/v1/events", body, self.now)
        return self.client.post("/v1/events", content=body, headers={**h, "content-type": "application/json"})


def test_a_provider_registered_on_chain_is_accepted_without_providers_add(world, tmp_path):
    node, chain, w = world
    clock = Clock()
    m = Meter(tmp_path, node.rpc_url, clock, w.customers)
    customer = str(w.customers[0].pubkey())
    staked = w.providers[0]
    r = m.post(staked, customer)
    assert r.status_code == 200, r.text
    assert m.reads == 1

    # registered but not staked: refused, the reason in words
    unstaked = _register(chain, w, 0)
    clock.t += 10
    r = m.post(unstaked, customer)
    assert r.status_code == 403 and r.json()["field"] == "X-Solmeter-Pubkey"
    assert "below the minimum" in r.json()["error"] and "solmeter provider stake" in r.json()["error"]

    # a flood of made-up keys: one registry read for all of them within the interval
    clock.t += 10
    reads = m.reads
    for _ in range(40):
        r = m.post(Keypair(), customer)
        assert r.status_code == 403 and "not a registered provider" in r.json()["error"]
    assert m.reads == reads + 1
    assert m.post(staked, customer).status_code == 200 and m.reads == reads + 1  # known keys: the cache

    # a provider registered since is seen on its first request after the interval
    late = _register(chain, w, MIN_STAKE)
    clock.t += 10
    assert m.post(late, customer).status_code == 200
    assert m.reads == reads + 2

    # the meter's own registry wins: a provider removed from it is refused though staked on-chain
    add_provider(m.engine, str(late.pubkey()), T0)
    deactivate_provider(m.engine, str(late.pubkey()))
    r = m.post(late, customer)
    assert r.status_code == 403 and "removed from this meter's provider registry" in r.json()["error"]


def test_a_provider_slashed_below_the_minimum_stops_billing_at_the_next_read(world, tmp_path):
    node, chain, w = world
    clock = Clock()
    m = Meter(tmp_path, node.rpc_url, clock, w.customers)
    customer = str(w.customers[0].pubkey())
    p = _register(chain, w, MIN_STAKE)
    add_provider(m.engine, str(p.pubkey()), T0)  # `providers add` does not exempt it from the stake rule
    assert m.post(p, customer).status_code == 200
    # a proposed slash encumbers the stake at once: 1 token unit below the minimum
    roles.propose_slash(chain, w.dep, w.admin, p.pubkey(), 1, "overbilled")
    assert m.post(p, customer).status_code == 200  # the cached copy, until it is max_age_s old
    clock.t += 60
    r = m.post(p, customer)
    low, least = tokens(MIN_STAKE - 1, w.dep.decimals), tokens(MIN_STAKE, w.dep.decimals)
    assert r.status_code == 403 and (f"stake {low} tokens ({MIN_STAKE - 1} base units) is below the minimum {least} "
                                     f"tokens ({MIN_STAKE} base units)") in r.json()["error"], r.json()["error"]
    roles.stake(chain, w.dep, p, 1)  # staking again restores it
    clock.t += 60
    assert m.post(p, customer).status_code == 200


def test_an_unreadable_registry_is_503_for_unknown_keys_and_the_cache_for_known_ones(world, tmp_path):
    node, chain, w = world
    clock = Clock()
    m = Meter(tmp_path, node.rpc_url, clock, w.customers)
    customer = str(w.customers[0].pubkey())
    staked = w.providers[0]
    assert m.post(staked, customer).status_code == 200
    node.stop()
    clock.t += 61  # the copy is stale: the read fails, the last copy read is served
    assert m.post(staked, customer).status_code == 200
    r = m.post(Keypair(), customer)
    assert r.status_code == 503 and r.headers["retry-after"] == "10" and "provider registry" in r.json()["error"]
