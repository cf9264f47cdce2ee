"""The hall's operating report (运行报表) for a day, a week or a month: tickets and served per
category and per hour, the waiting-time and service-time distributions, no-shows, ratings and
satisfaction, per window and staff member. Plain functions over rows from the store; charts as
server-side SVG drawn by pygal; exports as CSV (UTF-8 with BOM, for Excel) and .xlsx (openpyxl).
"""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from statistics import mean, median
from typing import Any

PERIODS = {"day": "日报", "week": "周报", "month": "月报"}
WAIT_BINS = [(0, 5), (5, 10), (10, 20), (20, 30), (30, 60), (60, None)]       # minutes
SERVICE_BINS = [(0, 5), (5, 10), (10, 20), (20, 30), (30, None)]
LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
CHANNEL_NAMES = {1: "PC端", 2: "移动端", 3: "二维码", 4: "评价器", 5: "其他终端", 6: "短信", 7: "系统默认"}


@dataclass(frozen=True)
class TicketFact:
    """One ticket as the report needs it (times aware; wait ends at the first call)."""
    day: date
    category: str
    status: str
    issued_at: datetime
    called_at: datetime | None
    finished_at: datetime | None
    window: str | None
    staff: str | None


@dataclass(frozen=True)
class RatingFact:
    day: date
    window: str
    staff: str
    level: int
    channel: int


def period_bounds(kind: str, day: date) -> tuple[date, date, str]:
    """The first and last day of the day/week (Monday–Sunday)/month containing `day`, and a label."""
    if kind == "day":
        return day, day, f"{day:%Y年%m月%d日}"
    if kind == "week":
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=6)
        return start, end, f"{start:%Y年%m月%d日}—{end:%m月%d日}（第 {day.isocalendar()[1]} 周）"
    if kind == "month":
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        return start, end, f"{start:%Y年%m月}"
    raise ValueError(f"period: one of {', '.join(PERIODS)}")


def _bin_label(lo: int, hi: int | None) -> str:
    return f"{lo}–{hi} 分钟" if hi is not None else f"{lo} 分钟以上"


def _histogram(values_min: list[float], bins: list[tuple[int, int | None]]) -> list[dict]:
    out = []
    for lo, hi in bins:
        n = sum(1 for v in values_min if v >= lo and (hi is None or v < hi))
        out.append({"bin": _bin_label(lo, hi), "count": n,
                    "share": round(100 * n / len(values_min), 1) if values_min else None})
    return out


def _stats(seconds: list[float]) -> dict[str, float | None]:
    if not seconds:
        return {"avg_min": None, "median_min": None, "max_min": None}
    return {"avg_min": round(mean(seconds) / 60, 1), "median_min": round(median(seconds) / 60, 1),
            "max_min": round(max(seconds) / 60, 1)}


def satisfaction(levels: list[int]) -> float | None:
    """好评率: 基本满意 or better, of all ratings."""
    return round(100 * sum(1 for x in levels if x >= 3) / len(levels), 1) if levels else None


