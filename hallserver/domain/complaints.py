"""投诉: every complaint, whatever its channel, registered, assigned, dealt with and answered.

Sources (docs/complaints.md): 000 item 7 — a complaint mechanism whose channels stay open and
that has 记录 and 结果 (the hotline's: 记录, 处理意见, 处理结果台账); 003 item 4 — 意见箱, 意见簿
and the complaint phone in plain view. Neither gives a deadline: the 5 working days here are ours.

A complaint goes 登记 → 已分派 (to a department, and a window or staff member) → 已办理 (what
was done) → 已答复 (the complainant told: how and when) → 办结. A complaint with a contact
cannot close before the answer is recorded; one without may close once it was dealt with.
It is due `days` working days after registration (the hall's closing time on the last one);
a deadline into a year whose holidays are not loaded is `Pending`, never a crash. An open
complaint past its deadline is overdue (red): the managers' board shows it.

Pure: the calendar and the time are given.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time

from hallserver.domain.workdays import Deadline, Pending, WorkCalendar, due_or_pending

DEFAULT_DAYS = 5          # ours: no source gives a deadline for a complaint
CHANNELS = {"tablet": "评价器", "phone": "手机页面", "hotline": "12345热线", "box": "意见箱", "book": "留言簿"}
STAFF_CHANNELS = ("hotline", "box", "book")       # what staff enter from the dashboard
REPLY_METHODS = ("电话", "短信", "当面", "书面", "其他")
STATUSES = ("登记", "已分派", "已办理", "已答复", "办结")
TEXT_MAX, NOTE_MAX, NAME_MAX = 1000, 500, 20


class ComplaintError(ValueError):
    """A refused step; `detail` is the Chinese sentence to show."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Step:
    kind: str            # 分派, 办理, 答复, 办结
    at: datetime         # when it was recorded
    by: str
    note: str = ""
    department: str = ""
    window: str = ""
    staff: str = ""
    method: str = ""     # 答复: how the complainant was told
    told_at: datetime | None = None   # 答复: when they were told


@dataclass
class Complaint:
    id: int
    number: str          # TS-20261204-001
    channel: str
    text: str
    name: str
    phone: str
    registered_at: datetime
    registered_by: str
    days: int = DEFAULT_DAYS
    steps: list[Step] = field(default_factory=list)

    def last(self, kind: str) -> Step | None:
        return next((s for s in reversed(self.steps) if s.kind == kind), None)

    @property
    def assignment(self) -> Step | None:
        return self.last("分派")

    @property
    def department(self) -> str:
        a = self.assignment
        return a.department if a else ""

    @property
    def status(self) -> str:
        for kind, status in (("办结", "办结"), ("答复", "已答复"), ("办理", "已办理"), ("分派", "已分派")):
            if self.last(kind) is not None:
                return status
        return "登记"

    @property
    def closed(self) -> bool:
        return self.status == "办结"

    @property
    def closed_at(self) -> datetime | None:
        s = self.last("办结")
        return s.at if s else None


def number_for(day: date, seq: int) -> str:
    return f"TS-{day:%Y%m%d}-{seq:03d}"


def due(x: Complaint, calendar: WorkCalendar, closing: time) -> Deadline | Pending:
    """The end of working day `days` after registration, or Pending in a year with no schedule."""
    return due_or_pending(x.registered_at, x.days, calendar, closing)


def overdue(x: Complaint, calendar: WorkCalendar, closing: time, now: datetime) -> bool:
    """Open and past its deadline (a pending deadline is never overdue yet)."""
    d = due(x, calendar, closing)
    return not x.closed and isinstance(d, Deadline) and now > d.due


def on_time(x: Complaint, calendar: WorkCalendar, closing: time) -> bool | None:
    """Closed by the deadline; None while open, or closed while its deadline is pending — but one
    closed before the year with no schedule began was on time (as the case report counts it)."""
    d = due(x, calendar, closing)
    if not x.closed:
        return None
    if isinstance(d, Pending):
        return True if x.closed_at.year < d.year else None
    return x.closed_at <= d.due


def _note(note: str, what: str, required: bool = True) -> str:
    text = note.strip()
    if required and not text:
        raise ComplaintError("invalid", f"请填写{what}")
    if len(text) > NOTE_MAX:
        raise ComplaintError("invalid", f"{what}最多 {NOTE_MAX} 字")
    return text


