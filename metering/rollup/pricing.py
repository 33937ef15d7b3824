"""Versioned price book and cumulative line items: the rules live in contracts/pricing.py (one implementation,
shared with the auditor); this module adds the meter's event families and re-exports them.
"""
from __future__ import annotations

from contracts.pricing import (DEFAULT_PRICE_BOOK, GIB, HOUR_MS, MONTH_S, UNITS, WILDCARD, Line, Price,
                               PriceBook, line_amount, price_lines)

from .usage import EGRESS, GPU_HEARTBEAT, STORAGE_SAMPLE

FAMILY_NAMES = {GPU_HEARTBEAT: "gpu", STORAGE_SAMPLE: "storage", EGRESS: "egress"}
FAMILY_BY_NAME = {v: k for k, v in FAMILY_NAMES.items()}

__all__ = ["DEFAULT_PRICE_BOOK", "FAMILY_BY_NAME", "FAMILY_NAMES", "GIB", "HOUR_MS", "MONTH_S", "UNITS", "WILDCARD",
           "Line", "Price", "PriceBook", "line_amount", "price_lines"]
