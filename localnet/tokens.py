"""SPL Token / Token-2022 account layouts, decoded by hand (pure functions, no I/O).

The validator needs them for three things a real one derives the same way: the token indexes behind
getTokenAccountsByOwner/ByDelegate and getTokenLargestAccounts, pre/post token balances in transaction
metadata, and the `jsonParsed` encoding of token accounts and mints.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from decimal import Decimal
from typing import Optional

from solders.pubkey import Pubkey

TOKEN_PROGRAM = "TokenkegQfeZyiNwAJbNbGKPFXCWuBvf9Ss623VQ5DA"
TOKEN_2022_PROGRAM = "TokenzQdBNbLqP5VEhdkAS6EPFLC1PHnBqCXEpPxuEb"
TOKEN_PROGRAMS = frozenset({TOKEN_PROGRAM, TOKEN_2022_PROGRAM})

ACCOUNT_LEN = 165
MINT_LEN = 82
# Token-2022 accounts with extensions carry an AccountType byte right after the base 165 bytes.
_ACCOUNT_TYPE_MINT = 1
_ACCOUNT_TYPE_ACCOUNT = 2
_STATES = {0: "uninitialized", 1: "initialized", 2: "frozen"}


@dataclass(frozen=True, slots=True)
class TokenAccount:
    mint: str
    owner: str
    amount: int
    delegate: Optional[str]
    state: int
    native_reserve: Optional[int]
    delegated_amount: int
    close_authority: Optional[str]


@dataclass(frozen=True, slots=True)
class Mint:
    mint_authority: Optional[str]
    supply: int
    decimals: int
    is_initialized: bool
    freeze_authority: Optional[str]


def _pk(b: bytes) -> str:
    return str(Pubkey.from_bytes(b))


def _coption_pubkey(data: bytes, off: int) -> Optional[str]:
    tag = struct.unpack_from("<I", data, off)[0]
    return _pk(data[off + 4 : off + 36]) if tag == 1 else None


def is_token_account(owner: str, data: bytes) -> bool:
    if owner not in TOKEN_PROGRAMS or len(data) < ACCOUNT_LEN:
        return False
    if len(data) == ACCOUNT_LEN:
        return True
    return owner == TOKEN_2022_PROGRAM and data[ACCOUNT_LEN] == _ACCOUNT_TYPE_ACCOUNT


def is_mint(owner: str, data: bytes) -> bool:
    if owner not in TOKEN_PROGRAMS:
        return False
    if len(data) == MINT_LEN:
        return True
    return owner == TOKEN_2022_PROGRAM and len(data) > ACCOUNT_LEN and data[ACCOUNT_LEN] == _ACCOUNT_TYPE_MINT


def parse_token_account(owner: str, data: bytes) -> Optional[TokenAccount]:
    """The account as a token account, or None if it is not an initialized one."""
    if not is_token_account(owner, data):
        return None
    state = data[108]
    if state == 0:
        return None
    amount = struct.unpack_from("<Q", data, 64)[0]
    native_tag = struct.unpack_from("<I", data, 109)[0]
    native = struct.unpack_from("<Q", data, 113)[0] if native_tag == 1 else None
    return TokenAccount(
        mint=_pk(data[0:32]),
        owner=_pk(data[32:64]),
        amount=amount,
        delegate=_coption_pubkey(data, 72),
        state=state,
        native_reserve=native,
        delegated_amount=struct.unpack_from("<Q", data, 121)[0],
        close_authority=_coption_pubkey(data, 129),
    )


def parse_mint(owner: str, data: bytes) -> Optional[Mint]:
    if not is_mint(owner, data):
        return None
    initialized = data[45] == 1
    if not initialized:
        return None
    return Mint(
        mint_authority=_coption_pubkey(data, 0),
        supply=struct.unpack_from("<Q", data, 36)[0],
        decimals=data[44],
        is_initialized=initialized,
        freeze_authority=_coption_pubkey(data, 46),
    )


def ui_amount_string(amount: int, decimals: int) -> str:
    """Exact decimal rendering as the validator prints it: no trailing zeros, no exponent."""
    if decimals == 0:
        return str(amount)
    s = str(amount).rjust(decimals + 1, "0")
    whole, frac = s[:-decimals], s[-decimals:].rstrip("0")
    return f"{whole}.{frac}" if frac else whole


def ui_token_amount(amount: int, decimals: int) -> dict:
    # uiAmount is a float only because the RPC wire format has one; nothing here computes with it.
    return {
        "amount": str(amount),
        "decimals": decimals,
        "uiAmount": float(Decimal(amount).scaleb(-decimals)),
        "uiAmountString": ui_amount_string(amount, decimals),
    }


def token_account_json(acct: TokenAccount, decimals: int) -> dict:
    info: dict = {
        "isNative": acct.native_reserve is not None,
        "mint": acct.mint,
        "owner": acct.owner,
        "state": _STATES.get(acct.state, "uninitialized"),
        "tokenAmount": ui_token_amount(acct.amount, decimals),
    }
    if acct.delegate is not None:
        info["delegate"] = acct.delegate
        info["delegatedAmount"] = ui_token_amount(acct.delegated_amount, decimals)
    if acct.native_reserve is not None:
        info["rentExemptReserve"] = ui_token_amount(acct.native_reserve, decimals)
    if acct.close_authority is not None:
        info["closeAuthority"] = acct.close_authority
    return {"info": info, "type": "account"}


def mint_json(mint: Mint) -> dict:
    return {
        "info": {
            "decimals": mint.decimals,
            "freezeAuthority": mint.freeze_authority,
            "isInitialized": mint.is_initialized,
            "mintAuthority": mint.mint_authority,
            "supply": str(mint.supply),
        },
        "type": "mint",
    }


def program_label(owner: str) -> str:
    return "spl-token-2022" if owner == TOKEN_2022_PROGRAM else "spl-token"


def encode_token_account(
    mint: Pubkey,
    owner: Pubkey,
    amount: int,
    *,
    delegate: Optional[Pubkey] = None,
    state: int = 1,
    delegated_amount: int = 0,
    close_authority: Optional[Pubkey] = None,
    native_reserve: Optional[int] = None,
) -> bytes:
    """The 165-byte base layout; used by the surfnet_setTokenAccount cheat code."""

    def coption(pk: Optional[Pubkey]) -> bytes:
        return struct.pack("<I", 1) + bytes(pk) if pk is not None else b"\0" * 36

    out = (
        bytes(mint)
        + bytes(owner)
        + struct.pack("<Q", amount)
        + coption(delegate)
        + bytes([state])
        + (struct.pack("<IQ", 1, native_reserve) if native_reserve is not None else b"\0" * 12)
        + struct.pack("<Q", delegated_amount)
        + coption(close_authority)
    )
    assert len(out) == ACCOUNT_LEN
    return out
