"""The pricing rules, pure: the versioned price book (its file and hash), cumulative line items, the rounding
rule, and the canonical JSON a receipt's detail is hashed as. One implementation in the bottom layer: the meter
prices receipts with it (metering.rollup.pricing, metering.receipts) and the auditor checks them with it.

amount(line) = segment_base_amount + (cumulative - segment_base_quantity) * unit_price // per

A segment starts whenever the price of a line changes (a new price-book version): the amount owed up to
that point is frozen into the segment base. Within a segment the amount is a function of the CUMULATIVE
quantity only, so no rounding error accumulates however many receipts are issued.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any, Mapping

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


def _price_table(family: str, table: Any) -> dict[str, Price]:
    """One family's {class: {unit_price, per}}; an error names the entry (`storage.STANDARD: ...`)."""
    if not isinstance(table, Mapping):
        raise ValueError(f"malformed price book: {family} must be a table of {{class: {{unit_price, per}}}}")
    out = {}
    for c, p in table.items():
        where = f"malformed price book: {family}.{c}"
        if not isinstance(p, Mapping):
            raise ValueError(f"{where} must be {{unit_price: INTEGER, per: INTEGER}}")
        missing = [k for k in ("unit_price", "per") if k not in p]
        if missing:
            raise ValueError(f"{where}: missing key {missing[0]!r}")
        try:
            out[str(c)] = Price(p["unit_price"], p["per"])
        except ValueError as e:
            raise ValueError(f"{where}: {e} (base units per `per` units of quantity), got {p!r}") from None
    return out


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

    def file_bytes(self) -> bytes:
        """The price book file: the canonical JSON the meter publishes (GET /v1/price-books/{version}), an
        auditor keeps, and whose sha256 the admin commits on-chain (publish_price_book)."""
        return self.to_json().encode()

    def sha256(self) -> bytes:
        return hashlib.sha256(self.file_bytes()).digest()

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "PriceBook":
        if "version" not in d:
            raise ValueError("malformed price book: missing key 'version' (a positive integer, above the last one)")
        version = d["version"]
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            raise ValueError("version must be a positive integer")
        extra = set(d) - {"version", "gpu", "storage", "egress"}
        if extra:
            raise ValueError(f"unknown key {sorted(extra)[0]!r}")
        tables = {fam: _price_table(fam, d.get(fam) or {}) for fam in ("gpu", "storage", "egress")}
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


def canonical_json(obj: Any) -> str:
    """The canonical JSON of a receipt's detail (sorted keys, no spaces, ASCII): what detail_hash hashes."""
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def detail_hash(detail_json: str) -> bytes:
    return hashlib.sha256(detail_json.encode()).digest()
