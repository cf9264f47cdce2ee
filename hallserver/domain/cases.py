"""Cases (办件) from 受理 to 办结: the matter catalogue, each case's steps, 补正 and 延期,
and its deadline and colour. Plain Python: the clock and the working-day calendar are given.

A case is opened at the window (受理) for a served ticket, with the materials received and
their pages. Missing materials put it straight into 补正 with the 一次性告知 list (every
missing item, once); the clock stops until they arrive. It then moves 受理 → 审核 → 审批 →
办结 (→ 取件/送达), each step stamped with its time and handler. An extension (延期) needs a
reason and a manager's approval and is recorded; nothing changes a deadline silently.

延期 follows 行政许可法 §42: once per case, at most 10 working days (联办件 15), approved by
the head of the agency (in govhall: a manager other than who asked) and the reason told to
the applicant (the tracking page shows it); a 即办件 is never extended. A matter may set its
own `max_extension_days`.

Matter classes (通渭县 003: 即收即办件, 当日办结件, 限时办结件, 代办服务件, 不见面办件): 即办件,
当日办结件, 承诺件, 上报件 and 联办件 are kinds of matter, each with its deadline rule; 代办 (帮办代办,
for the elderly, the disabled, …) is a mark on a case of any kind (`Assist`), and 不见面 its
delivery (`Delivery`: by mail or online), with the certificate's 送达 step (行政许可法 §44: within
10 working days of the decision) where the matter gives a certificate.

A deadline that would be counted into a year with no schedule is `Pending`: the case is kept
and shown as pending, and its deadline is computed once that year's notice is loaded.
"""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, time
from enum import StrEnum

from hallserver.domain.workdays import (
    Deadline,
    NoSchedule,
    Pause,
    Pending,
    WorkCalendar,
    colour,
    due_or_pending,
    same_day_deadline,
)


class MatterKind(StrEnum):
    IMMEDIATE = "即办件"        # 即收即办件: done at the window, within the session
    SAME_DAY = "当日办结件"      # done by the end of the hall's working day of acceptance
    PROMISED = "承诺件"         # 限时办结件: done within the promised working days
    REPORTED = "上报件"         # decided higher up; the hall's promised days still count
    JOINT = "联办件"            # several departments together


# 行政许可法 §42: one extension of at most 10 working days, 15 for joint handling (联办件, 45 + 15);
# a 即办件 is done on the spot and a 当日办结件 the same day: never extended (ours for 当日办结件)
EXTENSION_DAYS = {MatterKind.IMMEDIATE: 0, MatterKind.SAME_DAY: 0, MatterKind.PROMISED: 10, MatterKind.REPORTED: 10,
                  MatterKind.JOINT: 15}
SAME_DAY_KINDS = (MatterKind.IMMEDIATE, MatterKind.SAME_DAY)     # 0 promised days
CERTIFICATE_DAYS = 10    # 行政许可法 §44: the certificate delivered within 10 (working, §82) days of the decision


class Delivery(StrEnum):
    """How the result reaches the applicant: at the window (取件), or 不见面 by mail (邮寄/EMS) or online."""
    WINDOW = "window"
    MAIL = "mail"
    ONLINE = "online"


ASSIST_GROUPS = ("老年人", "残疾人", "孕妇", "其他")    # 003 §15: 残疾人、老人、孕妇等特殊服务对象


@dataclass(frozen=True)
class Assist:
    """代办/帮办: who helped the applicant — a staff member (帮办员) or a named volunteer (志愿者) —
    and for whom (the group of 003 §15 and 000's volunteer help for special groups)."""
    group: str
    staff: str | None = None
    volunteer: str | None = None

    @property
    def helper(self) -> str:
        return self.staff or self.volunteer or ""


class Step(StrEnum):
    ACCEPTED = "受理"
    REVIEWED = "审核"
    APPROVED = "审批"
    COMPLETED = "办结"
    DELIVERED = "取件"          # 取件 or 送达: handed over


STEP_ORDER = [Step.ACCEPTED, Step.REVIEWED, Step.APPROVED, Step.COMPLETED, Step.DELIVERED]


