"""Client side of signed reads over httpx: GETs of the meter API signed by the reader's wallet key
(contracts/request_signing.ReadSigner: the query encoded once and sent exactly as signed, timestamps
strictly increasing)."""
from __future__ import annotations

import time
from typing import Any, Callable, Mapping, Optional

import httpx
from solders.keypair import Keypair

from contracts.request_signing import ReadSigner


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class SignedReader:
    """`keypair` None: unsigned GETs (public routes only). `http`: an httpx.Client (or FastAPI's TestClient)
    to use instead of one built from `base_url`."""

    def __init__(self, base_url: str = "", keypair: Optional[Keypair] = None, *, http: httpx.Client | None = None,
                 clock: Callable[[], int] = wall_clock_ms, timeout_s: float = 30.0):
        self.signer = ReadSigner(keypair, clock)
        self.http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        """Raises httpx.HTTPError when the meter cannot be reached."""
        target, headers = self.signer.sign_get(path, params)
        return self.http.get(target, headers=headers)

    def close(self) -> None:
        self.http.close()
