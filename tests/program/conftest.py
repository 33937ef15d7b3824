"""Fixtures for the billing program's LiteSVM tests. Every test that uses `d` ends with the token
conservation check: tokens in all vaults + wallets + treasury + burned == minted."""
import pytest

from contracts.testing import deploy, receipt_chain, post_batch, settle  # noqa: F401  (re-exported)


@pytest.fixture
def d():
    dep = deploy()
    yield dep
    dep.conservation()


U64_MAX = (1 << 64) - 1


def open_channel(d, c, p, limit=U64_MAX):
    """The customer `c` opens its channel with provider `p` (its on-chain consent to be billed)."""
    return d.open_channel(c, p, limit)


@pytest.fixture
def chan(d):
    """A customer with 10 tokens in escrow and a provider with 2 tokens staked; the customer opened the
    channel between them (no limit)."""
    c = d.customer(deposit=10_000_000)
    p = d.provider(stake=2_000_000)
    open_channel(d, c, p)
    return c, p


def unchanged(d, addrs, before):
    assert d.h.snapshot(addrs) == before, "a failed instruction changed state"