class CaseError(ValueError):
    """A case action that the rules refuse; `code` is the contract's error code."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class Matter:
    """One entry of the matter catalogue (事项目录)."""
    id: str
    name: str
    department: str
    kind: MatterKind
    legal_days: int              # 法定时限
    promised_days: int           # 承诺时限, never longer than the legal limit
    materials: tuple[str, ...]   # 申请材料
    step_days: tuple[tuple[str, int], ...] = ()   # (step, working days after the step before): a colour each
    max_extension_days: int | None = None         # 延期 at most; None: the kind's (EXTENSION_DAYS)
    certificate: bool = False                     # 发证: delivered within CERTIFICATE_DAYS of 办结 (§44)

    @property
    def extension_limit(self) -> int:
        """The working days one extension (延期) of this matter may add: its own, else its kind's."""
        return EXTENSION_DAYS[self.kind] if self.max_extension_days is None else self.max_extension_days

    def __post_init__(self) -> None:
        if self.promised_days > self.legal_days:
            raise ValueError(f"matter {self.id}: promised {self.promised_days} working days is longer than "
                             f"the legal {self.legal_days}")
        if self.promised_days < 0:
            raise ValueError(f"matter {self.id}: a limit cannot be negative")
        if self.kind in SAME_DAY_KINDS and self.promised_days != 0:
            raise ValueError(f"matter {self.id}: a {self.kind.value} has no promised days (0)")
        if self.kind not in SAME_DAY_KINDS and self.promised_days == 0:
            raise ValueError(f"matter {self.id}: only a 即办件 or 当日办结件 may have 0 promised days")
        if self.max_extension_days is not None and not 0 <= self.max_extension_days <= 30:
            raise ValueError(f"matter {self.id}: an extension is 0–30 working days")
        if self.kind in SAME_DAY_KINDS and self.max_extension_days:
            raise ValueError(f"matter {self.id}: a {self.kind.value} is never extended")


@dataclass(frozen=True)
class StepRecord:
    step: Step
    at: datetime
    staff: str
    note: str = ""


@dataclass
class Extension:
    days: int
    reason: str
    requested_by: str
    requested_at: datetime
    approved_by: str | None = None
    approved_at: datetime | None = None


@dataclass
class Case:
    id: int
    code: str                    # the public case number (办件编号) on the receipt
    token: str                   # the tracking page /c/{token}
    matter: Matter
    ticket_id: int | None
    window: str
    accepted_at: datetime
    accepted_by: str
    received: dict[str, int]     # material → pages
    missing: list[str]           # 一次性告知: what is still needed
    steps: list[StepRecord] = field(default_factory=list)
    pauses: list[Pause] = field(default_factory=list)
    extensions: list[Extension] = field(default_factory=list)
    applicant: dict | None = None   # an online intake's applicant: name, phone, id_hash (never the ID number)
    assisted: Assist | None = None  # 代办/帮办: the helper recorded at 受理
    delivery: Delivery = Delivery.WINDOW   # 不见面: by mail or online
    tracking: str | None = None     # the mail's tracking number (邮件号), given at 送达

    @property
    def step(self) -> Step:
        return self.steps[-1].step

    @property
    def finished(self) -> bool:
        return self.step in (Step.COMPLETED, Step.DELIVERED)

    @property
    def waiting_materials(self) -> bool:
        return any(p.end is None for p in self.pauses)

    @property
    def extra_days(self) -> int:
        return sum(e.days for e in self.extensions if e.approved_by is not None)


@dataclass(frozen=True)
class CaseRules:
    closing: time = time(17, 0)
    sessions: tuple[tuple[time, time], ...] = ((time(9, 0), time(12, 0)), (time(13, 30), time(17, 0)))
    yellow_days_left: int = 1
    yellow_used: float = 0.8
    after_hours_next_day: bool = False    # a case taken after closing (or on a day off): received the next working day


def counted_from(case: Case, calendar: WorkCalendar, rules: CaseRules) -> datetime:
    """The moment the promised days count from: the acceptance, or — in a hall that counts a case
    taken at or after its closing time, or on a day off, as received on the next working day
    (`after_hours_next_day`) — the start of that next working day. 即办件 keep their session rule,
    当日办结件 theirs (after closing: the next working day in every hall)."""
    at = case.accepted_at
    if not rules.after_hours_next_day or case.matter.promised_days == 0:
        return at
    local = at.timetz().replace(tzinfo=None)
    if calendar.is_working_day(at.date()) and local < rules.closing:
        return at
    return datetime.combine(calendar.next_working_day(at.date()), time(0), at.tzinfo)


def case_due(case: Case, calendar: WorkCalendar, rules: CaseRules, now: datetime) -> Deadline | Pending:
    """The case's deadline, or `Pending` while it falls into a year with no schedule."""
    try:
        start = counted_from(case, calendar, rules)
        if case.matter.kind == MatterKind.SAME_DAY:
            return same_day_deadline(start, calendar, rules.closing, case.pauses, now)
    except NoSchedule as exc:
        return Pending(exc.year)
    return due_or_pending(start, case.matter.promised_days + case.extra_days, calendar, rules.closing,
                          rules.sessions, case.pauses, now=now)


def case_deadline(case: Case, calendar: WorkCalendar, rules: CaseRules, now: datetime) -> Deadline:
    """The case's deadline; raises NoSchedule where `case_due` would say pending."""
    d = case_due(case, calendar, rules, now)
    if isinstance(d, Pending):
        raise NoSchedule(d.year)
    return d


