"""The hall server's complaint desk (投诉): `complaint.register` and `complaint.act` on the one
command path, the departments, windows and staff they name checked against the hall's config,
the views the dashboard lists, and the watch that tells the board when a complaint is overdue.

Called only on the writer thread, like the queue engine. docs/complaints.md has the rules.
"""
from __future__ import annotations

from datetime import date, datetime, time, tzinfo

from govhall import contract as c
from govhall.config import Config
from hallserver.domain.complaints import (
    CHANNELS,
    Complaint,
    ComplaintBook,
    ComplaintError,
    due,
    on_time,
    overdue,
)
from hallserver.domain.queue import DomainError
from hallserver.domain.workdays import Pending, WorkCalendar
from hallserver.store import Store

HALL_OFFICE = "大厅管理办公室"     # the department of a window that names none (as for 差评整改)
ERRORS = {"not_found": c.ErrorCode.NOT_FOUND, "not_replied": c.ErrorCode.NOT_REPLIED}


def known_departments(config: Config) -> set[str]:
    """The hall's departments: those of its windows, staff and matters, and the hall office."""
    return {x.department for x in (*config.windows, *config.staff, *config.matters) if x.department} | {HALL_OFFICE}


class ComplaintDesk:
    def __init__(self, config: Config, store: Store, calendar: WorkCalendar, closing: time) -> None:
        self.store = store
        self.set_config(config, calendar, closing)
        self.book = ComplaintBook(store.complaint_items())
        self.colours: dict[str, str] = {}          # the colour each complaint was last announced with

    def set_config(self, config: Config, calendar: WorkCalendar, closing: time) -> None:
        self.config, self.calendar, self.closing = config, calendar, closing

    def reload(self) -> None:
        self.book = ComplaintBook(self.store.complaint_items())

    # ------------------------------------------------------------------ commands
    def dispatch(self, cmd: c.ComplaintRegister | c.ComplaintAction, device: str, role: c.Role, now: datetime,
                 day: date) -> Complaint:
        try:
            if isinstance(cmd, c.ComplaintRegister):
                return self._register(cmd, device, role, now, day)
            return self._act(cmd, now)
        except ComplaintError as exc:
            self.book.take_changed()
            raise DomainError(ERRORS.get(exc.code, c.ErrorCode.INVALID), exc.detail) from None
        except DomainError:
            self.book.take_changed()
            raise

    def _register(self, cmd: c.ComplaintRegister, device: str, role: c.Role, now: datetime, day: date) -> Complaint:
        if role == c.Role.TABLET and cmd.channel != "tablet":
            raise ComplaintError("invalid", "评价器只能登记评价器渠道的投诉")
        if role != c.Role.TABLET and cmd.channel == "tablet":
            raise ComplaintError("invalid", "评价器渠道的投诉只能由评价器登记")
        if cmd.channel in ("hotline", "box", "book") and not cmd.by:
            raise ComplaintError("invalid", "工作人员录入的投诉须写明录入人")
        by = cmd.by if role == c.Role.WEB and cmd.by else (device if role == c.Role.TABLET else "citizen")
        department, window, staff = self._assignment(cmd.department, cmd.window, cmd.staff)
        x = self.book.register(cmd.channel, cmd.text, cmd.name, cmd.phone, by, now, day, self.config.complaints.days)
        if department:
            self.book.assign(x.number, by, department, window, staff, now)
        return x

    def _act(self, cmd: c.ComplaintAction, now: datetime) -> Complaint:
        match cmd.action:
            case "assign":
                department, window, staff = self._assignment(cmd.department, cmd.window, cmd.staff)
                return self.book.assign(cmd.complaint, cmd.by, department, window, staff, now, cmd.note)
            case "handle":
                return self.book.handle(cmd.complaint, cmd.by, cmd.note, now)
            case "reply":
                if cmd.method is None:
                    raise ComplaintError("invalid", "请选择答复方式")
                told = cmd.told_at if cmd.told_at is not None else now
                if told.tzinfo is None:
                    told = told.replace(tzinfo=now.tzinfo)
                return self.book.reply(cmd.complaint, cmd.by, cmd.method, told, cmd.note, now)
        return self.book.close(cmd.complaint, cmd.by, cmd.note, now)

    def _assignment(self, department: str | None, window: str | None, staff: str | None) -> tuple[str, str, str]:
        """(department, window, staff) each checked; the department from the window or the staff
        member when not given. All empty: not assigned."""
        if window is not None and self.config.window(window) is None:
            raise DomainError(c.ErrorCode.UNKNOWN_WINDOW, f"没有窗口 {window}")
        person = next((s for s in self.config.staff if s.id == staff), None) if staff is not None else None
        if staff is not None and person is None:
            raise DomainError(c.ErrorCode.UNKNOWN_STAFF, f"没有工号为 {staff} 的工作人员")
        if department is not None and department not in known_departments(self.config):
            raise DomainError(c.ErrorCode.UNKNOWN_DEPARTMENT, f"没有部门“{department[:40]}”")
        if department is None and window is not None:
            department = self.config.window(window).department or HALL_OFFICE
        if department is None and person is not None:
            department = person.department or HALL_OFFICE
        return department or "", window or "", staff or ""

    def mask_phones(self, before: datetime) -> list[Complaint]:
        """Retention (as for the 差评's, ratings.phone_retention_days): the phone numbers of complaints
        registered before `before` keep 3 + 4 digits (138****8000); that one was given stays. The
        complaints changed, to be saved."""
        out = []
        for x in self.book.items.values():
            if x.registered_at < before and len(x.phone) == 11 and "*" not in x.phone:
                x.phone = x.phone[:3] + "****" + x.phone[-4:]
                out.append(x)
        return out

    # ------------------------------------------------------------------ views
    def department_of(self, number: str) -> str | None:
        """None: no such complaint; "" : not assigned yet (any lead may not act on it)."""
        x = self.book.by_number.get(number)
        return x.department if x is not None else None

    def view(self, x: Complaint, now: datetime, tz: tzinfo) -> dict:
        d = due(x, self.calendar, self.closing)
        a = x.assignment

        def local(value: datetime | None) -> str | None:
            return value.astimezone(tz).isoformat(timespec="seconds") if value is not None else None
        reply = x.last("答复")
        return {"number": x.number, "channel": x.channel, "channel_name": CHANNELS[x.channel], "text": x.text,
                "name": x.name, "phone": x.phone, "has_contact": bool(x.phone), "status": x.status,
                "registered_at": local(x.registered_at), "registered_by": x.registered_by, "days": x.days,
                "department": x.department, "window": a.window if a else "", "staff": a.staff if a else "",
                "due": None if isinstance(d, Pending) else local(d.due),
                "due_pending": d.text if isinstance(d, Pending) else None,
                "overdue": overdue(x, self.calendar, self.closing, now),
                "on_time": on_time(x, self.calendar, self.closing),
                "reply": {"method": reply.method, "told_at": local(reply.told_at), "note": reply.note,
                          "by": reply.by} if reply else None,
                "steps": [{"kind": s.kind, "at": local(s.at), "by": s.by, "note": s.note, "department": s.department,
                           "window": s.window, "staff": s.staff, "method": s.method, "told_at": local(s.told_at)}
                          for s in x.steps]}

    def listing(self, now: datetime, tz: tzinfo, departments: frozenset[str] | None = None) -> list[dict]:
        """Every complaint, newest first, or a lead's departments' (`departments`)."""
        return [self.view(x, now, tz) for x in sorted(self.book.items.values(), key=lambda x: -x.id)
                if departments is None or x.department in departments]

    def items(self, departments: frozenset[str] | None = None) -> list[Complaint]:
        return [x for x in self.book.items.values() if departments is None or x.department in departments]

    # ------------------------------------------------------------------ the watch
    def changed_colours(self, now: datetime, tz: tzinfo) -> list[c.ComplaintColour]:
        """Complaints that turned red (overdue) or, red before, were closed (the tick, after a command)."""
        out = []
        for x in self.book.items.values():
            before = self.colours.get(x.number, "green")
            if x.closed and before == "green":
                continue
            colour = "red" if overdue(x, self.calendar, self.closing, now) else "green"
            if colour == before:
                continue
            d = due(x, self.calendar, self.closing)
            if isinstance(d, Pending):                  # the calendar changed under it: nothing to say yet
                continue
            a = x.assignment
            out.append(c.ComplaintColour(complaint=x.number, department=x.department, window=a.window if a else "",
                                         colour=colour, due=d.due.astimezone(tz), closed=x.closed))
            if colour == "green":
                self.colours.pop(x.number, None)
            else:
                self.colours[x.number] = colour
        return out
