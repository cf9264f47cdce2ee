"""The one command path of the hall server: validate -> domain -> commit -> publish.

`CommandProcessor.handle` is called by exactly one thread, in the order commands arrive.
It returns the messages to publish; the bus publishes them only after the commit.
"""
from __future__ import annotations

import json
import logging
from collections.abc import Callable

from govhall import contract as c
from govhall.config import Config
from govhall.contract import WindowStatus
from hallserver.announce import Announcing, Outgoing
from hallserver.attendance_desk import AttendanceDesk
from hallserver.bootstrap import build_engine, hall_days
from hallserver.case_desk import CaseDesk
from hallserver.complaint_desk import ComplaintDesk
from hallserver.domain.clock import Clock, hall_day
from hallserver.domain.devices import AlertChange, DeviceHealth
from hallserver.domain.follow_up import FollowUpBook, FollowUpError
from hallserver.domain.login_guard import LoginGuard
from hallserver.domain.queue import (
    DomainError,
)
from hallserver.domain.rectification import RectificationBook, RectificationError
from hallserver.evaluation_desk import EvaluationDesk
from hallserver.housekeeping import Housekeeping
from hallserver.inquiry_desk import InquiryDesk
from hallserver.passwords import password_matches
from hallserver.store import Store
from hallserver.views import HallViews

log = logging.getLogger("hallserver.processor")

TABLET_CHANNEL = 4   # 好差评 channel code: hall tablet
QR_CHANNEL = 3       # 好差评 channel code: the QR code (the ticket's phone page)
CALLBACK_CHANNEL = 5  # 追评 a manager enters from a 回访 call: 5 other hall terminal (docs/ratings.md)
WEB_DEVICE = "@web"  # the command log's name for the HTTP side; "@" keeps it apart from any MQTT device
SUMMARY_EVERY_S = 0.25      # the hall server's queue summary goes out at most this often (the newest always)


