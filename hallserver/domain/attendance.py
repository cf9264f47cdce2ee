"""Attendance (考勤), leave (请假) and AB岗 coverage: plain Python over given events and a clock.

- Clock events come from attendance terminals and from counter login/logout; they are
  stored as received and never edited. A correction is one more event, with who and why.
- Per staff member and working day, for each scheduled shift: late (first clock-in after
  start + grace), early leave (last clock-out before the end), absent (no clock-in and no
  approved leave), 离岗 (pauses longer than the allowed minutes: the minutes beyond).
- Leave is requested, then approved or rejected by a manager, then ended (销假). Approval is
  refused when a post would have neither its A nor its B for any part of the period, unless
  the manager names another cover.
- The front desk is never empty: `FrontDeskWatch` opens an alert the moment a front-desk
  category has no staffed, unpaused window during opening hours, and closes it with its
  duration; it also counts, per post and per category, the minutes covered by A, by B and uncovered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from hallserver.domain.workdays import WorkCalendar

OPEN_STATUSES = ("idle", "serving")


@dataclass(frozen=True)
class Shift:
    name: str
    start: time
    end: time
    weekdays: frozenset[int] | None = None     # 延时服务 shifts: these weekdays (0 = Monday); None: working days


@dataclass(frozen=True)
class ClockEvent:
    staff: str
    at: datetime
    kind: str                 # "in" or "out"
    source: str               # "terminal", "counter", "correction"
    by: str = ""              # corrections: who
    reason: str = ""          # corrections: why


@dataclass(frozen=True)
class PauseSpan:
    staff: str
    start: datetime
    end: datetime


@dataclass
class Leave:
    id: int
    staff: str
    kind: str                  # 事假, 病假, 年休假, 调休, 公差 …
    start: datetime
    end: datetime
    reason: str
    status: str = "requested"  # requested → approved / rejected → ended (销假)
    cover: str | None = None   # another cover the manager named for the period
    decided_by: str | None = None
    ended_at: datetime | None = None

    def covers(self, start: datetime, end: datetime) -> bool:
        """Approved leave over all of [start, end) (ended leave only up to its end)."""
        if self.status not in ("approved", "ended"):
            return False
        until = min(self.end, self.ended_at) if self.ended_at else self.end
        return self.start <= start and until >= end

    def overlaps(self, start: datetime, end: datetime) -> bool:
        if self.status not in ("requested", "approved"):
            return False
        return self.start < end and start < self.end


@dataclass(frozen=True)
class Post:
    id: str
    name: str
    a: str
    b: str
    categories: tuple[str, ...]
    front_desk: bool = False


@dataclass
class ShiftFigures:
    shift: str
    on_leave: bool = False
    absent: bool = False
    late_min: int = 0
    early_min: int = 0
    away_min: int = 0
    clock_in: datetime | None = None
    clock_out: datetime | None = None


@dataclass
class DayFigures:
    staff: str
    day: date
    shifts: list[ShiftFigures] = field(default_factory=list)

    @property
    def late_min(self) -> int:
        return sum(s.late_min for s in self.shifts)

    @property
    def early_min(self) -> int:
        return sum(s.early_min for s in self.shifts)

    @property
    def away_min(self) -> int:
        return sum(s.away_min for s in self.shifts)

    @property
    def absent_shifts(self) -> int:
        return sum(s.absent for s in self.shifts)

    @property
    def leave_shifts(self) -> int:
        return sum(s.on_leave for s in self.shifts)


def scheduled(shifts: list[Shift], day: date, calendar: WorkCalendar) -> list[Shift]:
    working = calendar.is_working_day(day)
    return [s for s in shifts if (s.weekdays is None and working) or (s.weekdays is not None and day.weekday()
                                                                       in s.weekdays)]


def _minutes(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def day_figures(staff: str, day: date, shifts: list[Shift], events: list[ClockEvent], pauses: list[PauseSpan],
                leaves: list[Leave], calendar: WorkCalendar, tz, *, grace_min: int = 5,   # noqa: ANN001
                away_limit_min: int = 15, works: set[str] | None = None) -> DayFigures:
    """One staff member's attendance of one day, shift by shift (`works`: the shifts in their
    schedule; None: all)."""
    mine = sorted((e for e in events if e.staff == staff), key=lambda e: e.at)
    out = DayFigures(staff, day)
    for shift in scheduled(shifts, day, calendar):
        if works is not None and shift.name not in works:
            continue
        start, end = datetime.combine(day, shift.start, tz), datetime.combine(day, shift.end, tz)
        fig = ShiftFigures(shift.name)
        out.shifts.append(fig)
        if any(lv.staff == staff and lv.covers(start, end) for lv in leaves):
            fig.on_leave = True
            continue
        ins = [e.at for e in mine if e.kind == "in" and start - timedelta(hours=2) <= e.at < end]
        outs = [e.at for e in mine if e.kind == "out" and start < e.at <= end + timedelta(hours=2)]
        midnight = datetime.combine(day, time(0), tz)
        before = [e for e in mine if midnight <= e.at <= start]     # the same day: last night's "in" is not today's
        if before and before[-1].kind == "in" and not (ins and ins[0] <= start):
            ins = [start, *ins]                  # still in since earlier (logged in over lunch): present, on time
        if not ins:
            fig.absent = True
            continue
        fig.clock_in = ins[0]
        if ins[0] > start + timedelta(minutes=grace_min):
            fig.late_min = _minutes(ins[0] - start)
        if outs:
            fig.clock_out = outs[-1]
            if outs[-1] < end and not any(i > outs[-1] for i in ins):     # not back in after it
                fig.early_min = _minutes(end - outs[-1])
        for p in pauses:
            if p.staff != staff:
                continue
            a, b = max(p.start, start), min(p.end, end)
            if b > a:
                fig.away_min += max(0, _minutes(b - a) - away_limit_min)
    return out


class LeaveError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class LeaveBook:
    def __init__(self, posts: list[Post], leaves: list[Leave] | None = None) -> None:
        self.posts = posts
        self.leaves = {lv.id: lv for lv in leaves or ()}
        self.last_id = max(self.leaves, default=0)
        self.changed: list[Leave] = []

    def request(self, staff: str, kind: str, start: datetime, end: datetime, reason: str) -> Leave:
        if end <= start:
            raise LeaveError("invalid", "the leave ends before it starts")
        if any(lv.staff == staff and lv.overlaps(start, end) for lv in self.leaves.values()):
            raise LeaveError("invalid", "another leave of this staff member overlaps")
        self.last_id += 1
        leave = Leave(self.last_id, staff, kind, start, end, reason.strip()[:200])
        self.leaves[leave.id] = leave
        self.changed.append(leave)
        return leave

    def uncovered_posts(self, leave: Leave) -> list[str]:
        """Posts that would have neither A nor B during the leave (the partner is away too)."""
        out = []
        for post in self.posts:
            if leave.staff not in (post.a, post.b):
                continue
            partner = post.b if leave.staff == post.a else post.a
            if any(lv.staff == partner and lv.status == "approved" and lv.start < leave.end and leave.start < lv.end
                   and lv.id != leave.id for lv in self.leaves.values()):
                out.append(post.name)
        return out

    def decide(self, leave_id: int, manager: str, approve: bool, cover: str | None = None) -> Leave:
        leave = self.leaves.get(leave_id)
        if leave is None:
            raise LeaveError("not_found", f"no leave {leave_id}")
        if leave.status != "requested":
            raise LeaveError("invalid", f"leave {leave_id} is {leave.status}")
        if manager == leave.staff:
            raise LeaveError("forbidden", "nobody approves their own leave")
        if approve:
            gaps = self.uncovered_posts(leave)
            if gaps and not cover:
                raise LeaveError("post_uncovered", "neither A nor B would be at: " + "、".join(gaps))
            leave.cover = cover
        leave.status, leave.decided_by = ("approved" if approve else "rejected"), manager
        self.changed.append(leave)
        return leave

    def end(self, leave_id: int, now: datetime) -> Leave:
        """销假: back at work (perhaps early)."""
        leave = self.leaves.get(leave_id)
        if leave is None or leave.status != "approved":
            raise LeaveError("invalid", "only an approved leave is ended (销假)")
        leave.status, leave.ended_at = "ended", now
        self.changed.append(leave)
        return leave

    def take_changed(self) -> list[Leave]:
        out, self.changed = list({lv.id: lv for lv in self.changed}.values()), []
        return out


@dataclass(frozen=True)
class CoverageAlert:
    category: str
    start: datetime
    end: datetime | None = None

    @property
    def minutes(self) -> int | None:
        return None if self.end is None else _minutes(self.end - self.start)


class FrontDeskWatch:
    """Fed the windows as they are (and the time), it keeps each front-desk category covered or
    alerted, and counts minutes per post: covered by A, by B, or not at all."""

    def __init__(self, posts: list[Post], front_categories: list[str]) -> None:
        self.posts, self.front = posts, front_categories
        self.open: dict[str, CoverageAlert] = {}
        self.minutes: dict[tuple[date, str], dict[str, float]] = {}            # (day, post) → A, B, none
        self.category_minutes: dict[tuple[date, str], dict[str, float]] = {}   # (day, category) → A, B, other, none
        self.changed: set[tuple[date, str]] = set()      # (day, post or category) counted since the last save
        self._last: tuple[datetime, dict[str, str], dict[str, str]] | None = None
        self._posts_of: tuple[list[Post] | None, dict[str, list[Post]]] = (None, {})   # category → its posts

    @staticmethod
    def serving(windows: list[dict]) -> dict[str, set[str]]:
        """Who serves each category now: staff logged in at an open window that calls it."""
        out: dict[str, set[str]] = {}
        for w in windows:
            staff = w.get("staff")
            if staff and w["status"] in OPEN_STATUSES:
                for category in w["categories"]:
                    out.setdefault(category, set()).add(staff)
        return out

    def post_states(self, windows: list[dict], serving: dict[str, set[str]] | None = None) -> dict[str, str]:
        """Each post now: "A", "B" or "none" (A or B logged in, open, at a window of the post's categories)."""
        serving = self.serving(windows) if serving is None else serving
        out = {}
        for post in self.posts:
            here = set().union(*(serving.get(c, ()) for c in post.categories))
            out[post.id] = "A" if post.a in here else "B" if post.b in here else "none"
        return out

    def category_states(self, windows: list[dict], serving: dict[str, set[str]] | None = None) -> dict[str, str]:
        """Each category of a post now: "A" (an A of one of its posts serves it), "B" (a B does),
        "other" (someone else does) or "none"."""
        serving = self.serving(windows) if serving is None else serving
        if self._posts_of[0] is not self.posts:           # the posts changed (settings): index them again
            index: dict[str, list[Post]] = {}
            for p in self.posts:
                for category in p.categories:
                    index.setdefault(category, []).append(p)
            self._posts_of = (self.posts, dict(sorted(index.items())))
        out = {}
        for category, posts in self._posts_of[1].items():
            here = serving.get(category, set())
            out[category] = "A" if any(p.a in here for p in posts) else "B" if any(p.b in here for p in posts) \
                else "other" if here else "none"
        return out

    def update(self, now: datetime, windows: list[dict], open_now: bool) -> list[tuple[str, CoverageAlert]]:
        """("opened" | "closed", alert) for each change. `windows`: {id, staff, status, categories}.
        Runs after every window change: one pass over the windows serves all three looks."""
        serving = self.serving(windows)
        states, categories = self.post_states(windows, serving), self.category_states(windows, serving)
        if self._last is not None:                 # the time since the last look, in the state it had
            then, before, before_categories = self._last
            if open_now:
                spent = (now - then).total_seconds() / 60
                for post_id, state in before.items():
                    per = self.minutes.setdefault((then.date(), post_id), {"A": 0.0, "B": 0.0, "none": 0.0})
                    per[state] += spent
                    self.changed.add((then.date(), post_id))
                for category, state in before_categories.items():
                    per = self.category_minutes.setdefault((then.date(), category),
                                                           {"A": 0.0, "B": 0.0, "other": 0.0, "none": 0.0})
                    per[state] += spent
                    self.changed.add((then.date(), category))
        self._last = (now, states, categories)
        changes = []
        dropped = [cat for cat in self.open if cat not in self.front]   # no longer front desk (settings)
        for category in [*self.front, *dropped]:
            covered = category in serving or category in dropped
            alert = self.open.get(category)
            if open_now and not covered and alert is None:
                self.open[category] = CoverageAlert(category, now)
                changes.append(("opened", self.open[category]))
            elif alert is not None and (covered or not open_now):
                closed = CoverageAlert(category, alert.start, now)
                del self.open[category]
                changes.append(("closed", closed))
        return changes
