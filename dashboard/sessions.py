"""Sign-in nonces and dashboard sessions, in the meter process's memory.

A nonce is issued for one address, is used once (consumed whether the sign-in then succeeds or not, so a
signature can never be replayed) and expires with its message. A session is a random bearer token (sent
as an HttpOnly, SameSite=Strict cookie) bound to one wallet and the roles that wallet had when it signed
in; it expires after `ttl_ms`. Sessions live in one process: behind several meter replicas a user signs in
again on the replica it reaches (nothing is lost, the wallet signs a new message).
"""
from __future__ import annotations

import secrets
import threading
from dataclasses import dataclass
from typing import Callable

NONCE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789"
MAX_PENDING = 10_000  # outstanding nonces; beyond it the oldest are dropped (a flood costs memory, not service)


def new_nonce() -> str:
    return "".join(secrets.choice(NONCE_ALPHABET) for _ in range(24))


@dataclass(frozen=True)
class Pending:
    address: str
    expires_ms: int


class Challenges:
    def __init__(self, clock: Callable[[], int]):
        self._clock = clock
        self._pending: dict[str, Pending] = {}
        self._lock = threading.Lock()

    def issue(self, address: str, ttl_ms: int) -> str:
        nonce = new_nonce()
        with self._lock:
            now = self._clock()
            for n in [n for n, p in self._pending.items() if p.expires_ms <= now]:
                del self._pending[n]
            while len(self._pending) >= MAX_PENDING:
                del self._pending[next(iter(self._pending))]
            self._pending[nonce] = Pending(address, now + ttl_ms)
        return nonce

    def consume(self, nonce: str, address: str) -> str | None:
        """None when the nonce is good for `address` (and it is now spent), else why not."""
        with self._lock:
            p = self._pending.pop(nonce, None)
        if p is None:
            return "unknown or already used nonce: ask for a new sign-in message"
        if p.address != address:
            return "this nonce was issued to another address"
        if p.expires_ms <= self._clock():
            return "the nonce has expired: ask for a new sign-in message"
        return None


@dataclass(frozen=True)
class Session:
    wallet: str
    roles: frozenset[str]
    expires_ms: int


class Sessions:
    def __init__(self, clock: Callable[[], int], ttl_ms: int):
        self._clock = clock
        self.ttl_ms = ttl_ms
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, wallet: str, roles: frozenset[str]) -> str:
        token = secrets.token_urlsafe(32)
        with self._lock:
            self._by_token[token] = Session(wallet, roles, self._clock() + self.ttl_ms)
        return token

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        with self._lock:
            s = self._by_token.get(token)
            if s is not None and s.expires_ms <= self._clock():
                del self._by_token[token]
                return None
            return s

    def close(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)