def _colour(at: datetime, start: datetime, d: Deadline, calendar: WorkCalendar, rules: CaseRules) -> str | None:
    """红黄绿, or None when the days to count it over have no schedule yet."""
    try:
        return colour(at, start, d, calendar, yellow_days_left=rules.yellow_days_left, yellow_used=rules.yellow_used)
    except NoSchedule:
        return None


def step_colours(case: Case, calendar: WorkCalendar, rules: CaseRules, now: datetime) -> list[dict]:
    """红黄绿 of each step that has its own budget: due the given working days after the step
    before it was done; a step done keeps the colour it was done with. A step whose deadline
    falls into a year with no schedule has `due` None, `colour` None and `pending` its words."""
    done = {s.step: s.at for s in case.steps}
    out = []
    for name, days in step_budgets(case):
        step = Step(name)
        before = STEP_ORDER[STEP_ORDER.index(step) - 1]
        started = done.get(before)
        if started is None:
            continue                           # not started yet: no clock
        d = due_or_pending(started, days, calendar, rules.closing, rules.sessions)
        if isinstance(d, Pending):
            out.append({"step": name, "due": None, "done": step in done, "colour": None, "pending": d.text})
            continue
        out.append({"step": name, "due": d.due, "done": step in done,
                    "colour": _colour(done.get(step, now), started, d, calendar, rules), "pending": None})
    return out


def step_budgets(case: Case) -> tuple[tuple[str, int], ...]:
    """The steps with a budget of their own: the matter's `step_days`, and the certificate's 送达
    (取件, CERTIFICATE_DAYS after 办结, 行政许可法 §44) of a 不见面 case whose matter gives one. At the
    window the applicant fetches it when told: that wait is theirs, not the agency's (ours)."""
    if case.matter.certificate and case.delivery != Delivery.WINDOW:
        return (*case.matter.step_days, (Step.DELIVERED.value, CERTIFICATE_DAYS))
    return case.matter.step_days


def case_colour(case: Case, calendar: WorkCalendar, rules: CaseRules, now: datetime) -> str | None:
    """红黄绿 of the whole case; a finished case keeps the colour it finished with; None while
    its deadline is pending (a year with no schedule)."""
    d = case_due(case, calendar, rules, now)
    if isinstance(d, Pending):
        return None
    finished_at = next((s.at for s in case.steps if s.step == Step.COMPLETED), None)
    return _colour(finished_at or now, counted_from(case, calendar, rules), d, calendar, rules)


def check_assist(assisted: Assist, handler: str) -> None:
    """A 代办 names exactly one helper — a staff member other than the handler, or a volunteer — and a
    group of 003 §15 (the staff id's existence is the desk's check: it knows the hall's staff)."""
    if (assisted.staff is None) == (assisted.volunteer is None):
        raise CaseError("invalid", "代办: name either the staff member or the volunteer who helped, not both")
    if assisted.group not in ASSIST_GROUPS:
        raise CaseError("invalid", f"代办 for {assisted.group!r}: one of {'、'.join(ASSIST_GROUPS)}")
    if assisted.staff == handler:
        raise CaseError("invalid", "the handler who accepts the case is not its 代办 helper")


