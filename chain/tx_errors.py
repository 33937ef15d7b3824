"""A failed transaction's error in words: which instruction, which program, the error's name and what it
means, never a hex code. Pure: it reads a solders TransactionError (or its text, as a landed transaction's
status reports it) and the logs.

The numbered ("custom") errors are per program: the system program's and SPL Token's come from their
sources (solana-program `SystemError`, spl-token `TokenError`), the billing program's from its generated
table; the runtime's own errors (InstructionError and TransactionError variants) have one sentence each.
"""
from __future__ import annotations

import re
from typing import Iterable, Mapping, Optional, Sequence

from solders.pubkey import Pubkey
from solders.transaction_status import (InstructionErrorCustom, InstructionErrorFieldless, TransactionErrorFieldless,
                                        TransactionErrorInstructionError, TransactionErrorInsufficientFundsForRent)

from contracts.client.errors import error_from_code

SYSTEM_PROGRAM = "11111111111111111111111111111111"
TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
UPGRADEABLE_LOADER = "BPFLoaderUpgradeab1e11111111111111111111111"
COMPUTE_BUDGET = "ComputeBudget111111111111111111111111111111"
ASSOCIATED_TOKEN = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"

PROGRAM_NAMES = {SYSTEM_PROGRAM: "system program", TOKEN_PROGRAM: "SPL Token", TOKEN_2022_PROGRAM: "Token-2022",
                 UPGRADEABLE_LOADER: "upgradeable loader", COMPUTE_BUDGET: "compute budget",
                 ASSOCIATED_TOKEN: "associated token account program"}

# solana-program SystemError, in order
SYSTEM_ERRORS = (
    ("AccountAlreadyInUse", "an account with this address already exists"),
    ("ResultWithNegativeLamports", "the payer has too few lamports (SOL) for this transfer or account"),
    ("InvalidProgramId", "the program id given to the system program is invalid"),
    ("InvalidAccountDataLength", "the requested account size is invalid"),
    ("MaxSeedLengthExceeded", "a seed is longer than 32 bytes"),
    ("AddressWithSeedMismatch", "the address does not match the one derived from base and seed"),
    ("NonceNoRecentBlockhashes", "no recent blockhash is available for the nonce"),
    ("NonceBlockhashNotExpired", "the nonce's stored blockhash has not expired yet"),
    ("NonceUnexpectedBlockhashValue", "the nonce does not hold the expected blockhash"),
)
# spl-token TokenError, in order (Token-2022 shares the first 20)
TOKEN_ERRORS = (
    ("NotRentExempt", "the account would not be rent exempt"),
    ("InsufficientFunds", "the token account holds too few tokens"),
    ("InvalidMint", "the mint is invalid"),
    ("MintMismatch", "the token account is of another mint"),
    ("OwnerMismatch", "the signer does not own the token account"),
    ("FixedSupply", "the mint's supply is fixed (no mint authority)"),
    ("AlreadyInUse", "the account is already in use"),
    ("InvalidNumberOfProvidedSigners", "the number of provided signers is invalid"),
    ("InvalidNumberOfRequiredSigners", "the number of required signers is invalid"),
    ("UninitializedState", "the token account or mint is not initialized"),
    ("NativeNotSupported", "the instruction does not support native (wrapped SOL) tokens"),
    ("NonNativeHasBalance", "a non-native account can only be closed when its balance is zero"),
    ("InvalidInstruction", "the token instruction is invalid"),
    ("InvalidState", "the account is in an invalid state"),
    ("Overflow", "the token amount overflowed"),
    ("AuthorityTypeNotSupported", "the account does not support this authority type"),
    ("MintCannotFreeze", "the mint has no freeze authority"),
    ("AccountFrozen", "the token account is frozen"),
    ("MintDecimalsMismatch", "the decimals given differ from the mint's"),
    ("NonNativeNotSupported", "the instruction supports only native (wrapped SOL) tokens"),
)
CUSTOM_ERRORS: Mapping[str, Sequence[tuple[str, str]]] = {
    SYSTEM_PROGRAM: SYSTEM_ERRORS, TOKEN_PROGRAM: TOKEN_ERRORS, TOKEN_2022_PROGRAM: TOKEN_ERRORS}

