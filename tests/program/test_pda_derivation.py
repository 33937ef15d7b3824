"""The program derives PDAs itself (sol_sha256 + sol_curve_validate_point) instead of calling
sol_create_program_address. These tests compare its verdicts with the runtime's on many random seeds:
the canonical bump (all higher bumps on the curve) must be accepted, and the next valid bump below it
(the canonical one is off the curve, i.e. a valid PDA) must be refused."""
import random

from solders.instruction import AccountMeta, Instruction
from solders.pubkey import Pubkey

from contracts import pda

from .test_attacks_pda import non_canonical


def _fund(d, funder, src, n, address, bump):
    """fund_epoch(n) creating the Epoch at `address` with `bump` (the last byte of its arguments)."""
    ix = d.program.fund_epoch(funder=funder.pubkey(), epoch=n, source=src, mint=d.mint, amount=1)
    metas = list(ix.accounts)
    data = bytes(ix.data)[:-1] + bytes([bump])
    metas[2] = AccountMeta(address, False, True)
    return d.h.send([Instruction(ix.program_id, data, metas)], [funder])


def test_canonical_and_non_canonical_bumps_agree_with_the_runtime(d):
    rng = random.Random(20261122)
    funder = d.h.new_wallet()
    src = d.fund(funder, 1_000)
    checked_high = 0
    for _ in range(60):
        n = rng.getrandbits(63)
        seeds = [b"epoch", n.to_bytes(8, "little")]
        addr, canonical = Pubkey.find_program_address(seeds, d.h.program_id)
        assert (addr, canonical) == pda.epoch(d.h.program_id, n)
        checked_high += 255 - canonical
        # Given a lower valid bump, the program must see that the canonical one derives a PDA
        low_addr, low = non_canonical(seeds, d.h.program_id)
        r = _fund(d, funder, src, n, low_addr, low)
        assert not r.ok and r.error.name == "WrongPda", (n, low, r.logs)
        # Given the canonical bump, every higher bump must be on the curve for the program too
        r = _fund(d, funder, src, n, addr, canonical)
        assert r.ok, (n, canonical, r.logs)
    assert checked_high > 20  # the loop really met bumps above the canonical one

