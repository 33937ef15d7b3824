"""Client side of signed reads: GETs of the meter API signed by the reader's wallet key (metering/auth.py).

The query string is encoded here once and sent exactly as signed. Each request gets a timestamp above
the previous one, so two identical reads within a millisecond still carry different signatures (the meter
refuses a signature it has seen: see metering/api/read_auth.py)."""
from __future__ import annotations

import threading
import time
from typing import Any, Callable, Mapping, Optional
from urllib.parse import urlencode

import httpx
from solders.keypair import Keypair

from .auth import request_target, sign_request


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


def encode_query(params: Mapping[str, Any] | None) -> str:
    """None values left out, booleans as true/false (what the API parses), everything else as str()."""
    items = [(k, ("true" if v else "false") if isinstance(v, bool) else str(v))
             for k, v in (params or {}).items() if v is not None]
    return urlencode(items)


class SignedReader:
    """`keypair` None: unsigned GETs (public routes only). `http`: an httpx.Client (or FastAPI's TestClient)
    to use instead of one built from `base_url`."""

    def __init__(self, base_url: str = "", keypair: Optional[Keypair] = None, *, http: httpx.Client | None = None,
                 clock: Callable[[], int] = wall_clock_ms, timeout_s: float = 30.0):
        self.keypair = keypair
        self.clock = clock
        self.http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self._last_ms = 0
        self._lock = threading.Lock()

    def _timestamp(self) -> int:
        with self._lock:
            self._last_ms = max(self.clock(), self._last_ms + 1)
            return self._last_ms

    def signed_headers(self, target: str) -> dict[str, str]:
        if self.keypair is None:
            return {}
        return sign_request(self.keypair, "GET", target, b"", self._timestamp())

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> httpx.Response:
        """Raises httpx.HTTPError when the meter cannot be reached."""
        target = request_target(path, encode_query(params))
        return self.http.get(target, headers=self.signed_headers(target))

    def close(self) -> None:
        self.http.close()
