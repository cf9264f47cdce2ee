"""限时办结 reports: 按期办结率 per department, matter and staff, the overdue list, the time
each step took, and the daily digest per department. Plain functions over cases.

A case whose deadline is pending (a year with no schedule yet) is never left out: it is
counted as accepted and as `due_pending`; finished before that year began it was on time."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from hallserver.domain.cases import STEP_ORDER, Case, CaseRules, Delivery, Step, case_colour, case_due
from hallserver.domain.workdays import NoSchedule, Pending, WorkCalendar


@dataclass
class Tally:
    accepted: int = 0
    finished: int = 0
    finished_on_time: int = 0
    open_overdue: int = 0
    due_pending: int = 0         # deadline in a year whose holidays are not loaded: not yet judged
    assisted: int = 0            # 代办/帮办 cases (a helper recorded at 受理)
    no_visit: int = 0            # 不见面: the result delivered by mail or online

    @property
    def on_time_rate(self) -> float | None:
        """按期办结率: finished by the deadline, of all finished."""
        return round(100 * self.finished_on_time / self.finished, 1) if self.finished else None

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "finished": self.finished, "finished_on_time": self.finished_on_time,
                "on_time_rate": self.on_time_rate, "open_overdue": self.open_overdue, "due_pending": self.due_pending,
                "assisted": self.assisted, "no_visit": self.no_visit}


def _finished_at(case: Case) -> datetime | None:
    return next((s.at for s in case.steps if s.step == Step.COMPLETED), None)


def _working_days(calendar: WorkCalendar, after: date, until: date) -> int | None:
    try:
        return calendar.working_days_between(after, until)
    except NoSchedule:
        return None


def _tally_pending(tally: Tally, done: datetime | None, pending: Pending) -> None:
    """A case due in a year with no schedule: finished before that year began, it was on time."""
    tally.accepted += 1
    if done is not None and done.year < pending.year:
        tally.finished += 1
        tally.finished_on_time += 1
    else:
        tally.due_pending += 1


def case_report(cases: list[Case], calendar: WorkCalendar, rules: CaseRules, now: datetime, start: date, end: date,
                staff_names: dict[str, str]) -> dict:
    """Cases accepted from `start` to `end` (inclusive), as the manager's report: in total and per
    department, matter, staff member and kind (matter class: 即办件, 当日办结件, …)."""
    by = {"department": defaultdict(Tally), "matter": defaultdict(Tally), "staff": defaultdict(Tally),
          "kind": defaultdict(Tally)}
    overdue, step_days = [], defaultdict(list)
    total = Tally()
    for case in cases:
        day = case.accepted_at.astimezone(now.tzinfo).date()
        if not start <= day <= end:
            continue
        d = case_due(case, calendar, rules, now)
        done = _finished_at(case)
        keys = {"department": case.matter.department, "matter": case.matter.name,
                "staff": staff_names.get(case.accepted_by, case.accepted_by), "kind": case.matter.kind.value}
        tallies = [total] + [by[k][v] for k, v in keys.items()]
        for tally in tallies:
            tally.assisted += case.assisted is not None
            tally.no_visit += case.delivery != Delivery.WINDOW
        if isinstance(d, Pending):
            for tally in tallies:
                _tally_pending(tally, done, d)
            _step_days(case, calendar, step_days)
            continue
        due = d.due
        for tally in tallies:
            tally.accepted += 1
            if done is not None:
                tally.finished += 1
                tally.finished_on_time += done <= due
            elif now > due:
                tally.open_overdue += 1
        if (done or now) > due:
            overdue.append({"case": case.code, "matter": case.matter.name, "department": case.matter.department,
                            "handler": keys["staff"], "due": due.isoformat(),
                            "finished": done.isoformat() if done else None,
                            "working_days_late": _working_days(calendar, due.date(), (done or now).date())})
        _step_days(case, calendar, step_days)
    return {
        "from": start.isoformat(), "to": end.isoformat(), "at": now.isoformat(), "total": total.as_dict(),
        **{f"by_{k}": {name: t.as_dict() for name, t in sorted(v.items())} for k, v in by.items()},
        "overdue": sorted(overdue, key=lambda x: x["due"]),
        "step_working_days": {s.value: round(sum(step_days[s.value]) / len(step_days[s.value]), 2)
                              for s in STEP_ORDER[1:] if step_days[s.value]},
    }


def _step_days(case: Case, calendar: WorkCalendar, step_days: defaultdict) -> None:
    """The working days each step of the case took (a step into a year with no schedule: not counted)."""
    for a, b in zip(case.steps, case.steps[1:], strict=False):
        days = _working_days(calendar, a.at.date(), b.at.date())
        if days is not None:
            step_days[b.step.value].append(days)


def daily_digest(cases: list[Case], calendar: WorkCalendar, rules: CaseRules, now: datetime) -> dict:
    """Per department, today: accepted, finished, and the open cases by colour (每日通报)."""
    today = now.date()
    out: dict[str, dict] = defaultdict(lambda: {"accepted_today": 0, "finished_today": 0, "open": 0,
                                                "yellow": 0, "red": 0, "waiting_materials": 0,
                                                "due_pending": 0})
    for case in cases:
        d = out[case.matter.department]
        if case.accepted_at.astimezone(now.tzinfo).date() == today:
            d["accepted_today"] += 1
        done = _finished_at(case)
        if done is not None:
            d["finished_today"] += done.astimezone(now.tzinfo).date() == today
            continue
        d["open"] += 1
        d["waiting_materials"] += case.waiting_materials
        colour = case_colour(case, calendar, rules, now)
        if colour is None:
            d["due_pending"] += 1
        elif colour in ("yellow", "red"):
            d[colour] += 1
    return {"day": today.isoformat(), "departments": dict(sorted(out.items()))}
