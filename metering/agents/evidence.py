"""Usage evidence, the agent's side: the X-Solmeter-Evidence header a provider's agent signs for each batch it
sends (the encoding is contracts/evidence.py; the meter checks it in metering/evidence.py). The body is parsed
with the meter's own parser (metering.ingest.parse), so each event is hashed exactly as the meter will."""
from __future__ import annotations

from contracts.evidence import by_customer, encode_header, group_message, group_root

from ..events import EventRejected
from ..ingest.parse import parse_body


def sign_request_groups(keypair, raw_body: bytes) -> str | None:
    """The X-Solmeter-Evidence header an agent sends with a batch body: per customer, its signature over the
    root of that customer's events' payload hashes in order, hashed as the meter will (its own validators).
    None when some event is not valid (the meter refuses the batch anyway, naming the event)."""
    try:
        items = parse_body(raw_body, batch=True, max_batch=1 << 30, max_body_bytes=1 << 40)
    except Exception:  # noqa: BLE001 (the meter answers with the reason)
        return None
    if any(isinstance(e, EventRejected) for e in items):
        return None
    provider = str(keypair.pubkey())
    per = by_customer([(e.customer, e.payload_hash) for e in items])
    return encode_header({c: bytes(keypair.sign_message(group_message(provider, c, len(hs), group_root(hs))))
                          for c, hs in per.items()})