class CommandProcessor(HallViews, Housekeeping, Announcing):
    """The one command path (docs/architecture.md); what it shows, what the clock does and what
    it publishes are its parts in views.py, housekeeping.py and announce.py."""

    def __init__(self, config: Config, store: Store, clock: Clock, *, summary_every_s: float = 0.0) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.topics = c.Topics(config.hall.id)
        self.cases = CaseDesk(config, store)          # its calendar is the hall's one calendar (calendar_source.py)
        self.engine = build_engine(config, clock, store, self.cases.calendar)
        self.listeners: list = []   # called with each Outgoing after it is built (web view), or committed
        self._uncommitted: list[Outgoing] = []   # built inside the bus's open batch, told when it commits
        self.presence_listeners: list = []   # called with (device, online, iso time) of each presence message
        self.public_url: str | None = config.http.public_url   # set by the server when it serves the web
        self._last_issuing: list | None = None
        self.devices = DeviceHealth(store.open_device_alerts())
        self.attendance = AttendanceDesk(config, store, hall_days(config, self.cases.calendar), hall_day(clock))
        items = store.rectification_items()
        self.rectifications = RectificationBook(items, max((x.id for x in items), default=0))
        self.follow_ups = FollowUpBook(store.follow_up_items())      # 追评
        self.complaints = ComplaintDesk(config, store, self.cases.calendar, self.cases.rules.closing)   # 投诉
        self.inquiries = InquiryDesk(config, store)                                                   # 首问
        self.evaluation = EvaluationDesk(config, store)                                               # 万众评股室
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
            retained = (self.topics.all_state[:-1], self.topics.all_tablet[:-1])
            level = logging.DEBUG if topic.startswith(retained) else logging.WARNING
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
        if changes.inquiries or staffing:              # 首问: the lists of the windows they concern
            out += [self._state(self.topics.window_inquiries(m.window), m)
                    for m in self.inquiries.window_lists(self.engine, self.clock.tz)]
        self._notify(out)
        return out

    def _books(self) -> list[tuple[str, Callable[[], list]]]:
        """Every book besides the queue engine that a command may write in: the field of Changes
        it goes to, and how to take (and so empty) what it changed. Collecting after a command
        and discarding after a refusal or a failure walk this one list, so neither misses one."""
        return [("device_alerts", self._take_alert_changes), ("cases", self.cases.book.take_changed),
                ("follow_ups", self.follow_ups.take_changed),
                ("rectifications", self.rectifications.take_changed), ("attendance", self.attendance.take_events),
                ("leaves", self.attendance.leaves.take_changed), ("complaints", self.complaints.book.take_changed),
                ("inquiries", self.inquiries.book.take_changed), ("evaluation", self.evaluation.book.take_changed)]

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
            self.engine = build_engine(self.config, self.clock, self.store, self.cases.calendar)
            self.devices = DeviceHealth(self.store.open_device_alerts())
            self.cases.reload()
            self.attendance.reload()
            items = self.store.rectification_items()
            self.rectifications = RectificationBook(items, max((x.id for x in items), default=0))
            self.follow_ups = FollowUpBook(self.store.follow_up_items())
            self.complaints.reload()
            self.inquiries.reload()
            self.evaluation.reload()
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
        cases = CaseDesk(config, self.store)
        engine, leaves = build_engine(config, self.clock, self.store, cases.calendar), self.store.all_leaves()
        cases.colours = dict(self.cases.colours)  # announced already: not every open case again
        self.config, self.engine, self.cases = config, engine, cases
        self.attendance.set_config(config, hall_days(config, cases.calendar), leaves)
        self.complaints.set_config(config, cases.calendar, cases.rules.closing)
        self.inquiries.set_config(config)
        self.evaluation.set_config(config)
        self.password_hashes = {s.id: s.password_hash for s in config.staff if s.password_hash}
        self._devices = {d.id: d for d in config.devices}
        self._estimates, self._estimates_at, self._estimates_windows = {}, float("-inf"), ()
        self._last_issuing, self._staffing = None, {}
        log.info("settings applied: %d categories, %d windows, %d staff, %d posts", len(config.categories),
                 len(config.windows), len(config.staff), len(config.posts))
        out = self.full_state()                   # the web view hears it too
        # deadlines pending for a year the new calendar now has (or moved by it): their colours at once
        colours = [Outgoing(self.topics.event(ev.type), c.encode(ev))
                   for ev in self.cases.changed_colours(self.clock.now(), self.clock.tz)]
        check = self._front_desk_check()          # a new front-desk post with nobody there: its alert now
        self._notify(colours + check)
        return out + colours + check

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
                return {"appointment": self.appointment_view(e.book(cmd.category, cmd.slot_start, cmd.name, cmd.phone,
                                                                    cmd.id_hash))}
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
                r = e.rate_ticket(t, cmd.level, self._reasons(cmd.reasons), cmd.comment, QR_CHANNEL, cmd.phone,
                                  valid_days=self.config.ratings.phone_valid_days,
                                  rated_before=self.store.rating_of(t.id) is not None)
                return {"rating_id": r.id, "ticket": r.ticket.number, "level": r.level}
            case (c.AcceptCase() | c.ApplyOnline() | c.SupplementCase() | c.AdvanceCase() | c.RequestExtension()
                  | c.ApproveExtension()):
                case = self.cases.dispatch(cmd, e, self.clock.now())
                return {"case": self.case_view(case)}
            case c.FollowUpRating():
                return {"follow_up": self.follow_up(cmd)}
            case c.RectificationAction():
                return {"rectification": self.rectification_act(cmd)}
            case c.ComplaintRegister() | c.ComplaintAction():
                device = self._devices.get(device_id)
                x = self.complaints.dispatch(cmd, device_id, device.role if device else c.Role.WEB, self.clock.now(),
                                             hall_day(self.clock))
                return {"complaint": self.complaints.view(x, self.clock.now(), self.clock.tz)}
            case c.EvaluationAction():
                return self.evaluation.view(self.evaluation.dispatch(cmd, self.clock.now()), self.clock.tz)
            case c.InquiryRecord() | c.InquiryHandOff() | c.InquiryClose():
                device = self._devices.get(device_id)
                x = self.inquiries.dispatch(cmd, device_id, device.role if device else c.Role.WEB, e,
                                            self.clock.now())
                return {"inquiry": self.inquiries.view(x, self.clock.tz)}
            case c.CancelTicket():
                t = e.cancel(cmd.number, device_id, cmd.reason)
                return {"ticket": self.ticket_view(t).model_dump(mode="json")}
            case c.DeviceReport():
                changes = self.devices.report(device_id, cmd.component.value, cmd.condition.value, cmd.detail,
                                              self.clock.now())
                self._alert_changes = changes
                return {"open": cmd.condition != c.DeviceCondition.OK, "changed": bool(changes)}
            case c.SubmitRating():
                r = e.rate(cmd.window, cmd.level, self._reasons(cmd.reasons), cmd.comment, TABLET_CHANNEL, cmd.phone)
                return {"rating_id": r.id, "ticket": r.ticket.number, "level": r.level}
        raise DomainError(c.ErrorCode.UNKNOWN_TYPE, cmd.type)   # pragma: no cover - parse guards this

    def _reasons(self, reasons: list[str]) -> tuple[str, ...]:
        """A rating's reasons: only the hall's own list (`ratings.reasons`), each once; anything else
        refuses the rating (unknown_reason), so nothing unchecked is signed into the record."""
        unknown = [r for r in reasons if r not in self.config.ratings.reasons]
        if unknown:
            raise DomainError(c.ErrorCode.UNKNOWN_REASON, f"not a reason of this hall: {unknown[0][:32]!r}")
        return tuple(dict.fromkeys(reasons))

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

    def follow_up(self, cmd: c.FollowUpRating) -> dict:
        """追评 (domain/follow_up.py), checked against the first rating and its rectification: from the
        ticket's phone page (channel 3), or what the citizen said on a 回访 call, entered by a manager
        (channel 5, `by`)."""
        if cmd.token is not None:
            found = self.store.ticket_by_token(cmd.token)
            if found is None:
                raise DomainError(c.ErrorCode.TICKET_NOT_FOUND, "no ticket with that token")
            first = self.store.rating_by_ticket(found[0].id)
            r = next((x for x in self.rectifications.items.values() if first and x.rating_id == first[0]), None)
            level, channel, by = (first[1] if first else None), QR_CHANNEL, ""
        else:
            r = self.rectifications.items.get(cmd.rectification)
            if r is None:
                raise DomainError(c.ErrorCode.NOT_FOUND, f"no rectification {cmd.rectification}")
            level, channel, by = r.level, CALLBACK_CHANNEL, cmd.by
        try:
            f = self.follow_ups.give(level, r, cmd.level, self._reasons(cmd.reasons), cmd.comment, channel, by,
                                     self.clock.now().astimezone(self.clock.tz), self.config.ratings.phone_valid_days)
        except FollowUpError as exc:
            raise DomainError(c.ErrorCode(exc.code), exc.detail) from None
        return self.follow_up_view(f)


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


    # ------------------------------------------------------------------ announcing


    def reply_json(self, device_id: str, command_id: str) -> dict | None:
        stored = self.store.find_reply(device_id, command_id)
        return json.loads(stored) if stored else None
