"""How long a new ticket will wait (预计等候时间), from the hall's own recent service times.

Pure Python, no clock of its own: the queue engine feeds it each finished service and asks it
for an estimate when it issues a ticket.

The estimate plays the queue forward with the documented call rule (call_order.py): every
open window, when it becomes free (a serving window after the rest of its mean service time),
calls the ticket the rule picks, and each service takes the category's
mean recent service time. The ticket's estimate is the moment a window calls it. This counts
what a simple "people ahead ÷ windows" rule misses: windows that serve several categories,
and earlier tickets of other categories at those windows. Paused windows are left out (nobody
knows when they resume). Until a category has history the configured default is used. The
demo measures the error against real waits (`estimate_mae_s`).
"""
from __future__ import annotations

import heapq
from collections import deque
from dataclasses import dataclass
from statistics import fmean
from typing import Any

from hallserver.domain.call_order import Dispatcher

T = Any   # a ticket: anything with the fields call_order.CallableTicket names


@dataclass(frozen=True)
class Outlook:
    """What a waiting citizen wants to know: how many will be called before them, and when
    their turn is likely. `wait_s` is None when no open window would call the ticket."""
    ahead: int
    wait_s: int | None


class WaitEstimator:
    def __init__(self, default_service_s: float, history: int = 20) -> None:
        self.default_service_s = default_service_s
        self.history = history
        self._recent: dict[str, deque[float]] = {}
        self._mean: dict[str, float] = {}     # each category's mean of _recent, kept as services end

    def record(self, category: str, service_s: float) -> None:
        """A service of this category took this long (called → completed)."""
        if service_s <= 0:
            return
        recent = self._recent.setdefault(category, deque(maxlen=self.history))
        recent.append(service_s)
        # worked out here, once per service, not on every ask: an estimate asks once per open window
        self._mean[category] = fmean(recent)

    def service_time(self, category: str) -> float:
        return self._mean.get(category, self.default_service_s)

    def estimate(self, target: T, dispatcher: Dispatcher, free_in: list[float]) -> int | None:
        """Seconds until `target` is likely called, or None when no open window would call it.

        `dispatcher` holds the waiting tickets and the open windows and applies the call rule;
        `free_in` are the seconds until each of those windows is free.
        """
        return self.outlook(target, dispatcher, free_in).wait_s

    def outlook(self, target: T, dispatcher: Dispatcher, free_in: list[float]) -> Outlook:
        """Play the queue forward until `target` is called: who goes first, and when it is."""
        free = [(max(0.0, until), i) for i, until in enumerate(free_in)]
        heapq.heapify(free)
        before = 0
        while free:
            at, i = heapq.heappop(free)
            nxt = dispatcher.pick(i)
            if nxt is None:
                continue                      # this window has nobody left to call: drop it
            if nxt is target:
                return Outlook(before, round(at))
            before += 1
            dispatcher.remove(nxt)
            heapq.heappush(free, (at + self.service_time(nxt.category), i))
        return Outlook(before, None)
