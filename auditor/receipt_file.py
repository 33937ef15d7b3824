"""The signed-receipt document: a receipt as a file, or as the metering API serves it.

JSON object (documented in docs/arch-auditor.md):

    {
      "receipt": {                       # the fields of contracts.receipt.Receipt
        "program_id": "<base58>", "config_version": 1, "customer": "<base58>", "provider": "<base58>",
        "seq": 1, "period_start": 1700000000, "period_end": 1700000060,
        "cum_gpu_ms": 0, "cum_byte_seconds": "0", "cum_egress_bytes": 0, "cum_amount": 0,
        "prev_receipt_id": "<64 hex>", "detail_hash": "<64 hex>"
      },
      "encoding": "<496 hex>",           # optional: the canonical bytes; must agree with "receipt"
      "receipt_id": "<64 hex>",          # optional: a claim, recomputed and compared
      "signature": "<base58>",           # the meter's ed25519 signature over the receipt id
      "meter": "<base58>",               # the meter key that signed
      "batch": 7,                        # index of the batch the receipt was committed in (or null)
      "leaf_index": 3,                   # optional: its position in the batch
      "proof": ["<64 hex>", ...]         # sibling hashes from the leaf upwards
    }

The metering API's receipt view (GET /v1/receipts/{id}) is read as it is: flat receipt fields,
"encoding_base64", "meter_pubkey", and "batch" as an object {"id", "index" (the leaf position), "root",
"posted_signature"}; "detail" (the line items) and "detail_json" (their exact text, whose sha256 is detail_hash)
are kept for the pricing checks; other
extra keys ("new_amount", ...) are ignored. A document without "proof" (or with null) is not verifiable.

Integers may be JSON numbers or decimal strings (u128 byte-seconds exceed what some JSON tools keep
exact). Hashes may carry a "0x" prefix. The receipt fields may also sit at the top level instead of under
"receipt", and "encoding" alone is enough to give them. Anything malformed is a ReceiptFileError naming the
field: nothing is guessed.
"""
from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

from solders.pubkey import Pubkey
from solders.signature import Signature

from contracts.receipt import Receipt, ReceiptEncodingError

from .errors import ReceiptFileError

RECEIPT_FIELDS = ("program_id", "config_version", "customer", "provider", "seq", "period_start", "period_end",
                  "cum_gpu_ms", "cum_byte_seconds", "cum_egress_bytes", "cum_amount", "prev_receipt_id",
                  "detail_hash")
_PUBKEYS = ("program_id", "customer", "provider")
_HASHES = ("prev_receipt_id", "detail_hash")
# Names other producers may use for the same things (the metering API's JSON is the reference).
_ALIASES = {
    "meter": ("meter", "meter_pubkey", "meter_key", "signer"),
    "batch": ("batch", "batch_id"),
    "leaf_index": ("leaf_index", "index_in_batch", "position"),
    "encoding": ("encoding", "encoding_hex"),
    "receipt_id": ("receipt_id", "id"),
}


@dataclass(frozen=True)
class SignedReceipt:
    receipt: Receipt
    signature: Signature
    meter: Pubkey
    batch: int | None
    proof: tuple[bytes, ...]
    leaf_index: int | None = None
    claimed_id: bytes | None = None  # the id the document states, if any (compared, never trusted)
    claimed_root: bytes | None = None  # the batch root the document states (informational)
    posted_signature: str | None = None  # the post_batch transaction the document names (informational)
    has_proof: bool = True  # False when the document has no "proof" at all (absent or null): not verifiable
    detail: Any = None  # the line-item detail as served (its canonical JSON hashes to detail_hash), if any
    detail_json: str | None = None  # the detail's exact JSON text when served ("detail_json"): hashed as is

    @property
    def receipt_id(self) -> bytes:
        return self.receipt.receipt_id

    def to_json(self) -> dict[str, Any]:
        r = self.receipt
        body: dict[str, Any] = {}
        for f in RECEIPT_FIELDS:
            v = getattr(r, f)
            if f in _PUBKEYS:
                body[f] = str(v)
            elif f in _HASHES:
                body[f] = bytes(v).hex()
            elif f == "cum_byte_seconds":
                body[f] = str(v)
            else:
                body[f] = v
        return {
            "receipt": body,
            "encoding": r.encode().hex(),
            "receipt_id": self.receipt_id.hex(),
            "signature": str(self.signature),
            "meter": str(self.meter),
            "batch": self.batch,
            "leaf_index": self.leaf_index,
            "proof": [p.hex() for p in self.proof] if self.has_proof else None,
            **({"detail": self.detail} if self.detail is not None else {}),
            **({"detail_json": self.detail_json} if self.detail_json is not None else {}),
        }


