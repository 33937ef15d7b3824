"""Rust/Python parity: the program's own receipt.rs, merkle.rs, mul-div and discriminator code (built for
the host by /usr/bin/rustc from contracts/program/host/parity.rs) agree byte for byte with
contracts/receipt.py, contracts/merkle.py and hashlib on many random cases; PDA derivation agrees
through the program itself (it accepts the addresses contracts/pda.py derives and refuses others)."""
from __future__ import annotations

import hashlib
import os
import random
import subprocess
from pathlib import Path

import pytest
from solders.pubkey import Pubkey

from contracts import pda
from contracts.merkle import MerkleTree, verify_proof
from contracts.receipt import Receipt, ReceiptEncodingError

PROGRAM_DIR = Path(__file__).resolve().parents[2] / "contracts" / "program"
RUSTC = "/usr/bin/rustc"
N = 400


@pytest.fixture(scope="module")
def rust(tmp_path_factory):
    if not (os.path.exists(RUSTC) and (PROGRAM_DIR / "host" / "parity.rs").exists()):
        pytest.skip("needs the Debian Rust toolchain (apt: rustc-web) to build the host parity driver")
    exe = tmp_path_factory.mktemp("parity") / "parity"
    subprocess.run([RUSTC, "--edition", "2021", "-O", str(PROGRAM_DIR / "host" / "parity.rs"), "-o", str(exe)],
                   check=True, capture_output=True, timeout=300)
    tests = tmp_path_factory.mktemp("parity") / "unit"
    subprocess.run([RUSTC, "--edition", "2021", "--test", "-O", str(PROGRAM_DIR / "host" / "parity.rs"), "-o",
                    str(tests)], check=True, capture_output=True, timeout=300)
    unit = subprocess.run([str(tests)], capture_output=True, text=True, timeout=60)
    assert unit.returncode == 0, unit.stdout + unit.stderr

    def ask(lines: list[str]) -> list[str]:
        p = subprocess.run([str(exe)], input="\n".join(lines) + "\n", capture_output=True, text=True, timeout=120)
        assert p.returncode == 0, p.stderr
        out = p.stdout.splitlines()
        assert len(out) == len(lines)
        return out

    return ask


def _random_receipt(rng: random.Random) -> Receipt:
    seq = rng.choice([1, 2, rng.randrange(1, 2**64)])
    start = rng.randrange(-(2**63), 2**63)
    end = rng.randrange(start, min(start + 2**40, 2**63))
    return Receipt(
        program_id=Pubkey(rng.randbytes(32)), config_version=rng.randrange(2**64), customer=Pubkey(rng.randbytes(32)),
        provider=Pubkey(rng.randbytes(32)), seq=seq, period_start=start, period_end=end,
        cum_gpu_ms=rng.randrange(2**64), cum_byte_seconds=rng.choice([0, 2**128 - 1, rng.randrange(2**128)]),
        cum_egress_bytes=rng.randrange(2**64), cum_amount=rng.choice([0, 2**64 - 1, rng.randrange(2**64)]),
        prev_receipt_id=bytes(32) if seq == 1 else rng.randbytes(32), detail_hash=rng.randbytes(32),
    )


def _py_parse(b: bytes):
    try:
        r = Receipt.decode(b)
    except ReceiptEncodingError:
        return "ERR"
    lo, hi = r.cum_byte_seconds & (2**64 - 1), r.cum_byte_seconds >> 64
    return f"OK {r.receipt_id.hex()} {r.seq} {r.cum_amount} {r.config_version} {lo} {hi}"


@pytest.mark.toolchain
def test_receipt_encoding_agrees(rust):
    rng = random.Random(1)
    cases = []
    for _ in range(N):
        enc = _random_receipt(rng).encode()
        cases.append(enc)
        m = bytearray(enc)  # mutations: some stay valid, some break the tag, seq, period or chain rule
        i = rng.randrange(len(m))
        m[i] = rng.randrange(256)
        cases.append(bytes(m))
        cases.append(enc[: rng.randrange(len(enc))])
    valid = sum(1 for c in cases if _py_parse(c) != "ERR")
    assert N <= valid < len(cases)
    assert rust([f"R {c.hex()}" for c in cases]) == [_py_parse(c) for c in cases]


@pytest.mark.toolchain
def test_merkle_verification_agrees(rust):
    rng = random.Random(2)
    lines, expect = [], []
    for _ in range(N):
        ids = [rng.randbytes(32) for _ in range(rng.randrange(1, 70))]
        tree = MerkleTree(ids)
        i = rng.randrange(len(ids))
        proof = tree.proof(i)
        variants = [(ids[i], proof, tree.root)]
        if proof:
            bad = list(proof)
            k = rng.randrange(len(bad))
            bad[k] = rng.randbytes(32)
            variants.append((ids[i], bad, tree.root))
            variants.append((ids[i], proof[:-1], tree.root))
        variants.append((rng.randbytes(32), proof, tree.root))
        for rid, pr, root in variants:
            lines.append(f"M {rid.hex()} {root.hex()} {b''.join(pr).hex()}")
            expect.append("1" if verify_proof(rid, pr, root) else "0")
    assert "1" in expect and "0" in expect
    assert rust(lines) == expect


