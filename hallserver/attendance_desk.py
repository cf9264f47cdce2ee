"""The hall server's attendance desk (考勤, 请假, AB岗): the commands of the one command path,
the clock events counter logins and logouts make, the front-desk watch run on every change
and tick, and the day and month figures managers sign. Called on the writer thread only."""
from __future__ import annotations

import io
import time as _time
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from govhall import contract as c
from govhall.config import Config
from hallserver.bootstrap import leave_chain_of, posts_of, shifts_of
from hallserver.domain.attendance import (
    ClockEvent,
    FrontDeskWatch,
    Leave,
    LeaveBook,
    LeaveError,
    Post,
    Roster,
    day_figures,
    scheduled,
)
from hallserver.domain.queue import DomainError, QueueEngine
from hallserver.domain.workdays import NoSchedule, WorkCalendar
from hallserver.reports.cells import SafeCsvWriter, append_row
from hallserver.store import Store


def front_categories(posts: list[Post]) -> list[str]:
    """The categories the front desk (前台受理) must keep covered."""
    return sorted({cat for p in posts if p.front_desk for cat in p.categories})


LEAVE_ERRORS = {"not_found": c.ErrorCode.NOT_FOUND, "forbidden": c.ErrorCode.FORBIDDEN,
                "post_uncovered": c.ErrorCode.POST_UNCOVERED, "unknown_cover": c.ErrorCode.UNKNOWN_COVER,
                "cover_is_self": c.ErrorCode.COVER_IS_SELF, "cover_unavailable": c.ErrorCode.COVER_UNAVAILABLE,
                "staff_covering": c.ErrorCode.STAFF_COVERING, "own_leave": c.ErrorCode.OWN_LEAVE,
                "approved_twice": c.ErrorCode.LEAVE_APPROVED_TWICE, "wrong_level": c.ErrorCode.LEAVE_WRONG_LEVEL}


def roster_of(config: Config, calendar: WorkCalendar) -> Roster:
    """Who works which shifts, for leave and its cover."""
    return Roster(shifts_of(config), calendar, ZoneInfo(config.hall.timezone),
                  {s.id: frozenset(s.shifts) if s.shifts is not None else None for s in config.staff})


def leave_view(leave: Leave, steps: tuple[str, ...] = ("",)) -> dict:
    """A leave with its levels (`levels`: the approvers in order, "" anyone who may decide),
    the approvals so far, and its 销假 (`returned`: early, on_time or late against its end)."""
    ended = leave.ended_at
    returned = None if ended is None else "early" if ended < leave.end else "late" if ended > leave.end else "on_time"
    return {"id": leave.id, "staff": leave.staff, "kind": leave.kind, "start": leave.start.isoformat(),
            "end": leave.end.isoformat(), "status": leave.status, "cover": leave.cover,
            "decided_by": leave.decided_by, "levels": list(steps),
            "approvals": [{"by": who, "at": at.isoformat()} for who, at in leave.approvals],
            "ended_at": ended.isoformat() if ended else None, "returned": returned}


