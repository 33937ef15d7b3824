"""Transaction methods: send (with preflight), simulate, statuses, history, airdrop."""
from __future__ import annotations

import base64
import binascii

import based58
from solders.transaction import VersionedTransaction
from solders.transaction_metadata import FailedTransactionMetadata

from .. import txmeta
from ..bank import SignatureInvalid, TxRecord, TxRejected, first_signature
from . import encode
from .errors import (InvalidParams, PreflightFailure, SignatureVerificationFailure,
                     UnsupportedTransactionVersion)
from .params import (Params, account_encoding, check_common, max_version, parse_pubkey,
                     parse_signature, tx_encoding)
from .registry import Ctx, method

PACKET_DATA_SIZE = 1232
_MAX_ENCODED = {"base58": 1683, "base64": 1644}
_TX_TYPE = "solana_sdk::transaction::versioned::VersionedTransaction"
MEMO_PROGRAMS = ("MemoSq4gqABAXKb96qnH8TysNcWxMyWCqXgDLGmfcHr", "Memo1UhkJRfHyvLMcVucJwxXeuD728EqVDDwQDxFMNo")


def decode_transaction(method: str, encoded, encoding: str) -> tuple[VersionedTransaction, bytes]:
    """Decodes and sanitizes a wire transaction with the validator's limits and messages."""
    if not isinstance(encoded, str):
        raise InvalidParams(f"Invalid params for {method}: `transaction` (params[0]) must be a string")
    if encoding not in _MAX_ENCODED:
        raise InvalidParams(f"Invalid params for {method}: unsupported encoding: {encoding}. Supported encodings: base58, base64")
    max_enc = _MAX_ENCODED[encoding]
    if len(encoded) > max_enc:
        raise InvalidParams(
            f"{encoding} encoded {_TX_TYPE} too large: {len(encoded)} bytes (max: encoded/raw {max_enc}/{PACKET_DATA_SIZE})"
        )
    try:
        raw = base64.b64decode(encoded, validate=True) if encoding == "base64" else based58.b58decode(encoded.encode())
    except (binascii.Error, ValueError):
        raise InvalidParams(f"invalid {encoding} encoding: the transaction (params[0]) is not valid {encoding}") from None
    if len(raw) > PACKET_DATA_SIZE:
        raise InvalidParams(
            f"decoded {_TX_TYPE} too large: {len(raw)} bytes (max: {PACKET_DATA_SIZE} bytes)"
        )
    try:
        tx = VersionedTransaction.from_bytes(raw)
    except Exception as e:
        raise InvalidParams(f"failed to deserialize {_TX_TYPE}: {e}") from None
    if bytes(tx) != raw:
        raise InvalidParams(f"failed to deserialize {_TX_TYPE}: trailing bytes")
    try:
        tx.sanitize()
    except Exception:
        raise InvalidParams("invalid transaction: Transaction failed to sanitize accounts offsets correctly") from None
    if not tx.signatures:
        raise InvalidParams("invalid transaction: Transaction failed to sanitize accounts offsets correctly")
    return tx, raw


def _sim_error(err, logs=(), units=None, return_data=None) -> dict:
    return {"err": err, "logs": list(logs), "accounts": None, "unitsConsumed": units, "returnData": return_data,
            "innerInstructions": None, "replacementBlockhash": None}


@method("sendTransaction")
def send_transaction(ctx: Ctx, p: Params):
    cfg = p.config(1, {"encoding", "skipPreflight", "preflightCommitment", "maxRetries"})
    check_common(p.method, cfg, ctx.bank.slot)
    pc = cfg.get("preflightCommitment")
    if pc is not None:
        check_common(p.method, {"commitment": pc}, ctx.bank.slot)
    tx, raw = decode_transaction(p.method, p.get(0, "transaction"), cfg.get("encoding", "base58"))
    skip = bool(cfg.get("skipPreflight", False))
    bank = ctx.bank
    try:
        bank.verify_signatures(tx, raw)
    except SignatureInvalid:
        raise SignatureVerificationFailure() from None
    sig = first_signature(tx, raw)
    try:
        bank.process(tx, raw, preflight=not skip, sig=sig)
    except TxRejected as rej:
        raise PreflightFailure(
            f"Transaction simulation failed: {txmeta.error_text(rej.err)}",
            data=_sim_error(rej.err, rej.logs, rej.units, rej.return_data),
        ) from None
    return sig


