"""Transaction metadata as the validator reports it, built from LiteSVM's result plus the account states read
before and after execution (LiteSVM itself reports neither fees, balances nor token balances).

Pure functions over plain values: the bank does the reads, this module does the shaping.
"""
from __future__ import annotations

import base64
import json
from typing import Callable, Optional, Sequence

import based58
from solders.message import Message, MessageV0
from solders.pubkey import Pubkey

from . import fees, tokens

LAMPORTS_PER_SIGNATURE = 5000
ED25519_PROGRAM = "Ed25519SigVerify111111111111111111111111111"
SECP256K1_PROGRAM = "KeccakSecp256k11111111111111111111111111111"
SECP256R1_PROGRAM = "Secp256r1SigVerify1111111111111111111111111"


def writable_flags(h, n_static: int, n_loaded_writable: int, n_loaded_readonly: int) -> list[bool]:
    """Which resolved account keys are writable (h: the MessageHeader): the header rule for static keys, then
    the lookups."""
    nsig, ro_signed, ro_unsigned = (
        h.num_required_signatures,
        h.num_readonly_signed_accounts,
        h.num_readonly_unsigned_accounts,
    )
    flags = []
    for i in range(n_static):
        if i < nsig:
            flags.append(i < nsig - ro_signed)
        else:
            flags.append(i < n_static - ro_unsigned)
    return flags + [True] * n_loaded_writable + [False] * n_loaded_readonly


_FLAGS_CACHE: dict[tuple[int, int, int, int, int, int], list[bool]] = {}


def writable_flags_cached(h, n_static: int, n_loaded_writable: int, n_loaded_readonly: int) -> list[bool]:
    """writable_flags, memoized on its inputs (a few shapes recur in every transaction). The list returned is
    shared: read it, never change it."""
    key = (h.num_required_signatures, h.num_readonly_signed_accounts, h.num_readonly_unsigned_accounts,
           n_static, n_loaded_writable, n_loaded_readonly)
    flags = _FLAGS_CACHE.get(key)
    if flags is None:
        if len(_FLAGS_CACHE) > 10_000:
            _FLAGS_CACHE.clear()
        flags = _FLAGS_CACHE[key] = writable_flags(h, n_static, n_loaded_writable, n_loaded_readonly)
    return flags


def signature_count(header, instructions, keys: Sequence[str]) -> int:
    """Signatures the fee is charged for: the transaction's own plus those checked by precompiles."""
    n = header.num_required_signatures
    for ix in instructions:
        prog = keys[ix.program_id_index]
        if prog in (ED25519_PROGRAM, SECP256K1_PROGRAM, SECP256R1_PROGRAM) and ix.data:
            n += ix.data[0]
    return n


def fee_for(header, instructions, keys: Sequence[str]) -> int:
    limit, price = fees.compute_budget(instructions, keys)
    return LAMPORTS_PER_SIGNATURE * signature_count(header, instructions, keys) + fees.prioritization_fee(limit, price)


TOKEN_PROGRAM_KEYS = frozenset(Pubkey.from_string(p) for p in tokens.TOKEN_PROGRAMS)
_B58_CACHE: dict[bytes, str] = {}


def _b58_key(b: bytes) -> str:
    """Base58 of a 32-byte key, memoized: the same mints and owners recur in every token transaction."""
    s = _B58_CACHE.get(b)
    if s is None:
        if len(_B58_CACHE) > 100_000:
            _B58_CACHE.clear()
        s = _B58_CACHE[b] = str(Pubkey.from_bytes(b))  # solders' base58: ~10x based58's
    return s


_KEY_STR: dict[Pubkey, str] = {}


def key_str(pk: Pubkey) -> str:
    """str(pubkey), memoized for the few owners (programs) that recur in every transaction."""
    s = _KEY_STR.get(pk)
    if s is None:
        if len(_KEY_STR) > 100_000:
            _KEY_STR.clear()
        s = _KEY_STR[pk] = str(pk)
    return s


def token_row(i: int, data: bytes, program: str, decimals_of: Callable[[str], Optional[int]]) -> Optional[list]:
    """[accountIndex, mint, owner, amount, programId, decimals] if `data` is an initialized token account."""
    n = len(data)
    if n < tokens.ACCOUNT_LEN or (n > tokens.ACCOUNT_LEN and data[tokens.ACCOUNT_LEN] != 2) or data[108] == 0:
        return None
    mint = _b58_key(data[0:32])
    dec = decimals_of(mint)
    if dec is None:
        return None
    return [i, mint, _b58_key(data[32:64]), int.from_bytes(data[64:72], "little"), program, dec]


