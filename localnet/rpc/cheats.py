"""Cheat codes for tests, named as Surfpool names them; refused (-32601) unless the node runs with cheats on."""
from __future__ import annotations

from solders.account import Account
from solders.pubkey import Pubkey

from .. import tokens
from ..genesis import decode_data
from .chain import epoch_info
from .errors import InvalidParams
from .params import Params, parse_pubkey
from .registry import Ctx, method


def _u64(v, what: str) -> int:
    if not isinstance(v, int) or isinstance(v, bool) or not 0 <= v < 2**64:
        raise InvalidParams(f"Invalid params: `{what}` must be a u64")
    return v


@method("surfnet_setAccount", cheat=True)
def set_account(ctx: Ctx, p: Params):
    """params: [pubkey, {lamports?, data? (hex, or [blob, encoding]), owner?, executable?, rentEpoch?}]"""
    pk = p.pubkey(0, "pubkey")
    upd = p.get(1, "update")
    if not isinstance(upd, dict):
        raise InvalidParams("Invalid params for surfnet_setAccount: `update` (params[1]) must be an object")
    unknown = set(upd) - {"lamports", "data", "owner", "executable", "rentEpoch"}
    if unknown:
        raise InvalidParams(f"Invalid params for surfnet_setAccount: unknown field `{sorted(unknown)[0]}`")
    cur = ctx.bank.get_account(pk) or Account(0, b"", Pubkey.from_string("11111111111111111111111111111111"))
    data = bytes(cur.data)
    if "data" in upd:
        d = upd["data"]
        try:
            data = bytes.fromhex(d) if isinstance(d, str) else decode_data(d[0], d[1])
        except (ValueError, TypeError, IndexError):
            raise InvalidParams("Invalid params for surfnet_setAccount: `data` must be hex or [blob, encoding]") from None
    lamports = _u64(upd.get("lamports", cur.lamports), "lamports")
    owner = parse_pubkey(upd["owner"], "owner") if "owner" in upd else cur.owner
    executable = upd.get("executable", cur.executable)
    if not isinstance(executable, bool):
        raise InvalidParams("Invalid params for surfnet_setAccount: `executable` must be a boolean")
    rent_epoch = _u64(upd.get("rentEpoch", cur.rent_epoch), "rentEpoch")
    try:
        ctx.bank.set_account(pk, Account(lamports, data, owner, executable, rent_epoch))
    except Exception as e:  # LiteSVM refuses e.g. an executable account whose program does not load
        raise InvalidParams(f"Invalid params for surfnet_setAccount: LiteSVM refused the account: {e}") from None
    return {"context": {"slot": ctx.bank.slot}, "value": None}


@method("surfnet_setTokenAccount", cheat=True)
def set_token_account(ctx: Ctx, p: Params):
    """params: [owner, mint, {amount?, delegate?, state?, delegatedAmount?, closeAuthority?}, tokenProgram?]

    Writes the owner's associated token account for the mint (creating it rent-exempt if missing)."""
    from spl.token.instructions import get_associated_token_address  # local: spl costs ~0.3 s at start

    owner = p.pubkey(0, "owner")
    mint = p.pubkey(1, "mint")
    upd = p.get(2, "update", {}, allow_none=True)
    if not isinstance(upd, dict):
        raise InvalidParams("Invalid params for surfnet_setTokenAccount: `update` (params[2]) must be an object")
    unknown = set(upd) - {"amount", "delegate", "state", "delegatedAmount", "closeAuthority"}
    if unknown:
        raise InvalidParams(f"Invalid params for surfnet_setTokenAccount: unknown field `{sorted(unknown)[0]}`")
    program = Pubkey.from_string(p.get(3, "tokenProgram", tokens.TOKEN_PROGRAM, allow_none=True))
    if str(program) not in tokens.TOKEN_PROGRAMS:
        raise InvalidParams("Invalid params for surfnet_setTokenAccount: `tokenProgram` is not a token program")
    if ctx.bank.decimals_of(str(mint)) is None:
        raise InvalidParams(f"Invalid params for surfnet_setTokenAccount: mint {mint} does not exist")
    ata = get_associated_token_address(owner, mint, program)
    cur_acct = ctx.bank.get_account(ata)
    cur = tokens.parse_token_account(str(program), bytes(cur_acct.data)) if cur_acct else None
    states = {"uninitialized": 0, "initialized": 1, "frozen": 2}
    state = upd.get("state", tokens._STATES.get(cur.state, "initialized") if cur else "initialized")
    if state not in states:
        raise InvalidParams("Invalid params for surfnet_setTokenAccount: `state` must be initialized or frozen")

    def opt_pk(name: str, current):
        if name not in upd:
            return Pubkey.from_string(current) if current else None
        return parse_pubkey(upd[name], name) if upd[name] is not None else None

    data = tokens.encode_token_account(
        mint,
        owner,
        _u64(upd.get("amount", cur.amount if cur else 0), "amount"),
        delegate=opt_pk("delegate", cur.delegate if cur else None),
        state=states[state],
        delegated_amount=_u64(upd.get("delegatedAmount", cur.delegated_amount if cur else 0), "delegatedAmount"),
        close_authority=opt_pk("closeAuthority", cur.close_authority if cur else None),
    )
    lamports = cur_acct.lamports if cur_acct else ctx.bank.svm.minimum_balance_for_rent_exemption(len(data))
    ctx.bank.set_account(ata, Account(lamports, data, program, False, 0))
    return {"context": {"slot": ctx.bank.slot}, "value": None}


@method("surfnet_timeTravel", cheat=True)
def time_travel(ctx: Ctx, p: Params):
    """params: [{absoluteSlot | absoluteEpoch | absoluteTimestamp (ms) | relativeSeconds | relativeSlots}]"""
    cfg = p.get(0, "config")
    keys = {"absoluteSlot", "absoluteEpoch", "absoluteTimestamp", "relativeSeconds", "relativeSlots"}
    if not isinstance(cfg, dict) or len(cfg) != 1 or not set(cfg) <= keys:
        raise InvalidParams(f"Invalid params for surfnet_timeTravel: params[0] must hold exactly one of {sorted(keys)}")
    kind, v = next(iter(cfg.items()))
    v = _u64(v, kind)
    bank = ctx.bank
    try:
        if kind == "absoluteSlot":
            bank.time_travel(slot=v)
        elif kind == "relativeSlots":
            bank.time_travel(slot=bank.slot + max(1, v))
        elif kind == "absoluteEpoch":
            bank.time_travel(epoch=v)
        elif kind == "absoluteTimestamp":
            bank.time_travel(timestamp=v // 1000)
        else:
            bank.time_travel(seconds=v)
    except ValueError as e:
        raise InvalidParams(f"Invalid params for surfnet_timeTravel: {e}") from None
    return epoch_info(ctx, ctx.bank.slot)