class ComplaintBook:
    def __init__(self, items: list[Complaint] | None = None) -> None:
        self.items = {x.id: x for x in items or ()}
        self.by_number = {x.number: x for x in self.items.values()}
        self.changed: list[Complaint] = []

    def register(self, channel: str, text: str, name: str, phone: str, by: str, now: datetime, day: date,
                 days: int = DEFAULT_DAYS) -> Complaint:
        """登记: a number of the hall day (TS-YYYYMMDD-NNN), the text, the contact if any."""
        if channel not in CHANNELS:
            raise ComplaintError("invalid", f"未知的投诉渠道：{channel[:20]}")
        body = text.strip()
        if not body:
            raise ComplaintError("invalid", "请填写投诉内容")
        if len(body) > TEXT_MAX:
            raise ComplaintError("invalid", f"投诉内容最多 {TEXT_MAX} 字")
        if len(name.strip()) > NAME_MAX:
            raise ComplaintError("invalid", f"姓名最多 {NAME_MAX} 字")
        prefix = f"TS-{day:%Y%m%d}-"
        seq = 1 + sum(1 for n in self.by_number if n.startswith(prefix))
        x = Complaint(max(self.items, default=0) + 1, number_for(day, seq), channel, body, name.strip(),
                      phone.strip(), now, by, days)
        self.items[x.id], self.by_number[x.number] = x, x
        self.changed.append(x)
        return x

    def get(self, number: str) -> Complaint:
        x = self.by_number.get(number)
        if x is None:
            raise ComplaintError("not_found", f"没有编号为 {number[:24]} 的投诉")
        return x

    def _open(self, number: str) -> Complaint:
        x = self.get(number)
        if x.closed:
            raise ComplaintError("invalid", f"投诉 {x.number} 已办结")
        return x

    def assign(self, number: str, by: str, department: str, window: str, staff: str, now: datetime,
               note: str = "") -> Complaint:
        """分派 (again, before it is dealt with): a department, and a window and/or staff member."""
        x = self._open(number)
        if x.last("办理") is not None:
            raise ComplaintError("invalid", "已办理的投诉不能再分派")
        if not department:
            raise ComplaintError("invalid", "请选择承办部门")
        x.steps.append(Step("分派", now, by, _note(note, "分派说明", False), department, window, staff))
        self.changed.append(x)
        return x

    def handle(self, number: str, by: str, note: str, now: datetime) -> Complaint:
        """办理: what was found and done (the 处理意见 and 处理结果)."""
        x = self._open(number)
        if x.assignment is None:
            raise ComplaintError("invalid", "请先分派承办部门")
        x.steps.append(Step("办理", now, by, _note(note, "办理结果")))
        self.changed.append(x)
        return x

    def reply(self, number: str, by: str, method: str, told_at: datetime, note: str, now: datetime) -> Complaint:
        """答复: the result told to the complainant — how (电话, 短信 …) and when (not in the future)."""
        x = self._open(number)
        if x.last("办理") is None:
            raise ComplaintError("invalid", "请先记录办理结果，再答复投诉人")
        if method not in REPLY_METHODS:
            raise ComplaintError("invalid", f"答复方式应为：{'、'.join(REPLY_METHODS)}")
        if told_at > now:
            raise ComplaintError("invalid", "答复时间不能晚于现在")
        if told_at < x.registered_at:
            raise ComplaintError("invalid", "答复时间不能早于登记时间")
        x.steps.append(Step("答复", now, by, _note(note, "答复内容"), method=method, told_at=told_at))
        self.changed.append(x)
        return x

    def close(self, number: str, by: str, note: str, now: datetime) -> Complaint:
        """办结: after 办理; a complaint with a contact only once the answer is recorded."""
        x = self._open(number)
        if x.last("办理") is None:
            raise ComplaintError("invalid", "请先记录办理结果")
        if x.phone and x.last("答复") is None:
            raise ComplaintError("not_replied", "投诉人留有联系电话：请先记录答复（方式和时间）再办结")
        x.steps.append(Step("办结", now, by, _note(note, "办结说明", False)))
        self.changed.append(x)
        return x

    def take_changed(self) -> list[Complaint]:
        out, self.changed = list({x.id: x for x in self.changed}.values()), []
        return out
