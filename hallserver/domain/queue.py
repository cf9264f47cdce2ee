"""The queue engine: tickets, windows and ratings of one hall, in memory.

Every public method either raises DomainError and changes nothing, or applies the whole
change. Changes are collected so the caller (the command processor) can persist exactly
what changed in one transaction and then announce it. The engine is rebuilt from a
Snapshot after a restart, so it holds no truth that is not in the store.

Call order (the foundation rule; docs/queue.md): the waiting ticket of the window's
categories that was issued first.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from govhall.contract import ErrorCode, GreenReason, PauseReason, TicketClass, TicketStatus, WindowStatus
from hallserver.domain.appointments import (
    Appointment,
    AppointmentRules,
    AppointmentStatus,
    CheckIn,
    booking_refusal,
    check_in_kind,
    check_in_window,
    day_slots,
    slot_taken,
)
from hallserver.domain.call_order import CallRules, Dispatcher, pick
from hallserver.domain.clock import Clock, hall_day
from hallserver.domain.devices import AlertChange
from hallserver.domain.estimate import Outlook, WaitEstimator
from hallserver.domain.hours import HallHours, Refusal


def age_on(birth: date, day: date) -> int:
    """Full years of age on `day` (周岁)."""
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


class DomainError(Exception):
    def __init__(self, code: ErrorCode, detail: str = "", next_open: datetime | None = None) -> None:
        self.next_open = next_open
        super().__init__(f"{code.value}: {detail}" if detail else code.value)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Category:
    id: str
    name: str
    prefix: str


@dataclass(frozen=True)
class Staff:
    id: str
    name: str


@dataclass
class Ticket:
    id: int
    day: date
    category: str
    seq: int
    number: str
    issued_at: datetime
    issued_by: str
    status: TicketStatus = TicketStatus.WAITING
    called_at: datetime | None = None
    window: str | None = None
    staff: str | None = None
    recalls: int = 0
    finished_at: datetime | None = None
    issued_category: str = ""                  # the category of the number; `category` is where it waits now
    priority: TicketClass = TicketClass.NORMAL
    green_reason: GreenReason | None = None
    callback_seq: int | None = None            # called back (transfer, re-queue): its place in that line
    requeue_after_id: int | None = None        # re-queued: its turn comes once this ticket is called
    transfer_to_window: str | None = None
    transferred_from: str | None = None
    transfer_reason: str | None = None
    requeued: bool = False
    first_called_at: datetime | None = None    # the end of the wait (等候时长), kept through transfers
    token: str | None = None                   # the phone page /t/{token}

    def __post_init__(self) -> None:
        if not self.issued_category:
            self.issued_category = self.category


@dataclass
class Window:
    id: str
    number: int
    name: str
    categories: tuple[str, ...]
    status: WindowStatus = WindowStatus.CLOSED
    since: datetime | None = None
    staff: str | None = None
    ticket: Ticket | None = None
    pause_reason: PauseReason | None = None
    last_served: Ticket | None = None   # completed here, may still be rated
    last_served_rated: bool = False
    elderly_first: bool = False          # 老年人优先窗口: also calls 绿色通道 tickets of every category
    base_categories: tuple[str, ...] = ()   # from the config; `categories` may add a covered post's (AB岗)


@dataclass
class StaffDay:
    """A staff member's own figures of one hall day, shown on their counter."""
    served: int = 0
    service_s: float = 0.0
    ratings: int = 0
    satisfied: int = 0          # rated 基本满意 or better
    level_sum: int = 0          # for the average (the tablet's stars)

    @property
    def avg_service_s(self) -> float | None:
        return self.service_s / self.served if self.served else None


@dataclass(frozen=True)
class Rating:
    id: int
    ticket: Ticket
    window: str
    staff: str
    level: int
    reasons: tuple[str, ...]
    comment: str
    channel: int
    at: datetime
    phone: str = ""                  # for 回访 (follow-up), when the citizen gave one


@dataclass(frozen=True)
class PauseRecord:
    """One pause (暂停服务) of a window, for attendance (考勤): who, why, from when to when."""
    window: str
    staff: str | None
    reason: PauseReason
    started_at: datetime
    ended_at: datetime


# events: what happened, for the processor to announce
@dataclass(frozen=True)
class Issued:
    ticket: Ticket
    waiting_ahead: int


@dataclass(frozen=True)
class Called:
    ticket: Ticket
    window: Window
    recall: int


@dataclass(frozen=True)
class Skipped:
    ticket: Ticket
    window: Window


@dataclass(frozen=True)
class Transferred:
    ticket: Ticket
    from_window: Window
    to_window: str | None
    to_category: str | None
    reason: str


