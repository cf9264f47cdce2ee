"""差评整改: every bad rating (不满意, 非常不满意) opens a rectification case.

It belongs to the window's department. The department verifies and contacts the citizen
(核实/回访) within 1 working day and rectifies within 15 working days, recording what was
done; each step is yellow and red by the same working-day rules as any deadline. A citizen
who left a phone number (实名差评) must be reached: the case cannot close without a
回访 that reached them. Staff may appeal (申诉) with evidence; a manager decides. The rating
itself never changes — an upheld appeal is recorded beside it.

Each deadline stands on its own: one that falls into a year whose holidays are not loaded is
`Pending` (shown as such, computed once the year is in the calendar), the other is computed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, time

from hallserver.domain.workdays import NoSchedule, Pending, WorkCalendar, colour, due_or_pending

VERIFY_DAYS, RECTIFY_DAYS = 1, 15
STEPS = (("核实回访", VERIFY_DAYS), ("整改", RECTIFY_DAYS))


class RectificationError(ValueError):
    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Record:
    kind: str            # 核实回访, 整改, 申诉, 申诉决定
    at: datetime
    by: str
    note: str
    reached: bool = False        # 核实回访: the citizen was reached
    upheld: bool | None = None   # 申诉决定
    filed_by: str = ""           # 申诉: who entered it (a manager on the staff member's behalf)


@dataclass
class Rectification:
    id: int
    rating_id: int
    window: str
    staff: str
    department: str
    level: int
    phone: str
    opened_at: datetime
    records: list[Record] = field(default_factory=list)

    def has(self, kind: str) -> bool:
        return any(r.kind == kind for r in self.records)

    @property
    def reached(self) -> bool:
        return any(r.kind == "核实回访" and r.reached for r in self.records)

    @property
    def status(self) -> str:
        if self.has("整改"):
            return "已整改"
        if self.has("申诉决定"):
            decision = next(r for r in reversed(self.records) if r.kind == "申诉决定")
            return "申诉成立" if decision.upheld else "待整改"
        if self.has("申诉"):
            return "申诉中"
        return "待整改" if self.has("核实回访") else "待核实"

    @property
    def closed(self) -> bool:
        return self.status in ("已整改", "申诉成立")


def due_dates(r: Rectification, calendar: WorkCalendar, closing: time) -> tuple[datetime | Pending, datetime | Pending]:
    """When 核实回访 and 整改 are due, each on its own: `Pending` for one in a year with no schedule."""
    dues = [due_or_pending(r.opened_at, days, calendar, closing) for _kind, days in STEPS]
    verify, rectify = (d if isinstance(d, Pending) else d.due for d in dues)
    return verify, rectify


def step_colours(r: Rectification, calendar: WorkCalendar, closing: time, now: datetime) -> dict[str, str]:
    """红黄绿 of 核实回访 and of 整改 (a step done keeps the colour it was done with); a step whose
    deadline is pending has no colour yet (left out)."""
    out = {}
    for kind, days in STEPS:
        d = due_or_pending(r.opened_at, days, calendar, closing)
        if isinstance(d, Pending):
            continue
        done = next((x.at for x in r.records if x.kind == kind), None)
        if kind == "整改" and r.status == "申诉成立":
            done = next(x.at for x in r.records if x.kind == "申诉决定")
        try:
            out[kind] = colour(done or now, r.opened_at, d, calendar)
        except NoSchedule:             # done or looked at in a year with no schedule yet
            continue
    return out


class RectificationBook:
    def __init__(self, items: list[Rectification] | None = None, last_id: int = 0) -> None:
        self.items = {x.id: x for x in items or ()}
        self.last_id = max([last_id, *self.items])
        self.changed: list[Rectification] = []

    def open(self, rating_id: int, window: str, staff: str, department: str, level: int, phone: str,
             now: datetime) -> Rectification:
        self.last_id += 1
        r = Rectification(self.last_id, rating_id, window, staff, department, level, phone, now)
        self.items[r.id] = r
        self.changed.append(r)
        return r

    def _get(self, rid: int) -> Rectification:
        r = self.items.get(rid)
        if r is None:
            raise RectificationError("not_found", f"no rectification {rid}")
        return r

    def verify(self, rid: int, by: str, note: str, reached: bool, now: datetime) -> Rectification:
        """核实/回访: what was found, and whether the citizen was reached (may be done again)."""
        r = self._get(rid)
        if r.closed:
            raise RectificationError("invalid", "this rectification is closed")
        if not note.strip():
            raise RectificationError("invalid", "write down what was verified")
        r.records.append(Record("核实回访", now, by, note.strip()[:500], reached))
        self.changed.append(r)
        return r

    def rectify(self, rid: int, by: str, note: str, now: datetime) -> Rectification:
        """整改: what was done. Only after 核实, and a real-name 差评 only once the citizen was reached."""
        r = self._get(rid)
        if r.closed:
            raise RectificationError("invalid", "this rectification is closed")
        if not r.has("核实回访"):
            raise RectificationError("invalid", "verify and contact the citizen first (核实/回访)")
        if r.phone and not r.reached:
            raise RectificationError("not_reached", "a real-name 差评: the citizen must be reached (回访) first")
        if not note.strip():
            raise RectificationError("invalid", "write down what was done")
        r.records.append(Record("整改", now, by, note.strip()[:500]))
        self.changed.append(r)
        return r

    def appeal(self, rid: int, by: str, reason: str, now: datetime, filed_by: str = "") -> Rectification:
        """申诉: the staff member rated disputes it, with evidence; once per rectification."""
        r = self._get(rid)
        if r.closed or r.has("申诉"):
            raise RectificationError("invalid", "an appeal is possible once, before the case closes")
        if by != r.staff:
            raise RectificationError("forbidden", "only the staff member rated may appeal")
        if not reason.strip():
            raise RectificationError("invalid", "an appeal needs its reason and evidence")
        r.records.append(Record("申诉", now, by, reason.strip()[:500], filed_by=filed_by or by))
        self.changed.append(r)
        return r

    def decide(self, rid: int, manager: str, upheld: bool, note: str, now: datetime) -> Rectification:
        """A manager decides the appeal; the rating stays as it was either way."""
        r = self._get(rid)
        if not r.has("申诉") or r.has("申诉决定"):
            raise RectificationError("invalid", "no appeal waiting for a decision")
        appeal = next(x for x in r.records if x.kind == "申诉")
        if manager in (r.staff, appeal.filed_by):
            raise RectificationError("forbidden", "neither the staff member nor who filed the appeal may decide it")
        r.records.append(Record("申诉决定", now, manager, note.strip()[:500], upheld=upheld))
        self.changed.append(r)
        return r

    def take_changed(self) -> list[Rectification]:
        out, self.changed = list({x.id: x for x in self.changed}.values()), []
        return out
