"""The storage sampler: on an interval, the bytes of each bucket per storage class, as storage-sample events.

Where the bytes come from is a `StorageSource`: a directory tree (`DirectorySource`, allocated bytes =
st_blocks x 512, each inode once, symlinks not followed) or an S3-compatible listing (`metering.agents.s3`).
A source answers one question, "bytes and objects per storage class of this bucket now", completely or
not at all (`SourceUnreadable`): a bucket that could not be read gets NO sample that tick, so the meter
sees a gap (not billed past the sample timeout, and reported) rather than a number from a partial read.
Sampling, event building, spooling and signing are the agent's, shared by every source.
"""
from __future__ import annotations

import logging
import os
import re
import socket
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Protocol

from solders.keypair import Keypair

from ..events.limits import CLASS_PATTERN, RESOURCE_PATTERN
from . import events as E
from .client import FlushReport, MeterClient, flush, wall_clock_ms
from .spool import Spool

log = logging.getLogger("solmeter.agent")
_CLASS_RE, _RESOURCE_RE = re.compile(CLASS_PATTERN), re.compile(RESOURCE_PATTERN)
MAX_CLASS_LEN = 32
MAX_RESOURCE_LEN = 128
CLASSES_STATE = "storage-classes"  # spool state: the storage classes each bucket has reported


@dataclass(frozen=True)
class ClassTally:
    """Bytes and objects of one storage class of one bucket at one time."""

    bytes: int
    objects: int


class SourceUnreadable(Exception):
    """The source could not be read completely this time (one line saying why): no sample."""


class StorageSource(Protocol):
    """Bytes per storage class of one bucket at the time `measure` is called."""

    label: str  # where it reads, for reports: a path, s3://bucket/prefix
    # False: one class, configured (a directory), the bucket's samples are one series named after the bucket.
    # True: the classes are what the source finds (S3), each class is its own series, NAME:CLASS.
    reports_classes: bool

    def measure(self) -> dict[str, ClassTally]:
        """Complete tallies per storage class, or SourceUnreadable: never a partial read."""
        ...


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
class DirectorySource:
    path: Path
    storage_class: str = "STANDARD"
    reports_classes = False

    @property
    def label(self) -> str:
        return str(self.path)

    def measure(self) -> dict[str, ClassTally]:
        if not self.path.is_dir():
            raise SourceUnreadable("no such directory")
        nbytes, files = allocated_bytes(self.path)
        return {self.storage_class: ClassTally(nbytes, files)}


@dataclass(frozen=True)
class Bucket:
    name: str
    source: StorageSource
    customer: str

    def series(self, storage_class: str) -> str:
        """The meter resource a class of this bucket is sampled as. The meter bills consecutive samples of
        one resource, so two classes of one bucket must be two resources, or their samples would interleave."""
        return f"{self.name}:{storage_class}" if self.source.reports_classes else self.name


def class_problem(storage_class: str) -> str | None:
    """Why the meter would refuse this storage class name, or None."""
    if _CLASS_RE.fullmatch(storage_class):
        return None
    return f"a storage class is at most {MAX_CLASS_LEN} of A-Z 0-9 _ . -, starting with A-Z or 0-9"


def name_problem(name: str, reports_classes: bool) -> str | None:
    """Why the meter would refuse the resources of a bucket of this name (NAME, or NAME:CLASS), or None."""
    longest = MAX_RESOURCE_LEN - (1 + MAX_CLASS_LEN if reports_classes else 0)
    if _RESOURCE_RE.fullmatch(name) and len(name) <= longest:
        return None
    return f"a bucket name is at most {longest} of A-Z a-z 0-9 . _ : / @ + -, starting with a letter or digit"


@dataclass
class StorageTick:
    samples: int = 0
    unread: list[tuple[str, str]] = field(default_factory=list)  # (source label, why): no sample this tick
    flush: FlushReport | None = None


class StorageAgent:
    def __init__(self, provider: Keypair, buckets: list[Bucket], spool: Spool, client: MeterClient, *,
                 source: str | None = None, clock: Callable[[], int] = wall_clock_ms):
        self.provider = str(provider.pubkey())
        self.buckets, self.spool, self.client = buckets, spool, client
        self.source = source or f"/providers/{self.provider}/storage/{socket.gethostname()}"
        self.clock = clock
        self._failing: dict[str, int] = {}  # source label -> failed ticks in a row (logged on the first)

    def tick(self) -> StorageTick:
        if not self.client.synced:
            self.client.sync_time()  # the first events already carry the meter's time, not a skewed clock's
        now = self.clock() + self.client.offset_ms  # corrected by the meter's clock once it has been learned
        rep = StorageTick()
        out = []
        known: dict[str, list[str]] = self.spool.read_state(CLASSES_STATE, {})
        for b in self.buckets:
            try:
                tallies = b.source.measure()
            except SourceUnreadable as e:
                rep.unread.append((b.source.label, str(e)))
                self._failed(b, str(e))
                continue
            self._recovered(b)
            # A class seen before and now empty is sampled as 0 bytes: its last interval is billed up to
            # now and nothing after, and it does not read as an outage if objects of that class come back.
            classes = sorted(set(tallies) | set(known.get(b.name, ()))) if b.source.reports_classes else sorted(tallies)
            for c in classes:
                t = tallies.get(c, ClassTally(0, 0))
                out.append(E.storage_sample(self.source, self.provider, b.customer, b.series(c), c,
                                            t.bytes, t.objects, now))
                rep.samples += 1
            if b.source.reports_classes:
                known[b.name] = classes
        self.spool.put(out)  # the sample events first, then the state that mentions their classes
        if known != self.spool.read_state(CLASSES_STATE, {}):
            self.spool.write_state(CLASSES_STATE, known)
        rep.flush = flush(self.spool, self.client)
        return rep

    def _failed(self, b: Bucket, why: str) -> None:
        n = self._failing.get(b.source.label, 0)
        self._failing[b.source.label] = n + 1
        if n == 0:
            log.error("storage bucket %s (%s): not read: %s. No sample until it can be read again: the meter "
                      "holds the last sample up to the sample timeout and reports a longer gap unbilled. Check "
                      "the bucket, its credentials and endpoint (logged once until it recovers).",
                      b.name, b.source.label, why)

    def _recovered(self, b: Bucket) -> None:
        n = self._failing.pop(b.source.label, 0)
        if n:
            log.warning("storage bucket %s (%s): read again after %d tick(s) without a sample", b.name,
                        b.source.label, n)
