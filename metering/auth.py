"""Request signing, the meter's side: every ingest request carries the provider's ed25519 signature (its
Solana key), and every private read (GET) the reader's wallet signature, in the one scheme of
contracts/request_signing.py (message: method, path with the query as sent, timestamp, body hash;
X-Solmeter-Pubkey/-Timestamp/-Signature headers). This module verifies it.

A timestamp further than the freshness window from the meter's clock is stale; a signature already
seen within the window is a replay (ingest/service.py records signatures in the same transaction as the events;
reads are remembered in memory by metering/api/read_auth.py)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from solders.pubkey import Pubkey
from solders.signature import Signature

from contracts.request_signing import (  # noqa: F401 (the signing side, re-exported for the meter's users)
    H_PUBKEY, H_SIGNATURE, H_TIMESTAMP, canonical_message, request_target, sign_request)


class AuthError(Exception):
    """The request's signature is missing, malformed, stale, replayed or wrong (HTTP 401), or the signer
    is not a registered provider (HTTP 403)."""

    def __init__(self, field: str, reason: str, status: int = 401):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status


def ascii_uint(s: str, max_digits: int) -> int | None:
    """The value of a header made of ASCII digits only, else None. str.isdigit() alone accepts "²" (which
    int() refuses) and Arabic-Indic digits (which int() reads as numbers): neither is a header we accept."""
    if not s or len(s) > max_digits or not s.isascii() or not s.isdigit():
        return None
    return int(s)


@dataclass(frozen=True)
class SignedRequest:
    pubkey: str
    timestamp_ms: int
    signature: str
    evidence: str | None = None  # the X-Solmeter-Evidence header as sent (metering/evidence.py checks it)


def verify_request(headers: Mapping[str, str], method: str, path: str, body: bytes, now_ms: int,
                   max_age_ms: int) -> SignedRequest:
    """Check the signature headers (not replay: that needs the database). Raises AuthError."""
    def get(name: str) -> str:
        v = headers.get(name) or headers.get(name.lower())
        if not v:
            raise AuthError(name, "missing header")
        return v

    pk_s, ts_s, sig_s = get(H_PUBKEY), get(H_TIMESTAMP), get(H_SIGNATURE)
    try:
        pk = Pubkey.from_string(pk_s)
    except ValueError:
        raise AuthError(H_PUBKEY, "not a base58 public key") from None
    ts = ascii_uint(ts_s, 16)
    if ts is None:
        raise AuthError(H_TIMESTAMP, "must be unix milliseconds in ASCII digits 0-9")
    if abs(now_ms - ts) > max_age_ms:
        raise AuthError(H_TIMESTAMP, f"stale: {abs(now_ms - ts)} ms from the meter's clock (limit {max_age_ms} ms)")
    try:
        sig = Signature.from_string(sig_s)
    except ValueError:
        raise AuthError(H_SIGNATURE, "not a base58 ed25519 signature") from None
    if not sig.verify(pk, canonical_message(method, path, ts, body)):
        raise AuthError(H_SIGNATURE, "does not verify for this key, method, path, timestamp and body")
    return SignedRequest(str(pk), ts, str(sig))
