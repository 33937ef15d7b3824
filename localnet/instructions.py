"""jsonParsed instructions, as the validator's RPC parses them (Agave transaction-status parse_*.rs): System,
SPL Token and Token-2022 (the base instructions), Associated Token Account, Memo, Address Lookup Table and the
BPF upgradeable loader. Anything else, or data that does not decode, comes back partially decoded
(programId, accounts, base58 data), as the RPC does. Compute Budget instructions have no parser in the RPC
either, so they come back partially decoded too.

Pure: `parse(program_id, data, accounts)` over plain values; accounts are the instruction's keys in order.
Field names and value forms (token amounts as strings, UiTokenAmount for the checked forms) follow Agave's.
"""
from __future__ import annotations

import base64
from typing import Any, Callable, Optional

import based58

from . import tokens

SYSTEM = "11111111111111111111111111111111"
ATA = "ATokenGPvbdGVxr1b2hvZbsiqW5xWH25efTNsLJA8knL"
MEMOS = ("Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo", "MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr")
ALT = "AddressLookupTab1e1111111111111111111111111"
LOADER_V3 = "BPFLoaderUpgradeab1e11111111111111111111111"


Info = dict[str, Any]  # an instruction's parsed form: {"type", "info"} (a memo's is its text)
Parser = Callable[[bytes, list[str]], Any]


class NotParsable(Exception):
    """The data or the accounts do not fit the instruction: the caller falls back to the partial form."""


class Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def take(self, n: int) -> bytes:
        if self.pos + n > len(self.data):
            raise NotParsable("short data")
        out = self.data[self.pos : self.pos + n]
        self.pos += n
        return out

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "little")

    def pubkey(self) -> str:
        return based58.b58encode(self.take(32)).decode()

    def string(self) -> str:  # bincode String: u64 length, then UTF-8
        try:
            return self.take(self.uint(8)).decode()
        except UnicodeDecodeError:
            raise NotParsable("seed is not UTF-8") from None

    def coption_pubkey(self, tag_size: int) -> Optional[str]:
        """COption<Pubkey>: spl-token packs a u8 or u32 tag before the key (the key omitted when None in
        instruction data, where the tag is one byte)."""
        tag = self.uint(tag_size)
        if tag == 0:
            return None
        if tag != 1:
            raise NotParsable("bad option tag")
        return self.pubkey()


def _keys(accounts: list[str], n: int, names: tuple[str, ...]) -> Info:
    if len(accounts) < n:
        raise NotParsable("too few accounts")
    return {name: accounts[i] for i, name in enumerate(names) if i < len(accounts)}


# ----- System (bincode: u32 tag) -------------------------------------------------------------------------


def _system(data: bytes, acc: list[str]) -> Info:
    r = Reader(data)
    tag = r.uint(4)
    if tag == 0:
        info = _keys(acc, 2, ("source", "newAccount"))
        info.update(lamports=r.uint(8), space=r.uint(8), owner=r.pubkey())
        return {"type": "createAccount", "info": info}
    if tag == 1:
        return {"type": "assign", "info": {**_keys(acc, 1, ("account",)), "owner": r.pubkey()}}
    if tag == 2:
        return {"type": "transfer", "info": {**_keys(acc, 2, ("source", "destination")), "lamports": r.uint(8)}}
    if tag == 3:
        info = _keys(acc, 2, ("source", "newAccount"))
        info.update(base=r.pubkey(), seed=r.string(), lamports=r.uint(8), space=r.uint(8), owner=r.pubkey())
        return {"type": "createAccountWithSeed", "info": info}
    if tag == 4:
        return {"type": "advanceNonce",
                "info": _keys(acc, 3, ("nonceAccount", "recentBlockhashesSysvar", "nonceAuthority"))}
    if tag == 5:
        info = _keys(acc, 5, ("nonceAccount", "destination", "recentBlockhashesSysvar", "rentSysvar", "nonceAuthority"))
        return {"type": "withdrawFromNonce", "info": {**info, "lamports": r.uint(8)}}
    if tag == 6:
        info = _keys(acc, 3, ("nonceAccount", "recentBlockhashesSysvar", "rentSysvar"))
        return {"type": "initializeNonce", "info": {**info, "nonceAuthority": r.pubkey()}}
    if tag == 7:
        info = _keys(acc, 2, ("nonceAccount", "nonceAuthority"))
        return {"type": "authorizeNonce", "info": {**info, "newAuthorized": r.pubkey()}}
    if tag == 8:
        return {"type": "allocate", "info": {**_keys(acc, 1, ("account",)), "space": r.uint(8)}}
    if tag == 9:
        info = _keys(acc, 2, ("account",))
        info.update(base=r.pubkey(), seed=r.string(), space=r.uint(8), owner=r.pubkey())
        return {"type": "allocateWithSeed", "info": info}
    if tag == 10:
        info = _keys(acc, 2, ("account",))
        info.update(base=r.pubkey(), seed=r.string(), owner=r.pubkey())
        return {"type": "assignWithSeed", "info": info}
    if tag == 11:
        info = _keys(acc, 3, ("source", "sourceBase", "destination"))
        info.update(lamports=r.uint(8), sourceSeed=r.string(), sourceOwner=r.pubkey())
        return {"type": "transferWithSeed", "info": info}
    if tag == 12:
        return {"type": "upgradeNonce", "info": _keys(acc, 1, ("nonceAccount",))}
    raise NotParsable(f"system instruction {tag}")


