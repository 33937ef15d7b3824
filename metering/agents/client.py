"""Signed HTTP client of the meter API, and the spool flush that uses it.

Clock skew: a request is signed with a timestamp that the meter refuses as stale beyond its freshness
window (60 s). The client then learns the offset of the meter's clock from the refusal (`server_time_ms`,
else the X-Solmeter-Time or Date header), re-signs the same body with the meter's time and sends it once
more; later requests and new events (the agents' event times) use the corrected clock. Re-signing changes
only the request's timestamp and signature, never an event: its id (the dedup key) and body stay, so an
event stored before is a duplicate, never billed twice. Events the meter refuses as dated ahead of its
clock (made before the offset was known) stay in the spool and are resent until the meter's clock has
caught up with them; only refusals that resending can never fix go to the dead-letter folder."""
from __future__ import annotations

import email.utils
import json
import logging
import re
import time
from dataclasses import dataclass, field
from typing import Callable

import httpx
from solders.keypair import Keypair

from contracts.evidence import H_EVIDENCE

from ..auth import sign_request
from .evidence import sign_request_groups
from ..read_client import SignedReader
from .spool import Spool

log = logging.getLogger("solmeter.agent")
BATCH_PATH = "/v1/events/batch"
H_SERVER_TIME = "x-solmeter-time"
H_TIMESTAMP = "X-Solmeter-Timestamp"
# An answer claiming the clocks differ by more than this is not believed: a host that far off is fixed by hand.
MAX_OFFSET_MS = 7 * 24 * 3_600_000


class MeterUnreachable(Exception):
    """The meter API did not answer (connection error, timeout, or a 5xx)."""


def wall_clock_ms() -> int:
    return time.time_ns() // 1_000_000


class MeterClient:
    def __init__(self, base_url: str, keypair: Keypair, *, http: httpx.Client | None = None,
                 clock: Callable[[], int] = wall_clock_ms, timeout_s: float = 10.0):
        self.keypair = keypair
        self.clock = clock
        self.offset_ms = 0  # the meter's clock minus this host's, learned from its answers
        self.synced = False  # the meter's clock was asked once (sync_time)
        self.http = http or httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout_s)
        self.reader = SignedReader(keypair=keypair, http=self.http, clock=self.now_ms)

    def now_ms(self) -> int:
        """This host's clock corrected by the offset learned from the meter (the time to sign and date with)."""
        return self.clock() + self.offset_ms

    def sync_time(self) -> bool:
        """Ask the meter's clock (GET /healthz, its X-Solmeter-Time header) before dating the first events, so
        that even they carry the meter's time; True once asked (False: unreachable, asked again next time)."""
        sent = self.clock()
        try:
            r = self.http.get("/healthz")
        except httpx.HTTPError:
            return False
        if r.headers.get(H_SERVER_TIME):
            self.learn_time(r, sent, self.clock(), quiet_ms=1_000)
        self.synced = True
        return True

    def learn_time(self, r: httpx.Response, sent_ms: int, received_ms: int, quiet_ms: int = 0) -> bool:
        """Take the meter's clock from its answer (sent and received on this host's own clock); True when the
        offset changed (the caller re-signs and resends)."""
        server = _server_time(r)
        if server is None:
            return False
        offset = server - (sent_ms + received_ms) // 2
        if abs(offset) > MAX_OFFSET_MS:
            log.error("the meter's clock is %.0f s from this host's: not believed (more than %d days); fix this "
                      "host's clock (NTP)", offset / 1000, MAX_OFFSET_MS // 86_400_000)
            return False
        if offset == self.offset_ms:
            return False
        if abs(offset) <= quiet_ms:  # a round trip's worth: nothing to say, nothing to fix
            self.offset_ms = offset
            return True
        log.warning("this host's clock is %+.1f s off the meter's: signing and dating events with the meter's "
                    "time from now on; fix this host's clock (NTP)", -offset / 1000)
        self.offset_ms = offset
        return True

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
        sent = self.clock()
        r = self._post_signed(body, sent)
        if r.status_code == 401 and _is_stale(r) and self.learn_time(r, sent, self.clock()):
            # Re-signed with the meter's time: the same body (same events, ids and times), a new timestamp and
            # signature, so this is a resend the meter dedups, never a second bill.
            r = self._post_signed(body, self.clock())
        return r

    def _post_signed(self, body: bytes, local_ms: int) -> httpx.Response:
        headers = sign_request(self.keypair, "POST", BATCH_PATH, body, local_ms + self.offset_ms)
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
    later: int = 0  # dated ahead of the meter's clock: kept in the spool and resent once the meter's clock is there
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
                keep, refused, later = [], [], []
                for res, e in zip(body["results"], events):
                    if res.get("status") == "valid":
                        keep.append(e)
                    elif _fixed_by_waiting(res, client.offset_ms):
                        later.append(e)
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
                if later:
                    # A file of their own (not visited again by this flush), written before this one loses them.
                    spool.put(later)
                    rep.later += len(later)
                    log.info("%d event(s) dated ahead of the meter's clock kept in the spool (resent once the "
                             "meter's clock has reached them)", len(later))
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


_AHEAD = re.compile(r"^(\d{1,16}) ms in the future\b")


def _fixed_by_waiting(res: dict, offset_ms: int) -> bool:
    """A refusal that resending later fixes: the event's time is ahead of the meter's clock by no more than this
    host's clock was found ahead of it (-offset_ms, learned from the meter: the event was dated by the skewed
    clock before the offset was known). An event further ahead than that, past the lateness bound, invalid,
    conflicting or unleased: never."""
    m = _AHEAD.match(str(res.get("reason", "")))
    return res.get("field") == "time" and m is not None and int(m.group(1)) <= -offset_ms + 1_000


def _is_stale(r: httpx.Response) -> bool:
    body = _json(r)
    return body.get("field") == H_TIMESTAMP and "stale" in str(body.get("error", ""))


def _server_time(r: httpx.Response) -> int | None:
    """The meter's clock in unix ms from its answer: the refusal's server_time_ms, the X-Solmeter-Time header,
    else the HTTP Date header (whole seconds: enough for a 60 s window)."""
    v = _json(r).get("server_time_ms")
    if isinstance(v, int) and not isinstance(v, bool) and v > 0:
        return v
    h = r.headers.get(H_SERVER_TIME, "")
    if h.isascii() and h.isdigit() and len(h) <= 16:
        return int(h)
    try:
        d = email.utils.parsedate_to_datetime(r.headers.get("date", ""))
    except (TypeError, ValueError):
        return None
    return int(d.timestamp() * 1000) if d is not None and d.tzinfo is not None else None


def _json(r: httpx.Response) -> dict:
    try:
        v = r.json()
        return v if isinstance(v, dict) else {}
    except ValueError:
        return {}
