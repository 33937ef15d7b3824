"""Where the GPU agent learns which leases run: an interface, with a JSON file adapter that a job runner
(or an operator) keeps up to date, and a static one for tests."""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol


@dataclass(frozen=True)
class Lease:
    lease_id: str
    customer: str
    gpu_class: str
    gpu_count: int
    gpu_indices: tuple[int, ...] = field(default_factory=tuple)


class JobSource(Protocol):
    def leases(self) -> list[Lease]:
        """The leases running now."""


class JobSourceError(Exception):
    pass


class StaticJobSource:
    def __init__(self, leases: list[Lease] | None = None):
        self.current = list(leases or [])

    def leases(self) -> list[Lease]:
        return list(self.current)


class FileJobSource:
    """{"leases": [{"lease_id", "customer", "gpu_class", "gpu_count", "gpu_indices": [..]}]}; a missing
    file means nothing runs."""

    def __init__(self, path: Path):
        self.path = Path(path)

    def leases(self) -> list[Lease]:
        if not self.path.exists():
            return []
        try:
            data = json.loads(self.path.read_text())
            return [Lease(str(x["lease_id"]), str(x["customer"]), str(x["gpu_class"]), int(x["gpu_count"]),
                          tuple(int(i) for i in x.get("gpu_indices", ()))) for x in data.get("leases", [])]
        except (ValueError, KeyError, TypeError, AttributeError) as e:
            raise JobSourceError(f"jobs file {self.path}: malformed ({type(e).__name__}: {e})") from None