class AttendanceDesk:
    def __init__(self, config: Config, store: Store, calendar: WorkCalendar, today: date | None = None) -> None:
        self.config, self.store, self.calendar = config, store, calendar
        self.shifts = shifts_of(config)
        self.posts = posts_of(config)
        self.leaves = LeaveBook(self.posts, store.all_leaves(), roster_of(config, calendar), leave_chain_of(config))
        self.watch = FrontDeskWatch(self.posts, front_categories(self.posts))
        since = (today or date.today()) - timedelta(days=62)
        self.watch.minutes.update(store.load_coverage_minutes(since))
        self.watch.category_minutes.update(store.load_category_minutes(since))
        self._minutes_saved = 0.0
        self.events: list[ClockEvent] = []          # new ones, for the commit
        self.post_states: dict[str, dict] = {}      # AB岗: each post's state as last announced
        self._covering: set[str] | None = None      # windows given a post's categories by route(); None: unknown

    def reload(self) -> None:
        self.leaves = LeaveBook(self.posts, self.store.all_leaves(), roster_of(self.config, self.calendar),
                                leave_chain_of(self.config))
        self._covering = None            # a new engine: look at every window again

    def set_config(self, config: Config, calendar: WorkCalendar, leaves: list) -> None:
        """New shifts, posts, schedules and thresholds (settings saved in the dashboard), kept
        with what is running: the open front-desk alerts (those of a category no longer at the
        front desk close on the next look) and the minutes counted today. `leaves` are read from
        the database by the caller beforehand: nothing here can fail half-way."""
        shifts = shifts_of(config)
        posts = posts_of(config)
        self.config, self.calendar, self.shifts, self.posts = config, calendar, shifts, posts
        self.watch.posts, self.watch.front = posts, front_categories(posts)
        self.post_states = {pid: s for pid, s in self.post_states.items() if pid in {p.id for p in posts}}
        self.leaves = LeaveBook(posts, leaves, roster_of(config, calendar), leave_chain_of(config))
        self._covering = None            # a new engine: look at every window again

    # ------------------------------------------------------------------ commands
    def dispatch(self, cmd: c.Command, now: datetime) -> dict:
        try:
            return self._dispatch(cmd, now)
        except LeaveError as exc:
            self.leaves.take_changed()
            raise DomainError(LEAVE_ERRORS.get(exc.code, c.ErrorCode.INVALID), str(exc)) from None

    def _dispatch(self, cmd: c.Command, now: datetime) -> dict:
        staff_ids = {s.id for s in self.config.staff}
        match cmd:
            case c.ClockInOut():
                if cmd.staff not in staff_ids:
                    raise DomainError(c.ErrorCode.UNKNOWN_STAFF, cmd.staff)
                self.events.append(ClockEvent(cmd.staff, now, cmd.kind, f"terminal:{cmd.method}"))
                return {"staff": cmd.staff, "kind": cmd.kind, "at": now.isoformat()}
            case c.CorrectAttendance():
                if cmd.staff not in staff_ids:
                    raise DomainError(c.ErrorCode.UNKNOWN_STAFF, cmd.staff)
                if cmd.at.tzinfo is None or cmd.at > now:
                    raise DomainError(c.ErrorCode.INVALID, "a correction is for a past time, with its UTC offset")
                self.events.append(ClockEvent(cmd.staff, cmd.at, cmd.kind, "correction", cmd.by, cmd.reason))
                return {"staff": cmd.staff, "kind": cmd.kind, "at": cmd.at.isoformat(), "by": cmd.by}
            case c.LeaveAction():
                return {"leave": self._leave(cmd, now, staff_ids)}
        raise DomainError(c.ErrorCode.UNKNOWN_TYPE, cmd.type)   # pragma: no cover

    def _leave(self, cmd: c.LeaveAction, now: datetime, staff_ids: set[str]) -> dict:
        if cmd.action == "request":
            if cmd.staff is None or cmd.kind is None or cmd.start is None or cmd.end is None:
                raise DomainError(c.ErrorCode.INVALID, "a leave request needs staff, kind, start and end")
            if cmd.staff not in staff_ids:
                raise DomainError(c.ErrorCode.UNKNOWN_STAFF, cmd.staff)
            if cmd.start.tzinfo is None or cmd.end.tzinfo is None:
                raise DomainError(c.ErrorCode.INVALID, "start and end need their UTC offset, e.g. +08:00")
            leave = self.leaves.request(cmd.staff, cmd.kind, cmd.start, cmd.end, cmd.reason, cmd.cover)
        elif cmd.action == "decide":
            if cmd.leave is None or cmd.manager is None:
                raise DomainError(c.ErrorCode.INVALID, "a decision needs the leave and the manager")
            leave = self.leaves.decide(cmd.leave, cmd.manager, cmd.approve, cmd.cover, self._approver_role(cmd), now)
        else:
            if cmd.leave is None:
                raise DomainError(c.ErrorCode.INVALID, "销假 needs the leave")
            leave = self.leaves.end(cmd.leave, now)
        return leave_view(leave, self.leaves.steps(leave))

    def _approver_role(self, cmd: c.LeaveAction) -> str | None:
        """The role of the manager deciding (None: not among `[[managers]]`); a lead decides only
        for their departments' staff, an auditor never."""
        manager = next((m for m in self.config.managers if m.id == cmd.manager), None)
        if manager is None:
            return None
        if manager.role == "auditor":
            raise DomainError(c.ErrorCode.FORBIDDEN, "an auditor reads only")
        department = self.leave_department(cmd.leave or 0)
        if manager.role == "lead" and department is not None and department not in manager.departments:
            raise DomainError(c.ErrorCode.FORBIDDEN, "a lead decides only the leave of their departments' staff")
        return manager.role

    def leave_department(self, leave_id: int) -> str | None:
        """The department of the staff member a leave is for; None: no such leave."""
        leave = self.leaves.leaves.get(leave_id)
        if leave is None:
            return None
        return next((s.department for s in self.config.staff if s.id == leave.staff), "")

    def leave_list(self, staff: set[str] | None = None) -> list[dict]:
        """Every leave, newest first; only those of `staff` when given (a lead's departments)."""
        return [leave_view(lv, self.leaves.steps(lv))
                for lv in sorted(self.leaves.leaves.values(), key=lambda lv: -lv.id)
                if staff is None or lv.staff in staff]

    def on_login(self, staff: str, now: datetime, logged_in: bool) -> None:
        """A counter login is a clock-in, a logout a clock-out (考勤 from the counters); a logout
        also ends any offline span of that person's counter."""
        self.events.append(ClockEvent(staff, now, "in" if logged_in else "out", "counter"))
        if not logged_in:
            self.store.end_offline_of_staff(staff, now)

    def counter_presence(self, device: str, staff: str | None, online: bool, now: datetime, store: Store) -> None:
        """Offline spans of counters with someone logged in, kept for 离岗 (store.offline_spans)."""
        if not online and staff is not None:
            store.counter_offline(device, staff, now)
        elif online:
            store.counter_online(device, now)

    def take_events(self) -> list[ClockEvent]:
        out, self.events = self.events, []
        return out

    # ------------------------------------------------------------------ the front desk
    def watch_windows(self, engine: QueueEngine, now: datetime) -> list:
        windows = [{"id": w.id, "staff": w.staff, "status": w.status.value, "categories": list(w.categories)}
                   for w in engine.windows.values()]
        hours = engine.hours
        open_now = hours is None or any(a <= now < b for cat in self.watch.front
                                        for a, b in hours.open_spans(cat, now.date()))
        return self.watch.update(now, windows, open_now)

    # ------------------------------------------------------------------ AB岗
    def in_shift(self, now: datetime) -> bool:
        """Within a scheduled shift, past its start and grace (A is expected at the post)."""
        try:
            today = scheduled(self.shifts, now.date(), self.calendar)
        except NoSchedule:
            return False
        grace = timedelta(minutes=self.config.attendance.grace_minutes)
        return any(datetime.combine(now.date(), x.start, now.tzinfo) + grace <= now
                   < datetime.combine(now.date(), x.end, now.tzinfo) for x in today)

    def route(self, engine: QueueEngine, now: datetime) -> list[dict]:
        """When A is away (not logged in, or paused past the limit) during a shift, the post's
        categories go to B's window until A is back. Returns the posts whose state changed."""
        limit = timedelta(minutes=self.config.attendance.away_limit_minutes)
        on_duty = self.in_shift(now)
        where = {w.staff: w for w in engine.windows.values() if w.staff}
        extra: dict[str, list[str]] = {}
        states: dict[str, dict] = {}
        for post in self.posts:
            a = where.get(post.a)
            a_here = a is not None and (a.status.value != "paused" or (now - (a.since or now)) <= limit)
            state = {"post": post.id, "name": post.name, "a": post.a, "b": post.b, "state": "a", "window": None}
            if on_duty and not a_here:
                b = where.get(post.b)
                if b is not None and b.status.value in ("idle", "serving", "paused"):
                    state.update(state="b", window=b.id)
                    extra.setdefault(b.id, []).extend(post.categories)
                else:
                    state["state"] = "uncovered"
            states[post.id] = state
        every = set(engine.windows) if self._covering is None else self._covering   # None: after a (re)load
        for window in set(extra) | every:            # the windows covering now, and those that were
            if window in engine.windows:
                engine.set_cover(window, tuple(extra.get(window, ())))
        self._covering = set(extra)
        changed = [s for pid, s in states.items() if self.post_states.get(pid, {}).get("state", "a") != s["state"]
                   or self.post_states.get(pid, {}).get("window") != s["window"]]
        self.post_states = states
        return changed

    def save_minutes(self, every_s: float = 60.0) -> None:
        """Keep the coverage minutes counted since the last save in the database, at most once a
        minute (the tick): today's rows, not the two months kept in memory."""
        watch = self.watch
        if _time.monotonic() - self._minutes_saved >= every_s and watch.changed:
            changed, watch.changed = watch.changed, set()
            try:
                self.store.save_coverage_minutes({k: v for k, v in watch.minutes.items() if k in changed},
                                                 {k: v for k, v in watch.category_minutes.items() if k in changed})
            except Exception:
                watch.changed |= changed            # saved on a later tick
                raise
            self._minutes_saved = _time.monotonic()

    # ------------------------------------------------------------------ figures
    def day(self, day: date, tz) -> list[dict]:   # noqa: ANN001
        start = datetime.combine(day, time(0), tz)
        end = start + timedelta(days=1)
        events = self.store.clock_events(start - timedelta(days=1), end + timedelta(hours=3))
        pauses = self.store.pause_spans(start, end) + self.store.offline_spans(start, end)   # 离岗: both count
        leaves = list(self.leaves.leaves.values())
        out = []
        for s in self.config.staff:
            try:
                f = day_figures(s.id, day, self.shifts, events, pauses, leaves, self.calendar, tz,
                                grace_min=self.config.attendance.grace_minutes,
                                away_limit_min=self.config.attendance.away_limit_minutes,
                                works=set(s.shifts) if s.shifts is not None else None)
            except NoSchedule:
                continue
            out.append({"staff": s.id, "name": s.name, "department": s.department, "day": day.isoformat(),
                        "late_min": f.late_min,
                        "early_min": f.early_min, "away_min": f.away_min, "absent_shifts": f.absent_shifts,
                        "leave_shifts": f.leave_shifts, "leave_min": f.leave_min, "scheduled_shifts": len(f.shifts),
                        "shifts": [{"shift": x.shift, "on_leave": x.on_leave, "absent": x.absent,
                                    "late_min": x.late_min, "early_min": x.early_min, "away_min": x.away_min,
                                    "leave_min": x.leave_min,
                                    "clock_in": x.clock_in.astimezone(tz).isoformat() if x.clock_in else None,
                                    "clock_out": x.clock_out.astimezone(tz).isoformat() if x.clock_out else None}
                                   for x in f.shifts]})
        return out

    def month(self, year: int, month: int, tz, today: date) -> list[dict]:   # noqa: ANN001
        """Per person, the month so far: scheduled, present, late, early, absent, away, leave."""
        last = (date(year + month // 12, month % 12 + 1, 1) - timedelta(days=1))
        return self.period(date(year, month, 1), last, tz, today)

    def period(self, first: date, last: date, tz, today: date) -> list[dict]:   # noqa: ANN001
        """Per person, from `first` to `last` (not past today): scheduled, present, late, early,
        absent, away, leave."""
        totals: dict[str, dict] = {}
        day = first
        while day <= last and day <= today:
            for row in self.day(day, tz):
                t = totals.setdefault(row["staff"], {"staff": row["staff"], "name": row["name"],
                                                     "department": row["department"], "scheduled": 0,
                                                     "present": 0, "late_times": 0, "late_min": 0, "early_times": 0,
                                                     "early_min": 0, "absent_shifts": 0, "away_min": 0,
                                                     "leave_shifts": 0, "leave_min": 0})
                for x in row["shifts"]:
                    t["scheduled"] += 1
                    t["present"] += not x["absent"] and not x["on_leave"]
                    t["late_times"] += x["late_min"] > 0
                    t["early_times"] += x["early_min"] > 0
                t["late_min"] += row["late_min"]
                t["early_min"] += row["early_min"]
                t["absent_shifts"] += row["absent_shifts"]
                t["away_min"] += row["away_min"]
                t["leave_shifts"] += row["leave_shifts"]
                t["leave_min"] += row["leave_min"]
            day += timedelta(days=1)
        return list(totals.values())


SHEET_HEADER = ["工号", "姓名", "部门", "应出勤班次", "出勤班次", "迟到次数", "迟到分钟", "早退次数", "早退分钟",
                "缺勤班次", "离岗分钟", "请假班次", "请假分钟", "本人签字"]


def _sheet_row(r: dict) -> list:
    return [r["staff"], r["name"], r.get("department", ""), r["scheduled"], r["present"], r["late_times"],
            r["late_min"], r["early_times"], r["early_min"], r["absent_shifts"], r["away_min"], r["leave_shifts"],
            r["leave_min"], ""]


def by_department(rows: list[dict]) -> dict[str, list[dict]]:
    """The sheet's people per department (科室), in staff-number order; "" for those without one."""
    out: dict[str, list[dict]] = {}
    for r in sorted(rows, key=lambda r: (r.get("department", ""), r["staff"])):
        out.setdefault(r.get("department", ""), []).append(r)
    return out


def month_csv(rows: list[dict], year: int, month: int) -> str:
    """考勤表 as CSV (UTF-8 with BOM, for Excel): per department a title line and its people."""
    out = io.StringIO()
    w = SafeCsvWriter(out)
    for department, people in by_department(rows).items():
        w.writerow([f"{year}年{month}月考勤表" + (f"（{department}）" if department else "")])
        w.writerow(SHEET_HEADER)
        for r in people:
            w.writerow(_sheet_row(r))
        w.writerow([])
    if not rows:
        w.writerow([f"{year}年{month}月考勤表"])
        w.writerow(SHEET_HEADER)
    return "\ufeff" + out.getvalue()


def month_xlsx(rows: list[dict], year: int, month: int, hall: str) -> bytes:
    """考勤表 as Excel: one sheet per department, each with its title, the people, a column and
    a line for the signatures, ready to print and sign."""
    from openpyxl import Workbook  # openpyxl: only for an Excel file
    from openpyxl.styles import Alignment, Border, Font, Side  # openpyxl: only for an Excel file
    book = Workbook()
    book.remove(book.active)
    thin = Side(style="thin", color="999999")
    groups = by_department(rows) or {"": []}
    for department, people in groups.items():
        sheet = book.create_sheet((department or "考勤表")[:31].translate(str.maketrans("[]:*?/\\", "（）：＊？／／")))
        sheet.append([f"{hall} {year}年{month}月考勤表" + (f"（{department}）" if department else "")])
        sheet["A1"].font = Font(bold=True, size=14)
        sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(SHEET_HEADER))
        sheet.append(SHEET_HEADER)
        for cell in sheet[2]:
            cell.font = Font(bold=True)
            cell.alignment = Alignment(horizontal="center")
        for r in people:
            append_row(sheet, _sheet_row(r))
        for row in sheet.iter_rows(min_row=2, max_row=sheet.max_row):
            for cell in row:
                cell.border = Border(left=thin, right=thin, top=thin, bottom=thin)
        sheet.append([])
        sheet.append(["部门负责人签字：", "", "", "", "", "", "", "", "日期："])
        sheet.freeze_panes = "A3"
        for i, name in enumerate(SHEET_HEADER, start=1):
            sheet.column_dimensions[sheet.cell(2, i).column_letter].width = max(9, 2 * len(name) + 3)
        sheet.column_dimensions[sheet.cell(2, len(SHEET_HEADER)).column_letter].width = 16
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