# ----- SPL Token / Token-2022 (u8 tag) -------------------------------------------------------------------

AUTHORITY_TYPES = ("mintTokens", "freezeAccount", "accountOwner", "closeAccount", "transferFeeConfig",
                   "withheldWithdraw", "closeMint", "interestRate", "permanentDelegate", "confidentialTransferMint",
                   "transferHookProgramId", "confidentialTransferFeeConfig", "metadataPointer", "groupPointer",
                   "groupMemberPointer", "scaledUiAmount", "pause", "permissionedBurn")


def _signers(info: Info, acc: list[str], at: int, single: str, multisig: str) -> Info:
    """The authority at position `at`: a single signer, or a multisig followed by its signers (Agave's
    parse_signers)."""
    if len(acc) > at + 1:
        info[multisig] = acc[at]
        info["signers"] = acc[at + 1 :]
    else:
        info[single] = acc[at]
    return info


def _amount(r: Reader) -> str:
    return str(r.uint(8))


def _checked(r: Reader) -> Info:
    amount, decimals = r.uint(8), r.uint(1)
    return tokens.ui_token_amount(amount, decimals)


# tag: (type, fixed account names, min accounts, data fields, signer position or None, single, multisig)
_TOKEN_SIMPLE: dict[int, tuple[Any, ...]] = {
    3: ("transfer", ("source", "destination"), 3, (("amount", _amount),), 2, "authority", "multisigAuthority"),
    4: ("approve", ("source", "delegate"), 3, (("amount", _amount),), 2, "owner", "multisigOwner"),
    5: ("revoke", ("source",), 2, (), 1, "owner", "multisigOwner"),
    7: ("mintTo", ("mint", "account"), 3, (("amount", _amount),), 2, "mintAuthority", "multisigMintAuthority"),
    8: ("burn", ("account", "mint"), 3, (("amount", _amount),), 2, "authority", "multisigAuthority"),
    9: ("closeAccount", ("account", "destination"), 3, (), 2, "owner", "multisigOwner"),
    10: ("freezeAccount", ("account", "mint"), 3, (), 2, "freezeAuthority", "multisigFreezeAuthority"),
    11: ("thawAccount", ("account", "mint"), 3, (), 2, "freezeAuthority", "multisigFreezeAuthority"),
    12: ("transferChecked", ("source", "mint", "destination"), 4, (("tokenAmount", _checked),), 3,
         "authority", "multisigAuthority"),
    13: ("approveChecked", ("source", "mint", "delegate"), 4, (("tokenAmount", _checked),), 3,
         "owner", "multisigOwner"),
    14: ("mintToChecked", ("mint", "account"), 3, (("tokenAmount", _checked),), 2,
         "mintAuthority", "multisigMintAuthority"),
    15: ("burnChecked", ("account", "mint"), 3, (("tokenAmount", _checked),), 2, "authority", "multisigAuthority"),
    1: ("initializeAccount", ("account", "mint", "owner", "rentSysvar"), 4, (), None, "", ""),
    16: ("initializeAccount2", ("account", "mint"), 3, (("owner", Reader.pubkey),), None, "", ""),
    18: ("initializeAccount3", ("account", "mint"), 2, (("owner", Reader.pubkey),), None, "", ""),
    17: ("syncNative", ("account",), 1, (), None, "", ""),
    22: ("initializeImmutableOwner", ("account",), 1, (), None, "", ""),
    23: ("amountToUiAmount", ("mint",), 1, (("amount", _amount),), None, "", ""),
}


