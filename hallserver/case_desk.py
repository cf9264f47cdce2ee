"""The hall server's case desk (办件): the case commands of the one command path, the
case views the counter prints and the citizen's tracking page shows, and the colour watch
that tells managers and handlers when a case turns yellow or red.

A deadline in a year whose holidays are not loaded never refuses or hides a case: it is shown
pending ("待定：2027 年节假日安排未导入") and computed once the calendar has that year.

Called only on the writer thread, like the queue engine.
"""
from __future__ import annotations

import logging
from datetime import datetime
from zoneinfo import ZoneInfo

from govhall import contract as c
from govhall.config import Config
from hallserver.bootstrap import case_rules, matters_of
from hallserver.calendar_source import work_calendar
from hallserver.domain.cases import (
    Assist,
    Case,
    CaseBook,
    CaseError,
    Delivery,
    Step,
    case_colour,
    case_due,
    counted_from,
    step_colours,
)
from hallserver.domain.queue import DomainError, QueueEngine
from hallserver.domain.workdays import Deadline, NoSchedule, Pending, guessed_text
from hallserver.store import Store
from hallserver.store.repository import case_from_row, matter_terms

log = logging.getLogger("hallserver.cases")

ERRORS = {"case_not_found": c.ErrorCode.CASE_NOT_FOUND, "unknown_matter": c.ErrorCode.UNKNOWN_MATTER,
          "waiting_materials": c.ErrorCode.WAITING_MATERIALS, "forbidden": c.ErrorCode.FORBIDDEN,
          "extension_used": c.ErrorCode.EXTENSION_USED, "extension_too_long": c.ErrorCode.EXTENSION_TOO_LONG}


def _assist_view(case: Case, staff_names: dict[str, str]) -> dict | None:
    """代办: the helper as the receipt names them (a staff member's name, or the volunteer's), and for whom."""
    a = case.assisted
    if a is None:
        return None
    helper = staff_names.get(a.staff, a.staff) if a.staff else a.volunteer
    return {"group": a.group, "staff": a.staff, "volunteer": a.volunteer, "helper": helper,
            "role": "帮办员" if a.staff else "志愿者"}