INSTRUCTION_ERRORS = {
    "GenericError": "the program failed",
    "InvalidArgument": "an argument of the instruction is invalid",
    "InvalidInstructionData": "the instruction data is invalid",
    "InvalidAccountData": "an account's data is not what the program expects",
    "AccountDataTooSmall": "an account's data is too small",
    "InsufficientFunds": "an account has too few lamports (SOL)",
    "IncorrectProgramId": "an account belongs to another program",
    "MissingRequiredSignature": "a required signature is missing",
    "AccountAlreadyInitialized": "the account is already initialized",
    "UninitializedAccount": "the account is not initialized",
    "NotEnoughAccountKeys": "the instruction lacks accounts",
    "AccountBorrowFailed": "an account is borrowed twice",
    "MaxSeedLengthExceeded": "a seed is too long",
    "InvalidSeeds": "the seeds do not derive the address",
    "IncorrectAuthority": "the signer is not the account's authority",
    "Immutable": "the account is immutable (it has no authority)",
    "AccountNotExecutable": "the account is not an executable program",
    "AccountNotRentExempt": "an account would not be rent exempt",
    "UnsupportedProgramId": "the program is not supported",
    "ComputationalBudgetExceeded": "the transaction ran out of compute units (raise the compute-unit limit)",
    "ProgramFailedToComplete": "the program did not complete (out of compute units, or it aborted)",
    "ProgramFailedToCompile": "the program's ELF does not load (invalid or unsupported SBPF)",
    "InvalidAccountOwner": "an account is owned by another program",
    "ArithmeticOverflow": "an amount overflowed",
    "InvalidRealloc": "an account cannot be resized that much",
    "MaxAccountsDataAllocationsExceeded": "the transaction allocates too much account data",
    "PrivilegeEscalation": "an account is passed as signer or writable where its caller did not",
    "MissingAccount": "an account the instruction needs is missing",
    "ExecutableModified": "the instruction changed an executable account",
    "ReadonlyDataModified": "the instruction changed a read-only account",
    "ExternalAccountLamportSpend": "the instruction spent lamports of an account it does not own",
    "UnbalancedInstruction": "the instruction created or destroyed lamports",
}

TRANSACTION_ERRORS = {
    "AccountNotFound": "the fee payer has no SOL on this cluster (no account): fund it first",
    "InsufficientFundsForFee": "the fee payer has too little SOL for the fee",
    "InvalidAccountForFee": "the fee payer cannot pay fees (not a system account)",
    "BlockhashNotFound": "the blockhash expired or is unknown to this node (send again)",
    "AlreadyProcessed": "this transaction already landed",
    "ProgramAccountNotFound": "a program the transaction calls is not deployed on this cluster",
    "SignatureFailure": "a signature does not verify",
    "MissingSignatureForFee": "the fee payer did not sign",
    "InvalidProgramForExecution": "a called account is not an executable program",
    "AccountInUse": "an account is locked by another transaction (send again)",
    "WouldExceedMaxBlockCostLimit": "the block is full (send again, or raise the priority fee)",
    "WouldExceedMaxAccountCostLimit": "an account's writes in this block are at their limit (send again)",
    "WouldExceedAccountDataBlockLimit": "the block's account data limit is reached (send again)",
    "TooManyAccountLocks": "the transaction locks too many accounts",
    "ClusterMaintenance": "the cluster is in maintenance",
    "UnsupportedVersion": "this node does not support the transaction's version",
}

_FAILED_LINE = re.compile(r"^Program (\w+) failed: (.*)$")
_INDEX = re.compile(r"InstructionError\(\s*\(\s*(\d+)")
_CUSTOM = re.compile(r"Custom\(\s*(\d+)")
_FIELDLESS_IX = re.compile(r"(?:InstructionErrorFieldless\.|Fieldless\(\s*)(\w+)")
_FIELDLESS_TX = re.compile(r"TransactionErrorFieldless\.(\w+)")


