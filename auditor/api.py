"""Receipts as the metering API serves them (GET /v1/receipts..., /v1/batches...).

Everything read here is a CLAIM: documents are parsed strictly and then verified against the chain by the
checks; nothing the API says about batches, roots or settlement is taken as true.

A receipt by id and the batches are public; a channel's receipt list is served to its customer, its
provider and the operator only, so those reads are signed with `keypair` when one is given.
"""
from __future__ import annotations

from typing import Any, Callable

import httpx
from solders.keypair import Keypair

from metering.read_client import SignedReader

from .errors import ApiForbidden, ApiReadError, ReceiptFileError
from .receipt_file import SignedReceipt, parse_signed_receipt

PAGE = 1000


class MeterApi:
    def __init__(self, base_url: str, timeout: float = 30, client: httpx.Client | None = None,
                 keypair: Keypair | None = None, clock: Callable[[], int] | None = None):
        """`client` (e.g. FastAPI's TestClient) replaces the HTTP client built from base_url; `keypair`
        signs the reads (a party of the channels audited, or an operator key) with timestamps from `clock`
        (unix ms; default the wall clock)."""
        self.base_url = base_url.rstrip("/")
        self.http = client or httpx.Client(base_url=self.base_url, timeout=timeout)
        self.reader = SignedReader(keypair=keypair, http=self.http, **({"clock": clock} if clock else {}))

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, **params) -> Any:
        try:
            resp = self.reader.get(path, params)
        except httpx.HTTPError as e:
            raise ApiReadError(f"metering API {self.base_url}{path}: {type(e).__name__}: {e}") from None
        if resp.status_code == 404:
            return None
        if resp.status_code != 200:
            try:
                why = resp.json().get("error") or resp.text
            except ValueError:
                why = resp.text
            if resp.status_code in (401, 403):
                raise ApiForbidden(f"metering API {path}: HTTP {resp.status_code}: {str(why)[:200]} (sign with "
                                   "-k: the customer's, the provider's or an operator key)")
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
