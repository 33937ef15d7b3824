"""Usage events: CloudEvents 1.0 envelopes with one pydantic model per event type.

`validate_event` turns one decoded JSON object into a `ValidEvent` (the typed model plus the flattened
row the rollup reads) or raises `EventRejected` naming the field at fault."""
from .envelope import (EGRESS, GPU_HEARTBEAT, GPU_STOP, STORAGE_SAMPLE, EVENT_TYPES, CloudEvent, EventRejected,
                       Kind, ValidEvent, event_adapter, validate_event, validate_batch_fast)
from .limits import Limits

__all__ = ["EGRESS", "GPU_HEARTBEAT", "GPU_STOP", "STORAGE_SAMPLE", "EVENT_TYPES", "CloudEvent", "EventRejected",
           "Kind", "Limits", "ValidEvent", "event_adapter", "validate_event", "validate_batch_fast"]
