"""initialize cannot be front-run (security review finding 8): under the upgradeable loader only the
program's upgrade authority (the deployer) may initialize, as admin. Before the fix the first caller
after deployment became admin, with its own mint, treasury and meter."""
import struct

from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from contracts import PROGRAM_SO
from contracts.deploy_local import LOADER_V3, deploy_transactions, deployable_litesvm, programdata_address
from contracts.testing import DEFAULT_PARAMS, Harness, deploy


def _deployed():
    """A program deployed through loader v3 by `deployer` (its upgrade authority), not initialized."""
    svm = deployable_litesvm()
    program = Keypair()
    h = Harness(program_id=program.pubkey(), svm=svm, load_program=False)
    deployer = h.new_wallet()
    for ixs, signers in deploy_transactions(PROGRAM_SO.read_bytes(), deployer, program,
                                            svm.minimum_balance_for_rent_exemption):
        assert h.send(ixs, signers, payer=deployer).ok
    svm.warp_to_slot(svm.get_clock().slot + 1)
    return h, deployer


def _init_ix(h, admin, **accounts):
    mint = h.create_mint(admin.pubkey())
    treasury = h.create_token_account(mint, admin.pubkey())
    ix = h.program.initialize(admin=admin.pubkey(), mint=mint, treasury=treasury, meter=admin.pubkey(),
                              arbiter=admin.pubkey(), **DEFAULT_PARAMS)
    if accounts:
        names = ["admin", "config", "mint", "treasury", "rewards_vault", "system_program", "token_program",
                 "program", "program_data"]
        metas = [AccountMeta(accounts.get(n, m.pubkey), m.is_signer, m.is_writable) for n, m in zip(names, ix.accounts)]
        ix = Instruction(ix.program_id, ix.data, metas)
    return ix


def test_a_stranger_cannot_initialize_an_upgradeable_deployment():
    # Given a program just deployed through the upgradeable loader
    h, deployer = _deployed()
    attacker = h.new_wallet()
    config = h.program.config_address()
    # When someone else races the deployer to initialize
    r = h.send([_init_ix(h, attacker)], [attacker])
    # Then it is refused and no Config exists
    assert not r.ok and r.error.name == "NotUpgradeAuthority"
    assert not h.exists(config)
    # and the deployer (upgrade authority) initializes as admin
    d = deploy(h, admin=deployer)
    assert h.config().admin == deployer.pubkey()
    d.conservation()


def test_forged_program_data_or_program_account_is_refused():
    h, deployer = _deployed()
    attacker = h.new_wallet()
    # Given the attacker's own upgradeable program, whose ProgramData names the attacker
    other = Keypair()
    for ixs, signers in deploy_transactions(PROGRAM_SO.read_bytes(), attacker, other,
                                            h.svm.minimum_balance_for_rent_exemption):
        assert h.send(ixs, signers, payer=attacker).ok
    own_pd = programdata_address(other.pubkey())
    # When it passes that ProgramData with our program, or its program as ours
    r = h.send([_init_ix(h, attacker, program_data=own_pd)], [attacker])
    assert not r.ok and r.error.name == "WrongPda"
    r = h.send([_init_ix(h, attacker, program=other.pubkey(), program_data=own_pd)], [attacker])
    assert not r.ok and r.error.name == "WrongProgram"
    # Then nothing was created
    assert not h.exists(h.program.config_address())


def test_an_immutable_upgradeable_program_cannot_be_initialized():
    h, deployer = _deployed()
    # Given the deployer dropped the upgrade authority before initializing (loader SetAuthority to None)
    set_none = Instruction(LOADER_V3, struct.pack("<I", 4),
                           [AccountMeta(programdata_address(h.program_id), False, True),
                            AccountMeta(deployer.pubkey(), True, False)])
    assert h.send([set_none], [deployer]).ok
    # When anyone, the former authority included, initializes, Then it is refused
    for who in (deployer, h.new_wallet()):
        r = h.send([_init_ix(h, who)], [who])
        assert not r.ok and r.error.name == "NotUpgradeAuthority"


def test_genesis_loaded_program_keeps_first_caller_initialize():
    # Given a program loaded at genesis (loader v2: LiteSVM add_program, the localnet, a test validator)
    h = Harness()
    assert h.svm.get_account(h.program_id).owner == Pubkey.from_string("BPFLoader2111111111111111111111111111111111")
    # When any wallet initializes, Then it becomes admin: no authority exists to require
    d = deploy(h)
    assert h.config().admin == d.admin.pubkey()


def test_program_account_is_required():
    h = Harness()
    admin = h.new_wallet()
    ix = _init_ix(h, admin)
    r = h.send([Instruction(ix.program_id, ix.data, list(ix.accounts)[:7])], [admin])
    assert not r.ok and r.error.name == "NotEnoughAccounts"
