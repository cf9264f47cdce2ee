"""The hall's config as the domain sees it: the one place where config sections become the
domain's rules and objects (the queue engine resumed from the store, opening hours, the
matter catalogue and the case rules, shifts, AB岗 posts). The command path and its desks
call these; nothing else turns config into domain."""
from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo

from govhall.config import Config
from hallserver.domain.appointments import AppointmentRules
from hallserver.domain.attendance import Post, Shift
from hallserver.domain.call_order import CallRules
from hallserver.domain.cases import CaseRules, Matter, MatterKind
from hallserver.domain.clock import Clock, hall_day
from hallserver.domain.hours import CategoryLimits, Extended, HallDays, HallHours, Session
from hallserver.domain.leave_chain import LeaveLevel
from hallserver.domain.queue import Category, QueueEngine, Staff, Window
from hallserver.domain.workdays import WorkCalendar
from hallserver.store import Store


def build_engine(config: Config, clock: Clock, store: Store, calendar: WorkCalendar | None = None) -> QueueEngine:
    """A queue engine for this config, resumed from what the store holds; its hours open on the
    days of `calendar` (the hall's one working-day calendar; None: on the weekdays alone)."""
    snapshot = store.load_snapshot(hall_day(clock))
    now = clock.now()
    return QueueEngine(
        clock,
        categories=[Category(x.id, x.name, x.prefix) for x in config.categories],
        windows=[Window(w.id, w.number, w.name, tuple(w.categories), since=now, elderly_first=w.elderly_first)
                 for w in config.windows],
        staff=[Staff(s.id, s.name) for s in config.staff],
        max_recalls=config.rules.max_recalls,
        default_service_s=config.rules.default_service_minutes * 60,
        rules=CallRules(starvation_s=config.rules.starvation_minutes * 60, requeue_after=config.rules.requeue_after,
                        requeue_within_s=config.rules.requeue_within_minutes * 60),
        green_age=config.rules.green_age,
        hours=hall_hours(config, calendar),
        appointment_rules=AppointmentRules(
            slot_minutes=config.appointments.slot_minutes, capacity=config.appointments.capacity,
            check_in_before_s=config.appointments.check_in_before_minutes * 60,
            check_in_after_s=config.appointments.check_in_after_minutes * 60,
            horizon_days=config.appointments.horizon_days, per_id_active=config.appointments.per_id_active,
            per_phone_active=config.appointments.per_phone_active),
        capacities={x.id: x.appointment_capacity for x in config.categories if x.appointment_capacity is not None},
        snapshot=snapshot,
    )


def hall_days(config: Config, calendar: WorkCalendar | None) -> HallDays:
    """The days the hall opens: the calendar with `[hours]` weekdays and the hall's exceptions
    (without [hours]: the calendar's working days, Monday to Friday in a year it does not cover)."""
    h = config.hours
    if h is None:
        return HallDays(calendar=calendar)
    return HallDays(weekdays=frozenset(d - 1 for d in h.weekdays), calendar=calendar,
                    open_days=frozenset(h.open_days), closed_days=frozenset(h.closed_days))


def hall_hours(config: Config, calendar: WorkCalendar | None = None) -> HallHours | None:
    """The config's opening hours as the domain sees them (None: always open)."""
    h = config.hours
    if h is None:
        return None

    def sessions(spans: list) -> tuple[Session, ...]:
        return tuple(Session(time.fromisoformat(a), time.fromisoformat(b)) for a, b in spans)
    return HallHours(
        tz=ZoneInfo(config.hall.timezone), days=hall_days(config, calendar),
        sessions=sessions(h.sessions), last_ticket_minutes=h.last_ticket_minutes,
        extended=tuple(Extended(frozenset(d - 1 for d in e.weekdays), sessions(e.sessions),
                                frozenset(e.categories) if e.categories is not None else None) for e in h.extended),
        limits={c.id: CategoryLimits(c.last_ticket_minutes, c.daily_quota, c.session_quota)
                for c in config.categories})


def matters_of(config: Config) -> list[Matter]:
    return [Matter(m.id, m.name, m.department, MatterKind(m.kind), m.legal_days, m.promised_days,
                   tuple(m.materials), tuple(m.step_days.items()), m.max_extension_days, m.certificate)
            for m in config.matters]


def case_rules(config: Config) -> CaseRules:
    """Deadlines close at the end of the hall's last session ([hours] sessions), 17:00 without hours;
    `[cases] after_hours_next_day` counts a case taken from that time on as received the next working day."""
    cal, after_hours = config.calendar, config.cases.after_hours_next_day
    if config.hours is None:
        return CaseRules(yellow_days_left=cal.yellow_days_left, yellow_used=cal.yellow_used,
                         after_hours_next_day=after_hours)
    sessions = tuple((time.fromisoformat(a), time.fromisoformat(b)) for a, b in config.hours.sessions)
    return CaseRules(closing=sessions[-1][1], sessions=sessions, yellow_days_left=cal.yellow_days_left,
                     yellow_used=cal.yellow_used, after_hours_next_day=after_hours)


def shifts_of(config: Config) -> list[Shift]:
    if config.shifts:
        return [Shift(s.name, time.fromisoformat(s.start), time.fromisoformat(s.end),
                      frozenset(d - 1 for d in s.weekdays) if s.weekdays else None) for s in config.shifts]
    sessions = config.hours.sessions if config.hours else [("09:00", "12:00"), ("13:30", "17:00")]
    names = ["上午", "下午", "晚间"]
    return [Shift(names[i] if i < 3 else f"班次{i + 1}", time.fromisoformat(a), time.fromisoformat(b))
            for i, (a, b) in enumerate(sessions)]


def leave_chain_of(config: Config) -> list[LeaveLevel]:
    """请销假 by level: `[[attendance.leave_levels]]` as the domain sees it."""
    return [LeaveLevel(lv.up_to_days, tuple(lv.approvers)) for lv in config.attendance.leave_levels]


def posts_of(config: Config) -> list[Post]:
    """The AB岗 posts (岗位 with their A and B) as the domain sees them."""
    return [Post(p.id, p.name, p.a, p.b, tuple(p.categories), p.front_desk) for p in config.posts]
