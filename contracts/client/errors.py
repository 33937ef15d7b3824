"""The program's errors (generated from error.rs) and how to find one in a failed transaction."""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterable, Optional

from .gen.errors import ERRORS

_CUSTOM = re.compile(r"custom program error: 0x([0-9a-fA-F]+)")


@dataclass(frozen=True)
class ProgramError:
    code: int
    name: str
    msg: str

    def __str__(self) -> str:
        return f"{self.name} ({self.code}): {self.msg}"


_BY_CODE = {code: ProgramError(code, name, msg) for code, name, msg in ERRORS}
_BY_NAME = {e.name: e for e in _BY_CODE.values()}


def errors_by_code() -> dict[int, ProgramError]:
    return dict(_BY_CODE)


def errors_by_name() -> dict[str, ProgramError]:
    return dict(_BY_NAME)


def error_code(name: str) -> int:
    """The numeric code of the error called `name` (KeyError if there is none)."""
    return _BY_NAME[name].code


def error_from_code(code: int) -> Optional[ProgramError]:
    return _BY_CODE.get(code)


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
