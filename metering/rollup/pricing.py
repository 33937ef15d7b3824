"""Versioned price book and cumulative line items.

amount(line) = segment_base_amount + (cumulative - segment_base_quantity) * unit_price // per

A segment starts whenever the price of a line changes (a new price-book version): the amount owed up to
that point is frozen into the segment base. Within a segment the amount is a function of the CUMULATIVE
quantity only, so no rounding error accumulates however many receipts are issued.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

from .usage import EGRESS, GPU_HEARTBEAT, STORAGE_SAMPLE

FAMILY_NAMES = {GPU_HEARTBEAT: "gpu", STORAGE_SAMPLE: "storage", EGRESS: "egress"}
FAMILY_BY_NAME = {v: k for k, v in FAMILY_NAMES.items()}
UNITS = {"gpu": "gpu_ms", "storage": "byte_seconds", "egress": "bytes"}
WILDCARD = "*"

HOUR_MS = 3_600_000
GIB = 1 << 30
MONTH_S = 30 * 86_400


@dataclass(frozen=True)
class Price:
    unit_price: int  # token base units ...
    per: int  # ... per this many quantity units (GPU-ms, byte-seconds, bytes)

    def __post_init__(self) -> None:
        if not (isinstance(self.unit_price, int) and 0 <= self.unit_price < 1 << 64):
            raise ValueError("unit_price must be an integer in 0..2^64-1")
        if not (isinstance(self.per, int) and 1 <= self.per < 1 << 128):
            raise ValueError("per must be a positive integer")


@dataclass(frozen=True)
class PriceBook:
    version: int
    gpu: Mapping[str, Price] = field(default_factory=dict)
    storage: Mapping[str, Price] = field(default_factory=dict)
    egress: Mapping[str, Price] = field(default_factory=dict)

    def price(self, family: str, rclass: str) -> Price | None:
        table: Mapping[str, Price] = getattr(self, family)
        return table.get(rclass) or table.get(WILDCARD)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True, separators=(",", ":"))

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PriceBook":
        try:
            version = d["version"]
            if not isinstance(version, int) or version < 1:
                raise ValueError("version must be a positive integer")
            tables = {}
            for fam in ("gpu", "storage", "egress"):
                tables[fam] = {str(c): Price(p["unit_price"], p["per"]) for c, p in (d.get(fam) or {}).items()}
            extra = set(d) - {"version", "gpu", "storage", "egress"}
            if extra:
                raise ValueError(f"unknown key {sorted(extra)[0]!r}")
        except (KeyError, TypeError) as e:
            raise ValueError(f"malformed price book: {e}") from None
        return cls(version, **tables)

    @classmethod
    def from_json(cls, s: str) -> "PriceBook":
        return cls.from_dict(json.loads(s))


DEFAULT_PRICE_BOOK = PriceBook(
    version=1,
    gpu={"H100": Price(2_500_000, HOUR_MS), "A100": Price(1_500_000, HOUR_MS), "L40S": Price(900_000, HOUR_MS),
         "RTX4090": Price(400_000, HOUR_MS), WILDCARD: Price(1_000_000, HOUR_MS)},
    storage={"STANDARD": Price(20_000, GIB * MONTH_S), "ARCHIVE": Price(4_000, GIB * MONTH_S),
             WILDCARD: Price(20_000, GIB * MONTH_S)},
    egress={WILDCARD: Price(50_000, GIB)},
)


@dataclass(frozen=True)
class Line:
    """One resource class of a channel, cumulative since the channel's first receipt."""

    family: str  # gpu | storage | egress
    rclass: str
    cumulative: int  # GPU-ms | byte-seconds | bytes
    quantity: int  # this period's on-time usage
    adjustment: int  # usage of earlier, already sealed windows that arrived late
    unit_price: int
    per: int
    price_version: int
    segment_base_quantity: int
    segment_base_amount: int
    amount: int  # cumulative amount owed for this line
    unpriced: bool = False

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["unit"] = UNITS[self.family]
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "Line":
        return cls(**{k: d[k] for k in cls.__dataclass_fields__})


def line_amount(base_amount: int, base_q: int, cumulative: int, unit_price: int, per: int) -> int:
    return base_amount + (cumulative - base_q) * unit_price // per


def price_lines(prev: Mapping[tuple[str, str], Line], cumulative: Mapping[tuple[str, str], int],
                period: Mapping[tuple[str, str], int], book: PriceBook) -> list[Line]:
    """New cumulative lines from the previous receipt's lines and the new cumulative quantities.

    Every previous line is carried (a cumulative receipt never forgets a class). Quantities never go
    down: a late event that would lower a total (e.g. a late stop) leaves it where it was, so the
    cumulative amount stays monotone, as settlement requires. `period` is this period's on-time usage;
    whatever else changed the cumulative is the adjustment (late usage of sealed windows)."""
    out = []
    for key in sorted(set(prev) | set(cumulative)):
        family, rclass = key
        p = prev.get(key)
        prev_q = p.cumulative if p else 0
        cum = max(prev_q, cumulative.get(key, prev_q))
        price = book.price(family, rclass)
        unit_price, per, unpriced = (price.unit_price, price.per, False) if price else (0, 1, True)
        if p is None:
            base_q, base_amount = 0, 0
        elif (p.unit_price, p.per) != (unit_price, per):
            base_q, base_amount = p.cumulative, p.amount  # new price segment from here on
        else:
            base_q, base_amount = p.segment_base_quantity, p.segment_base_amount
        version = book.version if (p is None or (p.unit_price, p.per) != (unit_price, per)) else p.price_version
        q = min(period.get(key, 0), cum - prev_q)
        out.append(Line(family, rclass, cum, q, cum - prev_q - q, unit_price, per, version, base_q, base_amount,
                        line_amount(base_amount, base_q, cum, unit_price, per), unpriced))
    return out
