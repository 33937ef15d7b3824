"""Account reads: getAccountInfo, getMultipleAccounts, getProgramAccounts, getBalance, getLargestAccounts."""
from __future__ import annotations

import base64

import based58
from solders.pubkey import Pubkey

from . import encode
from .errors import InvalidParams
from .params import Params, account_encoding, check_common, data_slice, parse_pubkey
from .registry import Ctx, method

MAX_MULTIPLE_ACCOUNTS = 100
_ACCOUNT_CFG = {"encoding", "dataSlice"}


@method("getAccountInfo")
def get_account_info(ctx: Ctx, p: Params):
    pk = p.pubkey(0, "pubkey")
    cfg = p.config(1, _ACCOUNT_CFG)
    if cfg:
        check_common(p.method, cfg, ctx.bank)
    enc = account_encoding(p.method, cfg, "binary")
    ds = data_slice(p.method, cfg)
    acct = ctx.bank.get_account(pk)
    return encode.with_context(ctx.bank, None if acct is None else encode.ui_account(ctx.bank, acct, enc, ds))


@method("getMultipleAccounts")
def get_multiple_accounts(ctx: Ctx, p: Params):
    keys = p.get(0, "pubkeys")
    if not isinstance(keys, list):
        raise InvalidParams("Invalid params for getMultipleAccounts: `pubkeys` (params[0]) must be an array")
    if len(keys) > MAX_MULTIPLE_ACCOUNTS:
        raise InvalidParams(f"Too many inputs provided; max {MAX_MULTIPLE_ACCOUNTS}")
    pks = [parse_pubkey(k, f"pubkeys[{i}]") for i, k in enumerate(keys)]
    cfg = p.config(1, _ACCOUNT_CFG)
    check_common(p.method, cfg, ctx.bank)
    enc = account_encoding(p.method, cfg, "base64")
    ds = data_slice(p.method, cfg)
    bank = ctx.bank
    values = []
    for pk in pks:
        acct = bank.get_account(pk)
        values.append(None if acct is None else encode.ui_account(bank, acct, enc, ds))
    return encode.with_context(bank, values)


@method("getBalance")
def get_balance(ctx: Ctx, p: Params):
    pk = p.pubkey(0, "pubkey")
    check_common(p.method, p.config(1, set()), ctx.bank)
    acct = ctx.bank.get_account(pk)
    return encode.with_context(ctx.bank, 0 if acct is None else acct.lamports)


def parse_filters(method: str, filters) -> list:
    """dataSize and memcmp filters, checked up front so a bad one is an error, not an empty result."""
    if filters is None:
        return []
    if not isinstance(filters, list) or len(filters) > 4:
        raise InvalidParams(f"Invalid params for {method}: `filters` must be an array of at most 4 filters")
    out = []
    for i, f in enumerate(filters):
        if not isinstance(f, dict) or len(f) != 1:
            raise InvalidParams(f"Invalid params for {method}: filters[{i}] must be {{dataSize}} or {{memcmp}}")
        if "dataSize" in f:
            size = f["dataSize"]
            if not isinstance(size, int) or size < 0:
                raise InvalidParams(f"Invalid params for {method}: filters[{i}].dataSize must be a u64")
            out.append(("size", size))
        elif "memcmp" in f:
            m = f["memcmp"]
            if not isinstance(m, dict) or not isinstance(m.get("offset"), int) or not isinstance(m.get("bytes"), str):
                raise InvalidParams(f"Invalid params for {method}: filters[{i}].memcmp needs offset and bytes")
            enc = m.get("encoding", "base58")
            try:
                if enc == "base58":
                    if len(m["bytes"]) > 175:
                        raise ValueError("too long")
                    needle = based58.b58decode(m["bytes"].encode())
                elif enc == "base64":
                    needle = base64.b64decode(m["bytes"], validate=True)
                else:
                    raise InvalidParams(f"Invalid params for {method}: filters[{i}].memcmp.encoding must be base58 or base64")
            except InvalidParams:
                raise
            except Exception:
                raise InvalidParams(f"Invalid params for {method}: filters[{i}].memcmp.bytes is not valid {enc}") from None
            if len(needle) > 128:
                raise InvalidParams(f"Invalid params for {method}: filters[{i}].memcmp.bytes longer than 128 bytes")
            out.append(("memcmp", m["offset"], needle))
        elif "tokenAccountState" in f:
            out.append(("token", None))
        else:
            raise InvalidParams(f"Invalid params for {method}: filters[{i}] has unknown type {next(iter(f))!r}")
    return out


def matches(filters: list, data: bytes) -> bool:
    for f in filters:
        if f[0] == "size":
            if len(data) != f[1]:
                return False
        elif f[0] == "memcmp":
            off, needle = f[1], f[2]
            if data[off : off + len(needle)] != needle:
                return False
        elif f[0] == "token":
            if len(data) < 165:
                return False
    return True


@method("getProgramAccounts")
def get_program_accounts(ctx: Ctx, p: Params):
    program = p.pubkey(0, "programId")
    cfg = p.config(1, {"encoding", "dataSlice", "filters", "withContext", "sortResults"})
    check_common(p.method, cfg, ctx.bank)
    enc = account_encoding(p.method, cfg, "binary")
    ds = data_slice(p.method, cfg)
    filters = parse_filters(p.method, cfg.get("filters"))
    bank = ctx.bank
    out = []
    for key in sorted(bank.owner_index.get(str(program), ())):
        acct = bank.get_account(Pubkey.from_string(key))
        if acct is None or not matches(filters, bytes(acct.data)):
            continue
        out.append({"pubkey": key, "account": encode.ui_account(bank, acct, enc, ds)})
    return encode.with_context(bank, out) if cfg.get("withContext") else out


@method("getLargestAccounts")
def get_largest_accounts(ctx: Ctx, p: Params):
    cfg = p.config(0, {"filter", "sortResults"})
    check_common(p.method, cfg, ctx.bank)
    bank = ctx.bank
    balances = []
    for key in bank.known_accounts():
        acct = bank.get_account(Pubkey.from_string(key))
        if acct is not None:
            balances.append((acct.lamports, key))
    balances.sort(reverse=True)
    return encode.with_context(bank, [{"address": k, "lamports": l} for l, k in balances[:20]])
