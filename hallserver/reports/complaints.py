"""投诉 statistics per department, window and channel, and the CSV export (docs/complaints.md).

registered: complaints registered in the period; closed, closed_on_time (by the deadline),
open, overdue (open and past the deadline now), replied (the complainant told: 答复 recorded);
on_time_rate = closed_on_time ÷ closed with a computed deadline (None without any).
"""
from __future__ import annotations

import io
from datetime import datetime, time

from hallserver.domain.complaints import CHANNELS, Complaint, on_time, overdue
from hallserver.domain.workdays import WorkCalendar
from hallserver.reports.cells import SafeCsvWriter

UNASSIGNED = "未分派"
FIELDS = ("registered", "closed", "closed_on_time", "open", "overdue", "replied")
FIELD_NAMES = ("登记", "办结", "按期办结", "未办结", "超期未办结", "已答复", "按期办结率(%)")


def _tally() -> dict:
    return dict.fromkeys(FIELDS, 0) | {"_timed": 0}


def _add(t: dict, x: Complaint, calendar: WorkCalendar, closing: time, now: datetime) -> None:
    t["registered"] += 1
    in_time = on_time(x, calendar, closing)
    t["closed"] += x.closed
    t["_timed"] += in_time is not None
    t["closed_on_time"] += bool(in_time)
    t["open"] += not x.closed
    t["overdue"] += overdue(x, calendar, closing, now)
    t["replied"] += x.last("答复") is not None


def _done(t: dict) -> dict:
    timed = t.pop("_timed")
    return t | {"on_time_rate": round(100 * t["closed_on_time"] / timed, 1) if timed else None}


def complaint_statistics(items: list[Complaint], calendar: WorkCalendar, closing: time, now: datetime) -> dict:
    """The totals, per department (未分派 for none yet), per window (assigned to one) and per channel."""
    total, departments, windows = _tally(), {}, {}
    channels = dict.fromkeys(CHANNELS.values(), 0)
    for x in items:
        _add(total, x, calendar, closing, now)
        _add(departments.setdefault(x.department or UNASSIGNED, _tally()), x, calendar, closing, now)
        a = x.assignment
        if a is not None and a.window:
            _add(windows.setdefault(a.window, _tally()), x, calendar, closing, now)
        channels[CHANNELS[x.channel]] += 1
    return {"total": _done(total), "by_department": {k: _done(v) for k, v in sorted(departments.items())},
            "by_window": {k: _done(v) for k, v in sorted(windows.items())}, "by_channel": channels}


def statistics_csv(stats: dict) -> str:
    """The statistics as CSV (UTF-8 with a BOM for Excel), every cell through the safe writer."""
    out = io.StringIO()
    w = SafeCsvWriter(out)
    w.writerow(["分组", "名称", *FIELD_NAMES])
    rows = [("合计", "全部", stats["total"])]
    rows += [("部门", k, v) for k, v in stats["by_department"].items()]
    rows += [("窗口", k, v) for k, v in stats["by_window"].items()]
    for group, name, t in rows:
        rate = t["on_time_rate"]
        w.writerow([group, name, *(t[f] for f in FIELDS), "" if rate is None else rate])
    w.writerow([])
    w.writerow(["渠道", "登记"])
    w.writerows(stats["by_channel"].items())
    return "\ufeff" + out.getvalue()


def records_csv(views: list[dict]) -> str:
    """The complaints one by one (台账): number, channel, text, assignment, result, answer; no phone number."""
    out = io.StringIO()
    w = SafeCsvWriter(out)
    w.writerow(["投诉编号", "渠道", "登记时间", "投诉内容", "状态", "承办部门", "窗口", "工作人员", "办结时限",
                "办理结果", "答复方式", "答复时间", "是否超期"])
    for v in views:
        handled = next((s["note"] for s in reversed(v["steps"]) if s["kind"] == "办理"), "")
        reply = v["reply"] or {}
        w.writerow([v["number"], v["channel_name"], v["registered_at"], v["text"], v["status"], v["department"],
                    v["window"], v["staff"], v["due"] or v["due_pending"], handled, reply.get("method", ""),
                    reply.get("told_at", ""), "是" if v["overdue"] else "否"])
    return "\ufeff" + out.getvalue()
