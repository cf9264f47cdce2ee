"""Working days (工作日) and 限时办结 deadlines: plain Python over an explicit schedule.

A `WorkCalendar` knows, for the years it covers, which days are off (weekends, 法定节假日)
and which weekend days are worked (调休). It never guesses: a day in a year it has no
schedule for raises `NoSchedule`, unless the hall chose `missing_year = "warn"`, in which
case weekends alone are off and the caller is told (`guessed_years`). The schedule comes
from the `chinese-calendar` package and the hall's own calendar file (calendar_source.py);
this module only does the arithmetic. docs/deadlines.md has the rules with examples.

Rules
- "N working days" are counted from the next working day: accepted on day D (any time,
  any kind of day), working day 1 is the first working day after D; the case is due at the
  end of working day N (the hall's closing time).
- 即办件 (N = 0) is due at the end of the service session it was accepted in (or the next
  session, when accepted between sessions).
- 当日办结件 is due at the hall's closing time on the day of acceptance, or — accepted at or
  after closing, or on a day off — at closing on the next working day (`same_day_deadline`).
- 补正 (incomplete materials) stops the clock: the working days from the day after the
  pause up to and including the day the materials arrive do not count.
- A deadline in a year with no schedule is not guessed: `due_or_pending` gives a `Pending`
  ("待定：2027 年节假日安排未导入") instead, computed once the year's notice is loaded.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta


class NoSchedule(LookupError):
    """The official schedule of a year is not loaded: no deadline is computed into it."""

    def __init__(self, year: int) -> None:
        super().__init__(f"no working-day schedule for {year}: load the State Council's notice into the "
                         f"hall's calendar file (docs/deadlines.md)")
        self.year = year


@dataclass
class WorkCalendar:
    days_off: set[date] = field(default_factory=set)           # weekday holidays (and any day off)
    days_worked: set[date] = field(default_factory=set)        # 调休: weekend days that are worked
    years: set[int] = field(default_factory=set)               # years with an official schedule
    warn_missing: bool = False                                 # guess weekends-only for other years
    guessed_years: set[int] = field(default_factory=set)       # years guessed so far (to warn about)

    def is_holiday(self, day: date) -> bool:
        """A 法定节假日 (or a day moved into one) of a year with a schedule; False where none is loaded."""
        return day.year in self.years and day in self.days_off and day not in self.days_worked

    def is_working_day(self, day: date) -> bool:
        if day.year not in self.years:
            if not self.warn_missing:
                raise NoSchedule(day.year)
            self.guessed_years.add(day.year)
            return day.weekday() < 5
        if day in self.days_worked:
            return True
        if day in self.days_off:
            return False
        return day.weekday() < 5

    def next_working_day(self, day: date) -> date:
        """The first working day after `day`."""
        d = day + timedelta(days=1)
        while not self.is_working_day(d):
            d += timedelta(days=1)
        return d

    def add_working_days(self, day: date, n: int) -> date:
        """Working day n counted from the next working day after `day` (n ≥ 1)."""
        if n < 1:
            raise ValueError("count at least one working day")
        cache = self.__dict__.setdefault("_added", {})
        known = cache.get((day, n))
        if known is not None:
            return known
        d = day
        for _ in range(n):
            d = self.next_working_day(d)
        if len(cache) > 200_000:
            cache.clear()
        cache[(day, n)] = d
        return d

    def working_days_between(self, after: date, until: date) -> int:
        """Working days d with after < d ≤ until (remembered: reports ask for the same spans
        thousands of times)."""
        cache = self.__dict__.setdefault("_between", {})
        known = cache.get((after, until))
        if known is not None:
            return known
        count, d = 0, after
        while d < until:
            d += timedelta(days=1)
            count += self.is_working_day(d)
        if len(cache) > 200_000:
            cache.clear()
        cache[(after, until)] = count
        return count


@dataclass(frozen=True)
class Pause:
    """补正: the clock stops from `start` until the materials arrive (`end`, None while waiting)."""
    start: datetime
    end: datetime | None = None


@dataclass(frozen=True)
class Deadline:
    due: datetime
    limit_days: int
    paused_days: int                 # working days not counted because of 补正
    waiting_materials: bool = False  # a 补正 is open: the clock is stopped
    same_day: bool = False           # 当日办结件: due at closing; yellow in its last hour (SAME_DAY_YELLOW)


# 当日办结件 turn yellow in the last hour before they are due (our default: a working day has no
# working days to take a share of, and 80 % of a day taken at 16:30 would be 16:54)
SAME_DAY_YELLOW = timedelta(hours=1)


@dataclass(frozen=True)
class Pending:
    """A deadline that falls into a year whose schedule is not loaded: shown as pending, and
    computed as soon as the State Council's notice for `year` is in the hall's calendar."""
    year: int

    @property
    def text(self) -> str:
        return f"待定：{self.year} 年节假日安排未导入"


def guessed_text(calendar: WorkCalendar, first: date, last: date) -> str | None:
    """In a hall with `missing_year = "warn"`: the warning for a deadline counted over a year with
    no schedule (weekends alone off there); None when every year from `first` to `last` is known."""
    missing = [y for y in range(first.year, last.year + 1) if y not in calendar.years]
    if not missing:
        return None
    return f"按周末推算：{'、'.join(str(y) for y in missing)} 年节假日安排未导入"


def session_end(accepted: datetime, sessions: Iterable[tuple[time, time]], calendar: WorkCalendar) -> datetime:
    """即办件: the end of the session `accepted` falls in, or of the next session (working days only)."""
    spans = sorted(sessions)
    day = accepted.date()
    if calendar.is_working_day(day):
        for _start, end in spans:
            if accepted.timetz().replace(tzinfo=None) < end:
                return datetime.combine(day, end, accepted.tzinfo)
    nxt = calendar.next_working_day(day)
    return datetime.combine(nxt, spans[0][1], accepted.tzinfo)


def same_day_deadline(accepted: datetime, calendar: WorkCalendar, closing: time, pauses: Iterable[Pause] = (),
                      now: datetime | None = None) -> Deadline:
    """当日办结件: due at `closing` on the day the case is complete — the day of acceptance, or of the
    last 补正's materials (while they are awaited: as if they came `now`) — if that is a working day
    and the moment is before closing; otherwise at closing on the next working day."""
    pauses = list(pauses)
    waiting = any(p.end is None for p in pauses)
    start = max([accepted, *(p.end or now or p.start for p in pauses)])
    day = start.date()
    if not calendar.is_working_day(day) or start.timetz().replace(tzinfo=None) >= closing:
        day = calendar.next_working_day(day)
    return Deadline(datetime.combine(day, closing, accepted.tzinfo), 0, 0, waiting, same_day=True)


def deadline(accepted: datetime, limit_days: int, calendar: WorkCalendar, closing: time,
             sessions: Iterable[tuple[time, time]] = (), pauses: Iterable[Pause] = (),
             now: datetime | None = None) -> Deadline:
    """When a case accepted at `accepted` with a limit of `limit_days` working days is due.
    A 补正 still open counts as paused up to `now` (its materials have not come yet)."""
    pauses = sorted(pauses, key=lambda p: p.start)
    waiting = any(p.end is None for p in pauses)
    if limit_days == 0:
        spans = list(sessions) or [(time(0), closing)]
        return Deadline(session_end(accepted, spans, calendar), 0, 0, waiting)
    paused = 0
    for p in pauses:
        end = p.end or now or p.start
        start = max(p.start.date(), accepted.date())    # a 补正 from before the day the count starts from
        paused += calendar.working_days_between(start, max(start, end.date()))
    due_day = calendar.add_working_days(accepted.date(), limit_days + paused)
    return Deadline(datetime.combine(due_day, closing, accepted.tzinfo), limit_days, paused, waiting)


def due_or_pending(accepted: datetime, limit_days: int, calendar: WorkCalendar, closing: time,
                   sessions: Iterable[tuple[time, time]] = (), pauses: Iterable[Pause] = (),
                   now: datetime | None = None) -> Deadline | Pending:
    """`deadline`, or `Pending` when it would be counted into a year with no schedule."""
    try:
        return deadline(accepted, limit_days, calendar, closing, sessions, pauses, now)
    except NoSchedule as exc:
        return Pending(exc.year)


class Colour:
    GREEN = "green"
    YELLOW = "yellow"
    RED = "red"


def colour(now: datetime, accepted: datetime, d: Deadline, calendar: WorkCalendar, *,
           yellow_days_left: int = 1, yellow_used: float = 0.8) -> str:
    """红黄绿: red when overdue; yellow when at most `yellow_days_left` working days are left
    after today, or at least `yellow_used` of the working days are used; green otherwise."""
    if now > d.due:
        return Colour.RED
    if d.same_day:                           # 当日办结件: its last hour
        return Colour.YELLOW if d.due - now <= SAME_DAY_YELLOW else Colour.GREEN
    if d.limit_days == 0:                    # 即办件: by the clock within its session
        total = max(1.0, (d.due - accepted).total_seconds())
        return Colour.YELLOW if (now - accepted).total_seconds() / total >= yellow_used else Colour.GREEN
    left = calendar.working_days_between(now.date(), d.due.date())
    used = calendar.working_days_between(accepted.date(), now.date()) - d.paused_days
    if left <= yellow_days_left or used / d.limit_days >= yellow_used:
        return Colour.YELLOW
    return Colour.GREEN