def _token(data: bytes, acc: list[str]) -> Info:
    r = Reader(data)
    tag = r.uint(1)
    spec = _TOKEN_SIMPLE.get(tag)
    if spec is not None:
        kind, names, n, fields, at, single, multisig = spec
        info = _keys(acc, n, names)
        for name, read in fields:
            info[name] = read(r)
        if tag == 16:  # the rent sysvar follows the owner in the JSON, as its third account
            info["rentSysvar"] = acc[2]
        if at is not None:
            _signers(info, acc, at, single, multisig)
        return {"type": kind, "info": info}
    if tag in (0, 20):  # InitializeMint(2): decimals, mint authority, COption freeze authority
        info = _keys(acc, 2 if tag == 0 else 1, ("mint",))
        info.update(decimals=r.uint(1), mintAuthority=r.pubkey())
        if tag == 0:
            info["rentSysvar"] = acc[1]
        freeze = r.coption_pubkey(1)
        if freeze is not None:
            info["freezeAuthority"] = freeze
        return {"type": "initializeMint" if tag == 0 else "initializeMint2", "info": info}
    if tag in (2, 19):  # InitializeMultisig(2)
        first = 2 if tag == 2 else 1
        info = _keys(acc, first + 1, ("multisig", "rentSysvar")[:first])
        info.update(signers=acc[first:], m=r.uint(1))
        return {"type": "initializeMultisig" if tag == 2 else "initializeMultisig2", "info": info}
    if tag == 6:
        kind = r.uint(1)
        if kind >= len(AUTHORITY_TYPES):
            raise NotParsable("authority type")
        owned = "mint" if kind not in (2, 3) else "account"
        info = {**{owned: _keys(acc, 2, ("x",))["x"]}, "authorityType": AUTHORITY_TYPES[kind],
                "newAuthority": r.coption_pubkey(1)}
        return {"type": "setAuthority", "info": _signers(info, acc, 1, "authority", "multisigAuthority")}
    if tag == 21:
        info = _keys(acc, 1, ("mint",))
        rest = r.data[r.pos :]
        if rest:  # Token-2022's extension types (u16 each)
            info["extensionTypes"] = [int.from_bytes(rest[i : i + 2], "little") for i in range(0, len(rest), 2)]
        return {"type": "getAccountDataSize", "info": info}
    if tag == 24:
        try:
            ui = r.data[r.pos :].decode()
        except UnicodeDecodeError:
            raise NotParsable("ui amount") from None
        return {"type": "uiAmountToAmount", "info": {**_keys(acc, 1, ("mint",)), "uiAmount": ui}}
    raise NotParsable(f"token instruction {tag}")  # Token-2022 extensions: partially decoded


# ----- Associated Token Account (Borsh enum; empty data is Create) ---------------------------------------


def _ata(data: bytes, acc: list[str]) -> Info:
    tag = data[0] if data else 0
    if len(data) > 1:
        raise NotParsable("trailing data")
    if tag in (0, 1):
        info = _keys(acc, 6, ("source", "account", "wallet", "mint", "systemProgram", "tokenProgram"))
        return {"type": "create" if tag == 0 else "createIdempotent", "info": info}
    if tag == 2:
        return {"type": "recoverNested", "info": _keys(acc, 7, (
            "nestedSource", "nestedMint", "destination", "nestedOwner", "ownerMint", "wallet", "tokenProgram"))}
    raise NotParsable(f"associated token instruction {tag}")


# ----- Address Lookup Table (bincode: u32 tag) -----------------------------------------------------------


