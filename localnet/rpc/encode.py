"""The one place that shapes RPC results: accounts in every encoding, transactions, blocks, contexts.

Shapes follow the Agave validator's JSON exactly (tests parse every result with solders' RPC response types,
the strictest client parser there is).
"""
from __future__ import annotations

import base64
from typing import Optional

import based58
import zstandard
from solders.account import Account
from solders.transaction import VersionedTransaction

from .. import instructions, tokens
from ..bank import Bank
from ..history import Block, TxRecord
from ..txmeta import writable_flags
from .errors import InvalidParams

API_VERSION = "2.2.0"
MAX_BASE58_BYTES = 128
_ZSTD = zstandard.ZstdCompressor(level=3)


def context_slot(bank: Bank) -> int:
    """The slot of the commitment level the request asked for (finalized by default, as the RPC's)."""
    return bank.context_slot if bank.context_slot is not None else bank.commitment_slot(None)


def context(bank: Bank) -> dict:
    return {"slot": context_slot(bank), "apiVersion": API_VERSION}


def with_context(bank: Bank, value) -> dict:
    return {"context": {"slot": context_slot(bank), "apiVersion": API_VERSION}, "value": value}


def b58(data: bytes) -> str:
    return based58.b58encode(data).decode()


def encode_data(data: bytes, encoding: str) -> object:
    if encoding == "base64":
        return [base64.b64encode(data).decode(), "base64"]
    if encoding == "base64+zstd":
        return [base64.b64encode(_ZSTD.compress(data)).decode(), "base64+zstd"]
    if len(data) > MAX_BASE58_BYTES:
        raise InvalidParams(
            f"Encoded binary (base 58) data should be less than {MAX_BASE58_BYTES} bytes, please use Base64 encoding."
        )
    if encoding == "base58":
        return [b58(data), "base58"]
    return b58(data)  # legacy "binary"


LOADER_V3 = "BPFLoaderUpgradeab1e11111111111111111111111"


def _loader_v3_parsed(data: bytes) -> Optional[dict]:
    """bpf-upgradeable-loader accounts (program, programData, buffer) as the validator parses them."""
    if len(data) < 4:
        return None
    tag = int.from_bytes(data[:4], "little")

    def authority(off: int) -> Optional[str]:
        return b58(data[off + 1 : off + 33]) if data[off] == 1 else None

    if tag == 0:
        parsed: dict = {"type": "uninitialized"}
    elif tag == 1 and len(data) >= 37:
        parsed = {"type": "buffer", "info": {"authority": authority(4),
                                             "data": [base64.b64encode(data[37:]).decode(), "base64"]}}
    elif tag == 2 and len(data) >= 36:
        parsed = {"type": "program", "info": {"programData": b58(data[4:36])}}
    elif tag == 3 and len(data) >= 45:
        parsed = {"type": "programData", "info": {
            "slot": int.from_bytes(data[4:12], "little"), "authority": authority(12),
            "data": [base64.b64encode(data[45:]).decode(), "base64"]}}
    else:
        return None
    return {"program": "bpf-upgradeable-loader", "parsed": parsed, "space": len(data)}


def parsed_data(bank: Bank, owner: str, data: bytes) -> Optional[dict]:
    """jsonParsed form for token accounts, mints and upgradeable-loader accounts; None when the account has
    no parser here (the caller falls back to base64, as the validator does)."""
    if owner == LOADER_V3:
        return _loader_v3_parsed(data)
    if owner not in tokens.TOKEN_PROGRAMS:
        return None
    ta = tokens.parse_token_account(owner, data)
    if ta is not None:
        dec = bank.decimals_of(ta.mint)
        if dec is None:
            return None
        parsed = tokens.token_account_json(ta, dec)
    else:
        mint = tokens.parse_mint(owner, data)
        if mint is None:
            return None
        parsed = tokens.mint_json(mint)
    return {"program": tokens.program_label(owner), "parsed": parsed, "space": len(data)}


def ui_account(bank: Bank, acct: Account, encoding: str, data_slice: Optional[tuple[int, int]] = None) -> dict:
    data = bytes(acct.data)
    owner = str(acct.owner)
    space = len(data)
    value: object = None
    if encoding == "jsonParsed" and data_slice is None:
        value = parsed_data(bank, owner, data)
    if value is None:
        if data_slice is not None:
            off, length = data_slice
            data = data[off : off + length]
        value = encode_data(data, "base64" if encoding == "jsonParsed" else encoding)
    return {
        "lamports": acct.lamports,
        "data": value,
        "owner": owner,
        "executable": acct.executable,
        "rentEpoch": acct.rent_epoch,
        "space": space,
    }


# ----- transactions --------------------------------------------------------------------------------------------


def _header(msg) -> dict:
    h = msg.header
    return {
        "numRequiredSignatures": h.num_required_signatures,
        "numReadonlySignedAccounts": h.num_readonly_signed_accounts,
        "numReadonlyUnsignedAccounts": h.num_readonly_unsigned_accounts,
    }


