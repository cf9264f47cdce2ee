"""Who a window calls next (叫号顺序): the one rule, in one place.

The queue engine uses it to call, the wait estimator uses it to play the queue forward, and
docs/queue.md shows it as a table. For a window, among the tickets it may call, the smallest
key wins:

    rank 0  called back (回呼): transferred to this window or its category, or re-queued
            after a skip and its turn has come — in the order they were called back
    rank 1  waited longer than the starvation bound (default 30 min) — oldest first,
            whatever its class or category, so nobody is passed over for ever
    rank 2  everyone else, by class (绿色通道, then 预约, then normal), then the window's
            category order, then issue order
    rank 3  re-queued tickets whose turn has not come yet (only when nobody else waits)

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
    starvation_s: float = 30 * 60      # nobody waits longer than this because others go first
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


def call_key(w: CallingWindow, t: CallableTicket, now: datetime, rules: CallRules,
             is_waiting: Callable[[int], bool]) -> tuple:
    if t.callback_seq is not None:
        if t.requeue_after_id is None or not is_waiting(t.requeue_after_id):
            return (0, 0, 0, t.callback_seq)
        return (3, 0, 0, t.callback_seq)
    if (now - t.issued_at).total_seconds() >= rules.starvation_s:
        return (1, 0, 0, t.id)
    order = w.categories.index(t.category) if t.category in w.categories else len(w.categories)
    return (2, CLASS_RANK[t.priority], order, t.id)


def pick(w: CallingWindow, waiting: Iterable[CallableTicket], now: datetime, rules: CallRules,
         is_waiting: Callable[[int], bool]) -> CallableTicket | None:
    """The ticket window `w` calls now, or None."""
    best, best_key = None, None
    for t in waiting:
        if not may_call(w, t):
            continue
        key = call_key(w, t, now, rules, is_waiting)
        if best_key is None or key < best_key:
            best, best_key = t, key
    return best