@dataclass(frozen=True)
class Requeued:
    ticket: Ticket


@dataclass(frozen=True)
class Cancelled:
    ticket: Ticket
    reason: str


@dataclass(frozen=True)
class Completed:
    ticket: Ticket
    window: Window
    staff: Staff


@dataclass(frozen=True)
class Rated:
    rating: Rating


Event = Issued | Called | Skipped | Transferred | Requeued | Cancelled | Completed | Rated


@dataclass
class Changes:
    """What one command changed: persist these, then announce the events."""
    tickets: dict[int, Ticket] = field(default_factory=dict)   # new or changed
    new_ticket_ids: set[int] = field(default_factory=set)
    windows: dict[str, Window] = field(default_factory=dict)
    ratings: list[Rating] = field(default_factory=list)
    appointments: dict[int, Appointment] = field(default_factory=dict)
    pauses: list[PauseRecord] = field(default_factory=list)     # pauses that ended with this command
    device_alerts: list[AlertChange] = field(default_factory=list)   # filled by the processor (devices.py)
    cases: list = field(default_factory=list)                        # filled by the processor (cases.py)
    rectifications: list = field(default_factory=list)               # filled by the processor (差评整改)
    follow_ups: list = field(default_factory=list)                   # 追评, filled by the processor (follow_up.py)
    complaints: list = field(default_factory=list)                   # filled by the processor (投诉)
    inquiries: list = field(default_factory=list)                    # 首问, filled by the processor (inquiries.py)
    evaluation: list = field(default_factory=list)                   # 万众评股室, filled by the processor
    attendance: list = field(default_factory=list)                   # clock events (考勤)
    leaves: list = field(default_factory=list)                       # 请假 changed
    coverage: list = field(default_factory=list)                     # ("opened"|"closed", CoverageAlert)
    events: list[Event] = field(default_factory=list)
    queue_changed: bool = False


@dataclass
class Snapshot:
    """Everything the engine needs to resume after a restart, read from the store."""
    open_tickets: list[Ticket] = field(default_factory=list)    # waiting or called
    windows: list[Window] = field(default_factory=list)         # saved window rows
    counters: dict[tuple[date, str], int] = field(default_factory=dict)  # last seq per day+category
    last_ticket_id: int = 0
    last_rating_id: int = 0
    recent_services: list[tuple[str, float]] = field(default_factory=list)  # (category, seconds), oldest first
    recent_skips: list[Ticket] = field(default_factory=list)    # today's skipped tickets, for 过号重排
    issued_times: dict[tuple[date, str], list[datetime]] = field(default_factory=dict)  # today's, for quotas
    appointments: list[Appointment] = field(default_factory=list)     # from today on
    last_appointment_id: int = 0
    last_callback_seq: int = 0
    rated_ticket_ids: list[int] = field(default_factory=list)   # today's tickets that have their rating
    staff_days: dict[tuple[date, str], StaffDay] = field(default_factory=dict)   # today's, per staff


