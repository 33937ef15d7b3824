"""Deploying over JSON-RPC as on a public cluster (ledger/ops/program_deploy.py, buffer_writes.py): parallel
writes that survive HTTP 429/503 and dropped transactions without paying twice, a deploy interrupted mid-way
that resumes from its buffer, upgrades that check the authority before paying, and compute budgets."""
from __future__ import annotations

import base64
import struct

import based58
import pytest
from solders.instruction import AccountMeta, Instruction
from solders.keypair import Keypair

from deploy_support import ELF, bare_node, funded, memo_elf, v3_elf
from contracts import loader_v3
from contracts.loader_v3 import LOADER_V3, Buffer, ProgramData
from deploy_proxy import RpcProxy
from ledger.engine.chain import RpcChain
from ledger.ops.budget import ComputeBudget
from ledger.ops.buffer_writes import BufferWriter, WritePlan
from ledger.ops.program_deploy import FEATURE_PROGRAM, SIMD_0500, Deployer, DeployOptions, buffers, deployed
from ledger.ops.tx import OpError, send

FEE = 5_000  # lamports per signature


def _deployed_bytes(chain: RpcChain, program_id) -> bytes:
    return deployed(chain, program_id)[1].elf


def _chunks(d: Deployer) -> int:
    return len(loader_v3.chunk_offsets(len(ELF), d.chunk))


def test_parallel_writes_survive_429_and_503_and_pay_each_chunk_once(node):
    # Given an RPC that answers every third sendTransaction with HTTP 503 and every fifth with 429
    def flaky(method, request, seen):
        if method == "sendTransaction" and seen % 3 == 2:
            return ("status", 503)
        if method == "sendTransaction" and seen % 5 == 4:
            return ("status", 429)
        return None

    with RpcProxy(node.rpc_url, flaky) as proxy:
        chain = RpcChain(proxy.url)
        payer, program = funded(chain), Keypair()
        d = Deployer(chain, payer, DeployOptions(concurrency=8), sleep=lambda s: None)
        # When the program is deployed through it
        out = d.deploy(program, ELF)
    # Then it runs the committed bytes, the refused sends were retried, and each transaction was paid once:
    # create buffer (2 signatures), one Write per chunk, create program + deploy (2 signatures)
    chain = RpcChain(node.rpc_url)
    assert _deployed_bytes(chain, program.pubkey())[:len(ELF)] == ELF
    assert out.upload.stats.retried >= _chunks(d) // 3
    assert out.fees == FEE * (2 + _chunks(d) + 2)
    assert out.rent == chain.lamports(program.pubkey()) + chain.lamports(loader_v3.programdata_address(program.pubkey()))
    assert out.cost == out.rent + out.fees
    assert buffers(chain, payer.pubkey()) == []  # the buffer was consumed by the deploy


def test_dropped_writes_are_signed_again_after_their_blockhash_expires(tmp_path):
    # Given slots of 5 ms (a blockhash expires after 150 slots) and an RPC that accepts the first send of
    # every fourth chunk but never forwards it (a leader that drops it)
    node = bare_node(tmp_path / "ledger", slot_ms=5)
    dropped = []

    def lossy(method, request, seen):
        if method == "sendTransaction" and len(dropped) < 6 and seen % 4 == 1:
            dropped.append(seen)
            return ("drop",)
        return None

    try:
        with RpcProxy(node.rpc_url, lossy) as proxy:
            chain = RpcChain(proxy.url)
            payer, program = funded(chain), Keypair()
            d = Deployer(chain, payer, DeployOptions(concurrency=4))
            d.writer.poll_s = 0.05
            out = d.deploy(program, ELF)
        # Then the dropped ones were found unconfirmed once their blockhash expired, signed again with a new
        # one, landed, and nothing was paid twice
        assert len(dropped) == 6 and out.upload.stats.expired == 6 and out.upload.stats.rounds >= 2
        assert out.fees == FEE * (2 + _chunks(d) + 2)
        assert _deployed_bytes(RpcChain(node.rpc_url), program.pubkey())[:len(ELF)] == ELF
    finally:
        node.stop()


