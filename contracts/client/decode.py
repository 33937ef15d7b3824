"""Decoding of every account and event of the program, with anchorpy's coders over the IDL.
Decoded values are anchorpy Containers with snake_case attributes (`config.fee_bps`)."""
from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any, Iterable

from solders.pubkey import Pubkey

from .idl import coder

ACCOUNT_NAMES = ("Config", "Customer", "Provider", "Channel", "Batch", "Epoch", "ProviderEpoch", "Slash", "PriceBook")


class DecodeError(ValueError):
    """The bytes are not an account or event of this program."""


def decode_account(data: bytes) -> tuple[str, Any]:
    """(account type name, decoded fields) of program-owned account data."""
    c = coder().accounts
    disc = bytes(data[:8])
    name = c.discriminator_to_acc_name.get(disc)
    if name is None:
        raise DecodeError("unknown account discriminator")
    try:
        return name, c.decode(bytes(data))
    except Exception as e:  # construct raises its own hierarchy
        raise DecodeError(f"{name}: {e}") from e


def decode_account_as(name: str, data: bytes) -> Any:
    got, value = decode_account(data)
    if got != name:
        raise DecodeError(f"expected a {name} account, got {got}")
    return value


def account_size(name: str) -> int:
    """Size in bytes of an account type, discriminator included (= LEN in state/*.rs)."""
    from anchorpy.coder.common import _account_size
    from .idl import idl

    acc = next(a for a in idl().accounts if a.name == name)
    return 8 + _account_size(idl(), acc)


@dataclass(frozen=True)
class Event:
    name: str
    data: Any


def decode_event(raw: bytes) -> Event:
    ev = coder().events.parse(raw)
    if ev is None:
        raise DecodeError("unknown event discriminator")
    return Event(ev.name, ev.data)


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
