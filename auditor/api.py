"""Receipts as the metering API serves them (GET /v1/receipts..., /v1/batches...).

Everything read here is a CLAIM: documents are parsed strictly and then verified against the chain by the
checks; nothing the API says about batches, roots or settlement is taken as true.
"""
from __future__ import annotations

from typing import Any

import httpx

from .errors import ApiReadError, ReceiptFileError
from .receipt_file import SignedReceipt, parse_signed_receipt

PAGE = 1000


class MeterApi:
    def __init__(self, base_url: str, timeout: float = 30, client: httpx.Client | None = None):
        """`client` (e.g. FastAPI's TestClient) replaces the HTTP client built from base_url."""
        self.base_url = base_url.rstrip("/")
        self.http = client or httpx.Client(base_url=self.base_url, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, **params) -> Any:
        try:
            resp = self.http.get(path, params={k: v for k, v in params.items() if v is not None})
        except httpx.HTTPError as e:
            raise ApiReadError(f"metering API {self.base_url}{path}: {type(e).__name__}: {e}") from None
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            try:
                why = resp.json().get("error") or resp.text
            except ValueError:
                why = resp.text
            raise ApiReadError(f"metering API {path}: HTTP {resp.status_code}: {str(why)[:200]}")
        try:
            return resp.json()
        except ValueError:
            raise ApiReadError(f"metering API {path}: the answer is not JSON") from None

    def _parse(self, doc: Any, where: str) -> SignedReceipt:
        try:
            return parse_signed_receipt(doc)
        except ReceiptFileError as e:
            raise ApiReadError(f"metering API {where}: {e}") from None

    def receipt(self, receipt_id_hex: str) -> SignedReceipt | None:
        doc = self._get(f"/v1/receipts/{receipt_id_hex}")
        return None if doc is None else self._parse(doc, f"receipt {receipt_id_hex}")

    def consent(self, receipts: list[SignedReceipt]):
        """The public consent evidence of these receipts: each one's detail and every lease its lines name."""
        from urllib.parse import quote

        from .leases import Consent, LeaseDoc, lease_ids

        details: dict[bytes, dict] = {}
        for sr in receipts:
            doc = self._get(f"/v1/receipts/{sr.receipt_id.hex()}")
            if doc is not None and isinstance(doc.get("detail"), dict):
                details[sr.receipt_id] = doc["detail"]
        leases: dict = {}
        for lid in sorted(set().union(*(lease_ids(d) for d in details.values())) if details else ()):
            doc = self._get(f"/v1/leases/{quote(lid, safe='/')}")
            try:
                leases[lid] = None if doc is None else LeaseDoc.from_api(doc)
            except (KeyError, ValueError, TypeError):
                leases[lid] = None  # unreadable: checked as not served
        return Consent(details, leases)

    def channel_receipts(self, customer: str, provider: str) -> list[SignedReceipt]:
        out: list[SignedReceipt] = []
        after = 0
        while True:
            doc = self._get("/v1/receipts", customer=customer, provider=provider, after_seq=after, limit=PAGE)
            items = (doc or {}).get("receipts") or []
            out.extend(self._parse(d, f"channel receipt after seq {after}") for d in items)
            if len(items) < PAGE:
                return out
            after = out[-1].receipt.seq

    def batches(self) -> list[dict]:
        out: list[dict] = []
        before = None
        while True:
            doc = self._get("/v1/batches", limit=PAGE, before_id=before)
            items = (doc or {}).get("batches") or []
            out.extend(items)
            if len(items) < PAGE:
                return out
            before = items[-1]["id"]

    def batch_by_root(self, root: bytes) -> dict | None:
        """The API's batch whose root is `root` (API batch ids need not equal on-chain batch indexes)."""
        for b in self.batches():
            if b.get("root") == root.hex():
                return self._get(f"/v1/batches/{b['id']}")
        return None