class CaseDesk:
    def __init__(self, config: Config, store: Store) -> None:
        self.config, self.store = config, store
        self.tz = ZoneInfo(config.hall.timezone)
        self.calendar = work_calendar(config.calendar.file, config.calendar.missing_year)
        self.rules = case_rules(config)
        self.matters = {m.id: m for m in matters_of(config)}
        self.book = self._load()
        self.colours: dict[str, str] = {}          # the colour each open case was last announced with

    def _load(self) -> CaseBook:
        rows = self.store.case_rows(open_only=True)
        cases = [case_from_row(r, self.matters, self.tz) for r in rows]
        unsettled = {c.id: matter_terms(c.matter) for r, c in zip(rows, cases, strict=True)
                     if not r.get("terms") and c.matter.id in self.matters}
        if unsettled:                      # open cases from before cases kept their terms: the catalogue in force
            self.store.set_case_terms(unsettled)
        return CaseBook(list(self.matters.values()), self.calendar, self.rules, cases, self.store.last_case_id())

    def reload(self) -> None:
        self.book = self._load()

    def _by_code(self, code: str) -> Case:
        case = next((x for x in self.book.cases.values() if x.code == code), None)
        if case is None:
            raise DomainError(c.ErrorCode.CASE_NOT_FOUND, f"no open case {code}")
        return case

    # ------------------------------------------------------------------ commands
    def dispatch(self, cmd: c.Command, engine: QueueEngine, now: datetime) -> Case:
        try:
            return self._dispatch(cmd, engine, now)
        except CaseError as exc:
            self.book.take_changed()
            raise DomainError(ERRORS.get(exc.code, c.ErrorCode.INVALID), str(exc)) from None
        except NoSchedule as exc:
            self.book.take_changed()
            raise DomainError(c.ErrorCode.NO_SCHEDULE, str(exc)) from None

    def _dispatch(self, cmd: c.Command, engine: QueueEngine, now: datetime) -> Case:
        match cmd:
            case c.AcceptCase():
                w = engine.windows.get(cmd.window)
                if w is None:
                    raise DomainError(c.ErrorCode.UNKNOWN_WINDOW, cmd.window)
                if w.staff is None:
                    raise DomainError(c.ErrorCode.WINDOW_CLOSED, "log in before accepting a case")
                ticket = w.ticket or w.last_served
                return self.book.accept(cmd.matter, w.id, w.staff, now, dict(cmd.received), list(cmd.missing),
                                        ticket.id if ticket else None, assisted=self._assist(cmd.assisted_by),
                                        delivery=Delivery(cmd.delivery))
            case c.ApplyOnline():
                applicant = cmd.applicant.model_dump() if cmd.applicant is not None else None
                if applicant is not None:
                    self._check_online_limits(applicant, now)
                return self.book.accept(cmd.matter, "online", "online", now, dict(cmd.received), [],
                                        applicant=applicant, delivery=Delivery(cmd.delivery))
            case c.SupplementCase():
                return self.book.supplement(self._by_code(cmd.case).id, now, self._staff(engine, cmd.window),
                                            dict(cmd.received))
            case c.AdvanceCase():
                return self.book.advance(self._by_code(cmd.case).id, Step(cmd.step), now,
                                         self._staff(engine, cmd.window), cmd.note, cmd.tracking)
            case c.RequestExtension():
                return self.book.request_extension(self._by_code(cmd.case).id, cmd.days, cmd.reason,
                                                   self._staff(engine, cmd.window), now)
            case c.ApproveExtension():
                return self.book.approve_extension(self._by_code(cmd.case).id, cmd.manager, now)
        raise DomainError(c.ErrorCode.UNKNOWN_TYPE, cmd.type)   # pragma: no cover - the processor routes

    def _assist(self, assisted: c.AssistedBy | None) -> Assist | None:
        """代办/帮办: a staff helper must be one of the hall's [[staff]]; a volunteer is named as given."""
        if assisted is None:
            return None
        if assisted.staff is not None and all(s.id != assisted.staff for s in self.config.staff):
            raise DomainError(c.ErrorCode.UNKNOWN_STAFF, f"代办: no staff member {assisted.staff}")
        return Assist(assisted.group, assisted.staff, assisted.volunteer)

    def _check_online_limits(self, applicant: dict, now: datetime) -> None:
        """网上申报 per ID number and per phone in a hall day (cases.online_per_*_per_day)."""
        day = now.astimezone(self.tz).date()
        today = [x.applicant for x in self.book.cases.values()
                 if x.applicant and x.accepted_at.astimezone(self.tz).date() == day]
        limits = self.config.cases
        if sum(a.get("id_hash") == applicant["id_hash"] for a in today) >= limits.online_per_id_per_day:
            raise DomainError(c.ErrorCode.APPLICATION_LIMIT, f"{limits.online_per_id_per_day} today for this ID")
        if sum(a.get("phone") == applicant["phone"] for a in today) >= limits.online_per_phone_per_day:
            raise DomainError(c.ErrorCode.APPLICATION_LIMIT, f"{limits.online_per_phone_per_day} today for this phone")

    @staticmethod
    def _staff(engine: QueueEngine, window: str) -> str:
        w = engine.windows.get(window)
        if w is None or w.staff is None:
            raise DomainError(c.ErrorCode.WINDOW_CLOSED, "log in first")
        return w.staff

    # ------------------------------------------------------------------ views
    def view(self, case: Case, now: datetime, tz, staff_names: dict[str, str], public_url: str | None) -> dict:   # noqa: ANN001
        """Everything the receipt, the counter and the tracking page show of a case. A deadline in
        a year with no schedule: `due` None and `due_pending` its words; one guessed over such a
        year (`missing_year = "warn"`): `due_warning`."""
        d = case_due(case, self.calendar, self.rules, now)
        waiting = next((e for e in case.extensions if e.approved_by is None), None)
        return {
            "code": case.code, "matter": case.matter.id, "matter_name": case.matter.name,
            "department": case.matter.department, "kind": case.matter.kind.value,
            "promised_days": case.matter.promised_days, "legal_days": case.matter.legal_days,
            "accepted_at": case.accepted_at.astimezone(tz).isoformat(),
            "handler": staff_names.get(case.accepted_by, case.accepted_by), "window": case.window,
            "received": case.received, "missing": case.missing, "waiting_materials": case.waiting_materials,
            "step": case.step.value, **self._due_fields(case, d, tz),
            "colour": case_colour(case, self.calendar, self.rules, now),
            "step_colours": [{**x, "due": x["due"].astimezone(tz).isoformat() if x["due"] else None}
                             for x in step_colours(case, self.calendar, self.rules, now)],
            "steps": [{"step": s.step.value, "at": s.at.astimezone(tz).isoformat(),
                       "staff": staff_names.get(s.staff, s.staff), "note": s.note} for s in case.steps],
            "extensions": [{"days": e.days, "reason": e.reason, "approved": e.approved_by is not None}
                           for e in case.extensions],
            "extension_waiting": waiting is not None, "extension_limit": case.matter.extension_limit,
            "assisted": _assist_view(case, staff_names), "delivery": case.delivery.value, "tracking": case.tracking,
            "track_url": f"{public_url.rstrip('/')}/c/{case.token}" if public_url else None,
        }

    def _due_fields(self, case: Case, d: Deadline | Pending, tz) -> dict:   # noqa: ANN001
        if isinstance(d, Pending):
            return {"due": None, "due_pending": d.text, "due_warning": None, "paused_days": None}
        start = counted_from(case, self.calendar, self.rules)
        return {"due": d.due.astimezone(tz).isoformat(), "due_pending": None,
                "due_warning": guessed_text(self.calendar, start.date(), d.due.date()), "paused_days": d.paused_days}

    def colour_event(self, case: Case, now: datetime, tz) -> c.CaseColour | None:   # noqa: ANN001
        """The case's colour as announced; None while its deadline is pending (nothing to show yet)."""
        d = case_due(case, self.calendar, self.rules, now)
        shade = case_colour(case, self.calendar, self.rules, now)
        if isinstance(d, Pending) or shade is None:
            return None
        return c.CaseColour(case=case.code, matter=case.matter.name, window=case.window, staff=case.accepted_by,
                            colour=shade, due=d.due.astimezone(tz), waiting_materials=case.waiting_materials,
                            finished=case.finished)

    def changed_colours(self, now: datetime, tz) -> list[c.CaseColour]:   # noqa: ANN001
        """Open cases whose colour the calendar changed since last announced (the tick)."""
        out = []
        for case in list(self.book.cases.values()):
            event = self.colour_event(case, now, tz)
            if event is None:                           # pending: announced again once computed
                self.colours.pop(case.code, None)
            elif self.colours.get(case.code) != event.colour:
                self.colours[case.code] = event.colour
                out.append(event)
            if case.step == Step.DELIVERED:
                del self.book.cases[case.id]            # handed over: no more to watch
                self.colours.pop(case.code, None)
        return out
