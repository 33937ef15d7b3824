import pytest
from fastapi.testclient import TestClient
from solders.keypair import Keypair

from db import make_engine, migrate
from meter_helpers import CUSTOMER_KEYS, Clock, EventFactory, Poster, wide_lease
from metering.api import create_app
from metering.config import MeterConfig
from metering.read_client import SignedReader
from metering.registry import add_provider


@pytest.fixture
def clock():
    return Clock()


@pytest.fixture
def cfg():
    return MeterConfig(window_ms=60_000, grace_ms=10_000, heartbeat_timeout_ms=90_000, sample_timeout_ms=600_000)


@pytest.fixture
def engine(tmp_path):
    e = make_engine(f"sqlite:///{tmp_path / 'meter.db'}")
    migrate(e)
    yield e
    e.dispose()


@pytest.fixture
def meter_kp():
    return Keypair.from_seed(bytes([7]) * 32)


@pytest.fixture
def provider_kp(engine, clock):
    kp = Keypair.from_seed(bytes([1]) * 32)
    add_provider(engine, str(kp.pubkey()), clock(), "test provider")
    return kp


@pytest.fixture
def customer_kp():
    return Keypair.from_seed(bytes([2]) * 32)


@pytest.fixture
def customer(customer_kp):
    return str(customer_kp.pubkey())


@pytest.fixture
def ev(provider_kp, customer):
    return EventFactory(provider_kp, customer)


@pytest.fixture
def app(engine, cfg, meter_kp, clock):
    return create_app(engine, cfg, meter_kp, clock=clock)


@pytest.fixture
def client(app):
    with TestClient(app) as c:
        yield c


@pytest.fixture
def poster(client, clock, provider_kp):
    return Poster(client, clock, provider_kp)


@pytest.fixture
def reader(client, clock, customer_kp):
    """GETs signed by the customer's wallet, as `solmeter customer ...` sends them."""
    return SignedReader(keypair=customer_kp, http=client, clock=clock)


@pytest.fixture
def sign_lease(engine, provider_kp, customer, cfg):
    """sign_lease(lease_id, kind="gpu"|"storage", rclass=..., **terms): the customer signs a wide lease with
    the test provider and the meter stores it (the real signature and acceptance path)."""
    from metering.leases import accept_lease, lease_body

    def sign(lease_id, kind="gpu", rclass="H100", customer_kp=None, provider=None, **kw):
        kp = customer_kp or CUSTOMER_KEYS[customer]
        lease = wide_lease(lease_id, kp, provider or str(provider_kp.pubkey()), kind=kind, rclass=rclass,
                           program_id=cfg.program_id, **kw)
        body = lease_body(lease, kp)
        accept_lease(engine, body["encoding"], body["signature"], cfg.program_id, 0)
        return lease
    return sign
