"""JSON views of stored rows: the one place that shapes API responses."""
from __future__ import annotations

import base64
import json

from solders.signature import Signature
from sqlalchemy import select
from sqlalchemy.engine import Connection

from contracts.receipt import Receipt

from ..batches import get_batch, proof_for
from ..models import ReceiptRow

RR = ReceiptRow.__table__


def receipt_view(conn: Connection, row, with_proof: bool = True) -> dict:
    r = Receipt.decode(bytes(row.encoding))
    out = {
        "receipt_id": bytes(row.receipt_id).hex(),
        "customer": row.customer,
        "provider": row.provider,
        "seq": row.seq,
        "program_id": str(r.program_id),
        "config_version": r.config_version,
        "period_start": r.period_start,
        "period_end": r.period_end,
        "cum_gpu_ms": r.cum_gpu_ms,
        "cum_byte_seconds": r.cum_byte_seconds,
        "cum_egress_bytes": r.cum_egress_bytes,
        "cum_amount": r.cum_amount,
        "new_amount": row.new_amount,
        "prev_receipt_id": bytes(r.prev_receipt_id).hex(),
        "detail_hash": bytes(r.detail_hash).hex(),
        "encoding_base64": base64.b64encode(bytes(row.encoding)).decode(),
        "signature": str(Signature.from_bytes(bytes(row.signature))),
        "meter_pubkey": row.meter_pubkey,
        "detail": json.loads(row.detail),
        "detail_json": row.detail,  # the exact bytes detail_hash is the sha256 of (hash them as served)
        "batch": None,
        "proof": None,
    }
    if with_proof and row.batch_id is not None:
        b = get_batch(conn, row.batch_id)
        out["batch"] = {"id": b.id, "index": row.batch_index, "root": b.root.hex(), "count": b.count,
                        "total": b.total, "posted_signature": b.posted_signature}
        out["proof"] = [h.hex() for h in proof_for(conn, row.batch_id, row.batch_index)]
    return out


def receipt_by_id(conn: Connection, receipt_id: bytes) -> dict | None:
    """The view of the receipt with this id (with its batch and proof), or None when there is none."""
    row = conn.execute(select(RR).where(RR.c.receipt_id == receipt_id)).first()
    return None if row is None else receipt_view(conn, row)


def event_view(row) -> dict:
    return {"id": row.event_id, "source": row.source, "kind": row.kind, "provider": row.provider,
            "resource": row.resource, "class": row.rclass, "value": row.value, "t_ms": row.t_ms,
            "received_ms": row.received_ms, "sealed": row.seal_id is not None}
