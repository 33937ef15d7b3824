"""What ingestion answers: per-event results and the request's outcome."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..events import ValidEvent


@dataclass
class EventResult:
    index: int
    id: str | None
    source: str | None
    status: str  # accepted | duplicate | rejected | conflict | valid (fine, but the batch was not written)
    field: str | None = None
    reason: str | None = None
    code: int = 200  # the HTTP status this event alone would get

    def to_dict(self) -> dict[str, Any]:
        d = {"index": self.index, "id": self.id, "source": self.source, "status": self.status}
        if self.field:
            d["field"] = self.field
        if self.reason:
            d["reason"] = self.reason
        return d


class AllAccepted(Sequence):
    """The results of a batch whose events were all accepted (the common case), made on demand: the
    response is written straight from the events, without 1,000 EventResult objects per request."""

    def __init__(self, evs: list[ValidEvent]):
        self._evs = evs

    def __len__(self) -> int:
        return len(self._evs)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return [self[k] for k in range(*i.indices(len(self)))]
        e = self._evs[i]
        return EventResult(i if i >= 0 else len(self._evs) + i, e.event_id, e.source, "accepted")

    def to_dicts(self) -> list[dict[str, Any]]:
        return [{"index": i, "id": e.event_id, "source": e.source, "status": "accepted"}
                for i, e in enumerate(self._evs)]


@dataclass
class IngestOutcome:
    status_code: int
    results: Sequence[EventResult]
    accepted: int = 0
    duplicates: int = 0
    error: str | None = None
    field: str | None = None

    def to_dict(self) -> dict[str, Any]:
        d: dict[str, Any] = {"accepted": self.accepted, "duplicates": self.duplicates,
                             "results": self.results.to_dicts() if isinstance(self.results, AllAccepted)
                             else [r.to_dict() for r in self.results]}
        if self.error:
            d["error"] = self.error
            d["field"] = self.field
        return d

