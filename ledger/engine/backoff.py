"""Exponential back-off with a cap, as a pure function of the number of consecutive failures."""
from __future__ import annotations


def backoff_ms(failures: int, *, base_ms: int = 500, cap_ms: int = 30_000) -> int:
    """0 after a success; base, 2*base, 4*base, ... up to cap after 1, 2, 3, ... consecutive failures."""
    if failures <= 0:
        return 0
    return min(cap_ms, base_ms << min(failures - 1, 30))