def hall_report(kind: str, day: date, tickets: list[TicketFact], ratings: list[RatingFact], tz,  # noqa: ANN001
                names: dict[str, str], staff_names: dict[str, str], wait_target_min: float) -> dict[str, Any]:
    """The whole report as plain data (what the page, the charts and the exports show)."""
    start, end, label = period_bounds(kind, day)
    tickets = [t for t in tickets if start <= t.day <= end]
    ratings = [r for r in ratings if start <= r.day <= end]
    per_cat: dict[str, dict[str, Any]] = {}
    waits: dict[str, list[float]] = defaultdict(list)
    services: dict[str, list[float]] = defaultdict(list)
    hours: dict[int, dict[str, int]] = defaultdict(lambda: {"issued": 0, "served": 0})
    per_window: dict[str, dict[str, Any]] = {}
    per_staff: dict[str, dict[str, Any]] = {}
    per_day: dict[date, dict[str, int]] = defaultdict(lambda: {"issued": 0, "served": 0})
    for t in tickets:
        c = per_cat.setdefault(t.category, {"category": t.category, "name": names.get(t.category, t.category),
                                            "issued": 0, "served": 0, "no_show": 0, "cancelled": 0, "waiting": 0})
        c["issued"] += 1
        per_day[t.day]["issued"] += 1
        hours[t.issued_at.astimezone(tz).hour]["issued"] += 1
        if t.called_at is not None:
            waits[t.category].append((t.called_at - t.issued_at).total_seconds())
        if t.status == "completed":
            c["served"] += 1
            per_day[t.day]["served"] += 1
            if t.finished_at is not None:
                hours[t.finished_at.astimezone(tz).hour]["served"] += 1
            if t.finished_at is not None and t.called_at is not None:
                service = (t.finished_at - t.called_at).total_seconds()
                services[t.category].append(service)
                for key, book in ((t.window, per_window), (t.staff, per_staff)):
                    if key:
                        row = book.setdefault(key, {"served": 0, "service_s": []})
                        row["served"] += 1
                        row["service_s"].append(service)
        elif t.status == "skipped":
            c["no_show"] += 1
        elif t.status == "cancelled":
            c["cancelled"] += 1
        elif t.status == "waiting":
            c["waiting"] += 1
    for cat, c in per_cat.items():
        c.update({f"wait_{k}": v for k, v in _stats(waits[cat]).items()})
        c.update({f"service_{k}": v for k, v in _stats(services[cat]).items()})
        c["over_target"] = c["wait_avg_min"] is not None and c["wait_avg_min"] > wait_target_min
    levels_by: dict[str, dict[str, list[int]]] = {"window": defaultdict(list), "staff": defaultdict(list)}
    for r in ratings:
        levels_by["window"][r.window].append(r.level)
        levels_by["staff"][r.staff].append(r.level)

    def people(book: dict[str, dict], which: str, label_of: dict[str, str]) -> list[dict]:
        keys = sorted(set(book) | set(levels_by[which]))
        out = []
        for k in keys:
            row = book.get(k, {"served": 0, "service_s": []})
            levels = levels_by[which].get(k, [])
            out.append({which: k, "name": label_of.get(k, k), "served": row["served"],
                        "service_avg_min": _stats(row["service_s"])["avg_min"], "ratings": len(levels),
                        "satisfaction": satisfaction(levels)})
        return out
    all_waits = [w for ws in waits.values() for w in ws]
    all_services = [s for ss in services.values() for s in ss]
    levels = [r.level for r in ratings]
    issued = len(tickets)
    served = sum(c["served"] for c in per_cat.values())
    no_show = sum(c["no_show"] for c in per_cat.values())
    return {
        "period": kind, "period_name": PERIODS[kind], "label": label, "from": start.isoformat(),
        "to": end.isoformat(), "wait_target_min": wait_target_min,
        "totals": {"issued": issued, "served": served, "no_show": no_show,
                   "no_show_rate": round(100 * no_show / issued, 1) if issued else None,
                   "cancelled": sum(c["cancelled"] for c in per_cat.values()),
                   "waiting": sum(c["waiting"] for c in per_cat.values()),
                   **{f"wait_{k}": v for k, v in _stats(all_waits).items()},
                   **{f"service_{k}": v for k, v in _stats(all_services).items()},
                   "waited_over_target_share": round(100 * sum(1 for w in all_waits if w > wait_target_min * 60)
                                                     / len(all_waits), 1) if all_waits else None,
                   "ratings": len(levels), "satisfaction": satisfaction(levels)},
        "by_category": sorted(per_cat.values(), key=lambda c: -c["issued"]),
        "by_hour": [{"hour": h, **hours[h]} for h in sorted(hours)],
        "by_day": [{"day": d.isoformat(), **per_day[d]} for d in sorted(per_day)],
        "wait_distribution": _histogram([w / 60 for w in all_waits], WAIT_BINS),
        "service_distribution": _histogram([s / 60 for s in all_services], SERVICE_BINS),
        "ratings_by_level": [{"level": lv, "name": LEVEL_NAMES[lv], "count": levels.count(lv)}
                             for lv in (5, 4, 3, 2, 1)],
        "ratings_by_channel": [{"channel": ch, "name": CHANNEL_NAMES.get(ch, str(ch)),
                                "count": sum(1 for r in ratings if r.channel == ch)}
                               for ch in sorted({r.channel for r in ratings})],
        "by_window": people(per_window, "window", {}),
        "by_staff": people(per_staff, "staff", staff_names),
    }