def _lookups(msg) -> Optional[list]:
    lookups = getattr(msg, "address_table_lookups", None)
    if lookups is None:
        return None
    return [
        {
            "accountKey": str(l.account_key),
            "writableIndexes": list(bytes(l.writable_indexes)),
            "readonlyIndexes": list(bytes(l.readonly_indexes)),
        }
        for l in lookups
    ]


def _parsed_keys(rec: TxRecord, msg=None) -> list[dict]:
    """accountKeys as jsonParsed and transactionDetails=accounts show them: writable, signer, source."""
    if msg is None:
        msg = VersionedTransaction.from_bytes(rec.raw).message
    n_static = len(rec.account_keys) - len(rec.loaded_writable) - len(rec.loaded_readonly)
    flags = writable_flags(msg.header, n_static, len(rec.loaded_writable), len(rec.loaded_readonly))
    nsig = msg.header.num_required_signatures
    return [
        {"pubkey": k, "writable": flags[i], "signer": i < nsig,
         "source": "transaction" if i < n_static else "lookupTable"}
        for i, k in enumerate(rec.account_keys)
    ]


def ui_transaction(rec: TxRecord, encoding: str) -> object:
    if encoding in ("base64", "base58"):
        raw = rec.raw
        return [base64.b64encode(raw).decode(), "base64"] if encoding == "base64" else [b58(raw), "base58"]
    tx = VersionedTransaction.from_bytes(rec.raw)
    msg = tx.message
    if encoding == "jsonParsed":
        keys = rec.account_keys
        message: dict = {
            "accountKeys": _parsed_keys(rec, msg),
            "recentBlockhash": str(msg.recent_blockhash),
            "instructions": [
                instructions.parse(keys[ix.program_id_index], bytes(ix.data), [keys[a] for a in bytes(ix.accounts)])
                for ix in msg.instructions
            ],
        }
    else:
        message = {
            "header": _header(msg),
            "accountKeys": [str(k) for k in msg.account_keys],
            "recentBlockhash": str(msg.recent_blockhash),
            "instructions": [
                {"programIdIndex": ix.program_id_index, "accounts": list(bytes(ix.accounts)),
                 "data": b58(bytes(ix.data)), "stackHeight": None}
                for ix in msg.instructions
            ],
        }
    lookups = _lookups(msg)
    if lookups is not None:
        message["addressTableLookups"] = lookups
    return {"signatures": [str(s) for s in tx.signatures], "message": message}


def ui_meta(rec: TxRecord, encoding: str) -> dict:
    if encoding != "jsonParsed":
        return rec.meta
    keys = rec.account_keys
    meta = dict(rec.meta)
    meta["innerInstructions"] = [
        {
            "index": group["index"],
            "instructions": [
                instructions.parse(keys[ix["programIdIndex"]], based58.b58decode(ix["data"].encode()),
                                   [keys[a] for a in ix["accounts"]], ix["stackHeight"])
                for ix in group["instructions"]
            ],
        }
        for group in rec.meta["innerInstructions"]
    ]
    meta.pop("loadedAddresses", None)  # jsonParsed reports the source of each key in accountKeys instead
    return meta


def transaction_with_meta(rec: TxRecord, encoding: str, *, max_version: Optional[int]) -> dict:
    out = {"transaction": ui_transaction(rec, encoding), "meta": ui_meta(rec, encoding)}
    if max_version is not None:
        out["version"] = rec.version
    return out


def confirmed_transaction(rec: TxRecord, encoding: str, *, max_version: Optional[int]) -> dict:
    out = {"slot": rec.slot, "blockTime": rec.block_time}
    out.update(transaction_with_meta(rec, encoding, max_version=max_version))
    return out


def signature_status(bank: Bank, rec: TxRecord) -> dict:
    status, confirmations = bank.confirmation_of(rec.slot)
    return {
        "slot": rec.slot,
        "confirmations": confirmations,
        "err": rec.err,
        "status": rec.meta["status"],
        "confirmationStatus": status,
    }


def block(bank: Bank, b: Block, *, encoding: str, details: str, rewards: bool, max_version: Optional[int]) -> dict:
    out: dict = {
        "blockHeight": b.slot,
        "blockTime": b.block_time,
        "blockhash": b.blockhash,
        "parentSlot": b.parent_slot,
        "previousBlockhash": b.previous_blockhash,
    }
    recs = [bank.history[s] for s in b.signatures]
    if details == "full":
        out["transactions"] = [transaction_with_meta(r, encoding, max_version=max_version) for r in recs]
    elif details == "signatures":
        out["signatures"] = [r.signature for r in recs]
    elif details == "accounts":
        out["transactions"] = [
            {"transaction": {"signatures": [r.signature], "accountKeys": _parsed_keys(r)},
             "meta": {k: v for k, v in r.meta.items() if k not in ("innerInstructions", "logMessages")}}
            for r in recs
        ]
    if rewards:
        out["rewards"] = []
    return out