def test_an_interrupted_upload_resumes_from_its_buffer(node):
    # Given a deploy whose RPC stops answering after 20 buffer writes (the process is then abandoned)
    chain = RpcChain(node.rpc_url)
    payer, program = funded(chain), Keypair()

    def cut(method, request, seen):
        return ("status", 503) if method == "sendTransaction" and seen > 20 else None  # 0: create buffer

    with RpcProxy(node.rpc_url, cut) as proxy:
        d = Deployer(RpcChain(proxy.url), payer, DeployOptions(concurrency=4, max_rounds=1), sleep=lambda s: None)
        d.writer.max_send_attempts = 1
        with pytest.raises(OpError, match="run the same command again: it resumes from buffer"):
            d.deploy(program, ELF)
    [left] = buffers(chain, payer.pubkey(), ELF, d.chunk)
    assert left.chunks_written == 20 and chain.account_data(program.pubkey()) is None
    spent_before = 10 * 10**9 - chain.lamports(payer.pubkey())
    # When the deploy runs again
    d = Deployer(chain, payer, DeployOptions())
    out = d.deploy(program, ELF)
    # Then it resumed that buffer, wrote only the missing chunks, and over both runs every transaction was
    # paid once and one buffer's rent was paid (and came back)
    assert out.upload.resumed and out.upload.buffer == left.address
    assert out.upload.chunks_written == _chunks(d) - 20 and out.upload.refunded == left.lamports
    total_spent = spent_before + out.cost
    assert total_spent == out.rent + FEE * (2 + _chunks(d) + 2)
    assert _deployed_bytes(chain, program.pubkey())[:len(ELF)] == ELF


def test_a_buffer_of_other_bytes_is_not_resumed(node):
    # Given a buffer of the operator of the right size that holds bytes of another program
    chain = RpcChain(node.rpc_url)
    payer = funded(chain)
    other = Keypair()
    send(chain, payer, loader_v3.create_buffer(payer.pubkey(), other.pubkey(), payer.pubkey(), len(ELF),
                                               chain.rent_exempt(loader_v3.buffer_account_len(len(ELF)))), [other])
    send(chain, payer, [loader_v3.write(other.pubkey(), payer.pubkey(), 0, b"\x01" * 64)])
    # When a deploy looks for one to resume, then it creates a new buffer instead
    out = Deployer(chain, payer).deploy(Keypair(), ELF)
    assert not out.upload.resumed and out.upload.buffer != other.pubkey()
    [kept] = buffers(chain, payer.pubkey(), ELF, 1)
    assert kept.address == other.pubkey() and kept.chunks_total is None  # listed as holding other bytes


def test_upgrade_checks_the_authority_before_paying_anything(node):
    chain = RpcChain(node.rpc_url)
    owner, stranger, program = funded(chain), funded(chain), Keypair()
    Deployer(chain, owner).deploy(program, ELF)
    new = v3_elf()
    # When someone who is not the upgrade authority upgrades, then it is refused by name, nothing paid
    before = chain.lamports(stranger.pubkey())
    with pytest.raises(OpError, match=f"upgrade authority of program {program.pubkey()} is {owner.pubkey()}, "
                                      f"not {stranger.pubkey()}"):
        Deployer(chain, stranger).upgrade(program.pubkey(), new)
    assert chain.lamports(stranger.pubkey()) == before and buffers(chain, stranger.pubkey()) == []
    # When the authority upgrades, then the program runs the new bytes and only fees were paid
    out = Deployer(chain, owner).upgrade(program.pubkey(), new)
    assert out.cost == out.fees == FEE * (2 + out.upload.chunks_total + 1) and out.rent == 0
    assert _deployed_bytes(chain, program.pubkey())[:len(new)] == new
    sig = send(chain, owner, [Instruction(program.pubkey(), b"\x02", [])])
    assert "Program log: hello relink" in chain.transaction(sig).logs
    # and the same bytes again are nothing to do
    assert Deployer(chain, owner).upgrade(program.pubkey(), new) is None
    # An SBPF v0 build is refused by devnet's rules, in words, with what to do and how to get the buffer's rent back
    with pytest.raises(OpError) as refused:
        Deployer(chain, owner).upgrade(program.pubkey(), memo_elf())
    text = str(refused.value)
    assert "upgrade rejected: instruction 0 (upgradeable loader): InvalidAccountData" in text and "0x" not in text
    assert "the ELF is SBPF v0, which this cluster no longer deploys (SIMD-0500" in text
    [left] = buffers(chain, owner.pubkey())
    assert f"`solmeter operator buffers close {left.address}` returns its" in text


def test_an_immutable_or_missing_program_is_refused_before_paying(node):
    chain = RpcChain(node.rpc_url)
    owner, program = funded(chain), Keypair()
    with pytest.raises(OpError, match="no program at .* deploy it with `solmeter operator init`"):
        Deployer(chain, owner).upgrade(program.pubkey(), ELF)
    Deployer(chain, owner).deploy(program, ELF)
    programdata = loader_v3.programdata_address(program.pubkey())
    set_none = Instruction(LOADER_V3, struct.pack("<I", loader_v3.IX_SET_AUTHORITY),
                           [AccountMeta(programdata, False, True), AccountMeta(owner.pubkey(), True, False)])
    send(chain, owner, [set_none])
    assert ProgramData.parse(chain.account_data(programdata)).upgrade_authority is None
    before = chain.lamports(owner.pubkey())
    with pytest.raises(OpError, match="is immutable"):
        Deployer(chain, owner).upgrade(program.pubkey(), memo_elf())
    assert chain.lamports(owner.pubkey()) == before


