"""Who a window calls next (叫号顺序): the one rule, in one place.

The queue engine uses it to call, the wait estimator uses it to play the queue forward, and
docs/queue.md shows it as a table. For a window, among the tickets it may call:

    1. called back (回呼): transferred to this window or its category, or re-queued after a
       skip and its turn has come — in the order they were called back;
    2. otherwise the preferred ticket: by class (绿色通道, then 预约, then normal), then the
       window's category order, then issue order —
       unless that would pass over someone who took a ticket more than the starvation bound
       (default 30 min) earlier: then the earliest such ticket goes first. Nobody is ever
       overtaken by a ticket taken more than 30 minutes after theirs, so no category and no
       class waits for ever, however many priority tickets arrive;
    3. re-queued tickets whose turn has not come yet, only when nobody else waits.

A window may call: waiting tickets of its categories, tickets transferred to it by name
(any category), and — at an elderly-first window (老年人优先窗口) — 绿色通道 tickets of every
category. A ticket transferred to a named window is called by that window only.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from govhall.contract import TicketClass

CLASS_RANK = {TicketClass.GREEN: 0, TicketClass.APPOINTMENT: 1, TicketClass.NORMAL: 2}


@dataclass(frozen=True)
class CallRules:
    starvation_s: float = 30 * 60      # nobody is overtaken by a ticket taken this much later
    requeue_after: int = 3             # a re-queued citizen goes after this many others
    requeue_within_s: float = 30 * 60  # a skipped citizen may re-queue this long after the skip


class CallableTicket(Protocol):        # what the rule needs of a ticket
    id: int
    category: str
    issued_at: datetime
    priority: TicketClass
    callback_seq: int | None
    requeue_after_id: int | None
    transfer_to_window: str | None


class CallingWindow(Protocol):        # what the rule needs of a window
    id: str
    categories: tuple[str, ...]
    elderly_first: bool


def may_call(w: CallingWindow, t: CallableTicket) -> bool:
    if t.transfer_to_window is not None:
        return t.transfer_to_window == w.id
    return t.category in w.categories or (w.elderly_first and t.priority == TicketClass.GREEN)


def preference(w: CallingWindow, t: CallableTicket) -> tuple:
    order = w.categories.index(t.category) if t.category in w.categories else len(w.categories)
    return (CLASS_RANK[t.priority], order, t.id)


def pick(w: CallingWindow, waiting: Iterable[CallableTicket], rules: CallRules,
         is_waiting: Callable[[int], bool]) -> CallableTicket | None:
    """The ticket window `w` calls now, or None."""
    callbacks, not_yet, others = [], [], []
    for t in waiting:
        if not may_call(w, t):
            continue
        if t.callback_seq is None:
            others.append(t)
        elif t.requeue_after_id is None or not is_waiting(t.requeue_after_id):
            callbacks.append(t)
        else:
            not_yet.append(t)
    if callbacks:
        return min(callbacks, key=lambda t: t.callback_seq)
    if others:
        preferred = min(others, key=lambda t: preference(w, t))
        earliest = min(others, key=lambda t: (t.issued_at, t.id))
        if (preferred.issued_at - earliest.issued_at).total_seconds() > rules.starvation_s:
            return earliest
        return preferred
    if not_yet:
        return min(not_yet, key=lambda t: t.callback_seq)
    return None


class Dispatcher:
    """pick() over and over while tickets leave, fast: for the wait estimate, which plays the
    queue forward. Gives exactly the answers pick() would (tests/test_estimate.py checks that
    on generated queues) in O(n log n) for a whole play instead of O(n²)."""

    def __init__(self, windows: list[CallingWindow], waiting: list[CallableTicket], rules: CallRules) -> None:
        self.windows, self.rules = windows, rules
        self.waiting_ids = {t.id for t in waiting}
        self.callbacks = sorted((t for t in waiting if t.callback_seq is not None), key=lambda t: t.callback_seq)
        self._by_preference: list[list[CallableTicket]] = []
        self._by_issue: list[list[CallableTicket]] = []
        self._heads: dict[int, int] = {}     # id of a line → index of its first ticket still waiting
        # windows that serve the same categories in the same order share their lines (a big
        # hall has 100 windows but a few kinds of window); a line is only read, never changed
        plain: dict[str, list[CallableTicket]] = {}       # category → its tickets for any window
        named: dict[str, list[CallableTicket]] = {}       # window → tickets transferred to it by name
        for t in waiting:
            if t.callback_seq is None:
                if t.transfer_to_window is None:
                    plain.setdefault(t.category, []).append(t)
                else:
                    named.setdefault(t.transfer_to_window, []).append(t)
        shared: dict[tuple, tuple[list, list]] = {}
        for w in windows:
            key = (tuple(w.categories), w.elderly_first, w.id if w.id in named else None)
            if key not in shared:       # the tickets may_call(w, t) admits, found by category
                mine = [t for c in set(w.categories) for t in plain.get(c, ())]
                if w.elderly_first:
                    mine += [t for c, line in plain.items() if c not in w.categories
                             for t in line if t.priority == TicketClass.GREEN]
                mine += named.get(w.id, [])
                rank = {c: k for k, c in reversed(list(enumerate(w.categories)))}   # preference(), faster
                last = len(w.categories)
                shared[key] = (sorted(mine, key=lambda t, rank=rank, last=last:
                                      (CLASS_RANK[t.priority], rank.get(t.category, last), t.id)),
                               sorted(mine, key=lambda t: (t.issued_at, t.id)))
            self._by_preference.append(shared[key][0])
            self._by_issue.append(shared[key][1])

    def remove(self, t: CallableTicket) -> None:
        self.waiting_ids.discard(t.id)

    def _head(self, line: list[CallableTicket]) -> CallableTicket | None:
        """The line's first ticket still waiting. Tickets only ever leave, so the place moves
        forward only; it is kept per line, not per window: the twenty windows sharing a line
        do not each step over the same called tickets again."""
        k = self._heads.get(id(line), 0)
        waiting, n = self.waiting_ids, len(line)
        while k < n and line[k].id not in waiting:
            k += 1
        self._heads[id(line)] = k
        return line[k] if k < n else None

    def pick(self, i: int) -> CallableTicket | None:
        w = self.windows[i]
        mine = [t for t in self.callbacks if t.id in self.waiting_ids and may_call(w, t)]
        turn_come = [t for t in mine if t.requeue_after_id is None or t.requeue_after_id not in self.waiting_ids]
        if turn_come:
            return turn_come[0]
        preferred = self._head(self._by_preference[i])
        if preferred is not None:
            earliest = self._head(self._by_issue[i])
            if (preferred.issued_at - earliest.issued_at).total_seconds() > self.rules.starvation_s:
                return earliest
            return preferred
        return mine[0] if mine else None
