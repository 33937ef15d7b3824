"""The program deployed through upgradeable-loader transactions (create buffer, write chunks,
DeployWithMaxDataLen) runs: initialize succeeds against the deployed copy, on devnet's feature set (which
refuses SBPF v0-v2 deployments, SIMD-0500: the committed program is SBPF v3) and on mainnet's."""
import pytest
from solders.keypair import Keypair

from contracts import PROGRAM_SO
from contracts.deploy_local import LOADER_V3, deploy_transactions, programdata_address
from contracts.testing import Harness, deploy
from localnet.features import new_svm


@pytest.mark.parametrize("cluster", ["devnet", "mainnet"])
def test_deployed_through_loader_v3_runs(cluster):
    # Given a LiteSVM on the cluster's feature set, and the built program
    svm = new_svm(cluster, 10**18)
    program = Keypair()
    h = Harness(program_id=program.pubkey(), svm=svm, load_program=False)
    elf = PROGRAM_SO.read_bytes()
    # When it is deployed in the same transactions `solana program deploy` sends
    txs = deploy_transactions(elf, h.payer, program, svm.minimum_balance_for_rent_exemption)
    assert len(txs) > 2
    for ixs, signers in txs:
        r = h.send(ixs, signers, payer=h.payer)
        assert r.ok, r.logs
    svm.warp_to_slot(svm.get_clock().slot + 1)
    # Then the program account is executable and owned by the loader, and initialize runs on it
    acc = svm.get_account(program.pubkey())
    assert acc.executable and acc.owner == LOADER_V3
    assert svm.get_account(programdata_address(program.pubkey())) is not None
    d = deploy(h, admin=h.payer)  # the deployer (upgrade authority) initializes
    assert d.h.config().version == 1
    assert d.h.config().admin == h.payer.pubkey()