class CaseBook:
    """The cases of one hall: opening, steps, 补正, 延期. Raises CaseError and changes nothing,
    or applies the whole action; `changed` lists the cases to persist."""

    def __init__(self, matters: list[Matter], calendar: WorkCalendar, rules: CaseRules | None = None,
                 cases: list[Case] | None = None, last_id: int = 0) -> None:
        self.matters = {m.id: m for m in matters}
        self.calendar, self.rules = calendar, rules or CaseRules()
        self.cases: dict[int, Case] = {c.id: c for c in cases or ()}
        self.last_id = max([last_id, *self.cases])
        self.changed: list[Case] = []

    def _get(self, case_id: int) -> Case:
        case = self.cases.get(case_id)
        if case is None:
            raise CaseError("case_not_found", f"no case {case_id}")
        return case

    def accept(self, matter_id: str, window: str, staff: str, now: datetime, received: dict[str, int],
               missing: list[str], ticket_id: int | None = None, applicant: dict | None = None,
               assisted: Assist | None = None, delivery: Delivery = Delivery.WINDOW) -> Case:
        """受理: the case is opened with the materials received; missing ones start a 补正. `assisted`:
        the 代办/帮办 helper (checked by the caller against the hall's staff); `delivery`: 不见面."""
        matter = self.matters.get(matter_id)
        if matter is None:
            raise CaseError("unknown_matter", f"no matter {matter_id!r} in the catalogue")
        if assisted is not None:
            check_assist(assisted, staff)
        known = set(matter.materials)
        unknown = sorted((set(received) | set(missing)) - known)
        if unknown:
            raise CaseError("invalid", f"not a material of {matter.name}: {unknown[0]}")
        if set(received) & set(missing):
            raise CaseError("invalid", "a material cannot be both received and missing")
        if any(p < 1 or p > 9999 for p in received.values()):
            raise CaseError("invalid", "pages must be 1–9999")
        missing = [m for m in matter.materials if m not in received]   # whatever was not ticked, in catalogue order
        new_id = self.last_id + 1
        case = Case(new_id, f"{now:%Y%m%d}{new_id:05d}", secrets.token_urlsafe(12), matter, ticket_id,
                    window, now, staff, dict(received), missing, [StepRecord(Step.ACCEPTED, now, staff)],
                    applicant=applicant, assisted=assisted, delivery=delivery)
        if missing:
            case.pauses.append(Pause(now))
        self.last_id = new_id           # a deadline in a year with no schedule is pending, never a refusal
        self.cases[case.id] = case
        self.changed.append(case)
        return case

    def supplement(self, case_id: int, now: datetime, staff: str, received: dict[str, int]) -> Case:
        """补正: materials arrive; when nothing is missing any more the clock runs again."""
        case = self._get(case_id)
        if not case.waiting_materials:
            raise CaseError("invalid", f"case {case.code} is not waiting for materials")
        wrong = sorted(set(received) - set(case.missing))
        if wrong:
            raise CaseError("invalid", f"{wrong[0]} was not asked for")
        case.received.update(received)
        case.missing = [m for m in case.missing if m not in received]
        if not case.missing:
            open_pause = next(p for p in case.pauses if p.end is None)
            case.pauses[case.pauses.index(open_pause)] = Pause(open_pause.start, now)
        self.changed.append(case)
        return case

    def advance(self, case_id: int, step: Step, now: datetime, staff: str, note: str = "",
                tracking: str = "") -> Case:
        """Move the case to its next step (审核, 审批, 办结, 取件), stamped with time and handler; the
        取件 (送达) of a case delivered by mail names its tracking number (邮件号), no other step does."""
        case = self._get(case_id)
        if case.waiting_materials and step != Step.DELIVERED:
            raise CaseError("waiting_materials", f"case {case.code} waits for materials (补正)")
        if STEP_ORDER.index(step) != STEP_ORDER.index(case.step) + 1:
            raise CaseError("invalid", f"case {case.code} is at {case.step.value}; next is not {step.value}")
        mailed = case.delivery == Delivery.MAIL and step == Step.DELIVERED
        if mailed and not tracking.strip():
            raise CaseError("invalid", f"case {case.code} goes by mail: its 送达 needs the tracking number (邮件号)")
        if tracking and not mailed:
            raise CaseError("invalid", "a tracking number (邮件号) belongs to the 送达 of a case delivered by mail")
        case.steps.append(StepRecord(step, now, staff, note[:200]))
        case.tracking = tracking.strip() or case.tracking
        self.changed.append(case)
        return case

    def request_extension(self, case_id: int, days: int, reason: str, staff: str, now: datetime) -> Case:
        """延期 (行政许可法 §42): once per case, up to the matter's limit, with the reason told to the
        applicant; it counts only once a manager approves it."""
        case = self._get(case_id)
        if case.finished:
            raise CaseError("invalid", f"case {case.code} is finished")
        if not reason.strip():
            raise CaseError("invalid", "an extension needs a reason (it is shown to the applicant)")
        if any(e.approved_by is None for e in case.extensions):
            raise CaseError("invalid", "an extension request is already waiting for a manager")
        if case.extensions:
            raise CaseError("extension_used", f"case {case.code} was extended once already (行政许可法 §42)")
        limit = case.matter.extension_limit
        if limit == 0:
            raise CaseError("extension_too_long", f"{case.matter.name} ({case.matter.kind.value}) is never extended")
        if not 1 <= days <= limit:
            raise CaseError("extension_too_long", f"an extension of {case.matter.name} is 1–{limit} working days")
        case.extensions.append(Extension(days, reason.strip()[:200], staff, now))
        self.changed.append(case)
        return case

    def approve_extension(self, case_id: int, manager: str, now: datetime) -> Case:
        case = self._get(case_id)
        pending = next((e for e in case.extensions if e.approved_by is None), None)
        if pending is None:
            raise CaseError("invalid", f"case {case.code} has no extension waiting")
        if pending.requested_by == manager:
            raise CaseError("forbidden", "the one who asked for an extension cannot approve it")
        pending.approved_by, pending.approved_at = manager, now
        self.changed.append(case)
        return case

    def take_changed(self) -> list[Case]:
        out, self.changed = list({c.id: c for c in self.changed}.values()), []
        return out
