"""Genesis like solana-test-validator's: SPL programs LiteSVM ships, the billing program when its build exists,
`--bpf-program ID SO` and `--account ADDR FILE.json` (the `solana account --output json` format), a faucet, and
the cluster feature set it runs (`--features devnet|mainnet|all`)."""
from __future__ import annotations

import base64
import hashlib
import json
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


@dataclass(frozen=True)
class GenesisConfig:
    programs: tuple[tuple[Pubkey, Path], ...] = ()
    accounts: tuple[tuple[Pubkey, Account], ...] = ()
    billing_program: Optional[tuple[Pubkey, Path]] = None
    slots_per_epoch: int = 432_000
    features: str = DEFAULT_FEATURES  # devnet | mainnet | all (localnet/features)
    extra: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.features not in FEATURE_SETS:
            raise GenesisError(f"--features {self.features!r}: choose one of {', '.join(FEATURE_SETS)}")

    def all_programs(self) -> list[tuple[Pubkey, Path]]:
        progs = list(self.programs)
        if self.billing_program is not None and self.billing_program[1].exists():
            if all(pid != self.billing_program[0] for pid, _ in progs):
                progs.insert(0, self.billing_program)
        return progs

    def fingerprint(self) -> str:
        """Genesis hash: stable for a given configuration, so getGenesisHash is stable across restarts."""
        h = hashlib.sha256(b"solmeter-localnet-genesis-v1")
        h.update(str(self.slots_per_epoch).encode())
        h.update(self.features.encode())
        for pid, _path in self.all_programs():
            h.update(bytes(pid))
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
    accounts = []
    for addr, file in account_files:
        accounts.append(load_account_file(addr, Path(file)))
    billing = None
    if preload_billing:
        try:
            import contracts

            billing = (Pubkey.from_string(contracts.DEFAULT_PROGRAM_ID), Path(contracts.PROGRAM_SO))
        except ImportError:  # the validator also runs outside the solmeter checkout
            billing = None
    return GenesisConfig(programs=tuple(programs), accounts=tuple(accounts), billing_program=billing,
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
