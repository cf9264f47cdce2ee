"""The people side of the operating report (报表): 按期办结率 per department, attendance (考勤)
per person and AB岗 coverage per post, for the report's period, with their charts.

Plain functions over what the case desk, the attendance desk and the front-desk watch already
count; the page loads this part after the hall figures (`/reports/people`), so a slow case
report never holds up the main report.
"""
from __future__ import annotations

from datetime import date
from typing import Any

from hallserver.reports.hall import chart_style, count_axis, label_room, render_chart

ON_TIME_TARGET = 100.0      # 按期办结率: every case by its promised day


def coverage_rows(minutes: dict[tuple[date, str], dict[str, float]], posts: list, first: date,
                  last: date) -> list[dict[str, Any]]:
    """Per post, the opening minutes from `first` to `last` covered by A, by B and by nobody."""
    per = {p.id: {"post": p.id, "name": p.name, "a": 0.0, "b": 0.0, "none": 0.0} for p in posts}
    for (day, post), m in minutes.items():
        if first <= day <= last and post in per:
            for key, state in (("a", "A"), ("b", "B"), ("none", "none")):
                per[post][key] += m.get(state, 0.0)
    rows = []
    for row in per.values():
        total = row["a"] + row["b"] + row["none"]
        rows.append({**row, "a": round(row["a"]), "b": round(row["b"]), "none": round(row["none"]),
                     "covered_share": round(100 * (row["a"] + row["b"]) / total, 1) if total >= 1 else None})
    return rows


def category_coverage_rows(minutes: dict[tuple[date, str], dict[str, float]], names: dict[str, str],
                           first: date, last: date) -> list[dict[str, Any]]:
    """Per category of a post, the opening minutes from `first` to `last` served by an A of its
    posts, by a B, by someone else, and by nobody."""
    per: dict[str, dict[str, float]] = {}
    for (day, category), m in minutes.items():
        if first <= day <= last:
            row = per.setdefault(category, {"a": 0.0, "b": 0.0, "other": 0.0, "none": 0.0})
            for key, state in (("a", "A"), ("b", "B"), ("other", "other"), ("none", "none")):
                row[key] += m.get(state, 0.0)
    rows = []
    for category, row in sorted(per.items()):
        total = sum(row.values())
        rows.append({"category": category, "name": names.get(category, category),
                     **{k: round(v) for k, v in row.items()},
                     "covered_share": round(100 * (total - row["none"]) / total, 1) if total >= 1 else None})
    return rows


def attendance_rows(totals: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The attendance desk's per-person totals with 出勤率 (present of the scheduled shifts not on leave)."""
    out = []
    for t in totals:
        due = t["scheduled"] - t["leave_shifts"]
        out.append({**t, "attendance_rate": round(100 * t["present"] / due, 1) if due > 0 else None})
    return out


def department_rows(cases: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"department": name, **t} for name, t in cases.get("by_department", {}).items()]


def kind_rows(cases: dict[str, Any]) -> list[dict[str, Any]]:
    """按期办结率 per matter class (即办件, 当日办结件, 承诺件, 上报件, 联办件)."""
    return [{"kind": name, **t} for name, t in cases.get("by_kind", {}).items()]


def people_charts(departments: list[dict], attendance: list[dict], coverage: list[dict]) -> dict[str, str]:
    """按期办结率 per department, attendance exceptions per person, coverage per post (SVG)."""
    import pygal  # pygal: only when a chart is drawn
    options = {"js": [], "style": chart_style(), "width": 760, "height": 300, "disable_xml_declaration": True,
               "legend_at_bottom": True, "print_values": False, "show_y_guides": True, "margin": 12,
               "no_data_text": "无数据"}
    charts: dict[str, str] = {}
    finished = [d for d in departments if d["on_time_rate"] is not None]
    on_time = pygal.Bar(title="按期办结率（按部门，%，未达 100% 标红）", range=(0, 100),
                        **{**options, "show_legend": False, **label_room([d["department"] for d in finished])})
    on_time.add("按期办结率", [{"value": d["on_time_rate"],
                              "color": "#1a7f37" if d["on_time_rate"] >= ON_TIME_TARGET else "#b42318"}
                             for d in finished])
    charts["on_time"] = render_chart(on_time)
    exceptions = [r for r in attendance if r["late_times"] + r["early_times"] + r["absent_shifts"]]   # who to ask
    late = pygal.StackedBar(title="考勤异常（按人员，次）",
                            **{**options, "no_data_text": "无考勤异常", **label_room([r["name"] for r in exceptions])},
                            **count_axis([r["late_times"] + r["early_times"] + r["absent_shifts"] for r in exceptions]))
    late.add("迟到", [r["late_times"] for r in exceptions])
    late.add("早退", [r["early_times"] for r in exceptions])
    late.add("缺勤（班次）", [r["absent_shifts"] for r in exceptions])
    charts["attendance"] = render_chart(late)
    style = chart_style()
    style.colors = ("#1a7f37", "#b45309", "#b42318")
    covered = pygal.StackedBar(title="AB岗在岗（按岗位，分钟）",
                               **{**options, "style": style, **label_room([r["name"] for r in coverage])},
                               **count_axis([r["a"] + r["b"] + r["none"] for r in coverage]))
    covered.add("A角在岗", [r["a"] for r in coverage])
    covered.add("B角顶岗", [r["b"] for r in coverage])
    covered.add("无人在岗", [r["none"] for r in coverage])
    charts["coverage"] = render_chart(covered)
    return charts


def people_tables(figures: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    """The people part as tables for the Excel and CSV exports (one sheet each)."""
    return [
        ("按期办结率", ["部门", "受理", "办结", "按期办结", "按期办结率(%)", "超期未办结", "代办", "不见面"],
         [[d["department"], d["accepted"], d["finished"], d["finished_on_time"], d["on_time_rate"], d["open_overdue"],
           d.get("assisted", 0), d.get("no_visit", 0)]
          for d in figures["departments"]]),
        ("按办件类别", ["办件类别", "受理", "办结", "按期办结", "按期办结率(%)", "超期未办结", "代办", "不见面"],
         [[k["kind"], k["accepted"], k["finished"], k["finished_on_time"], k["on_time_rate"], k["open_overdue"],
           k["assisted"], k["no_visit"]]
          for k in figures.get("kinds", [])]),
        ("考勤", ["工号", "姓名", "部门", "应出勤班次", "出勤班次", "出勤率(%)", "迟到次数", "迟到分钟", "早退次数",
                "早退分钟", "缺勤班次", "离岗分钟", "请假班次", "请假分钟"],
         [[r["staff"], r["name"], r["department"], r["scheduled"], r["present"], r["attendance_rate"], r["late_times"],
           r["late_min"], r["early_times"], r["early_min"], r["absent_shifts"], r["away_min"], r["leave_shifts"],
           r["leave_min"]]
          for r in figures["attendance"]]),
        ("AB岗按岗位", ["岗位", "A角在岗(分钟)", "B角顶岗(分钟)", "无人在岗(分钟)", "在岗率(%)"],
         [[r["name"], r["a"], r["b"], r["none"], r["covered_share"]] for r in figures["coverage"]]),
        ("AB岗按业务", ["业务", "A角办理(分钟)", "B角办理(分钟)", "其他人员办理(分钟)", "无人办理(分钟)", "在岗率(%)"],
         [[r["name"], r["a"], r["b"], r["other"], r["none"], r["covered_share"]]
          for r in figures["category_coverage"]]),
    ]