def token_row_and_index_keys(i: int, data: bytes, program: str,
                             decimals_of: Callable[[str], Optional[int]]) -> tuple[Optional[list], tuple]:
    """(token_row(...), token_index_keys(data)) from one parse of the account."""
    n = len(data)
    if n < tokens.ACCOUNT_LEN or (n > tokens.ACCOUNT_LEN and data[tokens.ACCOUNT_LEN] != 2) or data[108] == 0:
        return None, (None, None, None)
    mint = _b58_key(data[0:32])
    owner = _b58_key(data[32:64])
    delegate = _b58_key(data[76:108]) if data[72] == 1 else None
    dec = decimals_of(mint)
    row = None if dec is None else [i, mint, owner, int.from_bytes(data[64:72], "little"), program, dec]
    return row, (owner, delegate, mint)


def token_index_keys(data: bytes) -> tuple:
    """(token owner, delegate, mint) of an initialized token account, else (None, None, None)."""
    n = len(data)
    if n < tokens.ACCOUNT_LEN or (n > tokens.ACCOUNT_LEN and data[tokens.ACCOUNT_LEN] != 2) or data[108] == 0:
        return (None, None, None)
    delegate = _b58_key(data[76:108]) if data[72] == 1 else None
    return (_b58_key(data[32:64]), delegate, _b58_key(data[0:32]))


def token_balances_json(rows: list[list]) -> list[dict]:
    return [
        {"accountIndex": i, "mint": mint, "uiTokenAmount": tokens.ui_token_amount(amount, dec), "owner": owner,
         "programId": program}
        for i, mint, owner, amount, program, dec in rows
    ]


def rpc_meta(core: dict, loaded_writable: list[str], loaded_readonly: list[str]) -> dict:
    """The RPC `meta` object (json encoding) from a record's compact core."""
    err = core["err"]
    meta = {
        "err": err,
        "status": {"Ok": None} if err is None else {"Err": err},
        "fee": core["fee"],
        "preBalances": core["pre"],
        "postBalances": core["post"],
        "innerInstructions": core["inner"],
        "logMessages": core["logs"],
        "preTokenBalances": token_balances_json(core["preTok"]),
        "postTokenBalances": token_balances_json(core["postTok"]),
        "rewards": [],
        "loadedAddresses": {"writable": loaded_writable, "readonly": loaded_readonly},
        "computeUnitsConsumed": core["cu"],
    }
    if core.get("rd") is not None:
        meta["returnData"] = core["rd"]
    return meta


def inner_instructions_json(inner: Sequence[Sequence]) -> list[dict]:
    out = []
    for idx, ixs in enumerate(inner):
        if not ixs:
            continue
        out.append(
            {
                "index": idx,
                "instructions": [
                    {
                        "programIdIndex": ci.program_id_index,
                        "accounts": list(ci.accounts),
                        "data": based58.b58encode(bytes(ci.data)).decode(),
                        "stackHeight": ii.stack_height(),
                    }
                    for ii in ixs
                    for ci in (ii.instruction(),)
                ],
            }
        )
    return out


def return_data_json(meta) -> Optional[dict]:
    rd = meta.return_data()
    data = bytes(rd.data)
    if not data:
        return None

    return {"programId": str(rd.program_id), "data": [base64.b64encode(data).decode(), "base64"]}


def error_json(failed) -> object:
    """The TransactionError in its RPC JSON form, e.g. {"InstructionError": [0, {"Custom": 1}]}."""
    return json.loads(failed.to_json())["err"]


_FIELDLESS_TEXT = {
    "AccountInUse": "Account in use",
    "AccountLoadedTwice": "Account loaded twice",
    "AccountNotFound": "Attempt to debit an account but found no record of a prior credit.",
    "ProgramAccountNotFound": "Attempt to load a program that does not exist",
    "InsufficientFundsForFee": "Insufficient funds for fee",
    "InvalidAccountForFee": "This account may not be used to pay transaction fees",
    "AlreadyProcessed": "This transaction has already been processed",
    "BlockhashNotFound": "Blockhash not found",
    "CallChainTooDeep": "Loader call chain is too deep",
    "MissingSignatureForFee": "Transaction requires a fee but has no signature present",
    "InvalidAccountIndex": "Transaction contains an invalid account reference",
    "SignatureFailure": "Transaction did not pass signature verification",
    "InvalidProgramForExecution": "This program may not be used for executing instructions",
    "SanitizeFailure": "Transaction failed to sanitize accounts offsets correctly",
    "AccountBorrowOutstanding": "Transaction processing left an account with an outstanding borrowed reference",
    "WouldExceedMaxBlockCostLimit": "Transaction would exceed max Block Cost Limit",
    "UnsupportedVersion": "Transaction version is unsupported",
    "InvalidWritableAccount": "Transaction loads a writable account that cannot be written",
    "TooManyAccountLocks": "Transaction locked too many accounts",
    "AddressLookupTableNotFound": "Transaction loads an address table account that doesn't exist",
    "UnbalancedTransaction": "Sum of account balances before and after transaction do not match",
}

