"""What the hall server shows: the wire contract's views of tickets, windows, appointments,
the queue summary, cases and rectifications, built from the processor's engine and desks.
A part of CommandProcessor (hallserver/processor.py), kept apart so that the command path
reads on its own; it uses the processor's engine, clock, config, cases and rectifications."""
from __future__ import annotations

import logging
import time as monotonic_time
from datetime import date, datetime, time, timedelta

from govhall import contract as c
from govhall.contract import WindowStatus
from hallserver.domain.appointments import Appointment, check_in_window, slot_taken
from hallserver.domain.follow_up import FollowUp
from hallserver.domain.queue import (
    Ticket,
    Window,
)
from hallserver.domain.rectification import due_dates, step_colours
from hallserver.domain.workdays import Pending
from hallserver.reports.cases import case_report, daily_digest
from hallserver.reports.rating_export import LEVEL_NAMES
from hallserver.store.repository import case_from_row

ESTIMATES_MAX_AGE_S = 2.0   # the kiosks' per-category 预计等候 is recomputed at most this often on traffic
log = logging.getLogger("hallserver.processor")   # the command path's log, as before


class HallViews:
    def page_url(self, t: Ticket) -> str | None:
        """The ticket's phone page (its QR code); only the kiosk that asked gets it, never an event."""
        if self.public_url is None or t.token is None:
            return None
        return f"{self.public_url.rstrip('/')}/t/{t.token}"

    def ticket_outlook(self, ticket_id: int) -> dict | None:
        """For the phone page: people ahead by the call rule and the likely wait (None: not waiting)."""
        t = next((x for x in self.engine.all_waiting() if x.id == ticket_id), None)
        if t is None:
            return None
        found = self.engine.outlook(t)
        return {"ahead": found.ahead, "estimated_wait_s": found.wait_s}

    def _local(self, when: datetime | None) -> datetime | None:
        return None if when is None else when.astimezone(self.clock.tz)

    def ticket_view(self, t: Ticket) -> c.TicketView:
        cat = self.engine.categories.get(t.category)
        return c.TicketView(id=t.id, number=t.number, category=t.category,
                            category_name=cat.name if cat else t.category, status=t.status,
                            issued_at=self._local(t.issued_at), called_at=self._local(t.called_at),
                            window=t.window, recalls=t.recalls, priority=t.priority, green_reason=t.green_reason,
                            transferred_from=t.transferred_from, transfer_reason=t.transfer_reason,
                            requeued=t.requeued)

    def appointment_view(self, a: Appointment) -> dict:
        """What the citizen and the kiosk see of an appointment (no name, no phone)."""
        opens, closes = check_in_window(a, self.engine.appointment_rules)
        cat = self.engine.categories.get(a.category)
        return {"id": a.id, "code": a.code, "category": a.category, "category_name": cat.name if cat else a.category,
                "slot_start": self._local(a.slot_start).isoformat(), "slot_end": self._local(a.slot_end).isoformat(),
                "check_in_from": self._local(opens).isoformat(), "check_in_until": self._local(closes).isoformat(),
                "status": a.status.value, "late": a.late}

    def appointment_slots(self, category: str, day: date) -> list[dict] | None:
        """The 预约 slots of `day` a citizen may book now, with the places left (none on a day the
        hall is closed: a holiday, its closed day); None: no such category."""
        e = self.engine
        if category not in e.categories:
            return None
        capacity = e.capacities.get(category, e.appointment_rules.capacity)
        return [{"start": self._local(a).isoformat(), "end": self._local(b).isoformat(),
                 "free": capacity - slot_taken(e.appointments, category, a)}
                for a, b in e.appointment_slots(category, day)]

    def window_state(self, w: Window) -> c.WindowState:
        staff = self.engine.staff.get(w.staff) if w.staff else None
        return c.WindowState(
            window=w.id, number=w.number, name=w.name, categories=list(w.categories),
            status=w.status, staff=c.StaffView(id=staff.id, name=staff.name) if staff else None,
            ticket=self.ticket_view(w.ticket) if w.ticket else None, pause_reason=w.pause_reason,
            since=self._local(w.since) or self.clock.now(), staff_today=self._staff_today(w.staff))

    def _staff_today(self, staff: str | None) -> c.StaffToday | None:
        if staff is None:
            return None
        d = self.engine.staff_day(staff)
        return c.StaffToday(served=d.served, ratings=d.ratings,
                            avg_service_s=round(d.avg_service_s, 1) if d.avg_service_s is not None else None,
                            satisfaction=round(100 * d.satisfied / d.ratings, 1) if d.ratings else None,
                            avg_level=round(d.level_sum / d.ratings, 2) if d.ratings else None)

    def _window_json(self, w: Window) -> dict:
        return self.window_state(w).model_dump(mode="json")

    def _open_windows(self) -> tuple:
        open_states = (WindowStatus.IDLE, WindowStatus.SERVING)
        return tuple(w.id for w in self.engine.windows.values() if w.status in open_states)

    def queue_state(self) -> c.QueueState:
        e = self.engine
        if (monotonic_time.monotonic() - self._estimates_at > ESTIMATES_MAX_AGE_S
                or self._open_windows() != self._estimates_windows):   # a window opened or closed: now
            self.refresh_estimates()
        out = []
        open_for = e.open_windows_by_category()
        for cat in e.categories.values():
            refusal = e.issuing_refusal(cat.id)
            out.append(c.CategoryQueue(
                category=cat.id, name=cat.name, prefix=cat.prefix, waiting=e.waiting_count(cat.id),
                open_windows=open_for.get(cat.id, 0), issuing=refusal is None,
                not_issuing_because=refusal.reason if refusal else None,
                next_open=self._local(refusal.next_open) if refusal else None,
                estimated_wait_s=self._estimates.get(cat.id)))
        return c.QueueState(at=self.clock.now(), categories=out)

    def rectification_view(self, r) -> dict:   # noqa: ANN001 - a domain Rectification
        """A rectification with its two deadlines, each on its own: one in a year whose holidays are
        not loaded is None, with `verify_pending` / `rectify_pending` saying so."""
        tz = self.clock.tz
        verify_due, rectify_due = due_dates(r, self.cases.calendar, self.cases.rules.closing)
        colours = step_colours(r, self.cases.calendar, self.cases.rules.closing, self.clock.now())

        def shown(d: datetime | Pending) -> tuple[str | None, str | None]:
            return (None, d.text) if isinstance(d, Pending) else (d.astimezone(tz).isoformat(), None)
        (verify_at, verify_pending), (rectify_at, rectify_pending) = shown(verify_due), shown(rectify_due)
        return {"id": r.id, "rating_id": r.rating_id, "window": r.window, "staff": r.staff,
                "department": r.department, "level": r.level, "real_name": bool(r.phone), "status": r.status,
                "opened_at": r.opened_at.astimezone(tz).isoformat(), "reached": r.reached,
                "verify_due": verify_at, "rectify_due": rectify_at, "verify_pending": verify_pending,
                "rectify_pending": rectify_pending, "colours": colours,
                "records": [{"kind": x.kind, "at": x.at.astimezone(tz).isoformat(), "by": x.by, "note": x.note,
                             "reached": x.reached, "upheld": x.upheld} for x in r.records],
                "follow_up": self.follow_up_view(f) if (f := self.follow_ups.of(r.rating_id)) else None}

    def follow_up_view(self, f: FollowUp) -> dict:
        """A follow-up rating (追评) as the rectification and the API show it."""
        return {"id": f.id, "rating_id": f.rating_id, "level": f.level, "level_name": LEVEL_NAMES[f.level],
                "reasons": list(f.reasons), "comment": f.comment, "channel": f.channel, "entered_by": f.by,
                "at": f.at.astimezone(self.clock.tz).isoformat()}

    def case_page(self, token: str) -> dict | None:
        """The tracking page's view of a case (the receipt's QR), open or handed over."""
        case = next((x for x in self.cases.book.cases.values() if x.token == token), None)
        if case is None:
            row = self.store.case_row_by(token=token)
            if row is None:
                return None
            case = case_from_row(row, self.cases.matters, self.clock.tz)
        return self.case_view(case)

    def case_department(self, code: str) -> str | None:
        """The department a case belongs to (its matter's), open or handed over; None: no such case."""
        case = next((x for x in self.cases.book.cases.values() if x.code == code), None)
        if case is not None:
            return case.matter.department
        row = self.store.case_row_by(code=code)
        return case_from_row(row, self.cases.matters, self.clock.tz).matter.department if row else None

    def rectification_department(self, rid: int) -> str | None:
        found = self.rectifications.items.get(rid)
        return found.department if found is not None else None

    def rectification_list(self, departments: frozenset[str] | None = None) -> list[dict]:
        """Every rectification, or a lead's departments' (`departments`)."""
        return [self.rectification_view(r) for r in sorted(self.rectifications.items.values(), key=lambda x: x.id)
                if departments is None or r.department in departments]

    def case_report(self, start, end, digest: bool = False,   # noqa: ANN001 - dates
                    departments: frozenset[str] | None = None) -> dict:
        """按期办结率 and the overdue list for cases accepted from `start` to `end`, or today's
        digest; only the cases of `departments` (a lead's) when given."""
        now = self.clock.now()
        tz = now.tzinfo
        if digest:                          # the open cases, and those accepted or completed today
            rows = self.store.case_rows(today_from=datetime.combine(now.date(), time(0), tz))
        else:                               # only the period's cases: a year holds hundreds of thousands
            rows = self.store.case_rows(accepted=(datetime.combine(start, time(0), tz),
                                                  datetime.combine(end + timedelta(days=1), time(0), tz)))
        cases = [case_from_row(r, self.cases.matters, tz) for r in rows]
        if departments is not None:
            cases = [x for x in cases if x.matter.department in departments]
        if digest:
            return daily_digest(cases, self.cases.calendar, self.cases.rules, now)
        return case_report(cases, self.cases.calendar, self.cases.rules, now, start, end,
                           {s.id: s.name for s in self.config.staff})

    def case_view(self, case) -> dict:   # noqa: ANN001 - a domain Case
        return self.cases.view(case, self.clock.now(), self.clock.tz, {s.id: s.name for s in self.config.staff},
                               self.public_url)
