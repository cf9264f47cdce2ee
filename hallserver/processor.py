"""The one command path of the hall server: validate -> domain -> commit -> publish.

`CommandProcessor.handle` is called by exactly one thread, in the order commands arrive.
It returns the messages to publish; the bus publishes them only after the commit.
"""
from __future__ import annotations

import json
import logging
import time as monotonic_time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from govhall import contract as c
from govhall.config import Config
from govhall.contract import WindowStatus
from hallserver.attendance_desk import AttendanceDesk
from hallserver.bootstrap import build_engine
from hallserver.case_desk import CaseDesk
from hallserver.domain.appointments import Appointment, check_in_window
from hallserver.domain.clock import Clock, hall_day
from hallserver.domain.devices import AlertChange, DeviceHealth
from hallserver.domain.login_guard import LoginGuard
from hallserver.domain.queue import (
    Called,
    Cancelled,
    Changes,
    Completed,
    DomainError,
    Issued,
    Rated,
    Requeued,
    Skipped,
    Ticket,
    Transferred,
    Window,
)
from hallserver.domain.rectification import RectificationBook, RectificationError, due_dates, step_colours
from hallserver.domain.workdays import NoSchedule
from hallserver.passwords import password_matches
from hallserver.reports.cases import case_report, daily_digest
from hallserver.reports.queries import build_day_rollups, day_rollups, settled_before
from hallserver.store import Store
from hallserver.store.repository import case_from_row

log = logging.getLogger("hallserver.processor")

TABLET_CHANNEL = 4   # 好差评 channel code: hall tablet
QR_CHANNEL = 3       # 好差评 channel code: the QR code (the ticket's phone page)
WEB_DEVICE = "@web"  # the command log's name for the HTTP side; "@" keeps it apart from any MQTT device
SUMMARY_EVERY_S = 0.25      # the hall server's queue summary goes out at most this often (the newest always)
ESTIMATES_MAX_AGE_S = 2.0   # the kiosks' per-category 预计等候 is recomputed at most this often on traffic


@dataclass(frozen=True)
class Outgoing:
    topic: str
    payload: bytes
    qos: int = 1
    retain: bool = False


