"""Python client of the billing program, generated from the program source with the IDL (no anchorpy).

- `gen`: the generated classes, one per account, defined type, event and instruction (Anchor wire format).
- `BillingProgram`: pure instruction builders (a typed method per instruction).
- `decode_account`, `parse_events`: decoding of every account and event.
- `error_from_logs`, `error_code`: the program's numbered errors.
"""
from .decode import ACCOUNT_NAMES, DecodeError, Event, account_size, decode_account, decode_account_as, decode_event, parse_events
from .errors import ProgramError, error_code, error_from_code, error_from_logs, error_from_tx_error, errors_by_code
from .instructions import (SYSTEM_PROGRAM_ID, TOKEN_PROGRAM_ID, U64_MAX, BillingProgram, InstructionBuildError,
                           params_at)
from contracts.economics import epoch_at
from . import gen

__all__ = [
    "ACCOUNT_NAMES", "BillingProgram", "DecodeError", "Event", "InstructionBuildError", "ProgramError",
    "SYSTEM_PROGRAM_ID", "TOKEN_PROGRAM_ID", "U64_MAX", "account_size", "decode_account", "decode_account_as",
    "decode_event", "epoch_at", "error_code", "error_from_code", "error_from_logs", "error_from_tx_error", "errors_by_code",
    "gen", "params_at", "parse_events",
]
