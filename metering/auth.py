"""Request signing: every ingest request carries the provider's ed25519 signature (its Solana key), and
every private read (GET) the reader's wallet signature, in the same scheme.

    message   = METHOD "\\n" PATH "\\n" TIMESTAMP_MS "\\n" hex(sha256(BODY))
              PATH is the path, plus "?" and the query string exactly as sent when there is one
              (`request_target`); a GET's BODY is empty
    headers   X-Solmeter-Pubkey     base58 public key of the signer
              X-Solmeter-Timestamp  unix milliseconds when signed
              X-Solmeter-Signature  base58 ed25519 signature of the message

A timestamp further than the freshness window from the meter's clock is stale; a signature already
seen within the window is a replay (ingest.py records signatures in the same transaction as the events;
reads are remembered in memory by metering/api/read_auth.py).
Any ed25519 tool can produce or check these signatures: it is plain ed25519 over the message bytes."""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Mapping

from solders.keypair import Keypair
from solders.pubkey import Pubkey
from solders.signature import Signature

H_PUBKEY = "X-Solmeter-Pubkey"
H_TIMESTAMP = "X-Solmeter-Timestamp"
H_SIGNATURE = "X-Solmeter-Signature"


class AuthError(Exception):
    """The request's signature is missing, malformed, stale, replayed or wrong (HTTP 401), or the signer
    is not a registered provider (HTTP 403)."""

    def __init__(self, field: str, reason: str, status: int = 401):
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
        self.status = status


def request_target(path: str, query: str = "") -> str:
    """What a signature covers of the URL: the path, and the raw query string exactly as sent (reads are
    told apart by it: a signature for `?customer=A` is not one for `?customer=B`)."""
    return f"{path}?{query}" if query else path


def canonical_message(method: str, path: str, timestamp_ms: int, body: bytes) -> bytes:
    return f"{method.upper()}\n{path}\n{timestamp_ms}\n{hashlib.sha256(body).hexdigest()}".encode()


def sign_request(keypair: Keypair, method: str, path: str, body: bytes, timestamp_ms: int) -> dict[str, str]:
    sig = keypair.sign_message(canonical_message(method, path, timestamp_ms, body))
    return {H_PUBKEY: str(keypair.pubkey()), H_TIMESTAMP: str(timestamp_ms), H_SIGNATURE: str(sig)}


@dataclass(frozen=True)
class SignedRequest:
    pubkey: str
    timestamp_ms: int
    signature: str


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
    if not ts_s.isdigit() or len(ts_s) > 16:
        raise AuthError(H_TIMESTAMP, "must be unix milliseconds")
    ts = int(ts_s)
    if abs(now_ms - ts) > max_age_ms:
        raise AuthError(H_TIMESTAMP, f"stale: {abs(now_ms - ts)} ms from the meter's clock (limit {max_age_ms} ms)")
    try:
        sig = Signature.from_string(sig_s)
    except ValueError:
        raise AuthError(H_SIGNATURE, "not a base58 ed25519 signature") from None
    if not sig.verify(pk, canonical_message(method, path, ts, body)):
        raise AuthError(H_SIGNATURE, "does not verify for this key, method, path, timestamp and body")
    return SignedRequest(str(pk), ts, str(sig))