def _pick(doc: Mapping[str, Any], key: str) -> Any:
    for k in _ALIASES.get(key, (key,)):
        if k in doc:
            return doc[k]
    return None


def _int(field: str, v: Any, *, optional: bool = False) -> int | None:
    if v is None and optional:
        return None
    if isinstance(v, bool):
        raise ReceiptFileError(f"{field}: expected an integer, got a boolean")
    if isinstance(v, int):
        return v
    if isinstance(v, str) and v.strip().lstrip("-").isdigit():
        return int(v.strip())
    raise ReceiptFileError(f"{field}: expected an integer (number or decimal string), got {v!r}")


def _hex(field: str, v: Any, length: int | None = 32) -> bytes:
    if not isinstance(v, str):
        raise ReceiptFileError(f"{field}: expected a hex string, got {type(v).__name__}")
    s = v[2:] if v.lower().startswith("0x") else v
    try:
        b = bytes.fromhex(s)
    except ValueError:
        raise ReceiptFileError(f"{field}: not valid hex") from None
    if length is not None and len(b) != length:
        raise ReceiptFileError(f"{field}: expected {length} bytes, got {len(b)}")
    return b


def _pubkey(field: str, v: Any) -> Pubkey:
    if not isinstance(v, str):
        raise ReceiptFileError(f"{field}: expected a base58 public key, got {type(v).__name__}")
    try:
        return Pubkey.from_string(v)
    except ValueError:
        raise ReceiptFileError(f"{field}: {v!r} is not a base58 public key") from None


def _signature(v: Any) -> Signature:
    if not isinstance(v, str):
        raise ReceiptFileError("signature: expected a base58 string")
    try:
        if len(v) == 128 and all(c in "0123456789abcdefABCDEF" for c in v):
            return Signature.from_bytes(bytes.fromhex(v))
        return Signature.from_string(v)
    except ValueError:
        raise ReceiptFileError("signature: not a base58 (or hex) 64-byte ed25519 signature") from None


def _receipt_from_fields(body: Mapping[str, Any]) -> Receipt:
    missing = [f for f in RECEIPT_FIELDS if f not in body]
    if missing:
        raise ReceiptFileError(f"receipt: missing field {missing[0]!r}")
    vals: dict[str, Any] = {}
    for f in RECEIPT_FIELDS:
        v = body[f]
        if f in _PUBKEYS:
            vals[f] = _pubkey(f"receipt.{f}", v)
        elif f in _HASHES:
            vals[f] = _hex(f"receipt.{f}", v)
        else:
            vals[f] = _int(f"receipt.{f}", v)
    r = Receipt(**vals)
    try:
        r.validate()
    except ReceiptEncodingError as e:
        raise ReceiptFileError(f"receipt: {e}") from None
    return r


