"""限时办结 reports: 按期办结率 per department, matter and staff, the overdue list, the time
each step took, and the daily digest per department. Plain functions over cases."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from hallserver.domain.cases import STEP_ORDER, Case, CaseRules, Step, case_colour, case_deadline
from hallserver.domain.workdays import NoSchedule, WorkCalendar


@dataclass
class Tally:
    accepted: int = 0
    finished: int = 0
    finished_on_time: int = 0
    open_overdue: int = 0

    @property
    def on_time_rate(self) -> float | None:
        """按期办结率: finished by the deadline, of all finished."""
        return round(100 * self.finished_on_time / self.finished, 1) if self.finished else None

    def as_dict(self) -> dict:
        return {"accepted": self.accepted, "finished": self.finished, "finished_on_time": self.finished_on_time,
                "on_time_rate": self.on_time_rate, "open_overdue": self.open_overdue}


def _finished_at(case: Case) -> datetime | None:
    return next((s.at for s in case.steps if s.step == Step.COMPLETED), None)


def case_report(cases: list[Case], calendar: WorkCalendar, rules: CaseRules, now: datetime, start: date, end: date,
                staff_names: dict[str, str]) -> dict:
    """Cases accepted from `start` to `end` (inclusive), as the manager's report."""
    by = {"department": defaultdict(Tally), "matter": defaultdict(Tally), "staff": defaultdict(Tally)}
    overdue, step_days = [], defaultdict(list)
    total = Tally()
    for case in cases:
        day = case.accepted_at.astimezone(now.tzinfo).date()
        if not start <= day <= end:
            continue
        try:
            due = case_deadline(case, calendar, rules, now).due
        except NoSchedule:
            continue
        done = _finished_at(case)
        keys = {"department": case.matter.department, "matter": case.matter.name,
                "staff": staff_names.get(case.accepted_by, case.accepted_by)}
        for tally in [total] + [by[k][v] for k, v in keys.items()]:
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
                            "working_days_late": calendar.working_days_between(due.date(), (done or now).date())})
        for a, b in zip(case.steps, case.steps[1:], strict=False):
            step_days[b.step.value].append(calendar.working_days_between(a.at.date(), b.at.date()))
    return {
        "from": start.isoformat(), "to": end.isoformat(), "at": now.isoformat(), "total": total.as_dict(),
        **{f"by_{k}": {name: t.as_dict() for name, t in sorted(v.items())} for k, v in by.items()},
        "overdue": sorted(overdue, key=lambda x: x["due"]),
        "step_working_days": {s.value: round(sum(step_days[s.value]) / len(step_days[s.value]), 2)
                              for s in STEP_ORDER[1:] if step_days[s.value]},
    }


def daily_digest(cases: list[Case], calendar: WorkCalendar, rules: CaseRules, now: datetime) -> dict:
    """Per department, today: accepted, finished, and the open cases by colour (每日通报)."""
    today = now.date()
    out: dict[str, dict] = defaultdict(lambda: {"accepted_today": 0, "finished_today": 0, "open": 0,
                                                "yellow": 0, "red": 0, "waiting_materials": 0})
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
        try:
            colour = case_colour(case, calendar, rules, now)
        except NoSchedule:
            continue
        if colour in ("yellow", "red"):
            d[colour] += 1
    return {"day": today.isoformat(), "departments": dict(sorted(out.items()))}