class CommandProcessor:
    def __init__(self, config: Config, store: Store, clock: Clock, *, summary_every_s: float = 0.0) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.topics = c.Topics(config.hall.id)
        self.engine = build_engine(config, clock, store)
        self.listeners: list = []   # called with each Outgoing after it is built (web view), or committed
        self._uncommitted: list[Outgoing] = []   # built inside the bus's open batch, told when it commits
        self.presence_listeners: list = []   # called with (device, online, iso time) of each presence message
        self.public_url: str | None = config.http.public_url   # set by the server when it serves the web
        self._last_issuing: list | None = None
        self.devices = DeviceHealth(store.open_device_alerts())
        self.cases = CaseDesk(config, store)
        self.attendance = AttendanceDesk(config, store, self.cases.calendar, hall_day(clock))
        items = store.rectification_items()
        self.rectifications = RectificationBook(items, max((x.id for x in items), default=0))
        self.login_guard = LoginGuard()
        self.password_hashes = {s.id: s.password_hash for s in config.staff if s.password_hash}
        self._devices = {d.id: d for d in config.devices}
        self._alert_changes: list[AlertChange] = []
        self._estimates: dict[str, int | None] = {}
        self._estimates_at = float("-inf")
        self._estimates_windows: tuple = ()
        self._digest_day = None
        self._retention_day = None
        self._closed_day = None      # the hall day whose earlier days' waiting tickets were voided
        self._rollup_day = None      # the day the report rollups were last brought up to date
        self._post_changes: list[dict] = []
        self._staffing: dict[str, tuple] = {}   # each window as AB岗 and the front desk last saw it
        self._unannounced_posts: list[dict] = []   # post changes a reload's routing found
        # the queue summary (retained; every kiosk and hall screen follows it) may change hundreds
        # of times a second in a rush: the first change goes out at once, later ones within
        # summary_every_s are held and only the newest state is built and sent when it is due
        self.summary_every_s = summary_every_s
        self._summary_sent_at = float("-inf")
        self._summary_held = False

    def page_url(self, t: Ticket) -> str | None:
        """The ticket's phone page (its QR code); only the kiosk that asked gets it, never an event."""
        if self.public_url is None or t.token is None:
            return None
        return f"{self.public_url.rstrip('/')}/t/{t.token}"

    # ------------------------------------------------------------------ entry point
    def handle(self, topic: str, payload: bytes) -> list[Outgoing]:
        device_id = self.topics.device_from_command_topic(topic)
        present = self.topics.device_from_presence_topic(topic)
        if present is not None:
            self.on_presence(present, payload)
            return []
        if device_id is None:
            # the embedded amqtt broker also hands every new session the retained state of the
            # hall, subscribed or not; anything else on a wrong topic is worth a warning
            level = logging.DEBUG if topic.startswith(self.topics.all_state[:-1]) else logging.WARNING
            log.log(level, "dropped a message on %r: not a device command topic", topic[:200])
            return []
        return self._handle(device_id, payload, None)

    def handle_local(self, payload: bytes, device: str | None = None) -> tuple[dict, list[Outgoing]]:
        """A command from the server's own HTTP side (role web), or one a registered device sent
        over HTTP (an attendance terminal: its registry role applies): the reply, and what to publish."""
        out = self._handle(device or WEB_DEVICE, payload, None if device else c.Role.WEB)
        reply_topic = self.topics.reply(device or WEB_DEVICE)
        reply = next(json.loads(o.payload) for o in out if o.topic == reply_topic)
        return reply, [o for o in out if o.topic != reply_topic]

    def refuse_unsaved(self, topic: str, payload: bytes) -> list[Outgoing]:
        """The answer to a message whose group commit the database refused for a reason every
        write shares (locked, full), without trying the write again into the same wall: a
        bad or forbidden command gets its own error, a repeat the reply stored for it (reads
        still work), any other command 系统暂时不可用 (nothing of it was kept). A presence
        message runs again alone (a failure of its write is logged)."""
        device_id = self.topics.device_from_command_topic(topic)
        if device_id is None:
            return self.handle(topic, payload)
        try:
            cmd, answer = self._checked(device_id, payload, None)
        except Exception:             # the repeat check could not read the database either (parsed by then)
            log.exception("could not look up a command from %s in the command log", device_id)
            cmd, answer = c.parse_command(payload), None
        if answer is not None:
            return answer
        log.error("could not commit %s from %s: the database takes no writes now", cmd.type, device_id)
        return [self._unavailable(device_id, cmd)]

    def _unavailable(self, device_id: str, cmd: c.Command) -> Outgoing:
        """系统暂时不可用: the command's write failed and nothing of it was kept."""
        return self._reply(device_id, c.error_reply(cmd.id, c.ErrorCode.UNAVAILABLE, "database write failed"))

    def _handle(self, device_id: str, payload: bytes, role: c.Role | None) -> list[Outgoing]:
        cmd, answer = self._checked(device_id, payload, role)
        return answer if answer is not None else self._apply(device_id, cmd)

    def _checked(self, device_id: str, payload: bytes, role: c.Role | None) -> tuple[c.Command | None,
                                                                                   list[Outgoing] | None]:
        """A command's checks before it may change anything: (the command, None) when it is to
        be applied, else (the command or None, its answer): a bad command, one its device may
        not send, or a repeat (the first reply again)."""
        try:
            cmd = c.parse_command(payload)
        except c.ContractError as exc:
            log.warning("device %s sent a bad command: %s", device_id, exc)
            return None, [self._reply(device_id, exc.reply())]
        refusal = self._authorise(device_id, cmd, role)
        if refusal is not None:
            log.warning("device %s refused %s: %s", device_id, cmd.type, refusal.error.detail)
            return cmd, [self._reply(device_id, refusal)]
        stored = self.store.find_reply(device_id, cmd.id)
        if stored is not None:
            log.info("device %s repeated command %s: sending the first reply", device_id, cmd.id)
            return cmd, [Outgoing(self.topics.reply(device_id), stored.encode("utf-8"))]
        return cmd, None

    # ------------------------------------------------------------------ steps
    def _authorise(self, device_id: str, cmd: c.Command, role: c.Role | None = None) -> c.Reply | None:
        device = self._devices.get(device_id) if role is None else None
        if role is None and device is None:
            return c.error_reply(cmd.id, c.ErrorCode.UNKNOWN_DEVICE, f"device {device_id!r} is not registered")
        role = role or device.role
        if cmd.type not in c.ROLE_COMMANDS[role]:
            return c.error_reply(cmd.id, c.ErrorCode.FORBIDDEN, f"a {role.value} may not send {cmd.type}")
        window = getattr(cmd, "window", None)
        if device is not None and device.window is not None and window is not None and window != device.window:
            return c.error_reply(cmd.id, c.ErrorCode.FORBIDDEN,
                                 f"device of window {device.window} may not act for window {window}")
        return None

    def _apply(self, device_id: str, cmd: c.Command) -> list[Outgoing]:
        staffing = False
        try:
            result = self._dispatch(device_id, cmd)
            reply = c.Reply(id=cmd.id, ok=True, result=result)
            staffing = self._staffing_changed()
            if staffing:                               # AB岗 after every change of who sits where
                self._post_changes = self._route()
        except DomainError as exc:
            self._discard_changes()
            reply = c.error_reply(cmd.id, exc.code, exc.detail or None,
                                  self._local(exc.next_open) if exc.next_open else None)
        except Exception:
            # a bug or an unforeseen input: nothing of it may be saved later under another command
            log.exception("%s from %s failed unexpectedly; state reloaded from the database", cmd.type, device_id)
            self.reload()
            self._discard_changes()
            return [self._reply(device_id, c.error_reply(cmd.id, c.ErrorCode.INTERNAL, "unexpected failure"))]
        changes = self.engine.take_changes()
        self._open_rectifications(changes.ratings)
        for name, take in self._books():
            setattr(changes, name, take())
        self._post_changes_out, self._post_changes = self._post_changes, []
        if staffing:                                   # 前台不断档: look at the front desk after every such change
            changes.coverage = self.attendance.watch_windows(self.engine, self.clock.now())
        reply_json = reply.model_dump_json()
        try:
            self.store.save(changes, device_id, cmd.id, cmd.type, reply_json, self.clock.now())
        except Exception:
            if self.store.batching:
                raise                 # the bus rolls the batch back and runs its commands one by one
            log.exception("could not commit %s from %s; state reloaded from the database", cmd.type, device_id)
            self.reload()
            return [self._unavailable(device_id, cmd)]
        out = [Outgoing(self.topics.reply(device_id), reply_json.encode("utf-8"))]
        out += self._announce(changes)
        self._notify(out)
        return out

    def _books(self) -> list[tuple[str, Callable[[], list]]]:
        """Every book besides the queue engine that a command may write in: the field of Changes
        it goes to, and how to take (and so empty) what it changed. Collecting after a command
        and discarding after a refusal or a failure walk this one list, so neither misses one."""
        return [("device_alerts", self._take_alert_changes), ("cases", self.cases.book.take_changed),
                ("rectifications", self.rectifications.take_changed), ("attendance", self.attendance.take_events),
                ("leaves", self.attendance.leaves.take_changed)]

    def _take_alert_changes(self) -> list[AlertChange]:
        changes, self._alert_changes = self._alert_changes, []
        return changes

    def _discard_changes(self) -> None:
        """A refused or failed command leaves nothing behind to be saved under the next one."""
        self.engine.discard_changes()
        for _name, take in self._books():
            take()
        self._post_changes = []

    def _open_rectifications(self, ratings: list) -> None:
        """Every 差评 (one or two stars) opens its rectification (差评整改)."""
        for rating in ratings:
            if rating.level <= 2:
                window = self.config.window(rating.window)
                self.rectifications.open(rating.id, rating.window, rating.staff,
                                         (window.department if window else "") or "大厅管理办公室", rating.level,
                                         rating.phone, rating.at)

    def _route(self) -> list[dict]:
        """AB岗 routing now: the posts whose state changed, with any a reload found unannounced."""
        posts, self._unannounced_posts = self._unannounced_posts + self.attendance.route(self.engine,
                                                                                          self.clock.now()), []
        return posts

    def _staffing_changed(self) -> bool:
        """Did this command change what AB岗 and the front desk look at: who is at a window, whether
        it is open or paused (and since when), which categories it calls? A call or a completion
        (idle ↔ serving) does not; time alone (a pause running long, a shift beginning) is the
        tick's to see."""
        changed = False
        for w in self.engine.changed_windows():
            paused = w.status == WindowStatus.PAUSED
            seen = (w.staff, w.status if w.status not in (WindowStatus.IDLE, WindowStatus.SERVING) else "open",
                    w.since if paused else None, w.categories)
            if self._staffing.get(w.id) != seen:
                self._staffing[w.id] = seen
                changed = True
        return changed

    def reload(self) -> None:
        """Drop the in-memory state and rebuild it from the database (after a failed commit)."""
        self._staffing = {}
        self._summary_held = True     # a summary built for the failed commands never went out
        try:
            self.engine = build_engine(self.config, self.clock, self.store)
            self.devices = DeviceHealth(self.store.open_device_alerts())
            self.cases.reload()
            self.attendance.reload()
            items = self.store.rectification_items()
            self.rectifications = RectificationBook(items, max((x.id for x in items), default=0))
            # AB岗 covers are not stored: route again now, before the next call; what it finds
            # changed is announced with the next routing (a command's or the tick's)
            self._unannounced_posts += self.attendance.route(self.engine, self.clock.now())
        except Exception:
            log.exception("could not reload state from the database")

    def apply_config(self, config: Config) -> list[Outgoing]:
        """Settings saved in the dashboard, applied without a restart: the hall's state is rebuilt
        from the database exactly as at start, under the new config; the attendance desk keeps
        its open alerts and minutes. Returns every retained state, to publish again."""
        if config.hall.id != self.config.hall.id:
            raise ValueError("the hall's id is not changed while it runs")
        # everything that reads the database or may refuse first; then swapped in together
        engine, cases, leaves = build_engine(config, self.clock, self.store), CaseDesk(config, self.store), \
            self.store.all_leaves()
        cases.colours = dict(self.cases.colours)  # announced already: not every open case again
        self.config, self.engine, self.cases = config, engine, cases
        self.attendance.set_config(config, cases.calendar, leaves)
        self.password_hashes = {s.id: s.password_hash for s in config.staff if s.password_hash}
        self._devices = {d.id: d for d in config.devices}
        self._estimates, self._estimates_at, self._estimates_windows = {}, float("-inf"), ()
        self._last_issuing, self._staffing = None, {}
        log.info("settings applied: %d categories, %d windows, %d staff, %d posts", len(config.categories),
                 len(config.windows), len(config.staff), len(config.posts))
        out = self.full_state()                   # the web view hears it too
        check = self._front_desk_check()          # a new front-desk post with nobody there: its alert now
        self._notify(check)
        return out + check

    def _dispatch(self, device_id: str, cmd: c.Command) -> dict:
        e = self.engine
        match cmd:
            case c.IssueTicket():
                t = e.issue(cmd.category, device_id, birth_date=cmd.birth_date, green_reason=cmd.green_reason)
                return {"ticket": self.ticket_view(t).model_dump(mode="json"),
                        "waiting_ahead": e.waiting_count(t.category) - 1,
                        "estimated_wait_s": e.estimated_wait_s(t), "page_url": self.page_url(t)}
            case c.WindowLogin():
                self._check_password(cmd.staff, cmd.password, f"{device_id}/{cmd.id}")
                was_open = e.windows[cmd.window].staff == cmd.staff if cmd.window in e.windows else False
                w = e.login(cmd.window, cmd.staff)
                if not was_open:
                    self.attendance.on_login(cmd.staff, self.clock.now(), True)
                return {"window": self._window_json(w)}
            case c.WindowLogout():
                staff = e.windows[cmd.window].staff if cmd.window in e.windows else None
                w = e.logout(cmd.window)
                if staff:
                    self.attendance.on_login(staff, self.clock.now(), False)
                return {"window": self._window_json(w)}
            case c.ClockInOut() | c.CorrectAttendance() | c.LeaveAction():
                return self.attendance.dispatch(cmd, self.clock.now())
            case c.CallNext():
                t = e.call_next(cmd.window)
                return {"ticket": self.ticket_view(t).model_dump(mode="json")}
            case c.Recall():
                t = e.recall(cmd.window)
                return {"ticket": self.ticket_view(t).model_dump(mode="json")}
            case c.Skip():
                t = e.skip(cmd.window)
                return {"ticket": self.ticket_view(t).model_dump(mode="json")}
            case c.Complete():
                t = e.complete(cmd.window)
                return {"ticket": self.ticket_view(t).model_dump(mode="json")}
            case c.Transfer():
                t = e.transfer(cmd.window, cmd.reason, to_window=cmd.to_window, to_category=cmd.to_category)
                return {"ticket": self.ticket_view(t).model_dump(mode="json")}
            case c.CheckInAppointment():
                t, a = e.check_in(cmd.code, device_id)
                return {"ticket": self.ticket_view(t).model_dump(mode="json"), "late": a.late,
                        "page_url": self.page_url(t),
                        "appointment": self.appointment_view(a),
                        "waiting_ahead": e.waiting_count(t.category) - 1, "estimated_wait_s": e.estimated_wait_s(t)}
            case c.BookAppointment():
                return {"appointment": self.appointment_view(e.book(cmd.category, cmd.slot_start, cmd.name, cmd.phone))}
            case c.RequeueTicket():
                t = e.requeue(cmd.number)
                return {"ticket": self.ticket_view(t).model_dump(mode="json"),
                        "estimated_wait_s": e.estimated_wait_s(t)}
            case c.Pause():
                return {"window": self._window_json(e.pause(cmd.window, cmd.reason))}
            case c.Resume():
                return {"window": self._window_json(e.resume(cmd.window))}
            case c.RateByToken():
                found = self.store.ticket_by_token(cmd.token)
                if found is None:
                    raise DomainError(c.ErrorCode.TICKET_NOT_FOUND, "no ticket with that token")
                t = found[0]
                r = e.rate_ticket(t, cmd.level, tuple(cmd.reasons), cmd.comment, QR_CHANNEL, cmd.phone,
                                  valid_days=self.config.ratings.phone_valid_days,
                                  rated_before=self.store.rating_of(t.id) is not None)
                return {"rating_id": r.id, "ticket": r.ticket.number, "level": r.level}
            case (c.AcceptCase() | c.ApplyOnline() | c.SupplementCase() | c.AdvanceCase() | c.RequestExtension()
                  | c.ApproveExtension()):
                case = self.cases.dispatch(cmd, e, self.clock.now())
                return {"case": self.case_view(case)}
            case c.RectificationAction():
                return {"rectification": self.rectification_act(cmd)}
            case c.CancelTicket():
                t = e.cancel(cmd.number, device_id, cmd.reason)
                return {"ticket": self.ticket_view(t).model_dump(mode="json")}
            case c.DeviceReport():
                changes = self.devices.report(device_id, cmd.component.value, cmd.condition.value, cmd.detail,
                                              self.clock.now())
                self._alert_changes = changes
                return {"open": cmd.condition != c.DeviceCondition.OK, "changed": bool(changes)}
            case c.SubmitRating():
                r = e.rate(cmd.window, cmd.level, tuple(cmd.reasons), cmd.comment, TABLET_CHANNEL, cmd.phone)
                return {"rating_id": r.id, "ticket": r.ticket.number, "level": r.level}
        raise DomainError(c.ErrorCode.UNKNOWN_TYPE, cmd.type)   # pragma: no cover - parse guards this

    def rectification_act(self, cmd: c.RectificationAction) -> dict:
        book, now = self.rectifications, self.clock.now()
        try:
            match cmd.action:
                case "verify":
                    r = book.verify(cmd.rectification, cmd.by, cmd.note, cmd.reached, now)
                case "rectify":
                    r = book.rectify(cmd.rectification, cmd.by, cmd.note, now)
                case "appeal":
                    r = book.appeal(cmd.rectification, cmd.by, cmd.note, now, filed_by=cmd.filed_by or cmd.by)
                case _:
                    r = book.decide(cmd.rectification, cmd.by, cmd.upheld, cmd.note, now)
        except RectificationError as exc:
            book.take_changed()
            code = {"not_found": c.ErrorCode.NOT_FOUND, "forbidden": c.ErrorCode.FORBIDDEN,
                    "not_reached": c.ErrorCode.NOT_REACHED}.get(exc.code, c.ErrorCode.INVALID)
            raise DomainError(code, str(exc)) from None
        return self.rectification_view(r)

    def rectification_view(self, r) -> dict:   # noqa: ANN001 - a domain Rectification
        tz = self.clock.tz
        try:
            verify_due, rectify_due = due_dates(r, self.cases.calendar, self.cases.rules.closing)
            colours = step_colours(r, self.cases.calendar, self.cases.rules.closing, self.clock.now())
        except NoSchedule:                       # next year's holidays not loaded: no dates to show yet
            return {"id": r.id, "rating_id": r.rating_id, "window": r.window, "staff": r.staff,
                    "department": r.department, "level": r.level, "real_name": bool(r.phone), "status": r.status,
                    "opened_at": r.opened_at.astimezone(tz).isoformat(), "reached": r.reached,
                    "verify_due": None, "rectify_due": None, "colours": {}, "records": [
                        {"kind": x.kind, "at": x.at.astimezone(tz).isoformat(), "by": x.by, "note": x.note,
                         "reached": x.reached, "upheld": x.upheld} for x in r.records]}
        return {"id": r.id, "rating_id": r.rating_id, "window": r.window, "staff": r.staff,
                "department": r.department, "level": r.level, "real_name": bool(r.phone), "status": r.status,
                "opened_at": r.opened_at.astimezone(tz).isoformat(), "reached": r.reached,
                "verify_due": verify_due.astimezone(tz).isoformat(),
                "rectify_due": rectify_due.astimezone(tz).isoformat(),
                "colours": colours,
                "records": [{"kind": x.kind, "at": x.at.astimezone(tz).isoformat(), "by": x.by, "note": x.note,
                             "reached": x.reached, "upheld": x.upheld} for x in r.records]}

    def rectification_list(self) -> list[dict]:
        return [self.rectification_view(r) for r in sorted(self.rectifications.items.values(), key=lambda x: x.id)]

    def case_page(self, token: str) -> dict | None:
        """The tracking page's view of a case (the receipt's QR), open or handed over."""
        case = next((x for x in self.cases.book.cases.values() if x.token == token), None)
        if case is None:
            row = self.store.case_row_by(token=token)
            if row is None:
                return None
            case = case_from_row(row, self.cases.matters, self.clock.tz)
        return self.case_view(case)

    def _calendar_check(self) -> list[Outgoing]:
        """From November on, an alert for the manager while next year's schedule is not loaded."""
        now = self.clock.now()
        missing = now.month >= 11 and now.year + 1 not in self.cases.calendar.years
        condition = "fault" if missing else "ok"
        changes = self.devices.report("hall-server", "calendar", condition,
                                      f"{now.year + 1}" if missing else "", now)
        if not changes:
            return []
        try:
            self.store.save(Changes(device_alerts=changes), "@server", f"calendar-{now:%Y%m%d%H%M%S%f}",
                            "calendar.check", "{}", now)
        except Exception:
            log.exception("could not store the calendar alert; trying again on a later tick")
            try:                         # as stored: the next tick sees the change again
                self.devices = DeviceHealth(self.store.open_device_alerts())
            except Exception:
                log.exception("could not read the device alerts back")
            return []
        return self._announce(Changes(device_alerts=changes))

    def _front_desk_check(self) -> list[Outgoing]:
        """The tick's look at the posts and the front desk: shifts begin, pauses run long, hours
        end, with nobody pressing a key. AB岗 routing moves categories to B's window (saved and
        announced like any change); front-desk alerts open and close; minutes are counted."""
        posts = self._route()
        changes = self.engine.take_changes()
        changes.coverage = self.attendance.watch_windows(self.engine, self.clock.now())
        try:
            self.attendance.save_minutes()
        except Exception:
            log.exception("could not store the coverage minutes; trying again on a later tick")
        if not posts and not changes.coverage and not changes.windows:
            return []
        try:
            self.store.save(changes, "hall-server", f"coverage-{self.clock.now():%Y%m%d%H%M%S%f}",
                            "coverage.check", "{}", self.clock.now())
        except Exception:
            log.exception("could not store the coverage check")
            self.reload()
            return []
        self._post_changes_out = posts
        return self._announce(changes)

    def _close_earlier_days(self) -> list[Outgoing]:
        """Once per hall day (the tick after midnight): yesterday's tickets still waiting are void,
        in the database too, so that the morning's first call is today's first ticket."""
        day = hall_day(self.clock)
        if self._closed_day == day:
            return []
        self._closed_day = day
        now = self.clock.now()
        try:
            stale = self.store.void_waiting_before(day, now)      # also those a restart left behind
        except Exception:
            log.exception("could not void the earlier days' waiting tickets; trying again on a later tick")
            self._closed_day = None
            return []
        closed = self.engine.close_earlier_days()
        if not closed:
            if stale:
                log.info("voided %d tickets left waiting from earlier days", stale)
            return []
        changes = self.engine.take_changes()
        try:
            self.store.save(changes, "hall-server", f"day-close-{now:%Y%m%d%H%M%S%f}", "day.close", "{}", now)
        except Exception:
            log.exception("could not store the day's close; trying again on a later tick")
            self.reload()
            self._closed_day = None
            return []
        log.info("a new hall day: %d tickets left waiting from yesterday voided", len(closed))
        return self._announce(changes)

    def _retention(self) -> None:
        """Once a day: phone numbers older than ratings.phone_retention_days are masked."""
        now = self.clock.now()
        if self._retention_day == now.date():
            return
        self._retention_day = now.date()
        self.engine.forget_days_before(now.date() - timedelta(days=1))   # memory: today and yesterday
        self.store.forget_known_commands()
        try:
            if self.store.mask_old_phones(now - timedelta(days=self.config.ratings.phone_retention_days), now):
                items = self.store.rectification_items()      # the masked numbers, not the old ones
                self.rectifications = RectificationBook(items, max((x.id for x in items), default=0))
        except Exception:
            log.exception("the retention of phone numbers failed; trying again tomorrow")

    def _report_rollups(self) -> None:
        """Once a day: the newly settled hall days' report tallies are counted and kept, so that
        reports over months and years read a row per day (report_queries.period_tallies)."""
        now = self.clock.now()
        if self._rollup_day == now.date():
            return
        self._rollup_day = now.date()
        settled = settled_before(now.date(), self.config.ratings.phone_valid_days)
        try:
            first = settled - timedelta(days=7)
            last = settled - timedelta(days=1)
            have = day_rollups(self.store.engine, first, last)
            missing = [first + timedelta(days=i) for i in range(7) if first + timedelta(days=i) not in have]
            if missing:
                build_day_rollups(self.store.engine, missing[0], missing[-1], self.clock.tz, now)
        except Exception:
            log.exception("the report rollups failed; the reports count those days themselves")

    def _daily_digest(self) -> list[Outgoing]:
        """每日通报, once per day at the hall's closing time (the tick)."""
        now = self.clock.now()
        if now.time() < self.cases.rules.closing or self._digest_day == now.date():
            return []
        self._digest_day = now.date()
        digest = self.case_report(None, None, digest=True)
        msg = c.CaseDigest(day=now.date(), departments=digest["departments"])
        return [Outgoing(self.topics.event(msg.type), c.encode(msg))]

    def case_report(self, start, end, digest: bool = False) -> dict:   # noqa: ANN001 - dates
        """按期办结率 and the overdue list for cases accepted from `start` to `end`, or today's digest."""
        now = self.clock.now()
        tz = now.tzinfo
        if digest:                          # the open cases, and those accepted or completed today
            rows = self.store.case_rows(today_from=datetime.combine(now.date(), time(0), tz))
        else:                               # only the period's cases: a year holds hundreds of thousands
            rows = self.store.case_rows(accepted=(datetime.combine(start, time(0), tz),
                                                  datetime.combine(end + timedelta(days=1), time(0), tz)))
        cases = [case_from_row(r, self.cases.matters, tz) for r in rows]
        if digest:
            return daily_digest(cases, self.cases.calendar, self.cases.rules, now)
        return case_report(cases, self.cases.calendar, self.cases.rules, now, start, end,
                           {s.id: s.name for s in self.config.staff})

    def case_view(self, case) -> dict:   # noqa: ANN001 - a domain Case
        return self.cases.view(case, self.clock.now(), self.clock.tz, {s.id: s.name for s in self.config.staff},
                               self.public_url)

    def on_presence(self, device_id: str, payload: bytes) -> None:
        """A counter going offline while its window is open starts an offline span (离岗 when it
        lasts past the allowed minutes); coming back ends it. Bad payloads are logged and dropped."""
        try:
            online = c.DevicePresence.model_validate_json(payload).online
        except ValueError:
            log.warning("device %s sent a bad presence message", device_id)
            return
        device = self.config.device(device_id)
        if device is not None:
            for listener in self.presence_listeners:
                listener(device_id, online, self.clock.now().astimezone(self.clock.tz).isoformat())
        if device is None or device.role != c.Role.COUNTER or device.window is None:
            return
        window = self.engine.windows.get(device.window)
        staff = window.staff if window is not None else None
        if window is not None and window.status == c.WindowStatus.PAUSED:
            staff = None                        # a paused window counts as a pause, not as 离岗 twice
        try:
            self.attendance.counter_presence(device_id, staff, online, self.clock.now(), self.store)
        except Exception:
            log.exception("could not record the presence of %s", device_id)

    def _check_password(self, staff: str, password: str | None, attempt: str) -> None:
        """工号 + 密码: a staff member with a password hash logs in only with the password; five
        wrong ones in a row lock the staff number for five minutes."""
        hashed = self.password_hashes.get(staff)
        if hashed is None:
            return
        now = self.clock.now()
        until = self.login_guard.locked_until(staff, now)
        if until is not None:
            raise DomainError(c.ErrorCode.LOGIN_LOCKED, f"{staff} locked after wrong passwords", until)
        if password is None or not password_matches(hashed, password):
            self.login_guard.failed(staff, now, attempt)
            raise DomainError(c.ErrorCode.BAD_PASSWORD, f"wrong or missing password for {staff}")
        self.login_guard.succeeded(staff)

    def ticket_outlook(self, ticket_id: int) -> dict | None:
        """For the phone page: people ahead by the call rule and the likely wait (None: not waiting)."""
        t = next((x for x in self.engine.all_waiting() if x.id == ticket_id), None)
        if t is None:
            return None
        found = self.engine.outlook(t)
        return {"ahead": found.ahead, "estimated_wait_s": found.wait_s}

    # ------------------------------------------------------------------ views
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

    def refresh_estimates(self) -> bool:
        """Recompute each category's 预计等候 for a ticket taken now; True when a shown minute changed."""
        before = {k: None if v is None else round(v / 60) for k, v in self._estimates.items()}
        self._estimates = {cat: self.engine.estimate_new(cat) for cat in self.engine.categories}
        self._estimates_at = monotonic_time.monotonic()
        self._estimates_windows = self._open_windows()
        return before != {k: None if v is None else round(v / 60) for k, v in self._estimates.items()}

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

    def tick(self) -> list[Outgoing]:
        """Called every few seconds by the bus: time alone can open or close a category
        (hours, 停止取号, a new half-day); republish the queue state when that changed."""
        estimates_changed = self.refresh_estimates()
        out = [Outgoing(self.topics.event(ev.type), c.encode(ev))
               for ev in self.cases.changed_colours(self.clock.now(), self.clock.tz)]   # 红黄绿 with the calendar
        out += self._daily_digest()
        self._retention()
        out += self._close_earlier_days()
        self._report_rollups()
        out += self._calendar_check()
        out += self._front_desk_check()
        state = self.queue_state()                # after the checks above: the newest summary goes last
        issuing = [(q.category, q.issuing, q.next_open) for q in state.categories]
        if issuing != self._last_issuing or estimates_changed:
            self._last_issuing = issuing
            out.append(self._summary(monotonic_time.monotonic(), state))
        self._notify(out)
        return out

    # ------------------------------------------------------------------ announcing
    def _reply(self, device_id: str, reply: c.Reply) -> Outgoing:
        return Outgoing(self.topics.reply(device_id), c.encode(reply))

    def _state(self, topic: str, msg) -> Outgoing:
        return Outgoing(topic, c.encode(msg), qos=1, retain=True)

    def _announce(self, changes: Changes) -> list[Outgoing]:
        out = [self._state(self.topics.window_state(w.id), self.window_state(w))
               for w in changes.windows.values()]
        if changes.queue_changed:
            now = monotonic_time.monotonic()
            if now - self._summary_sent_at < self.summary_every_s:
                self._summary_held = True
            else:
                out.append(self._summary(now))
        for ev in changes.events:
            msg = self._event(ev)
            out.append(Outgoing(self.topics.event(msg.type), c.encode(msg)))
        for post in getattr(self, "_post_changes_out", []):
            msg = c.PostCoverage(**post)
            out.append(Outgoing(self.topics.event(msg.type), c.encode(msg)))
        self._post_changes_out = []
        for kind, alert in changes.coverage:
            msg = c.CoverageAlert(category=alert.category, open=kind == "opened", since=self._local(alert.start),
                                  minutes=alert.minutes)
            out.append(Outgoing(self.topics.event(msg.type), c.encode(msg)))
        for case in changes.cases:
            msg = self.cases.colour_event(case, self.clock.now(), self.clock.tz)
            self.cases.colours[case.code] = msg.colour
            out.append(Outgoing(self.topics.event(msg.type), c.encode(msg)))
        for ch in changes.device_alerts:
            a = ch.alert
            msg = c.DeviceAlert(device=a.device, component=a.component, condition=a.condition if ch.opened else "ok",
                                detail=a.detail if ch.opened else "", open=ch.opened,
                                since=self._local(a.since if ch.opened else ch.at))
            out.append(Outgoing(self.topics.event(msg.type), c.encode(msg)))
        return out

    def _event(self, ev):
        match ev:
            case Issued():
                return c.TicketIssued(ticket=self.ticket_view(ev.ticket), waiting_ahead=ev.waiting_ahead)
            case Called():
                return c.TicketCalled(ticket=self.ticket_view(ev.ticket), window=ev.window.id,
                                      window_number=ev.window.number, window_name=ev.window.name,
                                      recall=ev.recall)
            case Skipped():
                return c.TicketSkipped(ticket=self.ticket_view(ev.ticket), window=ev.window.id)
            case Transferred():
                return c.TicketTransferred(ticket=self.ticket_view(ev.ticket), from_window=ev.from_window.id,
                                           to_window=ev.to_window, to_category=ev.to_category, reason=ev.reason)
            case Requeued():
                return c.TicketRequeued(ticket=self.ticket_view(ev.ticket))
            case Cancelled():
                return c.TicketCancelled(ticket=self.ticket_view(ev.ticket), reason=ev.reason)
            case Completed():
                return c.ServiceCompleted(ticket=self.ticket_view(ev.ticket), window=ev.window.id,
                                          staff=c.StaffView(id=ev.staff.id or "unknown", name=ev.staff.name))
            case Rated():
                r = ev.rating
                return c.RatingRecorded(rating_id=r.id, ticket=self.ticket_view(r.ticket), window=r.window,
                                        staff=r.staff, level=r.level, channel=r.channel)
        raise TypeError(f"unknown event {ev!r}")

    def _summary(self, now: float, state: c.QueueState | None = None) -> Outgoing:
        self._summary_sent_at, self._summary_held = now, False
        return self._state(self.topics.queue_state, state or self.queue_state())

    def summary_due_at(self) -> float:
        """When the held queue summary is to go out (monotonic time; infinity: nothing held)."""
        return self._summary_sent_at + self.summary_every_s if self._summary_held else float("inf")

    def held_summary(self) -> list[Outgoing]:
        """The queue summary held back in a rush, once its time has come; the bus asks on every turn."""
        now = monotonic_time.monotonic()
        if not self._summary_held or now < self._summary_sent_at + self.summary_every_s:
            return []
        self._summary_held, self._summary_sent_at = False, now    # a failure below is not retried at once
        out = [self._summary(now)]
        self._notify(out)
        return out

    def full_state(self, online: bool = True) -> list[Outgoing]:
        """Every retained message, for startup and after a broker reconnect."""
        out = [self._state(self.topics.server_state,
                           c.ServerState(online=online, hall_name=self.config.hall.name, at=self.clock.now()))]
        out += [self._state(self.topics.window_state(w.id), self.window_state(w))
                for w in self.engine.windows.values()]
        out.append(self._summary(monotonic_time.monotonic()))
        self._notify(out)
        return out

    def _notify(self, out: list[Outgoing]) -> None:
        if self.store.batching:           # told once the batch is in the database (committed())
            self._uncommitted.extend(out)
            return
        for listener in self.listeners:
            try:
                listener(out)
            except Exception:
                log.exception("a state listener failed")

    def committed(self) -> None:
        """The bus's batch is in the database: the listeners (the web view) hear what it changed."""
        out, self._uncommitted = self._uncommitted, []
        self._notify(out)

    def rolled_back(self) -> None:
        """The bus's batch was not committed: nothing it changed is told to the listeners."""
        self._uncommitted = []

    def reply_json(self, device_id: str, command_id: str) -> dict | None:
        stored = self.store.find_reply(device_id, command_id)
        return json.loads(stored) if stored else None
