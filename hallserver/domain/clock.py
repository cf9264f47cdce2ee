"""Clocks. The domain never reads the system time itself: it is handed a clock."""
from __future__ import annotations

import logging
import threading
from datetime import UTC, date, datetime, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo


class Clock(Protocol):
    tz: ZoneInfo

    def now(self) -> datetime:
        """The current time, timezone-aware, in the hall's zone."""
        ...


def hall_day(clock: Clock) -> date:
    """The hall's calendar day now (numbers restart each day)."""
    return clock.now().astimezone(clock.tz).date()


class SteadyClock:
    """Another clock's time that never goes backwards (the hall server's clock).

    When the machine's clock is stepped back (an NTP correction, someone setting the time),
    the hall's time stands still until the wall clock has caught up: numbers stay on the day
    they were on, no service ends before it began, no wait comes out negative. A step back
    longer than a second is logged once, with its size.
    """

    def __init__(self, inner: Clock) -> None:
        self.inner, self.tz = inner, inner.tz
        self._last: datetime | None = None
        self._held = False
        self._lock = threading.Lock()

    def now(self) -> datetime:
        t = self.inner.now()
        with self._lock:
            if self._last is not None and t < self._last:
                if not self._held and self._last - t > timedelta(seconds=1):
                    logging.getLogger("hallserver.clock").warning(
                        "the machine's clock went back %.0f s; the hall's time waits until it catches up",
                        (self._last - t).total_seconds())
                self._held = True
                return self._last
            self._held = False
            self._last = t
            return t


class SystemClock:
    def __init__(self, tz: str | ZoneInfo = "Asia/Shanghai") -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)

    def now(self) -> datetime:
        return datetime.now(UTC).astimezone(self.tz)


class SimClock:
    """Simulated time for tests, the demo and the capacity simulation; thread-safe."""

    def __init__(self, start: datetime, tz: str | ZoneInfo = "Asia/Shanghai") -> None:
        self.tz = tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz)
        if start.tzinfo is None:
            start = start.replace(tzinfo=self.tz)
        self._now = start
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, seconds: float) -> datetime:
        if seconds < 0:
            raise ValueError("a simulated clock only moves forward")
        with self._lock:
            self._now += timedelta(seconds=seconds)
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            if when < self._now:
                raise ValueError("a simulated clock only moves forward")
            self._now = when
