"""Decoding of every account and event of the program, with the generated classes (contracts/client/gen).
Decoded values are frozen dataclasses with snake_case attributes (`config.fee_bps`); `[u8; N]` fields are bytes."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Iterable

from solders.pubkey import Pubkey

from .borsh import BorshError
from .gen import accounts as gen_accounts
from .gen import events as gen_events

ACCOUNT_NAMES = tuple(gen_accounts.ACCOUNTS)


class DecodeError(ValueError):
    """The bytes are not an account or event of this program."""


def decode_account(data: bytes) -> tuple[str, Any]:
    """(account type name, decoded fields) of program-owned account data."""
    data = bytes(data)
    cls = gen_accounts.BY_DISCRIMINATOR.get(data[:8])
    if cls is None:
        raise DecodeError("unknown account discriminator")
    try:
        return cls.__name__, cls.decode(data)
    except BorshError as e:
        raise DecodeError(f"{cls.__name__}: {e}") from e


def decode_account_as(name: str, data: bytes) -> Any:
    got, value = decode_account(data)
    if got != name:
        raise DecodeError(f"expected a {name} account, got {got}")
    return value


def account_size(name: str) -> int:
    """Size in bytes of an account type, discriminator included (= LEN in state/*.rs)."""
    return gen_accounts.ACCOUNTS[name].SIZE


@dataclass(frozen=True)
class Event:
    name: str
    data: Any  # the generated event class (contracts/client/gen/events.py)


def decode_event(raw: bytes) -> Event:
    raw = bytes(raw)
    cls = gen_events.BY_DISCRIMINATOR.get(raw[:8])
    if cls is None:
        raise DecodeError("unknown event discriminator")
    try:
        return Event(cls.__name__, cls.decode(raw))
    except BorshError as e:
        raise DecodeError(f"{cls.__name__}: {e}") from e


def parse_events(logs: Iterable[str], program_id: Pubkey) -> list[Event]:
    """Events emitted by `program_id` in a transaction's logs, in order. Follows the invoke stack, so
    "Program data:" lines of other programs (CPI callees) are not mistaken for ours."""
    pid = str(program_id)
    stack: list[str] = []
    out: list[Event] = []
    for line in logs:
        if line.startswith("Program ") and " invoke [" in line:
            stack.append(line.split()[1])
        elif line.startswith("Program ") and (line.endswith(" success") or " failed" in line):
            if stack and line.split()[1] == stack[-1]:
                stack.pop()
        elif line.startswith("Program data: ") and stack and stack[-1] == pid:
            for chunk in line[len("Program data: "):].split():
                try:
                    raw = base64.b64decode(chunk, validate=True)
                except binascii.Error:
                    continue
                try:
                    out.append(decode_event(raw))
                except DecodeError:
                    continue
    return out
