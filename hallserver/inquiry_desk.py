"""The hall server's 首问 desk (首问负责制): `inquiry.record`, `inquiry.hand_off` and
`inquiry.close` on the one command path, who acts checked (a counter for the staff logged in at
its own window only; the dashboard names the staff member and the manager), and the lists of
inquiries handed to each window that its counter shows (retained `state/inquiries/{window}`).

Called only on the writer thread, like the queue engine. docs/inquiries.md has the rules.
"""
from __future__ import annotations

from datetime import datetime, tzinfo

from govhall import contract as c
from govhall.config import Config
from hallserver.domain.inquiries import OUTCOMES, Inquiry, InquiryBook, InquiryError
from hallserver.domain.queue import DomainError, QueueEngine
from hallserver.store import Store

ERRORS = {"not_found": c.ErrorCode.NOT_FOUND, "forbidden": c.ErrorCode.FORBIDDEN,
          "unknown_window": c.ErrorCode.UNKNOWN_WINDOW, "unknown_staff": c.ErrorCode.UNKNOWN_STAFF}
InquiryCommand = c.InquiryRecord | c.InquiryHandOff | c.InquiryClose


class InquiryDesk:
    def __init__(self, config: Config, store: Store) -> None:
        self.store = store
        self.config = config
        self.book = InquiryBook(*store.open_inquiries(), *self._known(config))
        self._published: dict[str, bytes] = {}       # window → the inquiry list last published

    @staticmethod
    def _known(config: Config) -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
        return (frozenset(w.id for w in config.windows), frozenset(s.id for s in config.staff),
                frozenset([*(x.id for x in config.categories), *(m.id for m in config.matters)]))

    def set_config(self, config: Config) -> None:
        self.config = config
        self.book.set_known(*self._known(config))

    def reload(self) -> None:
        self.book = InquiryBook(*self.store.open_inquiries(), *self._known(self.config))
        self._published = {}

    # ------------------------------------------------------------------ commands
    def dispatch(self, cmd: InquiryCommand, device: str, role: c.Role, engine: QueueEngine, now: datetime) -> Inquiry:
        try:
            staff, window = self._actor(cmd, role, engine)
            match cmd:
                case c.InquiryRecord():
                    entered = cmd.by if role == c.Role.WEB and cmd.by else device
                    return self.book.record(staff, window, entered, cmd.question, cmd.topic or "", now,
                                            answered=cmd.answered, to_window=cmd.to_window or "",
                                            to_staff=cmd.to_staff or "")
                case c.InquiryHandOff():
                    return self.book.hand_off(cmd.inquiry, staff, cmd.to_window or "", cmd.to_staff or "", now)
            return self.book.close(cmd.inquiry, staff, window, cmd.outcome, cmd.note, now)
        except InquiryError as exc:
            self.book.take_changed()
            raise DomainError(ERRORS.get(exc.code, c.ErrorCode.INVALID), exc.detail) from None

    def _actor(self, cmd: InquiryCommand, role: c.Role, engine: QueueEngine) -> tuple[str, str]:
        """(the staff member acting, the window they act at). A counter acts for the staff logged in
        at its window (the processor has checked the window is its own); the web names the staff
        member and who entered it, at no window (the dashboard's 导办台)."""
        if role == c.Role.WEB:
            if cmd.window is not None:
                raise InquiryError("invalid", "看板上登记的首问不在窗口")
            if cmd.staff is None or cmd.by is None:
                raise InquiryError("invalid", "请写明首问（或接收）的工作人员和录入人")
            if cmd.staff not in self.book.staff:
                raise InquiryError("unknown_staff", f"没有工号为 {cmd.staff} 的工作人员")
            handed_to = self._handed_to_window(cmd.inquiry) if isinstance(cmd, c.InquiryClose) else ""
            if handed_to:
                window = engine.windows.get(handed_to)
                if window is not None and window.staff is not None and window.staff != cmd.staff:
                    raise InquiryError("forbidden",
                                       f"{handed_to} 窗口登录的是 {window.staff}，不能记为 {cmd.staff} 办结")
                return cmd.staff, handed_to
            return cmd.staff, ""
        if cmd.window is None:
            raise InquiryError("forbidden", "窗口终端须写明本窗口")
        window = engine.windows.get(cmd.window)
        if window is None or window.staff is None:
            raise DomainError(c.ErrorCode.WINDOW_CLOSED, f"窗口 {cmd.window} 没有工作人员登录")
        if cmd.staff is not None and cmd.staff != window.staff:
            raise InquiryError("forbidden", f"本窗口登录的是 {window.staff}，不能替 {cmd.staff} 登记")
        return window.staff, cmd.window

    def _handed_to_window(self, inquiry: int) -> str:
        """The window an inquiry was handed to ("" : to a person, or no such inquiry): a manager
        closing it on the dashboard records it for the staff member at that window."""
        x = self.book.items.get(inquiry)
        return x.to_window if x is not None and x.status == "已转交" else ""

    # ------------------------------------------------------------------ views
    def staff_of(self, inquiry: int) -> tuple[str, ...] | None:
        """The staff members an inquiry concerns (the first-asked and a receiver), for a lead's
        scope; None: no such open inquiry."""
        x = self.book.items.get(inquiry)
        return None if x is None else tuple(s for s in (x.asked_by, x.to_staff) if s)

    def view(self, x: Inquiry, tz: tzinfo) -> dict:
        def local(value: datetime | None) -> str | None:
            return value.astimezone(tz).isoformat(timespec="seconds") if value is not None else None
        return {"id": x.id, "asked_by": x.asked_by, "window": x.window, "entered_by": x.entered_by,
                "question": x.question, "topic": x.topic, "status": x.status, "recorded_at": local(x.recorded_at),
                "to_window": x.to_window, "to_staff": x.to_staff, "handed_at": local(x.handed_at),
                "outcome": x.outcome, "outcome_name": OUTCOMES.get(x.outcome, ""), "note": x.note,
                "closed_by": x.closed_by, "closed_window": x.closed_window, "closed_at": local(x.closed_at)}

    def window_lists(self, engine: QueueEngine, tz: tzinfo, *, every: bool = False) -> list[c.InquiryList]:
        """Each window's list of inquiries to answer, those changed since last published (`every`: all)."""
        names = {s.id: s.name for s in self.config.staff}
        out = []
        for w in self.config.windows:
            at = engine.windows.get(w.id)
            items = [c.InquiryItem(inquiry=x.id, question=x.question, topic=x.topic, asked_by=x.asked_by,
                                   asked_by_name=names.get(x.asked_by, ""), from_window=x.window,
                                   to_staff=x.to_staff, handed_at=x.handed_at.astimezone(tz))
                     for x in self.book.open_for(w.id, at.staff if at is not None else None)][:200]
            msg = c.InquiryList(window=w.id, items=items)
            payload = c.encode(msg)
            if every or self._published.get(w.id) != payload:
                self._published[w.id] = payload
                out.append(msg)
        return out
