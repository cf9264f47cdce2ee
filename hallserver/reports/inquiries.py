"""首问负责制 report: per staff member and per window, the inquiries recorded (as the first-asked),
answered on the spot, handed off, and — as the receiver — closed, with the average time from
hand-off to 办结. A function of the period's inquiries (Store.inquiries_between); CSV through
the safe writer (cells.py). docs/inquiries.md has the definitions."""
from __future__ import annotations

import io
from collections.abc import Iterable

from hallserver.domain.inquiries import Inquiry
from hallserver.reports.cells import SafeCsvWriter

COLUMNS = ("recorded", "answered", "handed_off", "closed", "open", "avg_close_minutes")
HEADINGS = ("首问登记", "当场答复", "转交", "办结（接收方）", "待办结（接收方）", "平均办结用时（分钟）")


def _blank() -> dict:
    return {"recorded": 0, "answered": 0, "handed_off": 0, "closed": 0, "open": 0, "_close_s": 0.0}


def _finish(rows: dict[str, dict]) -> list[dict]:
    out = []
    for key in sorted(rows):
        r = rows[key]
        spent = r.pop("_close_s")
        r["avg_close_minutes"] = round(spent / r["closed"] / 60, 1) if r["closed"] else None
        out.append({"id": key, **r})
    return out


def inquiry_report(items: Iterable[Inquiry]) -> dict:
    """{"totals", "by_staff", "by_window"}: the first-asked's counts by who and where it was asked
    (the window "" is the dashboard's 导办台, shown as 导办台); the receiver's by who closed it and
    the window it was handed to (or closed at)."""
    staff: dict[str, dict] = {}
    windows: dict[str, dict] = {}
    totals = _blank()
    for x in items:
        first = (staff.setdefault(x.asked_by, _blank()), windows.setdefault(x.window or "导办台", _blank()), totals)
        for r in first:
            r["recorded"] += 1
            r["answered"] += x.status == "已答复"
            r["handed_off"] += x.handed_at is not None
        if x.status == "已转交":
            receivers = [windows.setdefault(x.to_window, _blank())] if x.to_window else []
            receivers += [staff.setdefault(x.to_staff, _blank())] if x.to_staff else []
            for r in (*receivers, totals):
                r["open"] += 1
        if x.status == "已办结" and x.closed_at is not None and x.handed_at is not None:
            spent = (x.closed_at - x.handed_at).total_seconds()
            for r in (staff.setdefault(x.closed_by, _blank()),
                      windows.setdefault(x.to_window or x.closed_window or "导办台", _blank()), totals):
                r["closed"] += 1
                r["_close_s"] += spent
    (total,) = _finish({"": totals})
    total.pop("id")
    return {"totals": total, "by_staff": _finish(staff), "by_window": _finish(windows)}


def inquiry_csv(report: dict, staff_names: dict[str, str], window_names: dict[str, str]) -> str:
    """The report as CSV (UTF-8 with a BOM for Excel), each table under its 【title】; every cell
    through the safe writer."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = SafeCsvWriter(out)
    for title, key, names, first in (("按人员", "by_staff", staff_names, ("工号", "姓名")),
                                     ("按窗口", "by_window", window_names, ("窗口", "名称"))):
        writer.writerow([f"【{title}】"])
        writer.writerow([*first, *HEADINGS])
        for r in report[key]:
            writer.writerow([r["id"], names.get(r["id"], ""), *(r[c] if r[c] is not None else "" for c in COLUMNS)])
        writer.writerow([])
    t = report["totals"]
    writer.writerow(["【合计】"])
    writer.writerow(list(HEADINGS))
    writer.writerow([t[c] if t[c] is not None else "" for c in COLUMNS])
    return out.getvalue()
