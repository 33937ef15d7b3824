"""The signed-receipt JSON document: round trip, accepted spellings, and one clear error per malformed field."""
from __future__ import annotations

import json

import pytest

from auditor.errors import ReceiptFileError
from auditor.receipt_file import (RECEIPT_FIELDS, load_signed_receipt, load_signed_receipts,
                                  parse_signed_receipt)
from auditor.sample import build_world


@pytest.fixture(scope="module")
def sr():
    return build_world(n_receipts=6, per_batch=4).receipts[5]


def test_round_trip(sr, tmp_path):
    doc = sr.to_json()
    assert set(doc["receipt"]) == set(RECEIPT_FIELDS)
    p = tmp_path / "r.json"
    p.write_text(json.dumps(doc))
    back = load_signed_receipt(p)
    assert back.receipt == sr.receipt and back.signature == sr.signature and back.proof == sr.proof
    assert back.batch == sr.batch and back.meter == sr.meter and back.claimed_id == sr.receipt_id


def test_encoding_alone_is_enough_and_must_agree(sr):
    doc = sr.to_json()
    del doc["receipt"]
    assert parse_signed_receipt(doc).receipt == sr.receipt
    doc = sr.to_json()
    doc["receipt"]["cum_amount"] += 1
    with pytest.raises(ReceiptFileError, match="disagree on 'cum_amount'"):
        parse_signed_receipt(doc)


def test_flat_layout_aliases_and_decimal_strings(sr):
    doc = sr.to_json()
    flat = {**doc.pop("receipt"), "signature": doc["signature"], "meter_pubkey": doc["meter"],
            "batch_id": doc["batch"], "proof": ["0x" + p for p in doc["proof"]]}
    flat["cum_amount"] = str(flat["cum_amount"])
    back = parse_signed_receipt(flat)
    assert back.receipt == sr.receipt and back.batch == sr.batch and back.proof == sr.proof


@pytest.mark.parametrize("mutate, message", [
    (lambda d: d["receipt"].pop("seq"), "missing field 'seq'"),
    (lambda d: d["receipt"].update(customer="not-a-key"), "receipt.customer"),
    (lambda d: d["receipt"].update(detail_hash="ab"), "receipt.detail_hash: expected 32 bytes"),
    (lambda d: d["receipt"].update(cum_amount=-1), "cum_amount"),
    (lambda d: d["receipt"].update(cum_amount=1.5), "receipt.cum_amount: expected an integer"),
    (lambda d: d["receipt"].update(seq=True), "receipt.seq: expected an integer, got a boolean"),
    (lambda d: d.update(signature="zz"), "signature"),
    (lambda d: d.pop("meter"), "meter: missing"),
    (lambda d: d.update(proof=["00"]), r"proof\[0\]: expected 32 bytes"),
    (lambda d: d.update(proof="00"), "proof: expected a list"),
    (lambda d: d.update(encoding="00" * 10), "encoding: a receipt is 248 bytes"),
])
def test_malformed_fields_are_named(sr, mutate, message):
    doc = sr.to_json()
    mutate(doc)
    with pytest.raises(ReceiptFileError, match=message):
        parse_signed_receipt(doc)


def test_file_errors_name_the_file(tmp_path):
    p = tmp_path / "bad.json"
    p.write_text("{")
    with pytest.raises(ReceiptFileError, match="bad.json: not JSON"):
        load_signed_receipt(p)
    with pytest.raises(ReceiptFileError, match="cannot read"):
        load_signed_receipt(tmp_path / "missing.json")


def test_list_of_receipts(sr, tmp_path):
    p = tmp_path / "many.json"
    p.write_text(json.dumps({"receipts": [sr.to_json(), sr.to_json()]}))
    assert len(load_signed_receipts(p)) == 2
    p.write_text(json.dumps([sr.to_json(), {"receipt": {}}]))
    with pytest.raises(ReceiptFileError, match="receipt 1"):
        load_signed_receipts(p)


def test_metering_api_receipt_view_shape(sr):
    """GET /v1/receipts/{id} of the metering API: flat fields, base64 encoding, batch as an object."""
    import base64
    doc = sr.to_json()
    view = {**doc["receipt"], "receipt_id": doc["receipt_id"], "new_amount": 5,
            "encoding_base64": base64.b64encode(sr.receipt.encode()).decode(), "signature": doc["signature"],
            "meter_pubkey": doc["meter"], "detail": {"lines": []},
            "batch": {"id": 12, "index": 1, "root": "ab" * 32, "count": 2, "total": 9, "posted_signature": "5x"},
            "proof": doc["proof"]}
    back = parse_signed_receipt(view)
    assert back.receipt == sr.receipt and back.batch == 12 and back.leaf_index == 1
    assert back.claimed_root == bytes.fromhex("ab" * 32) and back.posted_signature == "5x"
    view["proof"], view["batch"] = None, None
    assert parse_signed_receipt(view).batch is None and parse_signed_receipt(view).proof == ()
    view["encoding_base64"] = "!!"
    with pytest.raises(ReceiptFileError, match="encoding_base64"):
        parse_signed_receipt(view)
