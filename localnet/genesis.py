"""Genesis like solana-test-validator's: SPL programs LiteSVM ships, the billing program when its build exists,
`--bpf-program ID SO` and `--account ADDR FILE.json` (the `solana account --output json` format), a faucet, and
the cluster feature set it runs (`--features devnet|mainnet|all`)."""
from __future__ import annotations

import base64
import hashlib
import json
import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

import based58
import zstandard
from solders.account import Account
from solders.keypair import Keypair
from solders.pubkey import Pubkey

from .features import DEFAULT_FEATURES, FEATURE_SETS

FAUCET_LAMPORTS = 500_000_000 * 1_000_000_000
# The faucet key is derived, not random, so a restarted ledger keeps signing airdrops with the same payer.
FAUCET_KEYPAIR = Keypair.from_seed(hashlib.sha256(b"solmeter-localnet-faucet").digest())


class GenesisError(ValueError):
    """A --bpf-program or --account argument that cannot be loaded; the message names which and why."""


LOADER_V2 = Pubkey.from_string("BPFLoader2111111111111111111111111111111111")
LOADER_V3 = Pubkey.from_string("BPFLoaderUpgradeab1e11111111111111111111111")
NO_AUTHORITY = Pubkey.default()  # solana-test-validator's "none": Some(Pubkey::default()), a key nobody holds
# solana-test-validator's genesis (agave program-test/src/programs.rs, SPL_PROGRAMS): these under BPF loader 2;
# Token-2022 and the core BPF programs (address lookup table, ...) upgradeable, authority Pubkey::default().
LOADER_V2_SPL = ("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA", "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL",
                 "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")
UPGRADEABLE_SPL = ("TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb", "AddressLookupTab1e1111111111111111111111111",
                   "Stake11111111111111111111111111111111111111", "Config1111111111111111111111111111111111111",
                   "Feature111111111111111111111111111111111111")
NATIVE_MINT = Pubkey.from_string("So11111111111111111111111111111111111111112")
TOKEN_PROGRAM = Pubkey.from_string("TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA")
VOTE_PROGRAM = Pubkey.from_string("Vote111111111111111111111111111111111111111")
STAKE_PROGRAM = Pubkey.from_string("Stake11111111111111111111111111111111111111")
# The bootstrap validator's stake, as solana-test-validator's genesis gives it (1,000,000 SOL).
VALIDATOR_STAKE_LAMPORTS = 1_000_000 * 1_000_000_000
U64_MAX = 2**64 - 1


def programdata_address(program_id: Pubkey) -> Pubkey:
    return Pubkey.find_program_address([bytes(program_id)], LOADER_V3)[0]


def upgradeable_program_accounts(program_id: Pubkey, elf: bytes, authority: Pubkey,
                                 rent: "callable") -> list[tuple[Pubkey, Account]]:
    """The Program and ProgramData accounts of a loader-v3 program at genesis (UpgradeableLoaderState,
    bincode: u32 tag; Program {programdata}; ProgramData {slot u64, Option<authority>} then the ELF).
    ProgramData first: the program account compiles when set, and needs it."""
    pd = programdata_address(program_id)
    pd_data = (3).to_bytes(4, "little") + (0).to_bytes(8, "little") + b"\x01" + bytes(authority) + elf
    prog_data = (2).to_bytes(4, "little") + bytes(pd)
    return [(pd, Account(rent(len(pd_data)), pd_data, LOADER_V3, False, 0)),
            (program_id, Account(rent(len(prog_data)), prog_data, LOADER_V3, True, 0))]


def native_mint_account(rent: "callable") -> Account:
    """Wrapped SOL's mint (spl-token's native_mint): no authorities, supply 0, 9 decimals, initialized."""
    data = (0).to_bytes(4, "little") + bytes(32) + (0).to_bytes(8, "little") + bytes([9, 1]) + bytes(4 + 32)
    return Account(rent(len(data)), data, TOKEN_PROGRAM, False, 0)


def stake_account(staker: Pubkey, vote: Pubkey, stake: int, rent: "callable") -> Account:
    """A genesis stake account delegated to `vote` (StakeStateV2::Stake, bincode, 200 bytes), active from
    genesis: activation epoch u64::MAX, as bootstrap stakes are."""
    reserve = rent(200)
    meta = reserve.to_bytes(8, "little") + bytes(staker) + bytes(staker) + bytes(8 + 8 + 32)
    delegation = (bytes(vote) + stake.to_bytes(8, "little") + U64_MAX.to_bytes(8, "little")
                  + U64_MAX.to_bytes(8, "little") + struct.pack("<d", 0.25))
    data = (2).to_bytes(4, "little") + meta + delegation + (0).to_bytes(8, "little") + b"\x00"
    return Account(reserve + stake, data.ljust(200, b"\0"), STAKE_PROGRAM, False, 0)


def delegation_of(data: bytes) -> Optional[tuple[str, int]]:
    """(vote account, delegated lamports) of an active StakeStateV2::Stake account, else None."""
    if len(data) < 200 or int.from_bytes(data[:4], "little") != 2:
        return None
    off = 4 + 8 + 64 + 48
    return (str(Pubkey.from_bytes(data[off : off + 32])), int.from_bytes(data[off + 32 : off + 40], "little"))


