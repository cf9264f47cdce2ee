"""首问负责制: the first staff member a citizen asks records the inquiry and answers it on the
spot or hands it to a named window or person, who records how it ended.

Sources (docs/inquiries.md): 004 (海丰县 首问负责制) — the 首问责任人 is whoever first receives
the citizen; what is within their duties they answer at once; what belongs to another office
of the unit they hand on, naming whom to see; what belongs to no office of the unit they
explain and refer outside; never 推诿. 003 item 14 lists 首问责任 among the hall's rules.
Neither says how it is recorded: the states, lengths and outcomes here are ours.

An inquiry goes 登记 → 已答复 (the first-asked answered it) or 登记 → 已转交 (to a window or a
staff member) → 已办结 (the receiver records the outcome: answered, the citizen took a
ticket, or referred outside the hall). The receiver must be a known window or staff member
and never the first-asked themselves (or the window they asked at).

Pure: the known windows and staff and the time are given.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

STATUSES = ("登记", "已答复", "已转交", "已办结")
OUTCOMES = {"answered": "已答复", "ticket": "已取号办理", "referred": "已引导至大厅外部门"}
QUESTION_MIN, QUESTION_MAX, NOTE_MAX = 2, 200, 200
# an ID number (18 digits or 17 and X, or the old 15 digits) has no place in an inquiry's text
ID_NUMBER = re.compile(r"(?<![0-9])([0-9]{17}[0-9Xx]|[0-9]{15})(?![0-9Xx])")


class InquiryError(ValueError):
    """A refused step; `code` is one of not_found, forbidden, invalid, unknown_window,
    unknown_staff; `detail` is the Chinese sentence to show."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass
class Inquiry:
    id: int
    asked_by: str                 # the first-asked staff member (首问责任人)
    window: str                   # the window it was asked at; "" at the dashboard's 导办台
    entered_by: str               # the device or manager that entered it
    question: str
    topic: str                    # a category or matter id, or ""
    recorded_at: datetime
    status: str = "登记"
    to_window: str = ""
    to_staff: str = ""
    handed_at: datetime | None = None
    outcome: str = ""             # a key of OUTCOMES once 已答复 or 已办结
    note: str = ""
    closed_by: str = ""           # the staff member who recorded the outcome
    closed_window: str = ""
    closed_at: datetime | None = None

    @property
    def open(self) -> bool:
        return self.status in ("登记", "已转交")


def check_text(text: str, what: str, low: int, high: int) -> str:
    """The text stripped, between `low` and `high` characters, with no ID number in it."""
    text = text.strip()
    if not low <= len(text) <= high:
        raise InquiryError("invalid", f"{what}应为 {low}–{high} 个字")
    if ID_NUMBER.search(text):
        raise InquiryError("invalid", f"{what}中不要写身份证号码")
    return text


