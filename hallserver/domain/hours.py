"""Opening hours (办公时间), 停止取号 and quotas (号源): may a ticket be issued now?

Pure Python. A hall has sessions per day — usually a morning and an afternoon (上午/下午,
the "half-days" of the quotas) — on the days it opens, plus optional extended sessions
(延时服务, e.g. 周六上午 or 午间不打烊) that may be limited to some categories. Each category
stops issuing tickets some minutes before each session ends (停止取号), and may have a daily
and a per-session quota. A refused ticket comes with the next time the category issues again.

Which days the hall opens (`HallDays`, docs/queue.md), the first rule that applies:
1. a day in the hall's `closed_days` (an event): closed all day, 延时服务 too;
2. a day in the hall's `open_days` (a special service on a holiday, an extra Saturday): open;
3. a 法定节假日 of the working-day calendar (the State Council's notice): closed all day;
4. a 调休 working day (a weekend day worked by the notice): open;
5. any other day: open when its weekday is one of the hall's `weekdays`.
In a year the calendar has no schedule for, rules 3 and 4 cannot be known: the hall opens on
its weekdays (the server warns on the dashboard). Extended sessions run on their weekdays on
every day that rules 1 and 3 do not close.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from hallserver.domain.workdays import WorkCalendar

DAYS_AHEAD = 21          # how far to look for the next opening (春节 and its weekends fit)


class DayRule(StrEnum):
    """Which rule decides whether the hall opens on a day (the first that applies)."""
    CLOSED_DAY = "closed_day"     # the hall's own exception: closed (an event)
    OPEN_DAY = "open_day"         # the hall's own exception: open
    HOLIDAY = "holiday"           # 法定节假日 in the calendar: closed
    WORKED = "worked"             # 调休: a weekend day worked, open
    WEEK = "week"                 # an ordinary day: open on the hall's weekdays
    UNCOVERED = "uncovered"       # a year with no schedule: open on the hall's weekdays


@dataclass(frozen=True)
class HallDays:
    """The days the hall opens: the working-day calendar with the hall's own exceptions.
    `weekdays` are those of an ordinary week (0 = Monday); without a calendar, weekdays only."""
    weekdays: frozenset[int] = frozenset(range(5))
    calendar: WorkCalendar | None = None
    open_days: frozenset[date] = frozenset()
    closed_days: frozenset[date] = frozenset()

    def covered(self, day: date) -> bool:
        """The calendar has the official schedule of this day's year."""
        return self.calendar is not None and day.year in self.calendar.years

    def rule(self, day: date) -> DayRule:
        if day in self.closed_days:
            return DayRule.CLOSED_DAY
        if day in self.open_days:
            return DayRule.OPEN_DAY
        if self.calendar is None:
            return DayRule.WEEK
        if not self.covered(day):
            return DayRule.UNCOVERED
        if day in self.calendar.days_worked:
            return DayRule.WORKED
        if day in self.calendar.days_off:
            return DayRule.HOLIDAY
        return DayRule.WEEK

    def is_open(self, day: date) -> bool:
        """The hall opens with its regular sessions on this day."""
        rule = self.rule(day)
        if rule in (DayRule.OPEN_DAY, DayRule.WORKED):
            return True
        return rule in (DayRule.WEEK, DayRule.UNCOVERED) and day.weekday() in self.weekdays

    def closed_all_day(self, day: date) -> bool:
        """A holiday or the hall's closed day: no session at all, 延时服务 neither."""
        return self.rule(day) in (DayRule.CLOSED_DAY, DayRule.HOLIDAY)

    # the working-day questions attendance asks (its shifts follow the hall's days)
    def is_working_day(self, day: date) -> bool:
        return self.is_open(day)

    def is_holiday(self, day: date) -> bool:
        """No 延时服务 shift either (a holiday, the hall's closed day)."""
        return self.closed_all_day(day)

    def next_working_day(self, day: date) -> date:
        """The first day after `day` the hall opens (within a year; else the day after)."""
        for offset in range(1, 367):
            d = day + timedelta(days=offset)
            if self.is_open(d):
                return d
        return day + timedelta(days=1)


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
    days: HallDays = field(default_factory=HallDays)     # which days it opens (the calendar, the exceptions)
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
        if self.days.closed_all_day(day):
            return []
        out: list[Session] = list(self.sessions) if self.days.is_open(day) else []
        for ext in self.extended:
            if day.weekday() in ext.weekdays and (ext.categories is None or category in ext.categories):
                out.extend(ext.sessions)
        stop = self._stop(category)
        spans = []
        for s in sorted(set(out), key=lambda s: (s.start, s.end)):   # a 调休 Saturday may also have its 延时
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
