"""`solmeter meter serve` follows the on-chain config version: metering.chain_version reads Config over RPC."""
from __future__ import annotations

import pytest
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from contracts import DEFAULT_PROGRAM_ID
from ledger.engine.chain import RpcChain
from ledger.ops import roles
from ledger.ops.bootstrap import bootstrap
from ledger.ops.deployment import InitParams
from metering.chain_version import ConfigNotFound, config_version_reader

from ledger_helpers import start_node


@pytest.fixture
def node(tmp_path):
    h = start_node(tmp_path / "chain")
    yield h
    h.stop()


def test_reader_sees_every_update_config(node):
    # Given an initialized program on the localnet
    chain = RpcChain(node.rpc_url)
    w = bootstrap(chain, program_id=Pubkey.from_string(DEFAULT_PROGRAM_ID), n_providers=1, n_customers=1,
                  wallet_tokens=10**9, stake=10**7, deposit=10**7, params=InitParams(fee_bps=250, burn_bps=100))
    read = config_version_reader(node.rpc_url, DEFAULT_PROGRAM_ID)
    before = read()
    # When the operator changes the fee twice
    roles.set_fees(chain, w.dep, w.admin, 400, None)
    after_one = read()
    roles.set_fees(chain, w.dep, w.admin, 300, None)
    # Then the same reader reports each new version without being rebuilt
    assert after_one == before + 1 and read() == before + 2


def test_reader_names_a_program_that_is_not_initialized(node):
    # Given a program id with no Config account on this cluster
    other = str(Keypair().pubkey())
    read = config_version_reader(node.rpc_url, other)
    # When the meter asks for the version, Then the error says what to do
    with pytest.raises(ConfigNotFound, match="solmeter operator init"):
        read()
