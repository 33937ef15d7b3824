"""The storage sampler: allocated bytes (st_blocks x 512, each inode once, symlinks not followed) of each
bucket directory, on an interval, as storage-sample events."""
from __future__ import annotations

import os
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from solders.keypair import Keypair

from . import events as E
from .client import FlushReport, MeterClient, flush, wall_clock_ms
from .spool import Spool


def allocated_bytes(root: Path) -> tuple[int, int]:
    """(allocated bytes, number of files) under root; hard links count once."""
    seen: set[tuple[int, int]] = set()
    total = files = 0
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        for name in filenames + dirnames:
            try:
                st = os.lstat(os.path.join(dirpath, name))
            except FileNotFoundError:
                continue  # removed while we walked
            key = (st.st_dev, st.st_ino)
            if key in seen:
                continue
            seen.add(key)
            total += st.st_blocks * 512
            if name in filenames:
                files += 1
    return total, files


@dataclass(frozen=True)
class Bucket:
    name: str
    path: Path
    customer: str
    storage_class: str = "STANDARD"


@dataclass
class StorageTick:
    samples: int = 0
    missing: list[str] = field(default_factory=list)
    flush: FlushReport | None = None


class StorageAgent:
    def __init__(self, provider: Keypair, buckets: list[Bucket], spool: Spool, client: MeterClient, *,
                 source: str | None = None, clock: Callable[[], int] = wall_clock_ms):
        self.provider = str(provider.pubkey())
        self.buckets, self.spool, self.client = buckets, spool, client
        self.source = source or f"/providers/{self.provider}/storage/{socket.gethostname()}"
        self.clock = clock

    def tick(self) -> StorageTick:
        now = self.clock()
        rep = StorageTick()
        out = []
        for b in self.buckets:
            if not b.path.is_dir():
                rep.missing.append(str(b.path))  # no sample: the meter reports the gap, nothing is billed
                continue
            nbytes, files = allocated_bytes(b.path)
            out.append(E.storage_sample(self.source, self.provider, b.customer, b.name, b.storage_class,
                                        nbytes, files, now))
            rep.samples += 1
        self.spool.put(out)
        rep.flush = flush(self.spool, self.client)
        return rep