def test_too_little_sol_is_refused_before_anything_is_paid(node):
    chain = RpcChain(node.rpc_url)
    poor = funded(chain, 1)  # the program's data account alone needs more than 1 SOL of rent
    with pytest.raises(OpError, match=r"has 1 SOL but deploying \d+ bytes needs about 1\.\d+ SOL"):
        Deployer(chain, poor).deploy(Keypair(), ELF)
    assert chain.lamports(poor.pubkey()) == 10**9 and buffers(chain, poor.pubkey()) == []


def test_compute_unit_price_sets_a_fitted_limit_on_every_transaction(node):
    # Given a priority fee of 50,000 micro-lamports per compute unit and no limit
    chain = RpcChain(node.rpc_url)
    payer, program = funded(chain), Keypair()
    d = Deployer(chain, payer, DeployOptions(budget=ComputeBudget(unit_price=50_000)))
    plain = Deployer(chain, payer).chunk
    out = d.deploy(program, ELF)
    # Then the writes carry the budget instructions (so fewer ELF bytes fit in each), and each transaction paid
    # the base fee plus price x its limit, a limit fitted by simulation (far below the default 200,000)
    assert d.chunk < plain
    tx = chain.client.get_transaction(out.signature)
    ixs = tx.transaction.transaction.message.instructions
    keys = tx.transaction.transaction.message.account_keys
    budget_ixs = [based58.b58decode(ix.data.encode()) for ix in ixs
                  if str(keys[ix.program_id_index]) == "ComputeBudget111111111111111111111111111111"]
    limit = next(struct.unpack("<I", b[1:5])[0] for b in budget_ixs if b[0] == 2)
    price = next(struct.unpack("<Q", b[1:9])[0] for b in budget_ixs if b[0] == 3)
    assert price == 50_000 and 1_000 < limit < 200_000
    assert tx.transaction.meta.fee == 2 * FEE + -(-price * limit // 1_000_000)
    assert out.fees > FEE * (2 + _chunks(d) + 2)


def test_a_buffer_write_refused_for_good_stops_the_upload_by_name(node):
    # Given a buffer whose authority is someone else
    chain = RpcChain(node.rpc_url)
    owner, intruder = funded(chain), funded(chain)
    buf = Keypair()
    send(chain, owner, loader_v3.create_buffer(owner.pubkey(), buf.pubkey(), owner.pubkey(), 64,
                                               chain.rent_exempt(loader_v3.buffer_account_len(64))), [buf])
    plan = WritePlan(buf.pubkey(), bytes(range(64)), [0], 64)
    # When the intruder writes to it, then the refusal is named in words, not retried
    with pytest.raises(OpError, match=r"offset 0 rejected: instruction 0 \(upgradeable loader\): IncorrectAuthority: "
                                      r"the signer is not the account's authority \[Incorrect buffer authority"):
        BufferWriter(chain, intruder, sleep=lambda s: None).write(plan)
    assert Buffer.parse(chain.account_data(buf.pubkey())).data == bytes(64)


def test_a_cluster_whose_feature_account_says_simd_0500_refuses_old_sbpf_before_paying(node):
    # Given an RPC that serves SIMD-0500's feature account as activated (as devnet's does; the localnet serves
    # no feature accounts)
    feature = {"lamports": 1, "owner": str(FEATURE_PROGRAM), "executable": False, "rentEpoch": 0, "space": 9,
               "data": [base64.b64encode(b"\x01" + (1088 * 432_000).to_bytes(8, "little")).decode(), "base64"]}

    def devnet_features(method, request, seen):
        if method == "getAccountInfo" and request["params"][0] == str(SIMD_0500):
            return ("result", {"context": {"slot": 1, "apiVersion": "2.2.0"}, "value": feature})
        return None

    with RpcProxy(node.rpc_url, devnet_features) as proxy:
        chain = RpcChain(proxy.url)
        payer = funded(chain)
        before = chain.lamports(payer.pubkey())
        # When an SBPF v0 ELF is deployed, then it is refused before any buffer is paid for
        with pytest.raises(OpError, match=r"refuses to deploy SBPF v0 programs \(SIMD-0500 is active; nothing was paid\)"):
            Deployer(chain, payer).deploy(Keypair(), memo_elf())
        assert chain.lamports(payer.pubkey()) == before and buffers(chain, payer.pubkey()) == []
        # while the committed SBPF v3 program deploys there
        assert Deployer(chain, payer).deploy(Keypair(), ELF).upload.chunks_written > 0