@method("simulateTransaction")
def simulate_transaction(ctx: Ctx, p: Params):
    cfg = p.config(1, {"encoding", "sigVerify", "replaceRecentBlockhash", "accounts", "innerInstructions"})
    check_common(p.method, cfg, ctx.bank.slot)
    tx, raw = decode_transaction(p.method, p.get(0, "transaction"), cfg.get("encoding", "base58"))
    sig_verify = bool(cfg.get("sigVerify", False))
    replace = bool(cfg.get("replaceRecentBlockhash", False))
    if sig_verify and replace:
        raise InvalidParams("sigVerify may not be used with replaceRecentBlockhash")
    addrs_cfg = cfg.get("accounts")
    addresses, acct_enc = [], "base64"
    if addrs_cfg is not None:
        if not isinstance(addrs_cfg, dict) or not isinstance(addrs_cfg.get("addresses"), list):
            raise InvalidParams("Invalid params for simulateTransaction: `accounts` must be {addresses: [...], encoding}")
        addresses = [parse_pubkey(a, f"accounts.addresses[{i}]") for i, a in enumerate(addrs_cfg["addresses"])]
        acct_enc = account_encoding(p.method, addrs_cfg, "base64")
        if acct_enc in ("binary", "base58"):
            raise InvalidParams("Invalid params for simulateTransaction: accounts.encoding must be base64, base64+zstd or jsonParsed")
    bank = ctx.bank
    if sig_verify:
        try:
            bank.verify_signatures(tx, raw)
        except SignatureInvalid:
            raise SignatureVerificationFailure() from None
    replacement = None
    if replace:
        replacement = {"blockhash": bank.blockhash, "lastValidBlockHeight": bank.last_valid_block_height(bank.slot)}
    elif not bank.check_blockhash(tx.message):
        return encode.with_context(bank, _sim_error("BlockhashNotFound"))
    try:
        bank.resolve_keys(tx.message)
    except TxRejected as rej:
        return encode.with_context(bank, _sim_error(rej.err))
    result = bank.simulate(tx)
    if isinstance(result, FailedTransactionMetadata):
        meta = result.meta()
        err = txmeta.error_json(result)
        post = {}
    else:
        meta = result.meta()
        err = None
        post = {str(k): a for k, a in result.post_accounts()}
    accounts = None
    if addrs_cfg is not None:
        accounts = []
        for pk in addresses:
            a = post.get(str(pk)) if post else None
            if a is None and not err:
                a = bank.get_account(pk)
            accounts.append(None if a is None or a.lamports == 0 else encode.ui_account(bank, a, acct_enc))
    value = {
        "err": err,
        "logs": meta.logs(),
        "accounts": accounts,
        "unitsConsumed": meta.compute_units_consumed(),
        "returnData": txmeta.return_data_json(meta),
        "innerInstructions": txmeta.inner_instructions_json(meta.inner_instructions())
        if cfg.get("innerInstructions") else None,
        "replacementBlockhash": replacement,
    }
    return encode.with_context(bank, value)


@method("getSignatureStatuses")
def get_signature_statuses(ctx: Ctx, p: Params):
    sigs = p.get(0, "signatures")
    if not isinstance(sigs, list):
        raise InvalidParams("Invalid params for getSignatureStatuses: `signatures` (params[0]) must be an array")
    if len(sigs) > 256:
        raise InvalidParams("Too many inputs provided; max 256")
    parsed = [str(parse_signature(s, f"signatures[{i}]")) for i, s in enumerate(sigs)]
    p.config(1, {"searchTransactionHistory"})
    bank = ctx.bank
    out = []
    for s in parsed:
        rec = bank.history.get(s)
        out.append(None if rec is None else encode.signature_status(bank, rec))
    return encode.with_context(bank, out)


def _finalized_only(method: str, cfg: dict) -> None:
    if cfg.get("commitment") in ("processed", "recent"):
        raise InvalidParams("Method does not support commitment below `confirmed`")


@method("getTransaction")
def get_transaction(ctx: Ctx, p: Params):
    sig = str(parse_signature(p.get(0, "signature"), "signature (params[0])"))
    cfg = p.get(1, "config", None, allow_none=True)
    if isinstance(cfg, str):
        p = Params(p.method, [p.raw[0], {"encoding": cfg}])
    cfg = p.config(1, {"encoding", "maxSupportedTransactionVersion"})
    check_common(p.method, cfg, ctx.bank.slot)
    _finalized_only(p.method, cfg)
    enc = tx_encoding(p.method, cfg)
    mv = max_version(p.method, cfg)
    rec = ctx.bank.history.get(sig)
    if rec is None:
        return None
    if rec.version != "legacy" and (mv is None or rec.version > mv):
        raise UnsupportedTransactionVersion(
            f"Transaction version ({rec.version}) is not supported by the requesting client. Please try the request "
            f"again with the following configuration parameter: \"maxSupportedTransactionVersion\": {rec.version}"
        )
    return encode.confirmed_transaction(rec, enc, max_version=mv)


def _memo(rec: TxRecord):
    try:
        tx = VersionedTransaction.from_bytes(rec.raw)
    except Exception:
        return None
    memos = []
    for ix in tx.message.instructions:
        if rec.account_keys[ix.program_id_index] in MEMO_PROGRAMS:
            data = bytes(ix.data)
            text = data.decode("utf-8", errors="replace")
            memos.append(f"[{len(data)}] {text}")
    return "; ".join(memos) if memos else None


@method("getSignaturesForAddress")
def get_signatures_for_address(ctx: Ctx, p: Params):
    addr = str(p.pubkey(0, "address"))
    cfg = p.config(1, {"limit", "before", "until"})
    check_common(p.method, cfg, ctx.bank.slot)
    _finalized_only(p.method, cfg)
    limit = cfg.get("limit", 1000)
    if limit is None:
        limit = 1000
    if not isinstance(limit, int) or isinstance(limit, bool) or not 1 <= limit <= 1000:
        raise InvalidParams("Invalid limit; max 1000")
    before = cfg.get("before")
    until = cfg.get("until")
    before = str(parse_signature(before, "before")) if before is not None else None
    until = str(parse_signature(until, "until")) if until is not None else None
    recs = ctx.bank.signatures_for(addr, before=before, until=until, limit=limit)
    return [
        {"signature": r.signature, "slot": r.slot, "err": r.err, "memo": _memo(r), "blockTime": r.block_time,
         "confirmationStatus": "finalized"}
        for r in recs
    ]


@method("requestAirdrop")
def request_airdrop(ctx: Ctx, p: Params):
    to = p.pubkey(0, "pubkey")
    lamports = p.uint(1, "lamports")
    check_common(p.method, p.config(2, set()), ctx.bank.slot)
    if lamports == 0:
        raise InvalidParams("Invalid params for requestAirdrop: `lamports` must be greater than zero")
    try:
        rec = ctx.bank.airdrop(to, lamports)
    except TxRejected as rej:
        raise InvalidParams(f"airdrop request failed: {txmeta.error_text(rej.err)}") from None
    return rec.signature