@dataclass(frozen=True)
class GenesisConfig:
    programs: tuple[tuple[Pubkey, Path], ...] = ()
    # --upgradeable-program ID SO AUTHORITY (AUTHORITY "none": NO_AUTHORITY)
    upgradeable_programs: tuple[tuple[Pubkey, Path, Pubkey], ...] = ()
    accounts: tuple[tuple[Pubkey, Account], ...] = ()
    billing_program: Optional[tuple[Pubkey, Path]] = None
    slots_per_epoch: int = 432_000
    features: str = DEFAULT_FEATURES  # devnet | mainnet | all (localnet/features)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.features not in FEATURE_SETS:
            raise GenesisError(f"--features {self.features!r}: choose one of {', '.join(FEATURE_SETS)}")

    def all_programs(self) -> list[tuple[Pubkey, Path, Optional[Pubkey]]]:
        """(id, .so, upgrade authority) of every preloaded program. --bpf-program and --upgradeable-program
        are upgradeable, as solana-test-validator loads them (authority none, resp. the one given). The
        billing program (authority None here) is under BPF loader 2: its initialize demands the upgrade
        authority's signature on an upgradeable program, and "none" has no holder, so upgradeable-without-
        authority would leave it uninitializable; pass --upgradeable-program to preload it with an authority."""
        progs: list = [(pid, path, NO_AUTHORITY) for pid, path in self.programs] + list(self.upgradeable_programs)
        if self.billing_program is not None and self.billing_program[1].exists():
            if all(p[0] != self.billing_program[0] for p in progs):
                progs.insert(0, (*self.billing_program, None))
        return progs

    def validator_keys(self) -> tuple[Keypair, Keypair, Keypair]:
        """(identity, vote account, stake account), derived from the genesis so a restart keeps them."""
        seed = self.fingerprint()
        return tuple(Keypair.from_seed(hashlib.sha256(f"{what}:{seed}".encode()).digest())
                     for what in ("identity", "vote", "stake"))  # type: ignore[return-value]

    def fingerprint(self) -> str:
        """Genesis hash: stable for a given configuration, so getGenesisHash is stable across restarts."""
        h = hashlib.sha256(b"solmeter-localnet-genesis-v1")
        h.update(str(self.slots_per_epoch).encode())
        h.update(self.features.encode())
        for pid, _path, authority in self.all_programs():
            h.update(bytes(pid))
            if authority is not None and authority != NO_AUTHORITY:
                h.update(bytes(authority))
        for addr, acct in self.accounts:
            h.update(bytes(addr))
            h.update(bytes(acct.owner))
            h.update(acct.lamports.to_bytes(8, "little"))
            h.update(bytes(acct.data))
        return str(based58.b58encode(h.digest()).decode())


def default_config(
    *,
    bpf_programs: tuple[tuple[str, str], ...] = (),
    account_files: tuple[tuple[str, str], ...] = (),
    upgradeable_programs: tuple[tuple[str, str, str], ...] = (),
    preload_billing: bool = True,
    features: str = DEFAULT_FEATURES,
) -> GenesisConfig:
    """Builds a genesis configuration from CLI-style arguments, validating each one."""
    programs = []
    for pid, so in bpf_programs:
        path = Path(so)
        if not path.is_file():
            raise GenesisError(f"--bpf-program {pid}: file not found: {so}")
        programs.append((_pubkey(pid, "--bpf-program"), path))
    upgradeable = []
    for pid, so, authority in upgradeable_programs:
        path = Path(so)
        if not path.is_file():
            raise GenesisError(f"--upgradeable-program {pid}: file not found: {so}")
        auth = NO_AUTHORITY if authority == "none" else _pubkey(authority, "--upgradeable-program authority")
        upgradeable.append((_pubkey(pid, "--upgradeable-program"), path, auth))
    accounts = []
    for addr, file in account_files:
        accounts.append(load_account_file(addr, Path(file)))
    billing = None
    if preload_billing:
        try:
            import contracts  # local: optional (localnet runs outside solmeter)

            billing = (Pubkey.from_string(contracts.DEFAULT_PROGRAM_ID), Path(contracts.PROGRAM_SO))
        except ImportError:  # the validator also runs outside the solmeter checkout
            billing = None
    return GenesisConfig(programs=tuple(programs), upgradeable_programs=tuple(upgradeable),
                         accounts=tuple(accounts), billing_program=billing,
                         features=features)


def _pubkey(text: str, what: str) -> Pubkey:
    try:
        return Pubkey.from_string(text)
    except ValueError:
        raise GenesisError(f"{what}: not a base58 public key: {text!r}") from None


def load_account_file(addr: str, path: Path) -> tuple[Pubkey, Account]:
    """Reads one `solana account --output json` file; ADDR '-' takes the pubkey from the file."""
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise GenesisError(f"--account {addr}: file not found: {path}") from None
    except (OSError, ValueError) as e:
        raise GenesisError(f"--account {addr}: {path} is not JSON: {e}") from None
    try:
        acct = doc["account"]
        pubkey = _pubkey(doc.get("pubkey") if addr == "-" else addr, "--account")
        data_field = acct["data"]
        if isinstance(data_field, list):
            blob, enc = data_field[0], data_field[1]
        else:
            blob, enc = data_field, "base58"
        data = decode_data(blob, enc)
        return pubkey, Account(
            lamports=int(acct["lamports"]),
            data=data,
            owner=_pubkey(acct["owner"], "--account owner"),
            executable=bool(acct.get("executable", False)),
            rent_epoch=int(acct.get("rentEpoch", 0)),
        )
    except GenesisError:
        raise
    except (KeyError, TypeError, ValueError, IndexError) as e:
        raise GenesisError(f"--account {addr}: {path} is not in the `solana account --output json` format ({e!r})") from None


def decode_data(blob: str, enc: str) -> bytes:
    if enc == "base64":
        return base64.b64decode(blob, validate=True)
    if enc == "base64+zstd":
        return zstandard.ZstdDecompressor().decompress(base64.b64decode(blob), max_output_size=10 * 1024 * 1024)
    if enc in ("base58", "binary"):
        return based58.b58decode(blob.encode())
    raise ValueError(f"unsupported data encoding {enc!r}")
