"""Limits on what an anonymous client may try on the citizens' public pages: wrong guesses of
a rating code (a token bucket that only wrong guesses empty) and bookings or applications
per client address (at most so many in a sliding period). Pure Python: the caller gives the
time in seconds (monotonic or the hall clock's), so tests run on simulated time.
"""
from __future__ import annotations

from collections import deque


class GuessThrottle:
    """Wrong guesses per key (a window, a client address): `burst` at once, then one more every
    `refill_s` seconds. Only a wrong guess costs; while a key has no guess left, nothing is
    checked for it (so the code cannot be found faster), and nothing is ever locked for good."""

    MAX_KEYS = 10000

    def __init__(self, burst: int, refill_s: float) -> None:
        self.burst, self.refill_s = float(burst), refill_s
        self._buckets: dict[str, tuple[float, float]] = {}

    def _tokens(self, key: str, now: float) -> float:
        tokens, last = self._buckets.get(key, (self.burst, now))
        return min(self.burst, tokens + max(0.0, now - last) / self.refill_s)

    def allows(self, key: str, now: float) -> bool:
        return self._tokens(key, now) >= 1.0

    def wait_s(self, key: str, now: float) -> int:
        """Seconds until the key may guess again (0: now)."""
        missing = 1.0 - self._tokens(key, now)
        return 0 if missing <= 0 else int(missing * self.refill_s) + 1

    def failed(self, key: str, now: float) -> None:
        if len(self._buckets) > self.MAX_KEYS:      # forget the full ones, never grow without bound
            self._buckets = {k: v for k, v in self._buckets.items() if self._tokens(k, now) < self.burst}
        self._buckets[key] = (max(0.0, self._tokens(key, now) - 1.0), now)


class CountLimit:
    """At most `limit` events per key within `period_s` seconds (a sliding period); the limit is
    given with each question, so that settings changed while the hall runs apply at once."""

    MAX_KEYS = 10000

    def __init__(self, period_s: float) -> None:
        self.period_s = period_s
        self._times: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._times.get(key, deque())
        while times and now - times[0] >= self.period_s:
            times.popleft()
        return times

    def allows(self, key: str, now: float, limit: int) -> bool:
        return len(self._recent(key, now)) < limit

    def record(self, key: str, now: float) -> None:
        if len(self._times) > self.MAX_KEYS:
            self._times = {k: v for k, v in self._times.items() if self._recent(k, now)}
        times = self._recent(key, now)
        times.append(now)
        self._times[key] = times
