"""How a request to the meter's HTTP API is signed: the one rule, shared by everyone who signs (provider
agents' ingest, customers', providers', operators' and auditors' private reads) and by the meter, which
verifies it (metering/auth.py). It lives in this bottom layer because the auditor signs too and must not
depend on the meter's package.

    message   = METHOD "\\n" TARGET "\\n" TIMESTAMP_MS "\\n" hex(sha256(BODY))
              TARGET is the path, plus "?" and the query string exactly as sent when there is one;
              a GET's BODY is empty
    headers   X-Solmeter-Pubkey / -Timestamp / -Signature (base58 key, unix ms, base58 ed25519 signature)

Plain ed25519 over the message bytes: any ed25519 tool can produce or check it."""
from __future__ import annotations

import hashlib
import threading
from typing import Any, Callable, Mapping
from urllib.parse import urlencode

from solders.keypair import Keypair

H_PUBKEY = "X-Solmeter-Pubkey"
H_TIMESTAMP = "X-Solmeter-Timestamp"
H_SIGNATURE = "X-Solmeter-Signature"


def request_target(path: str, query: str = "") -> str:
    """What a signature covers of the URL: the path, and the raw query string exactly as sent (reads are
    told apart by it: a signature for `?customer=A` is not one for `?customer=B`)."""
    return f"{path}?{query}" if query else path


def canonical_message(method: str, path: str, timestamp_ms: int, body: bytes) -> bytes:
    return f"{method.upper()}\n{path}\n{timestamp_ms}\n{hashlib.sha256(body).hexdigest()}".encode()


def sign_request(keypair: Keypair, method: str, path: str, body: bytes, timestamp_ms: int) -> dict[str, str]:
    sig = keypair.sign_message(canonical_message(method, path, timestamp_ms, body))
    return {H_PUBKEY: str(keypair.pubkey()), H_TIMESTAMP: str(timestamp_ms), H_SIGNATURE: str(sig)}


def encode_query(params: Mapping[str, Any] | None) -> str:
    """None values left out, booleans as true/false (what the API parses), everything else as str()."""
    items = [(k, ("true" if v else "false") if isinstance(v, bool) else str(v))
             for k, v in (params or {}).items() if v is not None]
    return urlencode(items)


class ReadSigner:
    """Signs GETs as one wallet. Each gets a timestamp above the previous one, so two identical reads
    within a millisecond still carry different signatures (the meter refuses a signature it has seen)."""

    def __init__(self, keypair: Keypair | None, clock: Callable[[], int]):
        self.keypair = keypair
        self.clock = clock
        self._last_ms = 0
        self._lock = threading.Lock()

    def _timestamp(self) -> int:
        with self._lock:
            self._last_ms = max(self.clock(), self._last_ms + 1)
            return self._last_ms

    def sign_get(self, path: str, params: Mapping[str, Any] | None = None) -> tuple[str, dict[str, str]]:
        """(the target to request, exactly as signed; its headers: none without a keypair)."""
        target = request_target(path, encode_query(params))
        if self.keypair is None:
            return target, {}
        return target, sign_request(self.keypair, "GET", target, b"", self._timestamp())