_INSTRUCTION_ERR_TEXT = {
    "GenericError": "generic instruction error",
    "InvalidArgument": "invalid program argument",
    "InvalidInstructionData": "invalid instruction data",
    "InvalidAccountData": "invalid account data for instruction",
    "AccountDataTooSmall": "account data too small for instruction",
    "InsufficientFunds": "insufficient funds for instruction",
    "IncorrectProgramId": "incorrect program id for instruction",
    "MissingRequiredSignature": "missing required signature for instruction",
    "AccountAlreadyInitialized": "instruction requires an uninitialized account",
    "UninitializedAccount": "instruction requires an initialized account",
    "UnbalancedInstruction": "sum of account balances before and after instruction do not match",
    "ModifiedProgramId": "instruction illegally modified the program id of an account",
    "ExternalAccountLamportSpend": "instruction spent from the balance of an account it does not own",
    "ExternalAccountDataModified": "instruction modified data of an account it does not own",
    "ReadonlyLamportChange": "instruction changed the balance of a read-only account",
    "ReadonlyDataModified": "instruction modified data of a read-only account",
    "InvalidSeeds": "Provided seeds do not result in a valid address",
    "ProgramFailedToComplete": "Program failed to complete",
    "ComputationalBudgetExceeded": "Computational budget exceeded",
    "PrivilegeEscalation": "Cross-program invocation with unauthorized signer or writable account",
    "AccountNotExecutable": "instruction expected an executable account",
    "NotEnoughAccountKeys": "insufficient account keys for instruction",
    "AccountDataSizeChanged": "program other than the account's owner changed the size of the account data",
    "MissingAccount": "An account required by the instruction is missing",
    "InvalidAccountOwner": "Invalid account owner",
    "ArithmeticOverflow": "Program arithmetic overflowed",
    "Immutable": "Account is immutable",
    "IncorrectAuthority": "Incorrect authority provided",
    "InvalidError": "Program returned invalid error code",
    "UnsupportedProgramId": "Unsupported program id",
    "AccountBorrowFailed": "instruction tries to borrow reference for an account which is already borrowed",
    "InvalidRealloc": "Failed to reallocate account data",
    "MaxAccountsDataAllocationsExceeded": "Accounts data allocations exceeded the maximum allowed per transaction",
}


def error_text(err: object) -> str:
    """A TransactionError (RPC JSON form) rendered as the validator's Display impl renders it."""
    if isinstance(err, str):
        return _FIELDLESS_TEXT.get(err, err)
    if isinstance(err, dict) and "InstructionError" in err:
        idx, ierr = err["InstructionError"]
        if isinstance(ierr, dict) and "Custom" in ierr:
            detail = f"custom program error: {ierr['Custom']:#x}"
        elif isinstance(ierr, dict) and "BorshIoError" in ierr:
            detail = f"Failed to serialize or deserialize account data: {ierr['BorshIoError']}"
        elif isinstance(ierr, str):
            detail = _INSTRUCTION_ERR_TEXT.get(ierr, ierr)
        else:
            detail = json.dumps(ierr)
        return f"Error processing Instruction {idx}: {detail}"
    if isinstance(err, dict) and "InsufficientFundsForRent" in err:
        return f"Transaction results in an account ({err['InsufficientFundsForRent']['account_index']}) with insufficient funds for rent"
    if isinstance(err, dict) and "DuplicateInstruction" in err:
        return f"Transaction contains a duplicate instruction ({err['DuplicateInstruction']}) that is not allowed"
    return json.dumps(err)


def is_legacy(msg) -> bool:
    return isinstance(msg, Message)


def is_v0(msg) -> bool:
    return isinstance(msg, MessageV0)
