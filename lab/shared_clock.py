"""Simulated hall time shared between processes (the soak and its hall server process).

The soak moves a `SharedSimClock` (a SimClock that writes every move to a small file); the
hall server in its own process reads that file on every `now()` through a `SharedClock`,
so it handles each command at the simulated moment the soak sent it.

The file is 24 bytes, memory-mapped on both sides, in the machine's own byte order:
    8 bytes   b"GHCLOCK1"  (what the file is)
    int64     the time, in microseconds since 1970-01-01 UTC (exact: a datetime has no finer grain)
    int64     the same time again
Each copy is written and read as one aligned machine word (a memoryview of int64s over the
map: a single 8-byte store or load, which x86-64 and ARMv8 never tear). struct.pack_into
would not do: it writes a number byte by byte, and a reader racing two such writes can find
two equal copies that are neither the old time nor the new (a test caught exactly that).
The writer writes the first copy, then the second; a reader that finds them different has
read between the two, and reads again. Only one process writes.
"""
from __future__ import annotations

import mmap
import os
import struct
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hallserver.domain.clock import SimClock

MAGIC = b"GHCLOCK1"
HEADER = struct.Struct("=8s")
LAYOUT = struct.Struct("=8sqq")          # magic, time, time again (native order, no padding)
FIRST_COPY, SECOND_COPY = 1, 2           # their places as int64 words
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
QUICK_READS = 100                        # a write takes nanoseconds: these are read again at once
READ_BUDGET_S = 1.0                      # unless the writer is descheduled mid-write: then it yields,
                                         # and a second of disagreement means a broken file


class ClockFileError(ValueError):
    """The clock file is missing, of the wrong size or kind, or holds no usable time."""


def _micros(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("a shared clock's time must be timezone-aware")
    return (when - EPOCH) // timedelta(microseconds=1)


class SharedSimClock(SimClock):
    """The writing side: a SimClock whose every move is written to `path` (created or overwritten)."""

    def __init__(self, path: str | Path, start: datetime, tz: str | ZoneInfo = "Asia/Shanghai") -> None:
        super().__init__(start, tz)
        self.path = Path(path)
        with open(self.path, "wb") as f:
            f.write(LAYOUT.pack(MAGIC, 0, 0))
        self._file = open(self.path, "r+b")      # noqa: SIM115 - kept open with the map until close()
        self._map = mmap.mmap(self._file.fileno(), LAYOUT.size)
        self._words = memoryview(self._map).cast("q")
        self._write_lock = threading.Lock()
        self._write(self.now())

    def _write(self, when: datetime) -> None:
        us = _micros(when)
        with self._write_lock:
            self._words[FIRST_COPY] = us
            self._words[SECOND_COPY] = us

    def set(self, when: datetime) -> None:
        super().set(when)
        self._write(self.now())

    def advance(self, seconds: float) -> datetime:
        now = super().advance(seconds)
        self._write(now)
        return now

    def close(self) -> None:
        self._words.release()
        self._map.close()
        self._file.close()


class SharedClock:
    """The reading side (the hall server's clock): the time in the file at every `now()`.

    A file that is not a clock file gives a ClockFileError at once, naming the file and what
    is wrong with it."""

    def __init__(self, path: str | Path, tz: str | ZoneInfo = "Asia/Shanghai") -> None:
        self.path = Path(path)
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        try:
            fd = os.open(self.path, os.O_RDONLY)
        except OSError as exc:
            raise ClockFileError(f"cannot open the clock file {self.path}: {exc.strerror}") from None
        try:
            size = os.fstat(fd).st_size
            if size != LAYOUT.size:
                raise ClockFileError(f"{self.path} is {size} bytes: not a govhall clock file ({LAYOUT.size} bytes)")
            self._map = mmap.mmap(fd, LAYOUT.size, access=mmap.ACCESS_READ)
        finally:
            os.close(fd)                         # the map keeps its own reference to the file
        (magic,) = HEADER.unpack_from(self._map)
        if magic != MAGIC:
            raise ClockFileError(f"{self.path} does not start with {MAGIC!r}: not a govhall clock file")
        self._words = memoryview(self._map).cast("q")
        self.now()                               # a time that is no time fails here, not in the first command

    def now(self) -> datetime:
        reads, give_up = 0, None
        while True:
            first, second = self._words[FIRST_COPY], self._words[SECOND_COPY]
            if first == second:
                break
            reads += 1
            if reads < QUICK_READS:
                continue
            if give_up is None:
                give_up = time.monotonic() + READ_BUDGET_S
            elif time.monotonic() > give_up:
                raise ClockFileError(f"{self.path}: its two copies of the time have not agreed for "
                                     f"{READ_BUDGET_S} s (more than one writer?)")
            os.sched_yield()                     # let the writer finish its second copy
        try:
            return (EPOCH + timedelta(microseconds=first)).astimezone(self.tz)
        except OverflowError:
            raise ClockFileError(f"{self.path} holds {first} µs since 1970: no date") from None

    def close(self) -> None:
        self._words.release()
        self._map.close()
