"""Pricing and quantities recomputed from a receipt's line-item detail and the published price books. Pure.

The detail is bound to the signed receipt by `detail_hash` = sha256 of its canonical JSON (the meter's own
`contracts.pricing.canonical_json`); its lines are the meter's `contracts.pricing.Line`, and each line's
amount follows from its quantity and the price of the book version it names by the meter's own rule
(`line_amount`: one implementation, imported, never copied). A price book counts only when its file hashes to
the sha256 the admin committed on-chain for that version (PriceBook account, publish_price_book).
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from typing import Annotated, Any, Callable, Literal, Mapping, Sequence

import msgspec
from msgspec.structs import astuple
from solders.hash import Hash

from contracts.receipt import Receipt
from contracts.pricing import Line, PriceBook, canonical_json, line_amount

from .result import Check, failed, passed, pending, verdict

_SHOW = 3
_QUANTITY_OF = {"gpu": "cum_gpu_ms", "storage": "cum_byte_seconds", "egress": "cum_egress_bytes"}


@dataclass(frozen=True)
class BookOnRecord:
    """A price book version as the auditor established it: `book` when its file hashes to the on-chain
    commitment; otherwise `problem` says why, and `failed` whether that is a failure (a file that does not
    match what is on-chain) or only not verifiable (no file served, nothing committed)."""

    version: int
    book: PriceBook | None
    problem: str = ""
    failed: bool = False


def book_on_record(version: int, file: bytes | None, onchain_sha256: bytes | None) -> BookOnRecord:
    if onchain_sha256 is None:
        return BookOnRecord(version, None, f"price book v{version} is not committed on-chain (no PriceBook account)")
    if file is None:
        return BookOnRecord(version, None, f"the file of price book v{version} was not served")
    got = hashlib.sha256(file).digest()
    if got != bytes(onchain_sha256):
        return BookOnRecord(version, None, f"the served file of price book v{version} hashes to {got.hex()[:16]}…, "
                                           f"the chain committed {bytes(onchain_sha256).hex()[:16]}…", failed=True)
    try:
        book = PriceBook.from_json(file.decode())
    except (ValueError, UnicodeDecodeError) as e:
        return BookOnRecord(version, None, f"price book v{version} committed on-chain is not a price book: {e}",
                            failed=True)
    if book.version != version:
        return BookOnRecord(version, None, f"the file committed as price book v{version} says version "
                                           f"{book.version}", failed=True)
    return BookOnRecord(version, book)


Books = Callable[[int], BookOnRecord]


def parse_lines(detail: Mapping[str, Any]) -> list[Line]:
    """The detail's lines as the meter's Line values (ValueError naming what is malformed)."""
    raw = detail.get("lines")
    if not isinstance(raw, list):
        raise ValueError("detail.lines is not a list")
    out = []
    for i, d in enumerate(raw):
        try:
            ln = Line.from_dict(d)
        except (KeyError, TypeError) as e:
            raise ValueError(f"detail.lines[{i}] is malformed ({e})") from None
        ints = (ln.cumulative, ln.quantity, ln.adjustment, ln.unit_price, ln.per, ln.price_version,
                ln.segment_base_quantity, ln.segment_base_amount, ln.amount)
        if not all(isinstance(x, int) and not isinstance(x, bool) for x in ints) or ln.per <= 0:
            raise ValueError(f"detail.lines[{i}] has a non-integer amount, quantity or price")
        if ln.family not in _QUANTITY_OF:
            raise ValueError(f"detail.lines[{i}] has an unknown family {ln.family!r}")
        out.append(ln)
    return out


def detail_text(detail: Any, detail_json: str | None) -> tuple[bytes | None, Any]:
    """The bytes to hash and the detail object: the served JSON text as is when there is one (what the meter
    hashed), else the canonical JSON of the served object (the meter's canonical_json)."""
    if detail_json is not None:
        try:
            return detail_json.encode(), json.loads(detail_json)
        except ValueError:
            return detail_json.encode(), None
    if detail is None:
        return None, None
    return canonical_json(detail).encode(), detail


def verify_detail(receipt: Receipt, detail: Any, books: Books | None,
                  detail_json: str | None = None) -> tuple[list[Check], list[Line] | None]:
    """The checks of one receipt's detail, and its lines when the detail is bound to the receipt (for the
    segment check against the next receipt). `books` None: prices are not checked (not asked)."""
    text, detail = detail_text(detail, detail_json)
    if text is None:
        return [pending("receipt.detail", "no line-item detail was served: amounts and prices not recomputed")], None
    digest = hashlib.sha256(text).digest()
    if digest == bytes(receipt.detail_hash) and not isinstance(detail, Mapping):
        return [failed("receipt.detail", "the detail is not a JSON object")], None
    if digest != bytes(receipt.detail_hash):
        return [failed("receipt.detail_hash", f"sha256 of the served detail is {digest.hex()[:16]}…, the signed "
                                              f"receipt says {bytes(receipt.detail_hash).hex()[:16]}…")], None
    out = [passed("receipt.detail_hash", "sha256 of the served detail's canonical JSON is the signed detail_hash")]
    want = {"program_id": str(receipt.program_id), "config_version": receipt.config_version,
            "customer": str(receipt.customer), "provider": str(receipt.provider), "seq": receipt.seq,
            "period_start": receipt.period_start, "period_end": receipt.period_end}
    wrong = [k for k, v in want.items() if detail.get(k) != v]
    out.append(verdict("receipt.detail_fields", not wrong, "the detail names this receipt's channel, seq and period",
                       f"the detail disagrees with the receipt on {', '.join(wrong)}"))
    try:
        lines = parse_lines(detail)
    except ValueError as e:
        return out + [failed("receipt.lines", str(e))], None
    out.append(check_lines_total(receipt, lines))
    out.append(check_line_amounts(lines))
    if books is not None:
        out.extend(check_prices(detail.get("price_book_version"), lines, books))
    return out, lines


def check_lines_total(receipt: Receipt, lines: Sequence[Line]) -> Check:
    """The lines add up to the signed cumulative amount and to each signed cumulative quantity."""
    sums = {"cum_amount": sum(ln.amount for ln in lines)}
    for fam, field in _QUANTITY_OF.items():
        sums[field] = sum(ln.cumulative for ln in lines if ln.family == fam)
    wrong = [f"{f}: lines {v}, receipt {getattr(receipt, f)}" for f, v in sums.items() if getattr(receipt, f) != v]
    return verdict("receipt.lines_total", not wrong,
                   f"{len(lines)} line(s) add up to the cumulative amount {receipt.cum_amount} and quantities",
                   "the lines do not add up to what was signed: " + "; ".join(wrong))


def check_line_amounts(lines: Sequence[Line]) -> Check:
    """Each line's amount follows from its quantity and price by the meter's rule (contracts.pricing)."""
    bad = []
    for ln in lines:
        want = line_amount(ln.segment_base_amount, ln.segment_base_quantity, ln.cumulative, ln.unit_price, ln.per)
        if ln.amount != want or ln.segment_base_quantity > ln.cumulative:
            bad.append(f"{ln.family}/{ln.rclass}: amount {ln.amount}, its quantity and price give {want}")
    return verdict("receipt.line_amounts", not bad,
                   "each line's amount = segment base + (cumulative - segment base quantity) x unit price / per, "
                   "rounded down", "; ".join(bad[:_SHOW]))


def check_prices(book_version: Any, lines: Sequence[Line], books: Books) -> list[Check]:
    """Every price cited is that of a price book on the record (file hash = on-chain commitment)."""
    if not isinstance(book_version, int) or isinstance(book_version, bool):
        return [failed("receipt.price_book", "the detail names no price book version")]
    versions = sorted({book_version} | {ln.price_version for ln in lines})
    resolved = {v: books(v) for v in versions}
    failures = [r.problem for r in resolved.values() if r.book is None and r.failed]
    missing = [r.problem for r in resolved.values() if r.book is None and not r.failed]
    later = [ln.price_version for ln in lines if ln.price_version > book_version]
    if failures or later:
        msg = failures + [f"a line cites price book v{v}, newer than the receipt's v{book_version}" for v in later]
        return [failed("receipt.price_book", "; ".join(msg[:_SHOW]))]
    if missing:
        return [pending("receipt.price_book", "; ".join(missing[:_SHOW]))]
    out = [passed("receipt.price_book", f"price book version(s) {', '.join(f'v{v}' for v in versions)} are on the "
                                        "record: each file hashes to its on-chain commitment")]
    bad = []
    for ln in lines:
        p = resolved[ln.price_version].book.price(ln.family, ln.rclass)
        want = (0, 1, True) if p is None else (p.unit_price, p.per, False)
        if (ln.unit_price, ln.per, ln.unpriced) != want:
            bad.append(f"{ln.family}/{ln.rclass} priced {ln.unit_price}/{ln.per}, price book v{ln.price_version} "
                       f"says {want[0]}/{want[1]}")
    out.append(verdict("receipt.prices", not bad, "every line is priced as its price book version says",
                       "; ".join(bad[:_SHOW])))
    return out


def check_segments(prev: Sequence[Line] | None, cur: Sequence[Line]) -> list[str]:
    """The segment bases of `cur` follow from the previous receipt's lines (the meter's price_lines rule): a
    line whose price did not change keeps its segment base; one whose price changed starts a segment at the
    previous cumulative and amount; a new line starts at zero. A previous line is never dropped. Returns the
    problems (empty when consistent)."""
    before = {(ln.family, ln.rclass): ln for ln in (prev or ())}
    now = {(ln.family, ln.rclass): ln for ln in cur}
    out = [f"{f}/{c} was dropped" for f, c in before if (f, c) not in now]
    for key, ln in now.items():
        p = before.get(key)
        if p is None:
            want = (0, 0)
        elif (p.unit_price, p.per) == (ln.unit_price, ln.per):
            want = (p.segment_base_quantity, p.segment_base_amount)
        else:
            want = (p.cumulative, p.amount)
        if (ln.segment_base_quantity, ln.segment_base_amount) != want:
            out.append(f"{key[0]}/{key[1]} segment base {ln.segment_base_quantity}/{ln.segment_base_amount}, the "
                       f"previous receipt gives {want[0]}/{want[1]}")
        if p is not None and ln.cumulative < p.cumulative:
            out.append(f"{key[0]}/{key[1]} cumulative falls from {p.cumulative} to {ln.cumulative}")
    return out


# --- many receipts at once (auditor.bulk, the benchmark's path) ------------------------------------------------

PriceTable = Mapping[int, PriceBook]  # version -> the book on the record


class _Line(msgspec.Struct, gc=False):
    """What the fast path reads of a detail line, the fields in the order the canonical JSON writes them (sorted
    keys: msgspec then finds each one at the next position). Ints stay strict (no floats, no bools); a family
    other than the three, or a `per` that is not positive, does not decode: "receipt.lines", as parse_lines
    says. Other keys (quantity, adjustment, unit) are not read by any amount rule. gc=False: plain values."""

    amount: int
    cumulative: int
    family: Literal["gpu", "storage", "egress"]
    per: Annotated[int, msgspec.Meta(gt=0)]
    price_version: int
    rclass: str
    segment_base_amount: int
    segment_base_quantity: int
    unit_price: int
    unpriced: bool


class _Detail(msgspec.Struct, gc=False):
    config_version: int
    customer: str
    lines: list[_Line]
    period_end: int
    period_start: int
    price_book_version: int
    program_id: str
    provider: str
    seq: int


_decode = msgspec.json.Decoder(_Detail).decode
_sha256 = Hash.hash  # sha256, cheaper per call than hashlib's (contracts.merkle.sha256_digest)
# the (price version, family, resource class, unit_price, per, unpriced) of lines already found priced as the
# book of that version on the record says: kept across the receipts checked against the same price books
PriceCache = set[tuple[int, str, str, int, int, bool]]


def _book_price(books: PriceTable, version: int, family: str, rclass: str) -> tuple[int, int, bool] | None:
    """What a line of `family`/`rclass` priced with book `version` must carry (unit_price, per, unpriced), or
    None when no book of that version is on the record."""
    book = books.get(version)
    if book is None:
        return None
    p = book.price(family, rclass)
    return (0, 1, True) if p is None else (p.unit_price, p.per, False)


# (program_id, config_version, customer, provider, seq, period_start, period_end) as a detail writes them
DetailFields = tuple[str, int, str, str, int, int, int]
# (served text, signed detail_hash, the fields it must name, the signed cum_amount, cum_gpu_ms, cum_byte_seconds,
# cum_egress_bytes)
QuickDetail = tuple[bytes, bytes, DetailFields, tuple[int, int, int, int]]


def quick_detail(detail_json: bytes, detail_hash: bytes, fields: DetailFields, sums: tuple[int, int, int, int],
                 books: PriceTable, priced: PriceCache | None = None) -> str | None:
    """The same rules as verify_detail (hash, fields, lines well formed, lines adding up, amounts by
    line_amount, price books on the record, prices), arranged for throughput: the first failing check's name in
    the report path's order, or None. `fields` = (program_id, config_version, customer, provider, seq,
    period_start, period_end) as the detail writes them; `sums` = (cum_amount, cum_gpu_ms, cum_byte_seconds,
    cum_egress_bytes) as signed; `priced` a cache of line prices found right, kept across the receipts checked
    against the same `books`."""
    bad = quick_details([(detail_json, detail_hash, fields, sums)], books, priced)
    return bad[0][1] if bad else None


def quick_details(details: Sequence[QuickDetail | None],
                  books: PriceTable, priced: PriceCache | None = None) -> list[tuple[int, str]]:
    """(position, first failing check) of each of `details` that fails quick_detail (None: no detail served,
    "receipt.detail"), in one loop: the served text hashed as is, then decoded straight into the fields the
    rules read (msgspec), one pass over the lines, each line's price looked up in the book once per distinct
    (version, family, class, price)."""
    if priced is None:
        priced = set()
    out: list[tuple[int, str]] = []
    for i, detail in enumerate(details):
        if detail is None:
            out.append((i, "receipt.detail"))
            continue
        text, signed_hash, fields, sums = detail
        if _sha256(text).__bytes__() != signed_hash:
            out.append((i, "receipt.detail_hash"))
            continue
        try:
            d = _decode(text)
        except msgspec.ValidationError:  # JSON, but not a detail of the meter's shape
            out.append((i, "receipt.lines"))
            continue
        except msgspec.DecodeError:  # not JSON at all
            out.append((i, "receipt.detail"))
            continue
        if (d.program_id, d.config_version, d.customer, d.provider, d.seq, d.period_start, d.period_end) != fields:
            out.append((i, "receipt.detail_fields"))
            continue
        version = d.price_book_version
        amount = gpu = storage = egress = 0
        # the receipt's own book version must be on the record too (check_prices resolves it with the lines')
        amounts_off, book_off, prices_off = False, version not in books, False
        for ln in d.lines:
            a, cum, fam, per, pv, rclass, sba, sbq, up, unpriced = astuple(ln)
            if fam == "gpu":
                gpu += cum
            elif fam == "storage":
                storage += cum
            else:  # "egress": the decoder admits no other family
                egress += cum
            amount += a
            if sbq > cum or a != line_amount(sba, sbq, cum, up, per):
                amounts_off = True
            if pv > version:
                book_off = True
            key = (pv, fam, rclass, up, per, unpriced)
            if key not in priced:
                want = _book_price(books, pv, fam, rclass)
                if want is None:
                    book_off = True
                elif want != key[3:]:
                    prices_off = True
                else:
                    priced.add(key)
        if (amount, gpu, storage, egress) != sums:
            out.append((i, "receipt.lines_total"))
        elif amounts_off:
            out.append((i, "receipt.line_amounts"))
        elif book_off:
            out.append((i, "receipt.price_book"))
        elif prices_off:
            out.append((i, "receipt.prices"))
    return out
