"""SPL token queries over the bank's token indexes."""
from __future__ import annotations

from solders.pubkey import Pubkey

from .. import tokens
from . import encode
from .errors import InvalidParams
from .params import Params, account_encoding, check_common, data_slice, parse_pubkey
from .registry import Ctx, method


def _token_filter(p: Params) -> tuple[str, str]:
    f = p.get(1, "filter")
    if not isinstance(f, dict) or len(f) != 1 or not ({"mint", "programId"} & set(f)):
        raise InvalidParams(f"Invalid params for {p.method}: params[1] must be {{mint}} or {{programId}}")
    kind, value = next(iter(f.items()))
    pk = str(parse_pubkey(value, f"{kind} (params[1])"))
    if kind == "programId" and pk not in tokens.TOKEN_PROGRAMS:
        raise InvalidParams("Invalid param: unrecognized Token program id")
    return kind, pk


def _by_index(ctx: Ctx, p: Params, index: dict) -> dict:
    who = str(p.pubkey(0, "owner" if p.method.endswith("Owner") else "delegate"))
    kind, value = _token_filter(p)
    cfg = p.config(2, {"encoding", "dataSlice"})
    check_common(p.method, cfg, ctx.bank.slot)
    enc = account_encoding(p.method, cfg, "binary")
    ds = data_slice(p.method, cfg)
    bank = ctx.bank
    out = []
    for key in sorted(index.get(who, ())):
        acct = bank.get_account(Pubkey.from_string(key))
        if acct is None:
            continue
        owner = str(acct.owner)
        ta = tokens.parse_token_account(owner, bytes(acct.data))
        if ta is None:
            continue
        if (kind == "mint" and ta.mint != value) or (kind == "programId" and owner != value):
            continue
        out.append({"pubkey": key, "account": encode.ui_account(bank, acct, enc, ds)})
    return encode.with_context(bank, out)


@method("getTokenAccountsByOwner")
def get_token_accounts_by_owner(ctx: Ctx, p: Params):
    return _by_index(ctx, p, ctx.bank.token_owner_index)


@method("getTokenAccountsByDelegate")
def get_token_accounts_by_delegate(ctx: Ctx, p: Params):
    return _by_index(ctx, p, ctx.bank.token_delegate_index)


def _parsed(ctx: Ctx, pk: Pubkey, parse, what: str):
    """The account at `pk` through a token-layout parser, or the validator's invalid-param error."""
    acct = ctx.bank.get_account(pk)
    out = None if acct is None else parse(str(acct.owner), bytes(acct.data))
    if out is None:
        raise InvalidParams(f"Invalid param: not a Token {what}")
    return out


def _token_account(ctx: Ctx, pk: Pubkey) -> tokens.TokenAccount:
    return _parsed(ctx, pk, tokens.parse_token_account, "account")


@method("getTokenAccountBalance")
def get_token_account_balance(ctx: Ctx, p: Params):
    pk = p.pubkey(0, "pubkey")
    check_common(p.method, p.config(1, set()), ctx.bank.slot)
    ta = _token_account(ctx, pk)
    dec = ctx.bank.decimals_of(ta.mint)
    if dec is None:
        raise InvalidParams("Invalid param: mint could not be unpacked")
    return encode.with_context(ctx.bank, tokens.ui_token_amount(ta.amount, dec))


def _mint(ctx: Ctx, pk: Pubkey) -> tokens.Mint:
    return _parsed(ctx, pk, tokens.parse_mint, "mint")


@method("getTokenSupply")
def get_token_supply(ctx: Ctx, p: Params):
    pk = p.pubkey(0, "mint")
    check_common(p.method, p.config(1, set()), ctx.bank.slot)
    m = _mint(ctx, pk)
    return encode.with_context(ctx.bank, tokens.ui_token_amount(m.supply, m.decimals))


@method("getTokenLargestAccounts")
def get_token_largest_accounts(ctx: Ctx, p: Params):
    pk = p.pubkey(0, "mint")
    check_common(p.method, p.config(1, set()), ctx.bank.slot)
    m = _mint(ctx, pk)
    bank = ctx.bank
    holders = []
    for key in bank.token_mint_index.get(str(pk), ()):
        acct = bank.get_account(Pubkey.from_string(key))
        ta = None if acct is None else tokens.parse_token_account(str(acct.owner), bytes(acct.data))
        if ta is not None:
            holders.append((ta.amount, key))
    holders.sort(key=lambda h: (-h[0], h[1]))
    return encode.with_context(
        bank, [dict(address=k, **tokens.ui_token_amount(a, m.decimals)) for a, k in holders[:20]]
    )