def _failing_program(logs: Iterable[str]) -> tuple[Optional[str], Optional[str], Optional[str]]:
    """(program id, its own last message, its failure text) of the failure the logs report first: the
    innermost program, where the error began (a CPI's error fails its callers with the same error)."""
    prev: Optional[str] = None
    for line in logs:
        m = _FAILED_LINE.match(line)
        if m:
            return m.group(1), prev, m.group(2)
        if line.startswith("Program log: "):
            prev = line[len("Program log: "):]
        elif not line.startswith("Program "):  # a builtin's own words (e.g. "Transfer: insufficient lamports")
            prev = line
    return None, None, None


def _custom(code: int, program: Optional[str]) -> str:
    table = CUSTOM_ERRORS.get(program or "")
    if table is not None:
        if code < len(table):
            name, words = table[code]
            return f"{name}: {words}"
        return f"error {code} of the {PROGRAM_NAMES.get(program, program)}"
    billing = error_from_code(code)
    if billing is not None:
        return str(billing)
    return f"the program's own error number {code}"


def _parts(err: object) -> tuple[Optional[int], Optional[int], Optional[str], Optional[str]]:
    """(instruction index, custom code, instruction error name, transaction error name) of an error."""
    if isinstance(err, TransactionErrorInstructionError):
        inner = err.err
        if isinstance(inner, InstructionErrorCustom):
            return err.index, inner.code, None, None
        if isinstance(inner, InstructionErrorFieldless):
            return err.index, None, str(inner).rsplit(".", 1)[-1], None
        return err.index, None, type(inner).__name__.replace("InstructionError", "") or "error", None
    if isinstance(err, TransactionErrorFieldless):
        return None, None, None, str(err).rsplit(".", 1)[-1]
    if isinstance(err, TransactionErrorInsufficientFundsForRent):
        return None, None, None, "InsufficientFundsForRent"
    text = str(err)  # a landed transaction's status as text, or an unfamiliar type
    index = _INDEX.search(text)
    custom = _CUSTOM.search(text)
    fieldless_ix = _FIELDLESS_IX.search(text)
    fieldless_tx = _FIELDLESS_TX.search(text)
    return (int(index.group(1)) if index else None, int(custom.group(1)) if custom else None,
            fieldless_ix.group(1) if fieldless_ix and not custom else None,
            fieldless_tx.group(1) if fieldless_tx else None)


def describe(err: object, logs: Sequence[str] = (), programs: Sequence[Pubkey | str] = ()) -> str:
    """One line: e.g. `instruction 1 (upgradeable loader): InvalidAccountData: an account's data is not what
    the program expects`. `programs` are the program ids of the transaction's instructions, in order (the
    failing one is otherwise read from the logs)."""
    index, code, ix_name, tx_name = _parts(err)
    if tx_name is not None:
        if tx_name == "InsufficientFundsForRent":
            return ("InsufficientFundsForRent: an account would be left with less than its rent-exempt minimum "
                    "(send it more SOL)")
        return f"{tx_name}: {TRANSACTION_ERRORS.get(tx_name, 'the transaction was refused')}"
    logged_program, detail, failure = _failing_program(logs)
    program = str(programs[index]) if index is not None and index < len(programs) else logged_program
    where = "" if index is None else f"instruction {index}"
    if program:
        where += f" ({PROGRAM_NAMES.get(program, program)})" if where else PROGRAM_NAMES.get(program, program)
    origin = program
    if (code is not None and logged_program and logged_program != program
            and failure == f"custom program error: {code:#x}"):
        # The instruction's program called another (a CPI) that failed with this code: it is that
        # program's error number (the system program's 1 is "insufficient lamports", not the caller's 1).
        origin = logged_program
        where = where[:-1] + f" -> {PROGRAM_NAMES.get(origin, origin)})" if where.endswith(")") else where
    if code is not None:
        what = _custom(code, origin)
    elif ix_name is not None:
        what = f"{ix_name}: {INSTRUCTION_ERRORS.get(ix_name, 'the instruction failed')}"
    else:
        what = str(err).splitlines()[0] if str(err) else "the transaction failed"
    if detail and detail not in what:
        what += f" [{detail}]"
    return f"{where}: {what}" if where else what
