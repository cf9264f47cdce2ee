"""Opening hours (办公时间), 停止取号 and quotas (号源): may a ticket be issued now?

Pure Python. A hall has sessions per day — usually a morning and an afternoon (上午/下午,
the "half-days" of the quotas) — on its working weekdays, plus optional extended sessions
(延时服务, e.g. 周六上午 or 午间不打烊) that may be limited to some categories. Each category
stops issuing tickets some minutes before each session ends (停止取号), and may have a daily
and a per-session quota. A refused ticket comes with the next time the category issues again.

Public holidays and 调休 working Saturdays come with the working-day calendar (issue 8); until
then a hall lists its special days as extended sessions or closes by config.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

DAYS_AHEAD = 14          # how far to look for the next opening


@dataclass(frozen=True)
class Session:
    start: time
    end: time


@dataclass(frozen=True)
class Extended:
    """延时服务: extra sessions on some weekdays (0 = Monday), for some categories or all."""
    weekdays: frozenset[int]
    sessions: tuple[Session, ...]
    categories: frozenset[str] | None = None


@dataclass(frozen=True)
class CategoryLimits:
    last_ticket_minutes: int | None = None     # overrides the hall's
    daily_quota: int | None = None
    session_quota: int | None = None           # per half-day (上午/下午) or extended session


@dataclass(frozen=True)
class Refusal:
    reason: str                  # "closed" (outside hours / 停止取号) or "quota_full"
    next_open: datetime | None   # when the category issues again, None if not within DAYS_AHEAD


@dataclass
class HallHours:
    tz: ZoneInfo
    weekdays: frozenset[int] = frozenset(range(5))
    sessions: tuple[Session, ...] = ()
    last_ticket_minutes: int = 30
    extended: tuple[Extended, ...] = ()
    limits: dict[str, CategoryLimits] = field(default_factory=dict)

    def open_spans(self, category: str, day: date) -> list[tuple[datetime, datetime]]:
        """The category's sessions that day as (start, end), 停止取号 not applied."""
        return [(start, last + self._stop(category)) for start, last in self.sessions_on(category, day)]

    def _stop(self, category: str) -> timedelta:
        limit = self.limits.get(category, CategoryLimits())
        return timedelta(minutes=limit.last_ticket_minutes if limit.last_ticket_minutes is not None
                         else self.last_ticket_minutes)

    def sessions_on(self, category: str, day: date) -> list[tuple[datetime, datetime]]:
        """The category's sessions that day as (start, last moment to take a ticket)."""
        out: list[Session] = list(self.sessions) if day.weekday() in self.weekdays else []
        for ext in self.extended:
            if day.weekday() in ext.weekdays and (ext.categories is None or category in ext.categories):
                out.extend(ext.sessions)
        stop = self._stop(category)
        spans = []
        for s in sorted(out, key=lambda s: s.start):
            start = datetime.combine(day, s.start, self.tz)
            last = datetime.combine(day, s.end, self.tz) - stop
            if last > start:
                spans.append((start, last))
        return spans

    def check(self, category: str, now: datetime, issued_today: Sequence[datetime]) -> Refusal | None:
        """None if a ticket may be issued now; otherwise why not and when it may."""
        if not self.sessions and not self.extended:
            return None                                   # no hours configured: always open
        now = now.astimezone(self.tz)
        limit = self.limits.get(category, CategoryLimits())
        today = self.sessions_on(category, now.date())
        current = next(((a, b) for a, b in today if a <= now < b), None)
        if current is None:
            return Refusal("closed", self._next_open(category, now))
        if limit.daily_quota is not None and len(issued_today) >= limit.daily_quota:
            return Refusal("quota_full", self._next_open(category, now, skip_today=True))
        if limit.session_quota is not None:
            in_session = sum(1 for t in issued_today if current[0] <= t.astimezone(self.tz) < current[1])
            if in_session >= limit.session_quota:
                return Refusal("quota_full", self._next_open(category, current[1]))
        return None

    def _next_open(self, category: str, after: datetime, skip_today: bool = False) -> datetime | None:
        day = after.date()
        for offset in range(DAYS_AHEAD + 1):
            d = day + timedelta(days=offset)
            if skip_today and offset == 0:
                continue
            for start, _last in self.sessions_on(category, d):
                if start > after:
                    return start
        return None
