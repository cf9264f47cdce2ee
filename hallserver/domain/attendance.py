"""Attendance (考勤), leave (请假) and AB岗 coverage: plain Python over given events and a clock.

- Clock events come from attendance terminals and from counter login/logout; they are
  stored as received and never edited. A correction is one more event, with who and why.
- Per staff member and working day, for each scheduled shift, from the spans the person was
  clocked in (an "in" starts one, an "out" ends it; a counter login is an "in", a logout an
  "out"): late (first clock-in after start + grace), early leave (out before the end and not
  back in the shift), absent (never in during the shift), 离岗 (each stretch away within the
  shift — paused, counter offline, or out and back in — longer than the allowed minutes: the
  minutes beyond). Approved leave is taken out of all four and counted as leave minutes
  (a whole shift on leave: a leave shift).
- Leave is requested, then approved or rejected by a manager, then ended (销假). A named cover
  must be a known staff member, not the person on leave, scheduled for every shift the person
  would have worked in the period and on no approved leave in any of it. Approval is refused
  when a post would have neither its A nor its B (B on leave or not scheduled) for any of
  those hours, unless the manager names such a cover; and when the person is the named cover
  of someone else's approved leave in those hours.
- The front desk is never empty: `FrontDeskWatch` opens an alert the moment a front-desk
  category has no staffed, unpaused window during opening hours, and closes it with its
  duration; it also counts, per post and per category, the minutes covered by A, by B and uncovered.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, tzinfo

from hallserver.domain.leave_chain import LeaveLevel, may_approve, steps_for
from hallserver.domain.workdays import NoSchedule, WorkCalendar

OPEN_STATUSES = ("idle", "serving")
MAX_LEAVE = timedelta(days=366)      # one request: at most a year (产假 included)

Span = tuple[datetime, datetime]


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
    approvals: list[tuple[str, datetime]] = field(default_factory=list)   # (who, when) per level passed

    def away_span(self) -> Span | None:
        """When this leave keeps its person away: approved, [start, end); ended (销假) up to the
        销假; None when it is only requested, or rejected."""
        if self.status not in ("approved", "ended"):
            return None
        until = min(self.end, self.ended_at) if self.ended_at else self.end
        return (self.start, until) if until > self.start else None

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
    leave_min: int = 0          # minutes of the shift on approved leave (all of them when on_leave)
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

    @property
    def leave_min(self) -> int:
        return sum(s.leave_min for s in self.shifts)


def scheduled(shifts: list[Shift], day: date, calendar: WorkCalendar) -> list[Shift]:
    """Shifts without weekdays on working days; 延时服务 shifts on their weekdays, not on a holiday."""
    working = calendar.is_working_day(day)
    return [s for s in shifts if (s.weekdays is None and working) or (s.weekdays is not None and day.weekday()
                                                                       in s.weekdays and not calendar.is_holiday(day))]


def _minutes(delta: timedelta) -> int:
    return max(0, int(delta.total_seconds() // 60))


def _union(spans: list[Span]) -> list[Span]:
    """The spans joined where they overlap or touch, in order."""
    out: list[Span] = []
    for a, b in sorted(s for s in spans if s[1] > s[0]):
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _clip(spans: list[Span], start: datetime, end: datetime) -> list[Span]:
    return [(max(a, start), min(b, end)) for a, b in spans if a < end and start < b]


def _minus(span: Span, holes: list[Span]) -> list[Span]:
    """What of `span` no hole covers (`holes` joined, in order)."""
    out, at = [], span[0]
    for a, b in _clip(holes, *span):
        if a > at:
            out.append((at, a))
        at = max(at, b)
    if at < span[1]:
        out.append((at, span[1]))
    return out


def _minutes_of(spans: list[Span]) -> int:
    return _minutes(sum((b - a for a, b in spans), timedelta()))


def _presence(mine: list[ClockEvent], day: date, start: datetime, end: datetime,
              tz: tzinfo) -> tuple[list[Span], datetime | None]:
    """The spans of [start, end) the person was clocked in — from the day's events, an "in"
    opens one, an "out" closes it (a second "in" or "out" in a row changes nothing) — and when
    the first one began (before the start: that time if within two hours, else the start)."""
    midnight = datetime.combine(day, time(0), tz)      # the same day: last night's "in" is not today's
    spans: list[Span] = []
    since: datetime | None = None
    for e in mine:
        if not midnight <= e.at < end:
            continue
        if e.kind == "in" and since is None:
            since = e.at
        elif e.kind == "out" and since is not None:
            spans.append((since, e.at))
            since = None
    if since is not None:
        spans.append((since, end))
    spans = [s for s in spans if s[1] > start]
    if not spans:
        return [], None
    began = spans[0][0]
    arrived = began if began >= start - timedelta(hours=2) else start
    return _clip(spans, start, end), arrived


def _free_from(start: datetime, leave: list[Span]) -> datetime:
    """When the person is first expected: the start, or the end of a leave over the start."""
    return leave[0][1] if leave and leave[0][0] <= start else start


def shift_figures(fig: ShiftFigures, start: datetime, end: datetime, presence: list[Span],
                  away: list[Span], leave: list[Span], *, grace_min: int, away_limit_min: int) -> None:
    """One shift's figures from when the person was in (`presence`), paused or offline
    (`away`) and on approved leave (`leave`), every list in order within [start, end).

    - leave: its minutes (`leave_min`); over all of the shift, `on_leave` and nothing else;
    - absent: never in during the shift;
    - late: the first "in" after the first minute not on leave + grace; the minutes from the
      start to it, less the leave;
    - early: out before the end and not back in the shift; the minutes from the last "out" to
      the end, less the leave;
    - 离岗: each stretch away within the shift — out and back in, paused, offline, those
      overlapping or touching joined — counts its minutes not on leave beyond the limit."""
    fig.leave_min = _minutes_of(leave)
    if not _minus((start, end), leave):
        fig.on_leave = True
        return
    if not presence:
        fig.absent = True
        return
    first_in, last_out = presence[0][0], presence[-1][1]
    if first_in > _free_from(start, leave) + timedelta(minutes=grace_min):
        fig.late_min = _minutes_of(_minus((start, first_in), leave))
    if last_out < end:
        fig.early_min = _minutes_of(_minus((last_out, end), leave))
    gaps = [(a[1], b[0]) for a, b in zip(presence, presence[1:], strict=False)]
    for stretch in _union(gaps + _clip(away, first_in, last_out)):
        fig.away_min += max(0, _minutes_of(_minus(stretch, leave)) - away_limit_min)


def day_figures(staff: str, day: date, shifts: list[Shift], events: list[ClockEvent], pauses: list[PauseSpan],
                leaves: list[Leave], calendar: WorkCalendar, tz: tzinfo, *, grace_min: int = 5,
                away_limit_min: int = 15, works: set[str] | None = None) -> DayFigures:
    """One staff member's attendance of one day, shift by shift (`works`: the shifts in their
    schedule; None: all)."""
    mine = sorted((e for e in events if e.staff == staff), key=lambda e: e.at)
    away = _union([(p.start, p.end) for p in pauses if p.staff == staff])
    on_leave = _union([span for lv in leaves if lv.staff == staff and (span := lv.away_span()) is not None])
    out = DayFigures(staff, day)
    for shift in scheduled(shifts, day, calendar):
        if works is not None and shift.name not in works:
            continue
        start, end = datetime.combine(day, shift.start, tz), datetime.combine(day, shift.end, tz)
        fig = ShiftFigures(shift.name)
        out.shifts.append(fig)
        presence, fig.clock_in = _presence(mine, day, start, end, tz)
        outs = [e.at for e in mine if e.kind == "out" and start < e.at <= end + timedelta(hours=2)]
        fig.clock_out = outs[-1] if outs else None
        shift_figures(fig, start, end, presence, _clip(away, start, end), _clip(on_leave, start, end),
                      grace_min=grace_min, away_limit_min=away_limit_min)
        if fig.on_leave or fig.absent:
            fig.clock_in = fig.clock_out = None
    return out


@dataclass(frozen=True)
class Roster:
    """Who works which shifts, as leave needs it: the hours a person on leave would have
    worked, and whether someone else works them."""
    shifts: list[Shift]
    calendar: WorkCalendar
    tz: tzinfo
    works: dict[str, frozenset[str] | None]      # every staff member → the shifts of their schedule (None: all)

    def works_shift(self, staff: str, shift: str) -> bool:
        schedule = self.works.get(staff)
        return schedule is None or shift in schedule

    def shifts_on(self, day: date) -> list[Shift]:
        """The day's shifts; a year whose holidays are not loaded yet: every shift of its
        weekday (more hours to cover, never fewer)."""
        try:
            return scheduled(self.shifts, day, self.calendar)
        except NoSchedule:
            return [s for s in self.shifts if s.weekdays is None or day.weekday() in s.weekdays]

    def duty(self, staff: str, start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
        """(shift, from, to): the shifts `staff` is scheduled for within [start, end), cut to it."""
        out = []
        day, last = start.astimezone(self.tz).date(), end.astimezone(self.tz).date()
        while day <= last:
            for shift in self.shifts_on(day):
                a = max(start, datetime.combine(day, shift.start, self.tz))
                b = min(end, datetime.combine(day, shift.end, self.tz))
                if b > a and self.works_shift(staff, shift.name):
                    out.append((shift.name, a, b))
            day += timedelta(days=1)
        return out


class LeaveError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


class LeaveBook:
    """Leave requests and decisions. With a `roster`, a leave needs cover only for the shifts
    its person would have worked; without one (tests of the rules alone), for all of it, and
    any staff number is known."""

    def __init__(self, posts: list[Post], leaves: list[Leave] | None = None, roster: Roster | None = None,
                 chain: list[LeaveLevel] | None = None) -> None:
        self.posts = posts
        self.roster = roster
        self.chain = chain or []
        self.leaves = {lv.id: lv for lv in leaves or ()}
        self.last_id = max(self.leaves, default=0)
        self.changed: list[Leave] = []

    def request(self, staff: str, kind: str, start: datetime, end: datetime, reason: str,
                cover: str | None = None) -> Leave:
        if end <= start:
            raise LeaveError("invalid", "the leave ends before it starts")
        if end - start > MAX_LEAVE:
            raise LeaveError("invalid", "one leave request is at most 366 days")
        if any(lv.staff == staff and lv.overlaps(start, end) for lv in self.leaves.values()):
            raise LeaveError("invalid", "another leave of this staff member overlaps")
        leave = Leave(self.last_id + 1, staff, kind, start, end, reason.strip()[:200])
        if cover:
            self.check_cover(leave, cover)
            leave.cover = cover
        self.last_id = leave.id
        self.leaves[leave.id] = leave
        self.changed.append(leave)
        return leave

    def needed(self, staff: str, start: datetime, end: datetime) -> list[tuple[str, datetime, datetime]]:
        """The hours `staff` would have worked in [start, end): what a leave there leaves to cover."""
        if self.roster is None:
            return [("", start, end)]
        return self.roster.duty(staff, start, end)

    def available(self, staff: str, leave: Leave) -> bool:
        """`staff` is scheduled for every hour `leave`'s person would have worked, and on no
        approved leave in any of them."""
        away = [span for lv in self.leaves.values()
                if lv.staff == staff and lv.id != leave.id and (span := lv.away_span()) is not None]
        for shift, a, b in self.needed(leave.staff, leave.start, leave.end):
            if self.roster is not None and not self.roster.works_shift(staff, shift):
                return False
            if any(x < b and a < y for x, y in away):
                return False
        return True

    def check_cover(self, leave: Leave, cover: str) -> None:
        """A named cover: a known staff member, not the person on leave, available throughout."""
        if self.roster is not None and cover not in self.roster.works:
            raise LeaveError("unknown_cover", f"no staff member {cover!r} to cover")
        if cover == leave.staff:
            raise LeaveError("cover_is_self", "the person on leave cannot be their own cover")
        if not self.available(cover, leave):
            raise LeaveError("cover_unavailable", f"{cover} is on leave or not scheduled for part of the leave")

    def covering(self, leave: Leave) -> list[int]:
        """The approved leaves of others whose named cover is `leave`'s person during its hours."""
        out = []
        for other in self.leaves.values():
            span = other.away_span()
            if other.id == leave.id or other.cover != leave.staff or span is None:
                continue
            if any(a < leave.end and leave.start < b for _, a, b in self.needed(other.staff, *span)):
                out.append(other.id)
        return out

    def uncovered_posts(self, leave: Leave) -> list[str]:
        """Posts that would have neither A nor B during the leave (the partner on leave too, or
        not scheduled for some of the hours the person on leave would have worked)."""
        out = []
        for post in self.posts:
            if leave.staff not in (post.a, post.b):
                continue
            partner = post.b if leave.staff == post.a else post.a
            if not self.available(partner, leave):
                out.append(post.name)
        return out

    def steps(self, leave: Leave) -> tuple[str, ...]:
        """The levels `leave` goes through (one anonymous level without a chain)."""
        return steps_for(self.chain, leave.start, leave.end) or ("",)

    def decide(self, leave_id: int, manager: str, approve: bool, cover: str | None = None,
               role: str | None = None, now: datetime | None = None) -> Leave:
        """Approve the next level or reject; the cover named now, or else the one named before.
        The last level's approval approves the leave; a rejection at any level ends it."""
        leave = self.leaves.get(leave_id)
        if leave is None:
            raise LeaveError("not_found", f"no leave {leave_id}")
        if leave.status != "requested":
            raise LeaveError("invalid", f"leave {leave_id} is {leave.status}")
        if manager == leave.staff:
            raise LeaveError("own_leave", "nobody approves their own leave")
        if any(who == manager for who, _ in leave.approvals):
            raise LeaveError("approved_twice", f"{manager} has approved a level of leave {leave_id} already")
        steps = self.steps(leave)
        level = min(len(leave.approvals), len(steps) - 1)       # a chain shortened since: its last level
        step = steps[level]
        if step and not may_approve(step, manager, role):
            raise LeaveError("wrong_level", f"level {level + 1} of {len(steps)} is for {step}")
        if not approve:
            leave.status, leave.decided_by = "rejected", manager
            self.changed.append(leave)
            return leave
        leave.cover = self._checked_cover(leave, cover or leave.cover)
        leave.approvals.append((manager, now or leave.start))
        if len(leave.approvals) >= len(steps):
            leave.status, leave.decided_by = "approved", manager
        self.changed.append(leave)
        return leave

    def _checked_cover(self, leave: Leave, cover: str | None) -> str | None:
        """The A/B check of an approval, at every level (someone may have gone on leave meanwhile)."""
        if cover:
            self.check_cover(leave, cover)
        others = self.covering(leave)
        if others:
            raise LeaveError("staff_covering", f"{leave.staff} is the cover of leave "
                             + ", ".join(map(str, others)) + " in these hours")
        gaps = self.uncovered_posts(leave)
        if gaps and not cover:
            raise LeaveError("post_uncovered", "neither A nor B would be at: " + "、".join(gaps))
        return cover

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
