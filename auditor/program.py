"""`audit program`: is the deployed program the committed binary, and is that binary what the source builds?

The deployed bytes are read from the loader's accounts (chain.py); this module parses them and compares.
Hash convention (as solana-verify uses): sha256 of the ELF with trailing zero bytes removed, because a
ProgramData account is allocated larger than the ELF and zero-padded (room for upgrades).
"""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from solders.pubkey import Pubkey

from .errors import ChainReadError
from .result import Check, failed, skipped, verdict

UPGRADEABLE_LOADER = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
LOADER_V2 = Pubkey.from_string("BPFLoader2111111111111111111111111111111111")
LOADER_V1 = Pubkey.from_string("BPFLoader1111111111111111111111111111111111")
# UpgradeableLoaderState (bincode): u32 tag; Program {programdata_address}; ProgramData {slot u64,
# upgrade_authority Option<Pubkey>} followed by the ELF.
_TAG_PROGRAM, _TAG_PROGRAMDATA = 2, 3
PROGRAMDATA_HEADER = 4 + 8 + 1 + 32


def elf_sha256(data: bytes) -> str:
    return hashlib.sha256(bytes(data).rstrip(b"\0")).hexdigest()


def programdata_address(program_account_data: bytes) -> Pubkey:
    """The ProgramData address an upgradeable Program account points to."""
    if len(program_account_data) < 36 or int.from_bytes(program_account_data[:4], "little") != _TAG_PROGRAM:
        raise ChainReadError("the program account is not an upgradeable-loader Program account")
    return Pubkey(program_account_data[4:36])


@dataclass(frozen=True)
class DeployedProgram:
    program_id: Pubkey
    loader: Pubkey
    elf: bytes  # zero padding included, as stored
    deploy_slot: int | None = None
    upgrade_authority: Pubkey | None = None
    programdata: Pubkey | None = None

    @property
    def sha256(self) -> str:
        return elf_sha256(self.elf)


def parse_programdata(program_id: Pubkey, programdata: Pubkey, data: bytes) -> DeployedProgram:
    if len(data) < PROGRAMDATA_HEADER or int.from_bytes(data[:4], "little") != _TAG_PROGRAMDATA:
        raise ChainReadError(f"{programdata} is not an upgradeable-loader ProgramData account")
    slot = int.from_bytes(data[4:12], "little")
    auth = Pubkey(data[13:45]) if data[12] == 1 else None
    return DeployedProgram(program_id, UPGRADEABLE_LOADER, data[PROGRAMDATA_HEADER:], slot, auth, programdata)


def check_deployed_vs_committed(deployed: DeployedProgram, committed: bytes | None, committed_path: Path) -> Check:
    name = "program.committed"
    if committed is None:
        return failed(name, f"no committed binary at {committed_path}")
    ok = elf_sha256(committed) == deployed.sha256
    return verdict(name, ok,
                   f"the deployed program is the committed {committed_path.name}: sha256 {deployed.sha256}",
                   f"the deployed program (sha256 {deployed.sha256}) is NOT the committed {committed_path.name} "
                   f"(sha256 {elf_sha256(committed)})")


Builder = Callable[[Path], str]  # builds into the given path, returns the sha256 it reports


def rebuild_sha256(build: Builder) -> tuple[str | None, str, str | None]:
    """Rebuild from source into a temporary file: (ELF sha256 or None, why, sha256 of the whole file)."""
    with tempfile.TemporaryDirectory(prefix="solmeter-audit-build-") as d:
        out = Path(d) / "rebuilt.so"
        try:
            build(out)
        except Exception as e:  # the toolchain's own errors are reported, not raised: the audit goes on
            return None, str(e).splitlines()[0] if str(e) else type(e).__name__, None
        data = out.read_bytes()
        return elf_sha256(data), "rebuilt from source", hashlib.sha256(data).hexdigest()


def check_rebuild(deployed: DeployedProgram, rebuilt: str | None, why: str) -> Check:
    name = "program.rebuild"
    if rebuilt is None:  # asked for and not done: the build is not verified, which is a failure
        return failed(name, f"a rebuild from source was requested and could not run: {why}")
    return verdict(name, rebuilt == deployed.sha256,
                   f"a rebuild from source gives the deployed bytes: sha256 {rebuilt}",
                   f"a rebuild from source gives sha256 {rebuilt}, the deployed program is {deployed.sha256}")


def default_builder(out: Path) -> str:
    """A's offline build (contracts/toolchain, the same as scripts/build_program.py)."""
    # local: the offline Rust toolchain (~0.07 s), loaded only when the auditor rebuilds the program
    from contracts.toolchain.build import PROGRAM_CRATE, PROGRAM_DIR, build_program

    return build_program(PROGRAM_DIR, out, PROGRAM_CRATE, None).sha256


def audit_program_checks(deployed: DeployedProgram, committed_path: Path,
                         builder: Builder | None) -> tuple[list[Check], dict]:
    committed = committed_path.read_bytes() if committed_path.exists() else None
    out = [check_deployed_vs_committed(deployed, committed, committed_path)]
    facts = {"hash_rule": "sha256 of the ELF without trailing zero padding (as solana-verify)",
             "deployed_sha256": deployed.sha256, "loader": str(deployed.loader),
             "committed_sha256": elf_sha256(committed) if committed is not None else None,
             "committed_file_sha256": hashlib.sha256(committed).hexdigest() if committed is not None else None}
    if deployed.deploy_slot is not None:
        facts["deploy_slot"] = deployed.deploy_slot
    facts["upgrade_authority"] = str(deployed.upgrade_authority) if deployed.upgrade_authority else None
    if builder is None:
        out.append(skipped("program.rebuild", "rebuild not requested (--no-rebuild)"))
    else:
        rebuilt, why, rebuilt_file = rebuild_sha256(builder)
        facts["rebuilt_sha256"] = rebuilt
        facts["rebuilt_file_sha256"] = rebuilt_file
        out.append(check_rebuild(deployed, rebuilt, why))
    return out, facts