@pytest.mark.toolchain
def test_mul_div_agrees(rust):
    rng = random.Random(3)
    edges = [0, 1, 2, 9_999, 10_000, 2**32 - 1, 2**32, 2**63, 2**64 - 2, 2**64 - 1]
    cases = [(rng.choice(edges + [rng.randrange(2**64)]), rng.choice(edges + [rng.randrange(2**64)]),
              rng.choice(edges + [rng.randrange(2**64)])) for _ in range(N * 3)]
    expect = ["ERR" if d == 0 or a * b // d >= 2**64 else str(a * b // d) for a, b, d in cases]
    assert rust([f"X {a} {b} {d}" for a, b, d in cases]) == expect


@pytest.mark.toolchain
def test_discriminators_agree(rust):
    from contracts.client.gen import accounts, events, instructions
    pre = [f"global:{n}" for n in instructions.INSTRUCTIONS]
    pre += [f"account:{n}" for n in accounts.ACCOUNTS] + [f"event:{n}" for n in events.EVENTS]
    assert rust([f"D {p}" for p in pre]) == [hashlib.sha256(p.encode()).digest()[:8].hex() for p in pre]
    # and the generated classes carry exactly those discriminators
    classes = [*instructions.INSTRUCTIONS.values(), *accounts.ACCOUNTS.values(), *events.EVENTS.values()]
    assert [c.DISCRIMINATOR for c in classes] == [hashlib.sha256(p.encode()).digest()[:8] for p in pre]


def test_pda_derivation_agrees_through_the_program():
    """The program checks every PDA it creates with create_program_address over the seeds in
    pda.rs; it accepts what contracts/pda.py derives for random wallets and epoch numbers and refuses
    a neighbouring bump."""
    from contracts.testing import deploy
    d = deploy()
    rng = random.Random(4)
    for _ in range(25):
        c = d.customer(wallet_tokens=1_000)
        p = d.provider(stake=1)
        r = d.h.send([d.program.set_channel_limit(wallet=c.pubkey, provider_wallet=p.pubkey, limit_per_epoch=7)], [c.kp])
        assert r.ok, r.logs
        n = rng.randrange(1, 2**40)
        r = d.h.send([d.program.fund_epoch(funder=c.pubkey, epoch=n, source=c.token_account, mint=d.mint, amount=1)], [c.kp])
        assert r.ok, r.logs
        assert d.h.account(pda.epoch(d.h.program_id, n)[0])[1].number == n
    # a wrong bump for a fresh address is refused as WrongPda
    kp = d.h.new_wallet()
    addr, bump = pda.customer(d.h.program_id, kp.pubkey())
    ix = d.program.register_customer(wallet=kp.pubkey(), mint=d.mint)
    data = bytearray(ix.data)
    data[8] = (bump - 1) % 256
    from solders.instruction import Instruction
    r = d.h.send([Instruction(ix.program_id, bytes(data), ix.accounts)], [kp])
    assert not r.ok and r.error.name == "WrongPda"
    d.conservation()


def test_economics_agree_with_the_programs_mul_div(rust):
    """contracts/economics.py's split and reward share are the program's mul_div_floor, case for case
    (settle.rs: fee and burn of BPS_DENOMINATOR; claim_rewards.rs: pool x revenue / total)."""
    from contracts import economics
    rng = random.Random(7)
    cases = []
    for _ in range(N):
        amount = rng.choice([0, 1, 9_999, 10_001, rng.randrange(1 << 40), rng.randrange(1 << 63)])
        fee_bps = rng.randrange(economics.MAX_FEE_PLUS_BURN_BPS + 1)
        burn_bps = rng.randrange(economics.MAX_FEE_PLUS_BURN_BPS + 1 - fee_bps)
        cases.append((amount, fee_bps, burn_bps))
    lines = []
    for amount, fee_bps, burn_bps in cases:
        lines += [f"X {amount} {fee_bps} {economics.BPS_DENOMINATOR}", f"X {amount} {burn_bps} {economics.BPS_DENOMINATOR}"]
    got = rust(lines)
    for i, (amount, fee_bps, burn_bps) in enumerate(cases):
        s = economics.split(amount, fee_bps, burn_bps)
        assert (str(s.fee), str(s.burn)) == (got[2 * i], got[2 * i + 1])
        assert s.fee + s.burn + s.provider == amount
    pools = [(rng.randrange(1 << 50), rng.randrange(1, 1 << 40)) for _ in range(N)]
    pools = [(pool, rng.randrange(total + 1), total) for pool, total in pools]
    got = rust([f"X {pool} {rev} {total}" for pool, rev, total in pools])
    assert [str(economics.reward_share(*c)) for c in pools] == got


def test_economics_constants_are_the_programs():
    import re
    from contracts import economics
    src = (PROGRAM_DIR / "src" / "state" / "config.rs").read_text()
    consts = {m[1]: int(m[2].replace("_", "")) for m in re.finditer(r"pub const (\w+): \w+ = ([\d_]+);", src)}
    assert consts["BPS_DENOMINATOR"] == economics.BPS_DENOMINATOR
    assert consts["MAX_FEE_PLUS_BURN_BPS"] == economics.MAX_FEE_PLUS_BURN_BPS