def parse_signed_receipt(doc: Any) -> SignedReceipt:
    """Validate a signed-receipt JSON object (already loaded) and build the typed value."""
    if not isinstance(doc, Mapping):
        raise ReceiptFileError(f"expected a JSON object, got {type(doc).__name__}")
    body = doc.get("receipt") if isinstance(doc.get("receipt"), Mapping) else doc
    enc = _pick(doc, "encoding")
    receipt = None
    raw: bytes | None = None
    if enc is not None:
        raw = _hex("encoding", enc, length=None)
    elif doc.get("encoding_base64") is not None:
        try:
            raw = base64.b64decode(doc["encoding_base64"], validate=True)
        except (binascii.Error, ValueError, TypeError):
            raise ReceiptFileError("encoding_base64: not valid base64") from None
    if raw is not None:
        try:
            receipt = Receipt.decode(raw)
        except ReceiptEncodingError as e:
            raise ReceiptFileError(f"encoding: {e}") from None
    if any(f in body for f in RECEIPT_FIELDS):
        from_fields = _receipt_from_fields(body)
        if receipt is not None and receipt != from_fields:
            diff = next(f for f in RECEIPT_FIELDS if getattr(receipt, f) != getattr(from_fields, f))
            raise ReceiptFileError(f"encoding and receipt fields disagree on {diff!r}")
        receipt = from_fields
    if receipt is None:
        raise ReceiptFileError("no receipt: give the receipt fields or its encoding")
    if "signature" not in doc:
        raise ReceiptFileError("signature: missing")
    meter = _pick(doc, "meter")
    if meter is None:
        raise ReceiptFileError("meter: missing (the public key that signed the receipt)")
    has_proof = doc.get("proof") is not None
    proof_raw = doc.get("proof") or []
    if not isinstance(proof_raw, list):
        raise ReceiptFileError("proof: expected a list of hex hashes")
    claimed = _pick(doc, "receipt_id")
    batch = _pick(doc, "batch")
    leaf_index = _pick(doc, "leaf_index")
    root = posted = None
    if isinstance(batch, Mapping):  # the metering API: {"id", "index" (leaf position), "root", ...}
        leaf_index = batch.get("index", leaf_index)
        root = _hex("batch.root", batch["root"]) if batch.get("root") is not None else None
        posted = batch.get("posted_signature")
        batch = batch.get("id")
    return SignedReceipt(
        receipt=receipt,
        signature=_signature(doc["signature"]),
        meter=_pubkey("meter", meter),
        batch=_int("batch", batch, optional=True),
        proof=tuple(_hex(f"proof[{i}]", p) for i, p in enumerate(proof_raw)),
        leaf_index=_int("leaf_index", leaf_index, optional=True),
        claimed_id=_hex("receipt_id", claimed) if claimed is not None else None,
        claimed_root=root,
        posted_signature=posted if isinstance(posted, str) else None,
        has_proof=has_proof,
        detail=doc.get("detail"),
        detail_json=doc.get("detail_json") if isinstance(doc.get("detail_json"), str) else None,
    )


def load_signed_receipt(path: Path) -> SignedReceipt:
    try:
        text = Path(path).read_text()
    except OSError as e:
        raise ReceiptFileError(f"{path}: cannot read ({e.strerror})") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        raise ReceiptFileError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
    try:
        return parse_signed_receipt(doc)
    except ReceiptFileError as e:
        raise ReceiptFileError(f"{path}: {e}") from None


def load_signed_receipts(path: Path) -> list[SignedReceipt]:
    """A file holding one signed receipt, a list of them, or {"receipts": [...]}, e.g. a channel export."""
    try:
        doc = json.loads(Path(path).read_text())
    except OSError as e:
        raise ReceiptFileError(f"{path}: cannot read ({e.strerror})") from None
    except json.JSONDecodeError as e:
        raise ReceiptFileError(f"{path}: not JSON ({e.msg} at line {e.lineno})") from None
    items = doc.get("receipts") if isinstance(doc, Mapping) and "receipts" in doc else doc
    items = items if isinstance(items, list) else [items]
    out = []
    for i, item in enumerate(items):
        try:
            out.append(parse_signed_receipt(item))
        except ReceiptFileError as e:
            raise ReceiptFileError(f"{path}: receipt {i}: {e}") from None
    return out
