"""Signed HTTP client of the meter API, and the spool flush that uses it."""
from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass, field
from typing import Callable

import httpx
from solders.keypair import Keypair

from contracts.evidence import H_EVIDENCE

from ..auth import sign_request
from ..evidence import sign_request_groups
from ..read_client import SignedReader
from .spool import Spool

log = logging.getLogger("solmeter.agent")
BATCH_PATH = "/v1/events/batch"


class MeterUnreachable(Exception):
    """The meter API did not answer (connection error, timeout, or a 5xx)."""


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class MeterClient:
    def __init__(self, base_url: str, keypair: Keypair, *, http: httpx.Client | None = None,
                 clock: Callable[[], int] = wall_clock_ms, timeout_s: float = 10.0):
        self.keypair = keypair
        self.clock = clock
        self.http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self.reader = SignedReader(keypair=keypair, http=self.http, clock=clock)

    def _send(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None) -> httpx.Response:
        try:
            r = self.http.request(method, path, content=body, headers=headers)
        except httpx.HTTPError as e:
            raise MeterUnreachable(f"{type(e).__name__}: {e}") from None
        if r.status_code >= 500:
            raise MeterUnreachable(f"HTTP {r.status_code}")
        return r

    def post_batch(self, events: list[dict]) -> httpx.Response:
        body = json.dumps(events, separators=(",", ":")).encode()
        headers = sign_request(self.keypair, "POST", BATCH_PATH, body, self.clock())
        headers["content-type"] = "application/cloudevents-batch+json"
        evidence = sign_request_groups(self.keypair, body)  # per customer: the provider-signed evidence
        if evidence is not None:
            headers[H_EVIDENCE] = evidence
        return self._send("POST", BATCH_PATH, body, headers)

    def customer_paused(self, customer: str) -> bool | None:
        """True/False from the meter; None when it cannot be asked right now, or when the meter does not
        show this provider the customer's status (it serves only customers it has reported usage for)."""
        try:
            r = self.reader.get(f"/v1/customers/{customer}/status")
        except httpx.HTTPError:
            return None
        return bool(r.json().get("paused")) if r.status_code == 200 else None


@dataclass
class FlushReport:
    accepted: int = 0
    duplicates: int = 0
    dropped: list[dict] = field(default_factory=list)  # refused events: (id, field, reason)
    remaining: int = 0
    error: str | None = None


def flush(spool: Spool, client: MeterClient) -> FlushReport:
    """Send spooled files oldest first; stop at the first outage (everything stays for the next flush).
    Events the meter refuses (invalid, conflicting, not under a lease the customer signed) leave the spool for
    its dead-letter folder with the meter's reason, and are reported; the rest of their batch is resent. Resending is safe: event ids are stable, an identical replay is a duplicate."""
    rep = FlushReport()
    for path in spool.pending():
        events = spool.load(path)
        while events:
            try:
                r = client.post_batch(events)
            except MeterUnreachable as e:
                rep.error = f"meter unreachable: {e}"
                rep.remaining = spool.count_events()
                return rep
            body = _json(r)
            if r.status_code == 200:
                rep.accepted += body.get("accepted", 0)
                rep.duplicates += body.get("duplicates", 0)
                events = []
            elif r.status_code == 413 and len(events) > 1:
                half = len(events) // 2
                spool.put(events[half:])  # arrival order does not matter to the meter
                events = events[:half]
                spool.replace(path, events)
                continue
            elif r.status_code in (403, 409, 413, 422) and isinstance(body.get("results"), list):
                keep, refused = [], []
                for res, e in zip(body["results"], events):
                    if res.get("status") == "valid":
                        keep.append(e)
                    else:
                        why = {"id": e.get("id"), "field": res.get("field"), "reason": res.get("reason")}
                        rep.dropped.append(why)
                        refused.append({**why, "status": r.status_code, "event": e})
                        log.warning("meter refused event %s: %s: %s (kept in the dead-letter spool)", e.get("id"),
                                    res.get("field"), res.get("reason"))
                if len(keep) == len(events):  # nothing identifiable to drop: do not loop
                    rep.error = body.get("error") or f"HTTP {r.status_code}"
                    rep.remaining = spool.count_events()
                    return rep
                spool.dead_letter(refused)  # before the spool file loses them: never lost, even on a crash here
                events = keep
                spool.replace(path, events)
                continue
            else:  # 401 (e.g. clock skew), 403 unregistered provider, ...: keep everything, retry later
                rep.error = body.get("error") or f"HTTP {r.status_code}"
                rep.remaining = spool.count_events()
                return rep
            spool.replace(path, events)
    rep.remaining = spool.count_events()
    return rep


def _json(r: httpx.Response) -> dict:
    try:
        v = r.json()
        return v if isinstance(v, dict) else {}
    except ValueError:
        return {}