# --------------------------------------------------------------------------- charts (pygal, SVG)
def _style():   # noqa: ANN202 - a pygal Style
    from pygal.style import Style
    return Style(font_family='"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif',
                 background="#ffffff", plot_background="#ffffff", foreground="#1d2733",
                 foreground_strong="#1d2733", foreground_subtle="#d9e1ea",
                 colors=("#0b4f9c", "#1a7f37", "#b45309", "#b42318", "#6b7280"),
                 label_font_size=13, major_label_font_size=13, legend_font_size=14, title_font_size=16,
                 value_font_size=12)


def _render(chart) -> str:   # noqa: ANN001
    return chart.render(is_unicode=True)


def _count_axis(*series: list[int]) -> dict[str, Any]:
    """Whole-number ticks for counts (人次 are never 0.3)."""
    top = max([v for s in series for v in s] + [1])
    step = max(1, -(-top // 8))
    return {"y_labels": list(range(0, top + step, step))}


def report_charts(report: dict[str, Any]) -> dict[str, str]:
    """The report's charts as SVG text, each readable at a glance (titles and units in Chinese)."""
    import pygal
    options = {"js": [], "style": _style(), "width": 760, "height": 300, "disable_xml_declaration": True,
               "legend_at_bottom": True, "print_values": False, "show_y_guides": True, "margin": 12,
               "no_data_text": "无数据"}
    charts: dict[str, str] = {}
    hours = report["by_hour"]
    hourly = pygal.Bar(title="按小时取号与办结（人次）", **options,
                       **_count_axis([h["issued"] for h in hours], [h["served"] for h in hours]))
    hourly.x_labels = [f"{h['hour']}时" for h in report["by_hour"]]
    hourly.add("取号", [h["issued"] for h in report["by_hour"]])
    hourly.add("办结", [h["served"] for h in report["by_hour"]])
    charts["by_hour"] = _render(hourly)
    if report["period"] != "day":
        days = report["by_day"]
        daily = pygal.Line(title="每日取号与办结（人次）", **options,
                           **_count_axis([d["issued"] for d in days], [d["served"] for d in days]))
        daily.x_labels = [d["day"][5:] for d in report["by_day"]]
        daily.add("取号", [d["issued"] for d in report["by_day"]])
        daily.add("办结", [d["served"] for d in report["by_day"]])
        charts["by_day"] = _render(daily)
    cats = pygal.Bar(title=f"各业务平均等候（分钟，红色为超过目标 {report['wait_target_min']:g} 分钟）",
                     **{**options, "show_legend": False})
    rows = report["by_category"]
    cats.x_labels = [c["name"] for c in rows]
    cats.add("平均等候", [{"value": c["wait_avg_min"] or 0, "color": "#b42318" if c["over_target"] else "#0b4f9c"}
                      for c in rows])
    charts["wait_by_category"] = _render(cats)
    for key, title in (("wait_distribution", "等候时长分布（人次）"), ("service_distribution", "办理时长分布（件）")):
        dist = pygal.Bar(title=title, **{**options, "show_legend": False},
                         **_count_axis([b["count"] for b in report[key]]))
        dist.x_labels = [b["bin"] for b in report[key]]
        dist.add("人次", [b["count"] for b in report[key]])
        charts[key] = _render(dist)
    pie = pygal.Pie(title=f"评价（好评率 {report['totals']['satisfaction'] or '—'}%）", inner_radius=.45,
                    **{**options, "width": 420})
    for lv in report["ratings_by_level"]:
        pie.add(lv["name"], lv["count"])
    charts["ratings"] = _render(pie)
    return charts


# --------------------------------------------------------------------------- exports
def _tables(report: dict[str, Any]) -> list[tuple[str, list[str], list[list[Any]]]]:
    t = report["totals"]
    return [
        ("汇总", ["项目", "数值"], [
            ["报表", f"{report['period_name']} {report['label']}"], ["取号", t["issued"]], ["办结", t["served"]],
            ["过号（未到）", t["no_show"]], ["过号率(%)", t["no_show_rate"]], ["取消", t["cancelled"]],
            ["平均等候(分钟)", t["wait_avg_min"]], ["等候中位数(分钟)", t["wait_median_min"]],
            ["最长等候(分钟)", t["wait_max_min"]], [f"等候超过 {report['wait_target_min']:g} 分钟占比(%)",
                                                  t["waited_over_target_share"]],
            ["平均办理(分钟)", t["service_avg_min"]], ["评价数", t["ratings"]], ["好评率(%)", t["satisfaction"]]]),
        ("按业务", ["业务", "取号", "办结", "过号", "取消", "平均等候(分钟)", "最长等候(分钟)", "平均办理(分钟)"],
         [[c["name"], c["issued"], c["served"], c["no_show"], c["cancelled"], c["wait_avg_min"], c["wait_max_min"],
           c["service_avg_min"]] for c in report["by_category"]]),
        ("按小时", ["时段", "取号", "办结"], [[f"{h['hour']:02d}:00", h["issued"], h["served"]]
                                           for h in report["by_hour"]]),
        ("按日", ["日期", "取号", "办结"], [[d["day"], d["issued"], d["served"]] for d in report["by_day"]]),
        ("等候分布", ["等候时长", "人次", "占比(%)"], [[b["bin"], b["count"], b["share"]]
                                               for b in report["wait_distribution"]]),
        ("办理时长分布", ["办理时长", "件数", "占比(%)"], [[b["bin"], b["count"], b["share"]]
                                                for b in report["service_distribution"]]),
        ("按窗口", ["窗口", "办结", "平均办理(分钟)", "评价数", "好评率(%)"],
         [[w["window"], w["served"], w["service_avg_min"], w["ratings"], w["satisfaction"]]
          for w in report["by_window"]]),
        ("按人员", ["工号", "姓名", "办结", "平均办理(分钟)", "评价数", "好评率(%)"],
         [[s["staff"], s["name"], s["served"], s["service_avg_min"], s["ratings"], s["satisfaction"]]
          for s in report["by_staff"]]),
        ("评价", ["评价", "数量"], [[lv["name"], lv["count"]] for lv in report["ratings_by_level"]]
         + [[f"渠道：{ch['name']}", ch["count"]] for ch in report["ratings_by_channel"]]),
    ]


def report_csv(report: dict[str, Any]) -> str:
    """Every table one after another, each under its title (UTF-8 with BOM: Excel reads the Chinese)."""
    out = io.StringIO()
    w = csv.writer(out)
    for title, header, rows in _tables(report):
        w.writerow([f"【{title}】"])
        w.writerow(header)
        w.writerows([["" if v is None else v for v in row] for row in rows])
        w.writerow([])
    return "\ufeff" + out.getvalue()


def report_xlsx(report: dict[str, Any]) -> bytes:
    """One sheet per table, header row bold and frozen, columns wide enough for the Chinese."""
    from openpyxl import Workbook
    from openpyxl.styles import Font
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in _tables(report):
        sheet = book.create_sheet(title)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            sheet.append(row)
        sheet.freeze_panes = "A2"
        for i, name in enumerate(header, start=1):
            sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(10, 2 * len(name) + 4)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
