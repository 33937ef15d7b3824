"""How the dashboard's JSON shows amounts and times (the page only lays them out): amounts are exact
token strings in the mint's decimals beside the base units (as a string: a u64 does not fit a JS number),
times are unix milliseconds that the page shows in the viewer's local time with the UTC value on hover."""
from __future__ import annotations

from contracts.amounts import tokens as fmt


def amount(units: int, decimals: int) -> dict:
    return {"units": str(int(units)), "tokens": fmt(int(units), decimals)}


def at_s(unix_s: int | None) -> int | None:
    """A chain timestamp (seconds) as the page's milliseconds; 0 (never set) stays None."""
    return int(unix_s) * 1000 if unix_s else None
