"""Who may post usage, decided per request (Ingestor._check_provider) and where the chain's registry is read
(ChainProviders): the meter's own `providers remove` wins over the chain, a provider on-chain must hold the
minimum stake (also when it was added by hand), a key neither on-chain nor added is refused; the registry
is read at most once per interval for any number of unknown keys, re-read when stale, and served from the
last copy when the chain cannot be read (unknown keys: RegistryUnavailable, the API's 503)."""
import json
import uuid

import pytest
from solders.keypair import Keypair

from meter_helpers import T0, EventFactory
from metering.auth import AuthError, SignedRequest
from metering.chain_providers import ChainProviders, ProviderStanding, RegistryUnavailable
from metering.ingest.parse import parse_body
from metering.ingest.service import Ingestor
from metering.registry import add_provider, deactivate_provider


def _ingest(engine, cfg, kp, customer, on_chain, eid="e1"):
    ev = EventFactory(kp, customer).hb("L1", T0 - 1000, eid=eid)
    _consent(engine, cfg, kp, customer)
    items = parse_body(json.dumps([ev]).encode(), batch=True, max_batch=10, max_body_bytes=1 << 20)
    return Ingestor(engine, cfg).ingest(SignedRequest(str(kp.pubkey()), T0, uuid.uuid4().hex), items, T0, on_chain)


def _consent(engine, cfg, kp, customer):
    """The customer signs lease L1 with this provider (stored directly: the provider may be known only to the
    chain, which accept_lease is told through `on_chain`)."""
    from meter_helpers import CUSTOMER_KEYS, wide_lease
    from metering.leases import LeaseRefused, accept_lease, lease_body

    body = lease_body(wide_lease("L1", CUSTOMER_KEYS[customer], str(kp.pubkey()), kind="gpu",
                                 program_id=cfg.program_id), CUSTOMER_KEYS[customer])
    try:
        accept_lease(engine, body["encoding"], body["signature"], cfg.program_id, 0, on_chain=lambda w: True)
    except LeaseRefused as e:
        assert e.field == "lease_id"  # already signed by an earlier call


def test_who_may_post(engine, cfg, customer):
    kp = Keypair()
    p = str(kp.pubkey())
    ok = ProviderStanding(p, stake=10, min_stake=10)
    low = ProviderStanding(p, stake=9, min_stake=10)
    assert _ingest(engine, cfg, kp, customer, ok, "a").status_code == 200  # on-chain, staked: no `providers add`
    with pytest.raises(AuthError) as e:
        _ingest(engine, cfg, kp, customer, low, "b")
    assert e.value.status == 403 and "stake 9 base units is below the minimum 10 base units" in e.value.reason
    with pytest.raises(AuthError) as e:
        _ingest(engine, cfg, kp, customer, None, "c")
    assert e.value.status == 403 and "not a registered provider" in e.value.reason
    add_provider(engine, p, T0)
    assert _ingest(engine, cfg, kp, customer, None, "d").status_code == 200  # added by hand, unknown on-chain
    with pytest.raises(AuthError):  # added by hand does not exempt it from the stake rule
        _ingest(engine, cfg, kp, customer, low, "e")
    deactivate_provider(engine, p)
    with pytest.raises(AuthError) as e:  # removed from the meter: refused though staked on-chain
        _ingest(engine, cfg, kp, customer, ok, "f")
    assert "removed from this meter's provider registry" in e.value.reason


def test_a_refusal_for_too_little_stake_says_the_amounts_in_tokens_and_what_to_stake():
    """Found walking the README as a provider who unstaked: the agent's log said `stake 0 is below the minimum
    1000000` (raw base units, no unit) and `stakes again` without how much."""
    low = ProviderStanding("P1", stake=250_000, min_stake=1_000_000, decimals=6)
    assert low.refusal() == ("P1 is registered on-chain but its unencumbered stake 0.250000 tokens (250000 base "
                             "units) is below the minimum 1.000000 tokens (1000000 base units): it bills nothing "
                             "until it stakes at least 0.750000 tokens (750000 base units) more (`solmeter "
                             "provider stake AMOUNT`)")


class Clock:
    t = 0.0

    def __call__(self):
        return self.t


def test_unknown_keys_cost_one_registry_read_per_interval():
    reads = []
    known = {"P1": ProviderStanding("P1", 5, 1)}

    def fetch():
        reads.append(1)
        return dict(known)

    clock = Clock()
    reg = ChainProviders(fetch, max_age_s=60, min_refresh_s=10, clock=clock)
    assert reg.standing("P1") == known["P1"] and len(reads) == 1
    for i in range(1000):  # a flood of made-up keys within the interval
        assert reg.standing(f"X{i}") is None
    assert len(reads) == 1
    clock.t = 10
    known["P2"] = ProviderStanding("P2", 5, 1)  # registered since: seen at the first request after the interval
    assert reg.standing("P2") == known["P2"] and len(reads) == 2
    for i in range(1000):
        reg.standing(f"Y{i}")
    assert len(reads) == 2
    clock.t = 19.9
    assert reg.standing("P1") is not None and len(reads) == 2  # known keys: from the cache
    clock.t = 70
    assert reg.standing("P1") is not None and len(reads) == 3  # stale: read again


def test_an_unreadable_registry_serves_the_last_copy_and_refuses_unknown_keys_as_unavailable():
    state = {"up": True}

    def fetch():
        if not state["up"]:
            raise RegistryUnavailable("cannot read the provider registry from http://127.0.0.1:9")
        return {"P1": ProviderStanding("P1", 5, 1)}

    clock = Clock()
    reg = ChainProviders(fetch, max_age_s=60, min_refresh_s=10, clock=clock)
    with pytest.raises(RegistryUnavailable):
        state["up"] = False
        reg.standing("P1")  # never read: nothing to serve
    state["up"] = True
    clock.t = 10
    assert reg.standing("P1") is not None
    state["up"] = False
    clock.t = 80
    assert reg.standing("P1") is not None  # stale, the read failed: the last copy
    with pytest.raises(RegistryUnavailable):
        reg.standing("P9")
