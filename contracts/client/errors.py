"""The program's errors (from the IDL) and how to find one in a failed transaction."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

from .idl import idl_json

_CUSTOM = re.compile(r"custom program error: 0x([0-9a-fA-F]+)")


@dataclass(frozen=True)
class ProgramError:
    code: int
    name: str
    msg: str

    def __str__(self) -> str:
        return f"{self.name} ({self.code}): {self.msg}"


def errors_by_code() -> dict[int, ProgramError]:
    return {e["code"]: ProgramError(e["code"], e["name"], e["msg"]) for e in idl_json()["errors"]}


def errors_by_name() -> dict[str, ProgramError]:
    return {e.name: e for e in errors_by_code().values()}


def error_code(name: str) -> int:
    """The numeric code of the error called `name` (KeyError if there is none)."""
    return errors_by_name()[name].code


def error_from_code(code: int) -> Optional[ProgramError]:
    return errors_by_code().get(code)


def error_from_logs(logs: Iterable[str]) -> Optional[ProgramError]:
    """The program error a failed transaction's logs report, if it is one of this program's."""
    for line in logs:
        m = _CUSTOM.search(line)
        if m:
            return error_from_code(int(m.group(1), 16))
    return None


def error_from_tx_error(err: object) -> Optional[ProgramError]:
    """From a solders TransactionError (InstructionError(index, Custom(code)))."""
    m = re.search(r"Custom\((\d+)\)", repr(err))
    return error_from_code(int(m.group(1))) if m else None
