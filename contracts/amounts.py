"""Token amounts as text: base units (the integers the chain holds) written as an exact decimal token amount.
No floats anywhere; imports nothing, so a library (the auditor) and the CLI show amounts alike."""
from __future__ import annotations


def tokens(units: int, decimals: int) -> str:
    """Base units as a token amount, exactly ("25.500000")."""
    sign = "-" if units < 0 else ""
    q, r = divmod(abs(int(units)), 10**decimals)
    return f"{sign}{q}.{r:0{decimals}d}" if decimals else f"{sign}{q}"
