"""Pure JSON-RPC request builders: each returns a `Request`, the solders request body and the solders response
type that parses its answer. No I/O here (chain/client.py sends them; chain/responses.py parses)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Optional, Sequence

from solders.account_decoder import UiAccountEncoding
from solders.commitment_config import CommitmentLevel
from solders.pubkey import Pubkey
from solders.rpc import responses as R
from solders.rpc.config import (RpcAccountInfoConfig, RpcContextConfig, RpcProgramAccountsConfig,
                                RpcRequestAirdropConfig, RpcSendTransactionConfig, RpcSignaturesForAddressConfig,
                                RpcSignatureStatusConfig, RpcSimulateTransactionConfig, RpcTransactionConfig)
from solders.rpc.filter import Memcmp
from solders.rpc import requests as Q
from solders.signature import Signature
from solders.transaction import Transaction, VersionedTransaction
from solders.transaction_status import UiTransactionEncoding

MAX_SIGNATURE_STATUSES = 256  # getSignatureStatuses' limit per call
MAX_MULTIPLE_ACCOUNTS = 100  # getMultipleAccounts' limit per call

_LEVELS = {"processed": CommitmentLevel.Processed, "confirmed": CommitmentLevel.Confirmed,
           "finalized": CommitmentLevel.Finalized}


@dataclass(frozen=True)
class Request:
    body: Any  # a solders.rpc.requests body (to_json)
    parser: type  # the solders.rpc.responses type of its answer (from_json)

    @property
    def method(self) -> str:
        return type(self.body).__name__


def commitment_level(commitment: str | CommitmentLevel) -> CommitmentLevel:
    if isinstance(commitment, CommitmentLevel):
        return commitment
    try:
        return _LEVELS[commitment.lower()]
    except KeyError:
        raise ValueError(f"unknown commitment {commitment!r} (processed, confirmed, finalized)") from None


def _account_config(commitment: CommitmentLevel) -> RpcAccountInfoConfig:
    return RpcAccountInfoConfig(UiAccountEncoding.Base64, commitment=commitment)


def get_account_info(pubkey: Pubkey, commitment: CommitmentLevel, id: int = 0) -> Request:
    return Request(Q.GetAccountInfo(pubkey, _account_config(commitment), id=id), R.GetAccountInfoResp)


def get_multiple_accounts(pubkeys: Sequence[Pubkey], commitment: CommitmentLevel, id: int = 0) -> Request:
    if len(pubkeys) > MAX_MULTIPLE_ACCOUNTS:
        raise ValueError(f"getMultipleAccounts takes at most {MAX_MULTIPLE_ACCOUNTS} keys, got {len(pubkeys)}")
    return Request(Q.GetMultipleAccounts(list(pubkeys), _account_config(commitment), id=id), R.GetMultipleAccountsResp)


def get_program_accounts(program_id: Pubkey, commitment: CommitmentLevel, *, memcmp: Sequence[tuple[int, bytes]] = (),
                         data_size: Optional[int] = None, id: int = 0) -> Request:
    """Accounts owned by `program_id`, filtered by (offset, bytes) matches and an exact data size."""
    filters: list[Any] = [Memcmp(off, base58(b)) for off, b in memcmp]
    if data_size is not None:
        filters.append(data_size)
    cfg = RpcProgramAccountsConfig(_account_config(commitment), filters=filters or None)
    return Request(Q.GetProgramAccounts(program_id, cfg, id=id), R.GetProgramAccountsResp)


def get_balance(pubkey: Pubkey, commitment: CommitmentLevel, id: int = 0) -> Request:
    return Request(Q.GetBalance(pubkey, RpcContextConfig(commitment), id=id), R.GetBalanceResp)


def get_latest_blockhash(commitment: CommitmentLevel, id: int = 0) -> Request:
    return Request(Q.GetLatestBlockhash(RpcContextConfig(commitment), id=id), R.GetLatestBlockhashResp)


def get_block_height(commitment: CommitmentLevel, id: int = 0) -> Request:
    return Request(Q.GetBlockHeight(RpcContextConfig(commitment), id=id), R.GetBlockHeightResp)


def get_slot(commitment: CommitmentLevel, id: int = 0) -> Request:
    return Request(Q.GetSlot(RpcContextConfig(commitment), id=id), R.GetSlotResp)


def get_genesis_hash(id: int = 0) -> Request:
    return Request(Q.GetGenesisHash(id=id), R.GetGenesisHashResp)


def get_minimum_balance_for_rent_exemption(size: int, commitment: CommitmentLevel, id: int = 0) -> Request:
    return Request(Q.GetMinimumBalanceForRentExemption(size, commitment, id=id),
                   R.GetMinimumBalanceForRentExemptionResp)


def get_signature_statuses(signatures: Sequence[Signature], id: int = 0) -> Request:
    if len(signatures) > MAX_SIGNATURE_STATUSES:
        raise ValueError(f"getSignatureStatuses takes at most {MAX_SIGNATURE_STATUSES} signatures, got {len(signatures)}")
    return Request(Q.GetSignatureStatuses(list(signatures), RpcSignatureStatusConfig(True), id=id),
                   R.GetSignatureStatusesResp)


def get_signatures_for_address(address: Pubkey, commitment: CommitmentLevel, *, before: Optional[Signature] = None,
                               until: Optional[Signature] = None, limit: int = 1000, id: int = 0) -> Request:
    cfg = RpcSignaturesForAddressConfig(before=before, until=until, limit=limit, commitment=commitment)
    return Request(Q.GetSignaturesForAddress(address, cfg, id=id), R.GetSignaturesForAddressResp)


def get_transaction(signature: Signature, commitment: CommitmentLevel, id: int = 0) -> Request:
    cfg = RpcTransactionConfig(UiTransactionEncoding.Json, commitment, 0)
    return Request(Q.GetTransaction(signature, cfg, id=id), R.GetTransactionResp)


def send_raw_transaction(tx: bytes, preflight_commitment: CommitmentLevel, *, skip_preflight: bool = False,
                         id: int = 0) -> Request:
    cfg = RpcSendTransactionConfig(skip_preflight=skip_preflight, preflight_commitment=preflight_commitment)
    return Request(Q.SendRawTransaction(bytes(tx), cfg, id=id), R.SendTransactionResp)


def simulate_transaction(tx: Transaction | VersionedTransaction, commitment: CommitmentLevel, id: int = 0) -> Request:
    """Simulate without checking signatures, on the node's newest blockhash (what a compute-unit estimate
    needs: the transaction need not be signed yet, nor its blockhash still valid)."""
    cfg = RpcSimulateTransactionConfig(sig_verify=False, replace_recent_blockhash=True, commitment=commitment)
    if isinstance(tx, VersionedTransaction):
        return Request(Q.SimulateVersionedTransaction(tx, cfg, id=id), R.SimulateTransactionResp)
    return Request(Q.SimulateLegacyTransaction(tx, cfg, id=id), R.SimulateTransactionResp)


def request_airdrop(pubkey: Pubkey, lamports: int, commitment: CommitmentLevel, id: int = 0) -> Request:
    return Request(Q.RequestAirdrop(pubkey, lamports, RpcRequestAirdropConfig(commitment=commitment), id=id),
                   R.RequestAirdropResp)


def batch_json(requests: Sequence[Request]) -> str:
    """One JSON-RPC batch of several requests (their ids must differ)."""
    return Q.batch_to_json([r.body for r in requests])


_B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


def base58(b: bytes) -> str:
    """Base58 of a short byte string (memcmp filters; solders encodes only 32-byte keys)."""
    n = int.from_bytes(b, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = _B58[r] + out
    return "1" * (len(b) - len(b.lstrip(b"\0"))) + out


def base58_decode(s: str) -> bytes:
    """The bytes of a base58 string (instruction data in a json-encoded transaction)."""
    n = 0
    for ch in s:
        i = _B58.find(ch)
        if i < 0:
            raise ValueError(f"{ch!r} is not a base58 digit")
        n = n * 58 + i
    body = n.to_bytes((n.bit_length() + 7) // 8, "big") if n else b""
    return b"\0" * (len(s) - len(s.lstrip("1"))) + body