class InquiryBook:
    """The open inquiries; what changed is taken for saving, and a closed one then leaves memory
    (it stays in the database, which the report reads)."""

    def __init__(self, items: list[Inquiry], last_id: int, windows: frozenset[str], staff: frozenset[str],
                 topics: frozenset[str]) -> None:
        self.items = {x.id: x for x in items}
        self.last_id = last_id
        self.set_known(windows, staff, topics)
        self._changed: dict[int, Inquiry] = {}

    def set_known(self, windows: frozenset[str], staff: frozenset[str], topics: frozenset[str]) -> None:
        self.windows, self.staff, self.topics = windows, staff, topics

    def take_changed(self) -> list[Inquiry]:
        changed, self._changed = list(self._changed.values()), {}
        for x in changed:
            if not x.open:
                self.items.pop(x.id, None)
        return changed

    def open_for(self, window: str, staff: str | None) -> list[Inquiry]:
        """已转交 inquiries the staff at `window` are to answer: handed to the window, or to `staff`."""
        return [x for x in self.items.values() if x.status == "已转交"
                and (x.to_window == window or (staff is not None and x.to_staff == staff))]

    # ------------------------------------------------------------------ steps
    def record(self, asked_by: str, window: str, entered_by: str, question: str, topic: str, now: datetime, *,
               answered: bool = False, to_window: str = "", to_staff: str = "") -> Inquiry:
        self._check_staff(asked_by)
        if topic and topic not in self.topics:
            raise InquiryError("invalid", f"没有业务或事项 {topic}")
        if answered and (to_window or to_staff):
            raise InquiryError("invalid", "已答复的首问不能同时转交")
        x = Inquiry(self.last_id + 1, asked_by, window, entered_by,
                    check_text(question, "咨询内容", QUESTION_MIN, QUESTION_MAX), topic, now)
        if to_window or to_staff:
            self._hand(x, to_window, to_staff, now)
        elif answered:
            x.status, x.outcome, x.closed_by, x.closed_window, x.closed_at = "已答复", "answered", asked_by, window, now
        self.last_id = x.id
        self.items[x.id] = x
        self._changed[x.id] = x
        return x

    def hand_off(self, inquiry: int, actor: str, to_window: str, to_staff: str, now: datetime) -> Inquiry:
        """The first-asked hands a recorded inquiry on."""
        x = self._get(inquiry)
        if actor != x.asked_by:
            raise InquiryError("forbidden", "只有首问责任人可以转交")
        if x.status != "登记":
            raise InquiryError("invalid", f"该首问已{x.status.removeprefix('已')}，不能再转交")
        self._hand(x, to_window, to_staff, now)
        self._changed[x.id] = x
        return x

    def close(self, inquiry: int, actor: str, actor_window: str, outcome: str, note: str, now: datetime) -> Inquiry:
        """The outcome: by the first-asked on a recorded one (已答复), by the receiver on a handed
        one (已办结): the staff member it was handed to, or the staff at the window it was handed to."""
        x = self._get(inquiry)
        if outcome not in OUTCOMES:
            raise InquiryError("invalid", "结果应为 answered、ticket 或 referred")
        note = check_text(note, "备注", 0, NOTE_MAX)
        if x.status == "登记":
            if actor != x.asked_by:
                raise InquiryError("forbidden", "尚未转交的首问只能由首问责任人答复")
            status = "已答复"
        elif x.status == "已转交":
            if actor == x.asked_by:
                raise InquiryError("forbidden", "转交后的首问由接收的窗口或人员办结，不能由首问责任人自己办结")
            if not (actor == x.to_staff or (x.to_window and actor_window == x.to_window)):
                raise InquiryError("forbidden", "只有接收的窗口或人员可以办结")
            status = "已办结"
        else:
            raise InquiryError("invalid", f"该首问已{x.status.removeprefix('已')}")
        x.status, x.outcome, x.note, x.closed_by, x.closed_at = status, outcome, note, actor, now
        x.closed_window = actor_window
        self._changed[x.id] = x
        return x

    # ------------------------------------------------------------------ checks
    def _get(self, inquiry: int) -> Inquiry:
        x = self.items.get(inquiry)
        if x is None:
            raise InquiryError("not_found", f"没有第 {inquiry} 号待办的首问登记（或已经办结）")
        return x

    def _check_staff(self, staff: str) -> None:
        if staff not in self.staff:
            raise InquiryError("unknown_staff", f"没有工号为 {staff} 的工作人员")

    def _hand(self, x: Inquiry, to_window: str, to_staff: str, now: datetime) -> None:
        if bool(to_window) == bool(to_staff):
            raise InquiryError("invalid", "请转交给一个窗口或一位工作人员")
        if to_window and to_window not in self.windows:
            raise InquiryError("unknown_window", f"没有窗口 {to_window}")
        if to_staff:
            self._check_staff(to_staff)
        if to_staff == x.asked_by or (to_window and to_window == x.window):
            raise InquiryError("invalid", "不能转交给自己")
        x.status, x.to_window, x.to_staff, x.handed_at = "已转交", to_window, to_staff, now
