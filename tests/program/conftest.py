"""Fixtures for the billing program's LiteSVM tests. Every test that uses `d` ends with the token
conservation check: tokens in all vaults + wallets + treasury + burned == minted."""
import pytest

from contracts.testing import deploy, receipt_chain, post_batch, settle  # noqa: F401  (re-exported)


@pytest.fixture
def d():
    dep = deploy()
    yield dep
    dep.conservation()


@pytest.fixture
def chan(d):
    """A customer with 10 tokens in escrow and a provider with 2 tokens staked."""
    c = d.customer(deposit=10_000_000)
    p = d.provider(stake=2_000_000)
    return c, p


def unchanged(d, addrs, before):
    assert d.h.snapshot(addrs) == before, "a failed instruction changed state"
