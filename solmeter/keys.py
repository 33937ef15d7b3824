"""Solana keypair files: the 64-integer JSON array format of `solana-keygen`."""
from __future__ import annotations

import json
import os
from pathlib import Path

from solders.keypair import Keypair

from contracts import PROGRAM_KEYPAIR

from .errors import ConfigError


def _committed_dev_key(p: Path) -> bool:
    """The localnet program keypair committed in contracts/keys: public on purpose (git stores it 0644)."""
    return p.resolve() == PROGRAM_KEYPAIR.resolve()


def check_private(p: Path) -> None:
    """Refuse a key file that group or others may read or write, as ssh does: whoever can read it can sign
    as this wallet (meter receipts, provider usage, payments)."""
    try:
        mode = p.stat().st_mode & 0o777
    except OSError:
        return  # reading it says why, in words
    if mode & 0o077 and not _committed_dev_key(p):
        raise ConfigError(f"keypair file {p}: permissions {mode:04o} are too open (group or others may read it); "
                          f"a private key must be readable by its owner only: run `chmod 600 {p}`")


def load_keypair(path: str | os.PathLike) -> Keypair:
    p = Path(path).expanduser()
    check_private(p)
    try:
        raw = p.read_text()
    except FileNotFoundError:
        raise ConfigError(f"keypair file {p}: does not exist") from None
    except OSError as e:
        raise ConfigError(f"keypair file {p}: cannot be read ({e.strerror})") from None
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as e:
        raise ConfigError(f"keypair file {p}: not valid JSON (line {e.lineno}: {e.msg})") from None
    if not (isinstance(data, list) and len(data) == 64 and all(isinstance(b, int) and 0 <= b <= 255 for b in data)):
        raise ConfigError(f"keypair file {p}: expected a JSON array of 64 integers 0..255")
    try:
        kp = Keypair.from_bytes(bytes(data))
    except ValueError:
        raise ConfigError(f"keypair file {p}: the public half does not match the secret half") from None
    return kp


def write_keypair(path: str | os.PathLike, kp: Keypair | None = None, *, overwrite: bool = False) -> Keypair:
    """Write a keypair file with mode 0600 (created that way, never world-readable for an instant)."""
    kp = kp or Keypair()
    p = Path(path).expanduser()
    p.parent.mkdir(parents=True, exist_ok=True)
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        fd = os.open(p, flags, 0o600)
    except FileExistsError:
        raise ConfigError(f"keypair file {p}: already exists (refusing to overwrite)") from None
    with os.fdopen(fd, "w") as f:
        json.dump(list(bytes(kp)), f)
    os.chmod(p, 0o600)
    return kp


def load_or_create_keypair(path: str | os.PathLike) -> Keypair:
    p = Path(path).expanduser()
    if p.exists():
        return load_keypair(p)
    return write_keypair(p)