class QueueEngine:
    def __init__(self, clock: Clock, categories: list[Category], windows: list[Window],
                 staff: list[Staff], *, max_recalls: int = 2, default_service_s: float = 480.0,
                 rules: CallRules | None = None, green_age: int = 65, hours: HallHours | None = None,
                 appointment_rules: AppointmentRules | None = None, capacities: dict[str, int] | None = None,
                 code_factory: Callable[[], str] | None = None, snapshot: Snapshot | None = None) -> None:
        self.clock = clock
        self.categories = {c.id: c for c in categories}
        self.staff = {s.id: s for s in staff}
        self.max_recalls = max_recalls
        self.rules = rules or CallRules()
        self.green_age = green_age
        self.hours = hours
        self.issued_times: dict[tuple[date, str], list[datetime]] = {}   # for quotas
        self.appointment_rules = appointment_rules or AppointmentRules()
        self.capacities = capacities or {}
        self.code_factory = code_factory or (lambda: f"{secrets.randbelow(10**6):06d}")
        self.token_factory: Callable[[], str] = lambda: secrets.token_urlsafe(12)
        self.appointments: dict[int, Appointment] = {}
        self.last_appointment_id = 0
        self.skipped: dict[tuple[date, str], Ticket] = {}     # (day, number) -> skipped ticket
        self.last_callback_seq = 0
        self.windows: dict[str, Window] = {w.id: w for w in windows}
        for w in windows:
            w.base_categories = w.base_categories or w.categories
        self.waiting: dict[str, list[Ticket]] = {c.id: [] for c in categories}
        self.counters: dict[tuple[date, str], int] = {}
        self.last_ticket_id = 0
        self.last_rating_id = 0
        self.rated_ticket_ids: set[int] = set()              # 一次一评: today's services already rated
        self.staff_days: dict[tuple[date, str], StaffDay] = {}
        self.estimator = WaitEstimator(default_service_s)
        self._changes = Changes()
        if snapshot is not None:
            self._restore(snapshot)

    # ------------------------------------------------------------------ restore
    def _restore(self, snap: Snapshot) -> None:
        self.counters = dict(snap.counters)
        self.last_ticket_id = snap.last_ticket_id
        self.last_rating_id = snap.last_rating_id
        self.rated_ticket_ids = set(snap.rated_ticket_ids)
        self.staff_days = {key: StaffDay(d.served, d.service_s, d.ratings, d.satisfied, d.level_sum)
                           for key, d in snap.staff_days.items()}
        self.last_callback_seq = snap.last_callback_seq
        for t in snap.recent_skips:
            self.skipped[(t.day, t.number)] = t
        for (day, cat), times in snap.issued_times.items():
            self.issued_times[(day, cat)] = list(times)
        self.appointments = {a.id: a for a in snap.appointments}
        self.last_appointment_id = snap.last_appointment_id
        for category, seconds in snap.recent_services:
            self.estimator.record(category, seconds)
        by_id = {t.id: t for t in snap.open_tickets}
        for t in sorted(snap.open_tickets, key=lambda t: t.id):
            if t.status == TicketStatus.WAITING and t.category in self.waiting:
                self.waiting[t.category].append(t)
        for saved in snap.windows:
            w = self.windows.get(saved.id)
            if w is None:          # a window removed from the config keeps its history only
                continue
            w.status, w.since, w.staff = saved.status, saved.since, saved.staff
            w.pause_reason = saved.pause_reason
            w.last_served, w.last_served_rated = saved.last_served, saved.last_served_rated
            if saved.ticket is not None:
                w.ticket = by_id.get(saved.ticket.id, saved.ticket)
            if w.staff is not None and w.staff not in self.staff:
                w.status, w.staff = WindowStatus.CLOSED, None   # staff removed from config

    def take_changes(self) -> Changes:
        changes, self._changes = self._changes, Changes()
        return changes

    def discard_changes(self) -> None:
        self._changes = Changes()

    def changed_windows(self) -> list[Window]:
        """The windows changed since the last take_changes (so far in this command)."""
        return list(self._changes.windows.values())

    # ------------------------------------------------------------------ helpers
    def _window(self, window_id: str) -> Window:
        w = self.windows.get(window_id)
        if w is None:
            raise DomainError(ErrorCode.UNKNOWN_WINDOW, f"no window {window_id!r}")
        return w

    def _open_window(self, window_id: str) -> Window:
        w = self._window(window_id)
        if w.status == WindowStatus.CLOSED:
            raise DomainError(ErrorCode.WINDOW_CLOSED, f"window {window_id!r} has nobody logged in")
        return w

    def _serving(self, window_id: str) -> tuple[Window, Ticket]:
        w = self._open_window(window_id)
        if w.status == WindowStatus.PAUSED:
            raise DomainError(ErrorCode.WINDOW_PAUSED)
        if w.ticket is None:
            raise DomainError(ErrorCode.NO_CURRENT_TICKET)
        return w, w.ticket

    def _touch_ticket(self, t: Ticket) -> None:
        self._changes.tickets[t.id] = t

    def _touch_window(self, w: Window, status: WindowStatus | None = None) -> None:
        if status is not None and status != w.status:
            w.status = status
            w.since = self.clock.now()
        self._changes.windows[w.id] = w

    def _finish(self, w: Window, t: Ticket, status: TicketStatus) -> None:
        now = self.clock.now()
        t.status, t.finished_at = status, now
        w.ticket = None
        self._touch_ticket(t)
        if status == TicketStatus.COMPLETED:
            w.last_served, w.last_served_rated = t, False
            if t.called_at is not None:
                self.estimator.record(t.category, (now - t.called_at).total_seconds())
            if t.staff:
                day = self.staff_day(t.staff)
                day.served += 1
                day.service_s += (now - t.called_at).total_seconds() if t.called_at else 0.0
            self._changes.events.append(Completed(t, w, self.staff[t.staff] if t.staff in self.staff
                                                  else Staff(t.staff or "", "")))
        else:
            self.skipped[(t.day, t.number)] = t
            self._changes.events.append(Skipped(t, w))
        self._touch_window(w, WindowStatus.IDLE)
        self._changes.queue_changed = True

    def set_cover(self, window_id: str, extra: tuple[str, ...]) -> bool:
        """AB岗: the window also calls `extra` categories (a post whose A is away), after its own;
        an empty `extra` gives it back its own categories. True when that changed anything."""
        w = self._window(window_id)
        wanted = w.base_categories + tuple(c for c in extra if c not in w.base_categories and c in self.categories)
        if wanted == w.categories:
            return False
        w.categories = wanted
        self._touch_window(w)
        self._changes.queue_changed = True
        return True

    def close_earlier_days(self) -> list[Ticket]:
        """A new hall day starts with an empty queue: tickets still waiting from an earlier day
        (their citizens went home at closing) are void, announced as cancelled ("day_closed").
        A service under way over midnight goes on."""
        day, now = hall_day(self.clock), self.clock.now()
        closed = []
        for line in self.waiting.values():
            for t in [x for x in line if x.day < day]:
                line.remove(t)
                t.status, t.finished_at = TicketStatus.CANCELLED, now
                self._touch_ticket(t)
                self._changes.events.append(Cancelled(t, "day_closed"))
                closed.append(t)
        if closed:
            self._changes.queue_changed = True
        return closed

    def forget_days_before(self, day: date) -> None:
        """Drop what only earlier days needed (numbering, quotas, 过号, staff figures, rated
        services, past appointments), so that a server running for months keeps a few days
        in memory, not all of them. The database keeps everything."""
        for book in (self.issued_times, self.counters, self.skipped, self.staff_days):
            for key in [k for k in book if k[0] < day]:
                del book[key]
        self.rated_ticket_ids = {w.last_served.id for w in self.windows.values()     # the tablets' 一次一评
                                 if w.last_served is not None and w.last_served.id in self.rated_ticket_ids}
        for a_id in [i for i, a in self.appointments.items() if a.slot_start.date() < day]:
            del self.appointments[a_id]

    def staff_day(self, staff_id: str) -> StaffDay:
        """Today's figures of one staff member (created on first use)."""
        return self.staff_days.setdefault((hall_day(self.clock), staff_id), StaffDay())

    def all_waiting(self) -> list[Ticket]:
        return [t for q in self.waiting.values() for t in q]

    def is_waiting(self, ticket_id: int) -> bool:
        return any(t.id == ticket_id for q in self.waiting.values() for t in q)

    def next_for(self, w: Window) -> Ticket | None:
        """The ticket this window would call now, by the rule in call_order.py."""
        waiting = self.all_waiting()
        ids = {t.id for t in waiting}
        return pick(w, waiting, self.rules, ids.__contains__)

    def _enqueue(self, t: Ticket) -> None:
        """Put a ticket in its category's line, kept in issue order."""
        line = self.waiting[t.category]
        line.append(t)
        line.sort(key=lambda x: x.id)

    def waiting_count(self, category: str) -> int:
        return len(self.waiting.get(category, ()))

    def _calling_windows(self) -> tuple[list[Window], list[float]]:
        """The windows that will call tickets, and the seconds until each is free."""
        now = self.clock.now()
        windows, free_in = [], []
        for w in self.windows.values():
            if w.status == WindowStatus.IDLE:
                windows.append(w)
                free_in.append(0.0)
            elif w.status == WindowStatus.SERVING and w.ticket is not None:
                busy = (now - (w.ticket.called_at or now)).total_seconds()
                windows.append(w)
                free_in.append(self.estimator.service_time(w.ticket.category) - busy)
        return windows, free_in

    def estimated_wait_s(self, t: Ticket) -> int | None:
        """For a waiting ticket: seconds until it is likely called (None: no window open for it)."""
        return self.outlook(t).wait_s

    def outlook(self, t: Ticket) -> Outlook:
        """For a waiting ticket: how many the call rule takes before it, and the likely wait.
        With no open window for it, `ahead` counts the earlier tickets of its line instead."""
        windows, free_in = self._calling_windows()
        found = self.estimator.outlook(t, Dispatcher(windows, self.all_waiting(), self.rules), free_in)
        if found.wait_s is None:
            return Outlook(sum(1 for x in self.waiting.get(t.category, ()) if x.id < t.id), None)
        return found

    def estimate_new(self, category: str) -> int | None:
        """The likely wait of a normal ticket taken now in this category (the kiosk's buttons)."""
        if category not in self.categories:
            return None
        now = self.clock.now()
        phantom = Ticket(id=self.last_ticket_id + 1, day=hall_day(self.clock), category=category, seq=0,
                         number="", issued_at=now, issued_by="")
        windows, free_in = self._calling_windows()
        return self.estimator.estimate(phantom, Dispatcher(windows, [*self.all_waiting(), phantom], self.rules),
                                       free_in)

    def issuing_refusal(self, category: str) -> Refusal | None:
        """Why the kiosk cannot issue a ticket in this category now (None: it can)."""
        if self.hours is None:
            return None
        return self.hours.check(category, self.clock.now(), self.issued_times.get((hall_day(self.clock), category), []))

    def open_windows_by_category(self) -> dict[str, int]:
        """How many open windows (idle or serving) call each category (absent: none)."""
        counts: dict[str, int] = {}
        for w in self.windows.values():
            if w.status in (WindowStatus.IDLE, WindowStatus.SERVING):
                for category in w.categories:
                    counts[category] = counts.get(category, 0) + 1
        return counts

    # ------------------------------------------------------------------ commands
    def issue(self, category_id: str, device: str, *, birth_date: date | None = None,
              green_reason: GreenReason | None = None, priority: TicketClass | None = None,
              booked: bool = False) -> Ticket:
        """取号. `booked` tickets (预约 check-ins) are not held to 停止取号 or quotas: the slot was theirs."""
        cat = self.categories.get(category_id)
        if cat is None:
            raise DomainError(ErrorCode.UNKNOWN_CATEGORY, f"no category {category_id!r}")
        now = self.clock.now()
        day = hall_day(self.clock)
        issued = self.issued_times.setdefault((day, cat.id), [])
        if self.hours is not None and not booked:
            refusal = self.hours.check(cat.id, now, issued)
            if refusal is not None:
                code = ErrorCode.QUOTA_FULL if refusal.reason == "quota_full" else ErrorCode.CATEGORY_CLOSED
                raise DomainError(code, f"{cat.id}: {refusal.reason}", refusal.next_open)
        if green_reason is None and birth_date is not None and age_on(birth_date, day) >= self.green_age:
            green_reason = GreenReason.ELDERLY
        if priority is None:
            priority = TicketClass.GREEN if green_reason is not None else TicketClass.NORMAL
        seq = self.counters.get((day, cat.id), 0) + 1
        self.counters[(day, cat.id)] = seq
        self.last_ticket_id += 1
        t = Ticket(id=self.last_ticket_id, day=day, category=cat.id, seq=seq,
                   number=f"{cat.prefix}{seq:03d}", issued_at=now, issued_by=device,
                   priority=priority, green_reason=green_reason if priority == TicketClass.GREEN else None,
                   token=self.token_factory())
        ahead = len(self.waiting[cat.id])
        issued.append(now)
        self._enqueue(t)
        self._touch_ticket(t)
        self._changes.new_ticket_ids.add(t.id)
        self._changes.events.append(Issued(t, ahead))
        self._changes.queue_changed = True
        return t

    def requeue(self, number: str) -> Ticket:
        """过号重排: a skipped citizen is back; the ticket goes after the next few of its category."""
        day = hall_day(self.clock)
        t = self.skipped.get((day, number))
        if t is None or t.status != TicketStatus.SKIPPED:
            raise DomainError(ErrorCode.TICKET_NOT_FOUND, f"no skipped ticket {number} today")
        if t.finished_at is None or (self.clock.now() - t.finished_at).total_seconds() > self.rules.requeue_within_s:
            raise DomainError(ErrorCode.REQUEUE_EXPIRED, f"{number} was skipped too long ago")
        del self.skipped[(day, number)]
        line = [x for x in self.waiting[t.category] if x.callback_seq is None]
        k = self.rules.requeue_after
        t.requeue_after_id = line[k - 1].id if k > 0 and len(line) >= k else None
        self.last_callback_seq += 1
        t.callback_seq = self.last_callback_seq
        t.status, t.window, t.staff, t.called_at, t.finished_at = TicketStatus.WAITING, None, None, None, None
        t.recalls, t.requeued = 0, True
        self._enqueue(t)
        self._touch_ticket(t)
        self._changes.events.append(Requeued(t))
        self._changes.queue_changed = True
        return t

    def cancel(self, number: str, device: str, reason: str) -> Ticket:
        """作废: the kiosk that issued a ticket withdraws it before it is called (its print failed
        and the citizen took no on-screen QR instead). Gives its place in the quota back."""
        day = hall_day(self.clock)
        t = next((x for q in self.waiting.values() for x in q
                  if x.day == day and x.number == number and x.issued_by == device), None)
        if t is None or t.callback_seq is not None or t.called_at is not None or t.first_called_at is not None:
            raise DomainError(ErrorCode.TICKET_NOT_FOUND, f"no waiting ticket {number} issued by {device} today")
        self.waiting[t.category].remove(t)
        t.status, t.finished_at = TicketStatus.CANCELLED, self.clock.now()
        issued = self.issued_times.get((day, t.issued_category), [])
        if t.issued_at in issued:
            issued.remove(t.issued_at)
        for a in self.appointments.values():      # a checked-in appointment is open again
            if a.ticket_id == t.id and a.status == AppointmentStatus.CHECKED_IN:
                a.status, a.ticket_id, a.checked_in_at, a.late = AppointmentStatus.BOOKED, None, None, False
                self._changes.appointments[a.id] = a
        self._touch_ticket(t)
        self._changes.events.append(Cancelled(t, reason))
        self._changes.queue_changed = True
        return t

    # ------------------------------------------------------------------ 预约
    def appointment_slots(self, category_id: str, day: date) -> list[tuple[datetime, datetime]]:
        """The slots of `day` a citizen may book now: inside the category's opening hours (none
        on a holiday or the hall's closed day), still to come, within the horizon, not full."""
        if category_id not in self.categories:
            raise DomainError(ErrorCode.UNKNOWN_CATEGORY, f"no category {category_id!r}")
        rules, now = self.appointment_rules, self.clock.now()
        if day > now.astimezone(self.clock.tz).date() + timedelta(days=rules.horizon_days):
            return []
        if self.hours is None:
            midnight = datetime.combine(day, time(0), self.clock.tz)
            spans = [(midnight, midnight + timedelta(days=1))]
        else:
            spans = self.hours.open_spans(category_id, day)
        capacity = self.capacities.get(category_id, rules.capacity)
        return [(a, b) for a, b in day_slots(spans, rules.slot_minutes)
                if a > now and slot_taken(self.appointments, category_id, a) < capacity]

    def book(self, category_id: str, slot_start: datetime, name: str = "", phone: str = "",
             id_hash: str = "") -> Appointment:
        """预约 a slot; real-name limits by the ID number's keyed hash and the phone (appointments.py)."""
        if category_id not in self.categories:
            raise DomainError(ErrorCode.UNKNOWN_CATEGORY, f"no category {category_id!r}")
        rules, now = self.appointment_rules, self.clock.now()
        if slot_start.tzinfo is None:
            raise DomainError(ErrorCode.INVALID, "slot_start needs a UTC offset, e.g. +08:00")
        start = slot_start.astimezone(self.clock.tz)
        minutes = start.hour * 60 + start.minute
        if start.second or start.microsecond or minutes % rules.slot_minutes:
            raise DomainError(ErrorCode.INVALID, f"slots start every {rules.slot_minutes} minutes from midnight")
        if start <= now:
            raise DomainError(ErrorCode.INVALID, "that slot has already begun")
        if start.date() > now.astimezone(self.clock.tz).date() + timedelta(days=rules.horizon_days):
            raise DomainError(ErrorCode.INVALID, f"slots can be booked up to {rules.horizon_days} days ahead")
        end = start + timedelta(minutes=rules.slot_minutes)
        if self.hours is not None and not any(a <= start and end <= b
                                              for a, b in self.hours.open_spans(category_id, start.date())):
            raise DomainError(ErrorCode.INVALID, "the hall is not open for this category in that slot")
        capacity = self.capacities.get(category_id, rules.capacity)
        if slot_taken(self.appointments, category_id, start) >= capacity:
            raise DomainError(ErrorCode.SLOT_FULL, f"{capacity} of {capacity} booked")
        refusal = booking_refusal(self.appointments, category_id, start, id_hash, phone, now, rules)
        if refusal is not None:
            raise DomainError(ErrorCode(refusal[0]), refusal[1])
        active = {a.code for a in self.appointments.values() if a.status == AppointmentStatus.BOOKED}
        code = self.code_factory()
        while code in active:
            code = self.code_factory()
        self.last_appointment_id += 1
        a = Appointment(self.last_appointment_id, code, category_id, start, end, name, phone, now, id_hash=id_hash)
        self.appointments[a.id] = a
        self._changes.appointments[a.id] = a
        return a

    def check_in(self, code: str, device: str) -> tuple[Ticket, Appointment]:
        """预约签到 at the kiosk: an appointment ticket in time, a normal one when late."""
        now = self.clock.now()
        found = [a for a in self.appointments.values() if a.code == code and a.status != AppointmentStatus.CANCELLED]
        booked = [a for a in found if a.status == AppointmentStatus.BOOKED]
        if not booked:
            if found:
                raise DomainError(ErrorCode.ALREADY_CHECKED_IN, f"appointment {code} is checked in already")
            raise DomainError(ErrorCode.APPOINTMENT_NOT_FOUND, f"no appointment {code}")
        a = min(booked, key=lambda x: abs((x.slot_start - now).total_seconds()))
        kind = check_in_kind(a, now, self.appointment_rules)
        if kind == CheckIn.TOO_EARLY:
            raise DomainError(ErrorCode.TOO_EARLY, f"check-in opens {check_in_window(a, self.appointment_rules)[0]}",
                              check_in_window(a, self.appointment_rules)[0])
        if kind == CheckIn.OTHER_DAY:
            raise DomainError(ErrorCode.APPOINTMENT_EXPIRED, f"appointment {code} was for {a.slot_start.date()}")
        on_time = kind == CheckIn.ON_TIME
        t = self.issue(a.category, device, priority=TicketClass.APPOINTMENT if on_time else None, booked=on_time)
        a.status, a.ticket_id, a.checked_in_at, a.late = AppointmentStatus.CHECKED_IN, t.id, now, not on_time
        self._changes.appointments[a.id] = a
        return t, a

    def login(self, window_id: str, staff_id: str) -> Window:
        w = self._window(window_id)
        if staff_id not in self.staff:
            raise DomainError(ErrorCode.UNKNOWN_STAFF, f"no staff {staff_id!r}")
        if w.status != WindowStatus.CLOSED:
            if w.staff == staff_id:
                return w                      # already logged in here: nothing to do
            raise DomainError(ErrorCode.WINDOW_TAKEN, f"{w.staff} is logged in at {w.id}")
        elsewhere = next((o for o in self.windows.values() if o.staff == staff_id), None)
        if elsewhere is not None:
            raise DomainError(ErrorCode.STAFF_ELSEWHERE, f"{staff_id} is logged in at {elsewhere.id}")
        w.staff = staff_id
        w.pause_reason = None
        self._touch_window(w, WindowStatus.IDLE)
        self._changes.queue_changed = True
        return w

    def logout(self, window_id: str) -> Window:
        w = self._open_window(window_id)
        if w.ticket is not None:
            raise DomainError(ErrorCode.WINDOW_BUSY, "complete or skip the current ticket first")
        self._end_pause(w)
        w.staff, w.pause_reason = None, None
        self._touch_window(w, WindowStatus.CLOSED)
        self._changes.queue_changed = True
        return w

    def call_next(self, window_id: str) -> Ticket:
        w = self._open_window(window_id)
        if w.status == WindowStatus.PAUSED:
            raise DomainError(ErrorCode.WINDOW_PAUSED)
        nxt = self.next_for(w)
        if nxt is None:
            raise DomainError(ErrorCode.QUEUE_EMPTY)
        if w.ticket is not None:               # calling next finishes the current service
            self._finish(w, w.ticket, TicketStatus.COMPLETED)
        self.waiting[nxt.category].remove(nxt)
        nxt.callback_seq, nxt.requeue_after_id, nxt.transfer_to_window = None, None, None
        nxt.status, nxt.called_at = TicketStatus.CALLED, self.clock.now()
        nxt.first_called_at = nxt.first_called_at or nxt.called_at
        nxt.window, nxt.staff = w.id, w.staff
        w.ticket = nxt
        self._touch_ticket(nxt)
        self._touch_window(w, WindowStatus.SERVING)
        self._changes.events.append(Called(nxt, w, 0))
        self._changes.queue_changed = True
        return nxt

    def recall(self, window_id: str) -> Ticket:
        w, t = self._serving(window_id)
        if t.recalls >= self.max_recalls:
            raise DomainError(ErrorCode.RECALL_LIMIT, f"already recalled {t.recalls} times")
        t.recalls += 1
        self._touch_ticket(t)
        self._changes.events.append(Called(t, w, t.recalls))
        return t

    def skip(self, window_id: str) -> Ticket:
        w, t = self._serving(window_id)
        self._finish(w, t, TicketStatus.SKIPPED)
        return t

    def complete(self, window_id: str) -> Ticket:
        w, t = self._serving(window_id)
        self._finish(w, t, TicketStatus.COMPLETED)
        return t

    def transfer(self, window_id: str, reason: str, *, to_window: str | None = None,
                 to_category: str | None = None) -> Ticket:
        """转移: hand the current citizen on, keeping the issue time; called back first there."""
        w, t = self._serving(window_id)
        if to_window is not None:
            target = self._window(to_window)
            if target.id == w.id:
                raise DomainError(ErrorCode.INVALID, "a ticket cannot be transferred to its own window")
        if to_category is not None and to_category not in self.categories:
            raise DomainError(ErrorCode.UNKNOWN_CATEGORY, f"no category {to_category!r}")
        w.ticket = None
        self._touch_window(w, WindowStatus.IDLE)
        t.status, t.window, t.staff, t.called_at, t.recalls = TicketStatus.WAITING, None, None, None, 0
        t.transferred_from, t.transfer_reason = w.id, reason
        t.transfer_to_window = to_window
        if to_category is not None:
            t.category = to_category
        self.last_callback_seq += 1
        t.callback_seq, t.requeue_after_id = self.last_callback_seq, None
        self._enqueue(t)
        self._touch_ticket(t)
        self._changes.events.append(Transferred(t, w, to_window, to_category, reason))
        self._changes.queue_changed = True
        return t

    def pause(self, window_id: str, reason: PauseReason) -> Window:
        w = self._open_window(window_id)
        if w.status == WindowStatus.PAUSED:
            raise DomainError(ErrorCode.WINDOW_PAUSED, "already paused")
        if w.ticket is not None:
            raise DomainError(ErrorCode.WINDOW_BUSY, "complete or skip the current ticket first")
        w.pause_reason = reason
        self._touch_window(w, WindowStatus.PAUSED)
        self._changes.queue_changed = True
        return w

    def resume(self, window_id: str) -> Window:
        w = self._open_window(window_id)
        if w.status != WindowStatus.PAUSED:
            raise DomainError(ErrorCode.WINDOW_NOT_PAUSED)
        self._end_pause(w)
        w.pause_reason = None
        self._touch_window(w, WindowStatus.IDLE)
        self._changes.queue_changed = True
        return w

    def _end_pause(self, w: Window) -> None:
        """A paused window resumes or closes: record the pause (its start is the window's `since`)."""
        if w.status == WindowStatus.PAUSED and w.pause_reason is not None:
            self._changes.pauses.append(PauseRecord(w.id, w.staff, w.pause_reason, w.since or self.clock.now(),
                                                    self.clock.now()))

    def rate(self, window_id: str, level: int, reasons: tuple[str, ...] = (), comment: str = "",
             channel: int = 4, phone: str = "") -> Rating:
        """Rate the service last completed at this window (一次一评). Channel 4 = hall tablet."""
        if not 1 <= level <= 5:
            raise DomainError(ErrorCode.INVALID, "level must be 1..5")
        w = self._window(window_id)
        t = w.last_served
        if t is None:
            raise DomainError(ErrorCode.NOTHING_TO_RATE)
        if w.last_served_rated or t.id in self.rated_ticket_ids:
            raise DomainError(ErrorCode.ALREADY_RATED, f"ticket {t.number} is rated")
        return self._record_rating(t, w.id, level, reasons, comment, channel, phone)

    def rate_ticket(self, t: Ticket, level: int, reasons: tuple[str, ...] = (), comment: str = "",
                    channel: int = 3, phone: str = "", valid_days: int = 0, rated_before: bool = False) -> Rating:
        """Rate one's own service from the phone (the ticket's QR page; channel 3 = QR code).
        The same one rating per service as the tablet: whichever comes first counts."""
        if not 1 <= level <= 5:
            raise DomainError(ErrorCode.INVALID, "level must be 1..5")
        if t.status != TicketStatus.COMPLETED or t.window is None:
            raise DomainError(ErrorCode.NOTHING_TO_RATE, f"ticket {t.number} is not served yet")
        if (hall_day(self.clock) - t.day).days > valid_days:
            raise DomainError(ErrorCode.RATING_EXPIRED, f"ticket {t.number} was for {t.day}")
        if t.id in self.rated_ticket_ids or rated_before:
            raise DomainError(ErrorCode.ALREADY_RATED, f"ticket {t.number} is rated")
        return self._record_rating(t, t.window, level, reasons, comment, channel, phone)

    def _record_rating(self, t: Ticket, window_id: str, level: int, reasons: tuple[str, ...], comment: str,
                       channel: int, phone: str = "") -> Rating:
        self.last_rating_id += 1
        r = Rating(id=self.last_rating_id, ticket=t, window=window_id, staff=t.staff or "",
                   level=level, reasons=tuple(reasons), comment=comment, channel=channel,
                   at=self.clock.now(), phone=phone)
        self.rated_ticket_ids.add(t.id)
        w = self.windows.get(window_id)
        if w is not None and w.last_served is not None and w.last_served.id == t.id:
            w.last_served_rated = True            # the tablet at that window has nothing left to rate
            self._touch_window(w)
        if t.staff:
            figures = self.staff_day(t.staff)
            figures.ratings += 1
            figures.satisfied += level >= 3
            figures.level_sum += level
            for at in self.windows.values():       # the counter where they work now shows it at once
                if at.staff == t.staff:
                    self._touch_window(at)
        self._changes.ratings.append(r)
        self._changes.events.append(Rated(r))
        return r
