"""Receipts as the metering API serves them (GET /v1/receipts..., /v1/batches...).

Everything read here is a CLAIM: documents are parsed strictly and then verified against the chain by the
checks; nothing the API says about batches, roots or settlement is taken as true.

A receipt by id and the batches are public; a channel's receipt list is served to its customer, its
provider and the operator only, so those reads are signed with `keypair` when one is given.
"""
from __future__ import annotations

import time
from urllib.parse import quote
from typing import Any, Callable

import httpx
from solders.keypair import Keypair

from contracts.request_signing import ReadSigner

from .errors import ApiForbidden, ApiReadError, ReceiptFileError
from .leases import Consent, LeaseDoc, lease_ids
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
        self.signer = ReadSigner(keypair, clock or (lambda: time.time_ns() // 1_000_000))
        self._batches: list[dict] | None = None
        self._members: dict[bytes, list[SignedReceipt] | None] = {}
        self._price_books: dict[int, bytes | None] = {}
        self.consent_header: str | None = None  # X-Solmeter-Consent: a customer's consent for this reader

    def close(self) -> None:
        self.http.close()

    def _get(self, path: str, _extra: dict[str, str] | None = None, **params) -> Any:
        try:
            target, headers = self.signer.sign_get(path, params)
            if self.consent_header and headers:  # the customer's consent for this reader, on every signed read
                headers = {**headers, "X-Solmeter-Consent": self.consent_header}
            resp = self.http.get(target, headers={**headers, **(_extra or {})})
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
                raise ApiForbidden(f"metering API {path}: HTTP {resp.status_code}: {str(why)[:600]} (sign with "
                                   "-k: the customer's, the provider's or an operator key, or your own key with "
                                   "the customer's --consent)")
            raise ApiReadError(f"metering API {path}: HTTP {resp.status_code}: {str(why)[:600]}")
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

    def evidence(self, receipt_id: bytes) -> dict | None:
        """A receipt's provider-signed events (GET /v1/receipts/{id}/evidence), served to its customer, its
        provider, the operator, or with the customer's consent (`self.consent_header`); None when it is not
        served to this reader (the evidence checks then say NOT VERIFIED)."""
        try:
            doc = self._get(f"/v1/receipts/{receipt_id.hex()}/evidence")
        except ApiForbidden:
            return None
        return doc if isinstance(doc, dict) else None

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

    def receipt_ids_with_prefix(self, wallet: str, prefix: str) -> list[str]:
        """The ids (hex) of the receipts the meter lists for `wallet` (as customer, else as provider; the newest
        PAGE) that start with `prefix` (lower-case hex). The lists are private, so the read is signed."""
        found: list[str] = []
        for role in ("customer", "provider"):
            doc = self._get("/v1/receipts", **{role: wallet}, limit=PAGE, proofs="false", newest_first="true")
            found += [str(d["receipt_id"]) for d in (doc or {}).get("receipts") or []
                      if str(d.get("receipt_id", "")).lower().startswith(prefix)]
            if found:
                break
        return sorted(set(found))

    def customer_providers(self, customer: str) -> set[str]:
        """The providers the meter lists receipts of this customer for (its first page of receipts; every
        channel that can settle also has an on-chain Channel account, which audit_bill reads too)."""
        doc = self._get("/v1/receipts", customer=customer, limit=PAGE, proofs="false")
        return {str(d.get("provider")) for d in (doc or {}).get("receipts") or [] if d.get("provider")}

    def batches(self) -> list[dict]:
        """Every batch the API lists (read once per MeterApi: one audit)."""
        if self._batches is None:
            self._batches = self._all_batches()
        return self._batches

    def _all_batches(self) -> list[dict]:
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

    def batch_members(self, root: bytes) -> list[SignedReceipt] | None:
        """The receipts of the API's batch with this root, in leaf order (None when the API does not serve
        the batch or one of its receipts). A claim: the caller recomputes the root from them."""
        root = bytes(root)
        if root not in self._members:
            doc = self.batch_by_root(root)
            members = None
            if doc is not None:
                members = [self.receipt(rid) for rid in doc.get("receipt_ids") or []]
                if any(m is None for m in members):
                    members = None
            self._members[root] = members
        return self._members[root]

    def price_book_file(self, version: int) -> bytes | None:
        """The price book file of `version` as published (GET /v1/price-books/{version}), its bytes untouched:
        the auditor hashes them and compares with the on-chain commitment."""
        if version not in self._price_books:
            try:
                resp = self.http.get(f"/v1/price-books/{version}")
            except httpx.HTTPError as e:
                raise ApiReadError(f"metering API {self.base_url}/v1/price-books/{version}: {type(e).__name__}: {e}") \
                    from None
            if resp.status_code not in (200, 404):
                raise ApiReadError(f"metering API /v1/price-books/{version}: HTTP {resp.status_code}")
            self._price_books[version] = resp.content if resp.status_code == 200 else None
        return self._price_books[version]
