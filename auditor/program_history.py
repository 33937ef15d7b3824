"""The program's history under the upgradeable loader: every deploy and upgrade, the bytes each put in place,
and which bytes each settlement ran under. Pure: chain.py reads the transactions; this module decodes the
loader's instructions (layouts from contracts/loader_v3.py) and judges.

The bytes of a deploy or upgrade are not kept on-chain once it is done (the loader empties the buffer), but
they are public: the buffer was filled by Write instructions, each a transaction in the buffer's signature
history. Replaying those writes gives the ELF that was deployed, hashed with the same rule as the deployed
program (program.elf_sha256). A program upgraded to other bytes, used, and switched back is caught: the
settlements made in between ran under bytes that are not the verified build.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import Sequence

from solders.pubkey import Pubkey

from contracts.loader_v3 import IX_CLOSE, IX_DEPLOY, IX_INITIALIZE_BUFFER, IX_UPGRADE, IX_WRITE, LOADER_V3

from .program import elf_sha256
from .result import Check, failed, passed, pending


@dataclass(frozen=True)
class LoaderIx:
    """One upgradeable-loader instruction of a transaction, with its accounts resolved."""

    tag: int
    accounts: tuple[Pubkey, ...]
    data: bytes


@dataclass(frozen=True)
class Deploy:
    """A DeployWithMaxDataLen or Upgrade of the audited program."""

    kind: str  # "deploy" | "upgrade"
    slot: int
    signature: str
    buffer: Pubkey
    sha256: str | None  # of the ELF replayed from the buffer's writes; None when they could not be found
    why: str = ""  # why sha256 is None


def loader_ixs(account_keys: Sequence[Pubkey], instructions: Sequence[tuple[int, Sequence[int], bytes]]
               ) -> list[LoaderIx]:
    """The upgradeable loader's top-level instructions of a transaction (program index, account indexes, data)."""
    out = []
    for prog, accs, data in instructions:
        if account_keys[prog] == LOADER_V3 and len(data) >= 4:
            out.append(LoaderIx(int.from_bytes(data[:4], "little"), tuple(account_keys[i] for i in accs), data))
    return out


def deploy_of(ix: LoaderIx, program_id: Pubkey) -> tuple[str, Pubkey] | None:
    """(kind, buffer) when `ix` deploys or upgrades `program_id`."""
    if ix.tag == IX_DEPLOY and len(ix.accounts) >= 4 and ix.accounts[2] == program_id:
        return "deploy", ix.accounts[3]
    if ix.tag == IX_UPGRADE and len(ix.accounts) >= 3 and ix.accounts[1] == program_id:
        return "upgrade", ix.accounts[2]
    return None


def buffer_writes(ix: LoaderIx, buffer: Pubkey) -> tuple[int, bytes] | None | str:
    """A Write into `buffer`: (offset, bytes); "reset" for an InitializeBuffer or Close of it; None otherwise."""
    if not ix.accounts or ix.accounts[0] != buffer:
        return None
    if ix.tag == IX_WRITE and len(ix.data) >= 16:
        offset, n = struct.unpack_from("<IQ", ix.data, 4)
        return offset, bytes(ix.data[16:16 + n])
    if ix.tag in (IX_INITIALIZE_BUFFER, IX_CLOSE):
        return "reset"
    return None


def replay_buffer(writes: Sequence[tuple[int, bytes]]) -> bytes:
    """The buffer's data after the writes, in order (a buffer is created zeroed)."""
    size = max((off + len(b) for off, b in writes), default=0)
    buf = bytearray(size)
    for off, b in writes:
        buf[off:off + len(b)] = b
    return bytes(buf)


def deployed_sha(writes: Sequence[tuple[int, bytes]]) -> str | None:
    return elf_sha256(replay_buffer(writes)) if writes else None


def in_force(deploys: Sequence[Deploy], slot: int) -> Deploy | None:
    """The deploy whose bytes ran a transaction in `slot`: the last one in an earlier slot (a deployment is
    visible from the next slot on)."""
    earlier = [d for d in deploys if d.slot < slot]
    return max(earlier, key=lambda d: d.slot) if earlier else None


def check_deploys(deploys: Sequence[Deploy], verified: str | None) -> Check:
    """Every deploy and upgrade put the verified build in place (bytes replayed from its buffer's writes)."""
    name = "program.history"
    if verified is None:
        return pending(name, "no verified build to compare the program's history with")
    if not deploys:
        return pending(name, "no deploy or upgrade of the program was found in its signature history")
    unknown = [d for d in deploys if d.sha256 is None]
    other = [d for d in deploys if d.sha256 is not None and d.sha256 != verified]
    if other:
        return failed(name, f"{len(other)} of {len(deploys)} deploy(s)/upgrade(s) put OTHER bytes in place: "
                            + "; ".join(f"{d.kind} in slot {d.slot} (tx {d.signature[:12]}…) sha256 {d.sha256}"
                                        for d in other[:3]) + f" (the verified build is {verified})")
    if unknown:
        return pending(name, f"the bytes of {len(unknown)} deploy(s)/upgrade(s) could not be replayed: "
                             + "; ".join(f"{d.kind} in slot {d.slot}: {d.why}" for d in unknown[:3]))
    return passed(name, f"all {len(deploys)} deploy(s)/upgrade(s) put the verified build {verified[:16]}… in place "
                        "(bytes replayed from each buffer's writes)")


def check_settlements_under(deploys: Sequence[Deploy], settlements: Sequence[tuple[int, str, str]],
                            verified: str | None) -> Check:
    """Each settlement (slot, signature, what) ran under the verified build."""
    name = "program.settlements"
    if verified is None or not deploys:
        return pending(name, "the program's history is not known: which bytes ran each settlement was not checked")
    bad, unknown = [], []
    for slot, sig, what in settlements:
        d = in_force(deploys, slot)
        if d is None or d.sha256 is None:
            unknown.append(f"{what} (slot {slot})")
        elif d.sha256 != verified:
            bad.append(f"{what} (tx {sig[:12]}…, slot {slot}) ran under the {d.kind} of slot {d.slot}, sha256 "
                       f"{d.sha256[:16]}…")
    if bad:
        return failed(name, f"{len(bad)} settlement(s) executed under bytes other than the verified build: "
                            + "; ".join(bad[:3]))
    if unknown:
        return pending(name, f"{len(unknown)} settlement(s) ran under bytes that could not be established: "
                             + "; ".join(unknown[:3]))
    return passed(name, f"all {len(settlements)} settlement(s) ran under the verified build")


def check_upgrade_authority(authority: Pubkey | None, loader: Pubkey) -> Check:
    """Said plainly: while an upgrade authority is set, its holder can replace the program (change the rules)."""
    name = "program.upgrade_authority"
    if loader != LOADER_V3:
        return passed(name, f"the program is owned by {loader}, which has no upgrades: its bytes are final")
    if authority is None:
        return passed(name, "the upgrade authority is revoked: the program is immutable")
    return passed(name, f"UPGRADE AUTHORITY STILL SET: {authority} can replace the program at any time (the operator "
                        "can change the rules); every settlement so far was checked against the bytes in force when "
                        "it ran")

