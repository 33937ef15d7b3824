"""A directory of pending event files. Files are written atomically (temp file + rename) and named so
that sorting them gives the order they were written in."""
from __future__ import annotations

import json
import os
import time
import uuid
from pathlib import Path


class Spool:
    def __init__(self, directory: Path):
        self.dir = Path(directory)
        self.dir.mkdir(parents=True, exist_ok=True)

    def put(self, events: list[dict]) -> Path | None:
        if not events:
            return None
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"
        self._write(self.dir / name, events)
        return self.dir / name

    def _write(self, path: Path, events: list[dict]) -> None:
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w") as f:
            json.dump(events, f, separators=(",", ":"))
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)

    def replace(self, path: Path, events: list[dict]) -> None:
        if events:
            self._write(path, events)
        else:
            path.unlink(missing_ok=True)

    def dead_letter(self, refused: list[dict]) -> Path | None:
        """Keep events the meter refused, each with the meter's reason, in `dead-letter/` (never resent, never
        lost: an operator reads them, fixes the cause, e.g. the customer signs the missing lease, and puts
        them back in the spool)."""
        if not refused:
            return None
        d = self.dir / "dead-letter"
        d.mkdir(exist_ok=True)
        path = d / f"{time.time_ns():020d}-{uuid.uuid4().hex[:8]}.json"
        self._write(path, refused)
        return path

    def dead_letters(self) -> list[dict]:
        d = self.dir / "dead-letter"
        return [x for p in sorted(d.glob("*.json")) for x in self.load(p)] if d.is_dir() else []

    def pending(self) -> list[Path]:
        return sorted(self.dir.glob("*.json"))

    def load(self, path: Path) -> list[dict]:
        return json.loads(path.read_text())

    def count_events(self) -> int:
        return sum(len(self.load(p)) for p in self.pending())

    # Small JSON state beside the spool (e.g. the leases the GPU agent has announced).
    def read_state(self, name: str, default):
        p = self.dir / f"{name}.state"
        return json.loads(p.read_text()) if p.exists() else default

    def write_state(self, name: str, value) -> None:
        p = self.dir / f"{name}.state"
        tmp = p.with_suffix(".state.tmp")
        tmp.write_text(json.dumps(value))
        os.replace(tmp, p)
