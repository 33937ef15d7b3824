"""Program history (issue 15): the program is deployed through the upgradeable loader on a real localnet (devnet's
features), used, upgraded to OTHER bytes, used under them, and switched back to the committed build. The
deployed bytes equal the committed binary again, which is all `audit program` used to check; the auditor now
walks every deploy and upgrade (bytes replayed from each buffer's Write instructions), flags the upgrade to
other bytes and the settlement executed under them, and says plainly who holds the upgrade authority."""
from __future__ import annotations

import pytest
from solders.keypair import Keypair

from auditor.audits import ChainFacts, audit_program
from auditor.chain import ChainReader
from auditor.program import elf_sha256
from auditor.program_history import Deploy, check_deploys, check_settlements_under, in_force, replay_buffer
from auditor.receipt_file import SignedReceipt
from auditor.sample import next_receipt
from contracts import PROGRAM_SO
from contracts.deploy_local import CHUNK, deploy_transactions
from contracts.loader_v3 import buffer_account_len, create_buffer, upgrade, write
from contracts.merkle import MerkleTree

import auditor_scenario as scenario

localnet = pytest.importorskip("localnet")


def _other_build(elf: bytes) -> bytes:
    """Another ELF that still runs: one letter of an error name in .rodata changed (only logs differ)."""
    at = elf.index(b"PriceBookVersionNotIncreasing")
    return elf[:at] + b"p" + elf[at + 1:]


def _upgrade(chain, payer: Keypair, program, elf: bytes) -> None:
    buf = Keypair()
    chain.send(create_buffer(payer.pubkey(), buf.pubkey(), payer.pubkey(), len(elf),
                             chain.rent(buffer_account_len(len(elf)))), [payer, buf])
    for off in range(0, len(elf), CHUNK):
        chain.send([write(buf.pubkey(), payer.pubkey(), off, elf[off:off + CHUNK])], [payer])
    chain.send([upgrade(program, buf.pubkey(), payer.pubkey(), payer.pubkey())], [payer])


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    committed = tmp_path_factory.mktemp("build") / PROGRAM_SO.name
    committed.write_bytes(PROGRAM_SO.read_bytes())
    elf = committed.read_bytes()
    with localnet.start_in_process(ledger_dir=tmp_path_factory.mktemp("ledger"), features="devnet") as node:
        chain = scenario.Chain(node.rpc_url)
        admin, program = Keypair(), Keypair()
        chain.airdrop(admin, 100)
        for ixs, signers in deploy_transactions(elf, admin, program, chain.rent):
            chain.send(ixs, signers)
        pid = program.pubkey()
        meter = Keypair()
        d = scenario.deploy(node.rpc_url, pid, meter, admin=admin)
        rs = []
        for _ in range(3):
            rs.append(next_receipt(rs[-1] if rs else None, program_id=pid, config_version=1,
                                   customer=d.customer.pubkey(), provider=d.provider.pubkey(), add_amount=10_000))
        tree = MerkleTree([r.receipt_id for r in rs])
        index = d.post_batch(meter, tree.root, 3, rs[-1].cum_amount)
        signed = [SignedReceipt(r, meter.sign_message(r.receipt_id), meter.pubkey(), index, tuple(tree.proof(j)), j)
                  for j, r in enumerate(rs)]
        d.settle(index, signed[0].receipt, signed[0].proof)  # under the committed build
        _upgrade(chain, admin, pid, _other_build(elf))
        bad_sig, _ = d.settle(index, signed[1].receipt, signed[1].proof)  # under the other bytes
        _upgrade(chain, admin, pid, elf)  # switched back
        d.settle(index, signed[2].receipt, signed[2].proof)
        yield dict(node=node, pid=pid, committed=committed, admin=admin, bad_sig=bad_sig, elf=elf)


def test_an_upgrade_to_other_bytes_and_back_is_caught(world):
    reader = ChainReader.connect(world["node"].rpc_url, world["pid"])
    rep = audit_program(reader, world["committed"], None, ChainFacts(reader))
    # today's check alone: the deployed bytes ARE the committed binary again
    assert next(c for c in rep.checks if c.name == "program.committed").status == "pass"
    assert rep.failed_names() == {"program.history", "program.settlements"}, rep.render()
    kinds = [x.split(" slot ")[0] for x in rep.facts["deploys"]]
    assert kinds == ["deploy", "upgrade", "upgrade"]
    shas = [x.rsplit(" ", 1)[1] for x in rep.facts["deploys"]]
    assert shas == [elf_sha256(world["elf"]), elf_sha256(_other_build(world["elf"])), elf_sha256(world["elf"])]
    bad = next(c for c in rep.checks if c.name == "program.settlements")
    assert "1 settlement(s) executed under bytes other than the verified build" in bad.detail
    assert world["bad_sig"][:12] in bad.detail and "seq 2" in bad.detail
    auth = next(c for c in rep.checks if c.name == "program.upgrade_authority")
    assert f"UPGRADE AUTHORITY STILL SET: {world['admin'].pubkey()}" in auth.detail


def test_history_checks_on_their_own():
    """Pure: which deploy ran a slot, and what the checks say when a deploy's bytes cannot be replayed."""
    from solders.pubkey import Pubkey

    buf = Pubkey.new_unique()
    good, other = "a" * 64, "b" * 64
    ds = [Deploy("deploy", 10, "s1", buf, good), Deploy("upgrade", 20, "s2", buf, other),
          Deploy("upgrade", 30, "s3", buf, good)]
    assert in_force(ds, 10) is None and in_force(ds, 11).slot == 10 and in_force(ds, 21).slot == 20
    assert check_settlements_under(ds, [(15, "x", "a"), (35, "y", "b")], good).status == "pass"
    assert check_settlements_under(ds, [(25, "x", "a")], good).failed
    unknown = [Deploy("deploy", 10, "s1", buf, None, "no Write found")]
    assert check_deploys(unknown, good).status == "pending"
    assert check_settlements_under(unknown, [(15, "x", "a")], good).status == "pending"
    assert check_deploys(ds[:1], good).status == "pass" and check_deploys(ds, good).failed
    assert replay_buffer([(0, b"ab"), (4, b"cd"), (1, b"X")]) == b"aX\0\0cd"


def test_a_requested_rebuild_that_cannot_run_fails(world):
    def broken_toolchain(_out):
        raise RuntimeError("cargo: command not found")

    reader = ChainReader.connect(world["node"].rpc_url, world["pid"])
    rep = audit_program(reader, world["committed"], broken_toolchain)
    rb = next(c for c in rep.checks if c.name == "program.rebuild")
    assert rb.failed and "could not run: cargo: command not found" in rb.detail


def test_audit_all_verifies_the_build_and_the_history(world):
    """`audit all` runs the program's audit with its history and, when asked (the CLI's default), a rebuild:
    one that cannot run fails the whole audit."""
    from auditor.audits import audit_all

    def broken_toolchain(_out):
        raise RuntimeError("rustc: not found")

    reader = ChainReader.connect(world["node"].rpc_url, world["pid"])
    reports = audit_all(ChainFacts(reader), None, world["committed"], builder=broken_toolchain)
    prog = next(r for r in reports if r.kind == "program")
    assert {"program.rebuild", "program.history", "program.settlements"} <= prog.failed_names(), prog.render()