def _alt(data: bytes, acc: list[str]) -> Info:
    r = Reader(data)
    tag = r.uint(4)
    if tag == 0:
        info = _keys(acc, 4, ("lookupTableAccount", "lookupTableAuthority", "payerAccount", "systemProgram"))
        info.update(recentSlot=r.uint(8), bumpSeed=r.uint(1))
        return {"type": "createLookupTable", "info": info}
    if tag == 1:
        return {"type": "freezeLookupTable", "info": _keys(acc, 2, ("lookupTableAccount", "lookupTableAuthority"))}
    if tag == 2:
        info = _keys(acc, 2, ("lookupTableAccount", "lookupTableAuthority", "payerAccount", "systemProgram"))
        info["newAddresses"] = [r.pubkey() for _ in range(r.uint(8))]
        return {"type": "extendLookupTable", "info": info}
    if tag == 3:
        return {"type": "deactivateLookupTable",
                "info": _keys(acc, 2, ("lookupTableAccount", "lookupTableAuthority"))}
    if tag == 4:
        return {"type": "closeLookupTable",
                "info": _keys(acc, 3, ("lookupTableAccount", "lookupTableAuthority", "recipient"))}
    raise NotParsable(f"lookup table instruction {tag}")


# ----- BPF upgradeable loader (bincode: u32 tag) ---------------------------------------------------------


def _loader_v3(data: bytes, acc: list[str]) -> Info:
    r = Reader(data)
    tag = r.uint(4)
    if tag == 0:
        return {"type": "initializeBuffer", "info": _keys(acc, 1, ("account", "authority"))}
    if tag == 1:
        offset = r.uint(4)
        payload = r.take(r.uint(8))
        info = {"offset": offset, "bytes": base64.b64encode(payload).decode(), **_keys(acc, 2, ("account", "authority"))}
        return {"type": "write", "info": info}
    if tag == 2:
        info = {"maxDataLen": r.uint(8), **_keys(acc, 8, (
            "payerAccount", "programDataAccount", "programAccount", "bufferAccount", "rentSysvar", "clockSysvar",
            "systemProgram", "authority"))}
        return {"type": "deployWithMaxDataLen", "info": info}
    if tag == 3:
        return {"type": "upgrade", "info": _keys(acc, 7, (
            "programDataAccount", "programAccount", "bufferAccount", "spillAccount", "rentSysvar", "clockSysvar",
            "authority"))}
    if tag in (4, 7):
        info = _keys(acc, 2 if tag == 4 else 3, ("account", "authority", "newAuthority"))
        info.setdefault("newAuthority", None)
        return {"type": "setAuthority" if tag == 4 else "setAuthorityChecked", "info": info}
    if tag == 5:
        info = _keys(acc, 2, ("account", "recipient", "authority", "programAccount"))
        info.setdefault("authority", None)
        info.setdefault("programAccount", None)
        return {"type": "close", "info": info}
    if tag == 6:
        info = {"additionalBytes": r.uint(4), **_keys(acc, 2, (
            "programDataAccount", "programAccount", "systemProgram", "payerAccount"))}
        info.setdefault("systemProgram", None)
        info.setdefault("payerAccount", None)
        return {"type": "extendProgram", "info": info}
    raise NotParsable(f"upgradeable loader instruction {tag}")


def _memo(data: bytes, acc: list[str]) -> str:
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise NotParsable("memo is not UTF-8") from None


PARSERS: dict[str, tuple[str, Parser]] = {
    SYSTEM: ("system", _system),
    tokens.TOKEN_PROGRAM: ("spl-token", _token),
    tokens.TOKEN_2022_PROGRAM: ("spl-token", _token),
    ATA: ("spl-associated-token-account", _ata),
    MEMOS[0]: ("spl-memo", _memo),
    MEMOS[1]: ("spl-memo", _memo),
    ALT: ("address-lookup-table", _alt),
    LOADER_V3: ("bpf-upgradeable-loader", _loader_v3),
}


def parse(program_id: str, data: bytes, accounts: list[str], stack_height: Optional[int] = None) -> Info:
    """One instruction in the RPC's jsonParsed form: parsed when the program has a parser and the
    instruction decodes, else partially decoded."""
    entry = PARSERS.get(program_id)
    if entry is not None:
        try:
            return {"program": entry[0], "programId": program_id, "parsed": entry[1](data, accounts),
                    "stackHeight": stack_height}
        except NotParsable:
            pass
    return {"programId": program_id, "accounts": accounts, "data": based58.b58encode(data).decode(),
            "stackHeight": stack_height}
