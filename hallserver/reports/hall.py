"""The hall's operating report (运行报表) for a day, a week or a month: tickets and served per
category and per hour, the waiting-time and service-time distributions, no-shows, ratings and
satisfaction, per window and staff member. Plain functions over rows from the store; charts as
server-side SVG drawn by pygal; exports as CSV (UTF-8 with BOM, for Excel) and .xlsx (openpyxl).
"""
from __future__ import annotations

import io
import json
import math
from bisect import bisect_right
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from hallserver.reports.cells import SafeCsvWriter, append_row
from hallserver.store.facts import RatingFact, TicketFact

PERIODS = {"day": "日报", "week": "周报", "month": "月报"}
WAIT_BINS = [(0, 5), (5, 10), (10, 20), (20, 30), (30, 60), (60, None)]       # minutes
SERVICE_BINS = [(0, 5), (5, 10), (10, 20), (20, 30), (30, None)]
LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
CHANNEL_NAMES = {1: "PC端", 2: "移动端", 3: "二维码", 4: "评价器", 5: "其他终端", 6: "短信", 7: "系统默认"}


class LocalHour:
    """The hall-local hour of a time, with the UTC offset looked up once per UTC hour (a month
    of tickets has some 700 of them, not 125 000)."""

    def __init__(self, tz) -> None:   # noqa: ANN001 - a tzinfo
        self.tz = tz
        self._offsets: dict[int, timedelta] = {}

    def __call__(self, at: datetime) -> int:
        if at.tzinfo is not None:
            return at.astimezone(self.tz).hour
        key = at.toordinal() * 24 + at.hour
        offset = self._offsets.get(key)
        if offset is None:
            hour = at.replace(minute=0, second=0, microsecond=0, tzinfo=UTC)
            offset = self._offsets[key] = hour.astimezone(self.tz).utcoffset()
        return (at + offset).hour


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


BUCKET_S = 6        # durations are counted in steps of 6 seconds: a tenth of a minute


def bucket_of(seconds: float) -> int:
    """The 6-second step a duration falls in (rounded to the millisecond first, as the SQL does)."""
    return math.floor(round(seconds, 3) / BUCKET_S)


@dataclass
class Durations:
    """Waiting or service times: how many fell in each 6-second step, with their exact sum and
    maximum. Medians and distributions are read from the steps; averages and maxima are exact."""
    buckets: Counter = field(default_factory=Counter)
    n: int = 0
    total_s: float = 0.0
    max_s: float | None = None

    def add(self, seconds: float) -> None:
        self.add_group(bucket_of(seconds), 1, seconds, seconds)

    def add_group(self, bucket: int, n: int, total_s: float, max_s: float) -> None:
        self.buckets[bucket] += n
        self.n += n
        self.total_s += total_s
        self.max_s = max_s if self.max_s is None else max(self.max_s, max_s)

    def merge(self, other: Durations) -> None:
        for b, n in other.buckets.items():
            self.buckets[b] += n
        self.n += other.n
        self.total_s += other.total_s
        if other.max_s is not None:
            self.max_s = other.max_s if self.max_s is None else max(self.max_s, other.max_s)

    def median_s(self) -> float | None:
        """The median of the durations taken at their step (statistics.median over the steps)."""
        if not self.n:
            return None
        wanted = [(self.n - 1) // 2, self.n // 2]
        found, seen = [], 0
        for b in sorted(self.buckets):
            seen += self.buckets[b]
            while wanted and wanted[0] < seen:
                found.append(b * BUCKET_S)
                wanted.pop(0)
        return sum(found) / 2

    def stats(self) -> dict[str, float | None]:
        if not self.n:
            return {"avg_min": None, "median_min": None, "max_min": None}
        return {"avg_min": round(self.total_s / self.n / 60, 1), "median_min": round(self.median_s() / 60, 1),
                "max_min": round(self.max_s / 60, 1)}

    def at_least(self, seconds: float) -> int:
        """How many lasted `seconds` or more (to the step)."""
        return sum(n for b, n in self.buckets.items() if b * BUCKET_S >= seconds)

    def histogram(self, bins: list[tuple[int, int | None]]) -> list[dict]:
        """How many fall in each [lo, hi) bin of minutes (bins cover 0 upwards without gaps)."""
        counts = [0] * len(bins)
        edges = [lo * 60 for lo, _ in bins[1:]]
        for b, n in self.buckets.items():
            counts[bisect_right(edges, b * BUCKET_S)] += n
        return [{"bin": _bin_label(lo, hi), "count": c, "share": round(100 * c / self.n, 1) if self.n else None}
                for (lo, hi), c in zip(bins, counts, strict=True)]


def _counters() -> defaultdict:
    return defaultdict(Counter)


def _durations() -> defaultdict:
    return defaultdict(Durations)


@dataclass
class Tallies:
    """What a period's report is made of: counts and durations, from the tickets one by one
    (`tallies_from_facts`) or from the database's GROUP BY (`hallserver.reports.queries`)."""
    categories: dict[str, Counter] = field(default_factory=_counters)   # "issued" and each status
    days: dict[date, Counter] = field(default_factory=_counters)        # issued, served
    hours: dict[int, Counter] = field(default_factory=_counters)        # by local hour: issued, served
    waits: dict[str, Durations] = field(default_factory=_durations)     # per category
    services: dict[str, Durations] = field(default_factory=_durations)  # per category
    windows: dict[str, Durations] = field(default_factory=_durations)   # service times per window
    staff: dict[str, Durations] = field(default_factory=_durations)     # service times per staff member
    ratings: Counter = field(default_factory=Counter)                   # (window, staff, level, channel) → n


TALLIES_VERSION = 1     # bump when Tallies or the way they are counted changes: old day rollups are rebuilt


def merge_tallies(parts: list[Tallies]) -> Tallies:
    """The tallies of several periods as one (counts and durations add up)."""
    out = Tallies()
    for t in parts:
        for book, into in ((t.categories, out.categories), (t.days, out.days), (t.hours, out.hours)):
            for key, counts in book.items():
                into[key].update(counts)
        for book, into in ((t.waits, out.waits), (t.services, out.services), (t.windows, out.windows),
                           (t.staff, out.staff)):
            for key, durations in book.items():
                into[key].merge(durations)
        out.ratings.update(t.ratings)
    return out


def tallies_to_json(t: Tallies) -> str:
    """A day's tallies as text for the `report_days` rollup table."""

    def durations(book: dict[str, Durations]) -> dict:
        return {k: {"b": {str(b): n for b, n in d.buckets.items()}, "n": d.n, "t": d.total_s, "m": d.max_s}
                for k, d in book.items()}
    return json.dumps({
        "v": TALLIES_VERSION, "categories": {k: dict(v) for k, v in t.categories.items()},
        "days": {k.isoformat(): dict(v) for k, v in t.days.items()},
        "hours": {str(k): dict(v) for k, v in t.hours.items()},
        "waits": durations(t.waits), "services": durations(t.services), "windows": durations(t.windows),
        "staff": durations(t.staff), "ratings": [[*k, n] for k, n in t.ratings.items()],
    }, ensure_ascii=False, separators=(",", ":"))


def tallies_from_json(text: str) -> Tallies | None:
    """The tallies back from the rollup table; None when written by another version."""
    data = json.loads(text)
    if data.get("v") != TALLIES_VERSION:
        return None
    t = Tallies()
    for k, v in data["categories"].items():
        t.categories[k].update(v)
    for k, v in data["days"].items():
        t.days[date.fromisoformat(k)].update(v)
    for k, v in data["hours"].items():
        t.hours[int(k)].update(v)
    for name in ("waits", "services", "windows", "staff"):
        book = getattr(t, name)
        for k, d in data[name].items():
            book[k] = Durations(Counter({int(b): n for b, n in d["b"].items()}), d["n"], d["t"], d["m"])
    for window, staff, level, channel, n in data["ratings"]:
        t.ratings[(window, staff, level, channel)] += n
    return t


def tallies_from_facts(tickets: list[TicketFact], ratings: list[RatingFact], tz, first: date,  # noqa: ANN001
                       last: date) -> Tallies:
    out = Tallies()
    local_hour = LocalHour(tz)
    for t in tickets:
        if not first <= t.day <= last:
            continue
        cat = out.categories[t.category]
        cat["issued"] += 1
        cat[t.status] += 1
        out.days[t.day]["issued"] += 1
        out.hours[local_hour(t.issued_at)]["issued"] += 1
        if t.called_at is not None:
            out.waits[t.category].add((t.called_at - t.issued_at).total_seconds())
        if t.status == "completed":
            out.days[t.day]["served"] += 1
            if t.finished_at is not None:
                out.hours[local_hour(t.finished_at)]["served"] += 1
                if t.called_at is not None:
                    service = (t.finished_at - t.called_at).total_seconds()
                    out.services[t.category].add(service)
                    if t.window:
                        out.windows[t.window].add(service)
                    if t.staff:
                        out.staff[t.staff].add(service)
    for r in ratings:
        if first <= r.day <= last:
            out.ratings[(r.window, r.staff, r.level, r.channel)] += 1
    return out


def satisfaction_of(levels: Counter) -> float | None:
    """好评率: 基本满意 or better, of all ratings (levels: level → count)."""
    total = sum(levels.values())
    return round(100 * sum(n for lv, n in levels.items() if lv >= 3) / total, 1) if total else None


def hall_report(kind: str, day: date, tickets: list[TicketFact], ratings: list[RatingFact], tz,  # noqa: ANN001
                names: dict[str, str], staff_names: dict[str, str], wait_target_min: float) -> dict[str, Any]:
    """The whole report from the tickets and ratings one by one (the reference the SQL path matches)."""
    first, last, _ = period_bounds(kind, day)
    return report_from_tallies(kind, day, tallies_from_facts(tickets, ratings, tz, first, last), names,
                               staff_names, wait_target_min)


def report_from_tallies(kind: str, day: date, t: Tallies, names: dict[str, str], staff_names: dict[str, str],
                        wait_target_min: float) -> dict[str, Any]:
    """The whole report as plain data (what the page, the charts and the exports show)."""
    start, end, label = period_bounds(kind, day)
    per_cat = []
    for cat, counts in t.categories.items():
        row = {"category": cat, "name": names.get(cat, cat), "issued": counts["issued"],
               "served": counts["completed"], "no_show": counts["skipped"], "cancelled": counts["cancelled"],
               "waiting": counts["waiting"]}
        row.update({f"wait_{k}": v for k, v in t.waits.get(cat, Durations()).stats().items()})
        row.update({f"service_{k}": v for k, v in t.services.get(cat, Durations()).stats().items()})
        row["over_target"] = row["wait_avg_min"] is not None and row["wait_avg_min"] > wait_target_min
        per_cat.append(row)
    all_waits, all_services = Durations(), Durations()
    for d in t.waits.values():
        all_waits.merge(d)
    for d in t.services.values():
        all_services.merge(d)
    levels_by: dict[str, dict[str, Counter]] = {"window": defaultdict(Counter), "staff": defaultdict(Counter)}
    levels, channels = Counter(), Counter()
    for (window, staff, level, channel), n in t.ratings.items():
        levels_by["window"][window][level] += n
        levels_by["staff"][staff][level] += n
        levels[level] += n
        channels[channel] += n

    def people(book: dict[str, Durations], which: str, label_of: dict[str, str]) -> list[dict]:
        out = []
        for k in sorted(set(book) | set(levels_by[which])):
            served = book.get(k, Durations())
            got = levels_by[which].get(k, Counter())
            out.append({which: k, "name": label_of.get(k, k), "served": served.n,
                        "service_avg_min": served.stats()["avg_min"], "ratings": sum(got.values()),
                        "satisfaction": satisfaction_of(got)})
        return out
    issued = sum(r["issued"] for r in per_cat)
    no_show = sum(r["no_show"] for r in per_cat)
    over = all_waits.at_least(wait_target_min * 60)
    return {
        "period": kind, "period_name": PERIODS[kind], "label": label, "from": start.isoformat(),
        "to": end.isoformat(), "wait_target_min": wait_target_min,
        "totals": {"issued": issued, "served": sum(r["served"] for r in per_cat), "no_show": no_show,
                   "no_show_rate": round(100 * no_show / issued, 1) if issued else None,
                   "cancelled": sum(r["cancelled"] for r in per_cat),
                   "waiting": sum(r["waiting"] for r in per_cat),
                   **{f"wait_{k}": v for k, v in all_waits.stats().items()},
                   **{f"service_{k}": v for k, v in all_services.stats().items()},
                   "waited_over_target_share": round(100 * over / all_waits.n, 1) if all_waits.n else None,
                   "ratings": sum(levels.values()), "satisfaction": satisfaction_of(levels)},
        "by_category": sorted(per_cat, key=lambda c: (-c["issued"], c["category"])),
        "by_hour": [{"hour": h, "issued": t.hours[h]["issued"], "served": t.hours[h]["served"]}
                    for h in sorted(t.hours)],
        "by_day": [{"day": d.isoformat(), "issued": t.days[d]["issued"], "served": t.days[d]["served"]}
                   for d in sorted(t.days)],
        "wait_distribution": all_waits.histogram(WAIT_BINS),
        "service_distribution": all_services.histogram(SERVICE_BINS),
        "ratings_by_level": [{"level": lv, "name": LEVEL_NAMES[lv], "count": levels[lv]} for lv in (5, 4, 3, 2, 1)],
        "ratings_by_channel": [{"channel": ch, "name": CHANNEL_NAMES.get(ch, str(ch)), "count": channels[ch]}
                               for ch in sorted(channels)],
        "by_window": people(t.windows, "window", {}),
        "by_staff": people(t.staff, "staff", staff_names),
    }


# --------------------------------------------------------------------------- charts (pygal, SVG)
def chart_style():   # noqa: ANN201 - a pygal Style
    from pygal.style import Style  # pygal: only when a chart is drawn
    return Style(font_family='"Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif',
                 background="#ffffff", plot_background="#ffffff", foreground="#1d2733",
                 foreground_strong="#1d2733", foreground_subtle="#d9e1ea",
                 colors=("#0b4f9c", "#1a7f37", "#b45309", "#b42318", "#6b7280"),
                 label_font_size=13, major_label_font_size=13, legend_font_size=14, title_font_size=16,
                 value_font_size=12)


def render_chart(chart) -> str:   # noqa: ANN001
    return chart.render(is_unicode=True)


def label_room(labels: list[str]) -> dict[str, Any]:
    """Chart options so that many x labels (a county hall's twelve categories, thirty staff)
    stay readable: slanted, and a taller chart to hold them."""
    if len(labels) <= 6 and sum(len(x) for x in labels) <= 30:
        return {"x_labels": labels}
    return {"x_labels": labels, "x_label_rotation": 40 if len(labels) <= 16 else 60, "height": 360,
            "truncate_label": 8}


def count_axis(*series: list[int]) -> dict[str, Any]:
    """Whole-number ticks for counts (人次 are never 0.3)."""
    top = max([v for s in series for v in s] + [1])
    step = max(1, -(-top // 8))
    return {"y_labels": list(range(0, top + step, step))}


def report_charts(report: dict[str, Any]) -> dict[str, str]:
    """The report's charts as SVG text, each readable at a glance (titles and units in Chinese)."""
    import pygal  # pygal: only when a chart is drawn
    options = {"js": [], "style": chart_style(), "width": 760, "height": 300, "disable_xml_declaration": True,
               "legend_at_bottom": True, "print_values": False, "show_y_guides": True, "margin": 12,
               "no_data_text": "无数据"}
    charts: dict[str, str] = {}
    hours = report["by_hour"]
    hourly = pygal.Bar(title="按小时取号与办结（人次）", **options,
                       **count_axis([h["issued"] for h in hours], [h["served"] for h in hours]))
    hourly.x_labels = [f"{h['hour']}时" for h in report["by_hour"]]
    hourly.add("取号", [h["issued"] for h in report["by_hour"]])
    hourly.add("办结", [h["served"] for h in report["by_hour"]])
    charts["by_hour"] = render_chart(hourly)
    if report["period"] != "day":
        days = report["by_day"]
        daily = pygal.Line(title="每日取号与办结（人次）", **options,
                           **count_axis([d["issued"] for d in days], [d["served"] for d in days]))
        daily.x_labels = [d["day"][5:] for d in report["by_day"]]
        daily.add("取号", [d["issued"] for d in report["by_day"]])
        daily.add("办结", [d["served"] for d in report["by_day"]])
        charts["by_day"] = render_chart(daily)
    rows = report["by_category"]
    cats = pygal.Bar(title=f"各业务平均等候（分钟，红色为超过目标 {report['wait_target_min']:g} 分钟）",
                     **{**options, "show_legend": False, **label_room([c["name"] for c in rows])})
    cats.add("平均等候", [{"value": c["wait_avg_min"] or 0, "color": "#b42318" if c["over_target"] else "#0b4f9c"}
                      for c in rows])
    charts["wait_by_category"] = render_chart(cats)
    for key, title in (("wait_distribution", "等候时长分布（人次）"), ("service_distribution", "办理时长分布（件）")):
        dist = pygal.Bar(title=title, **{**options, "show_legend": False},
                         **count_axis([b["count"] for b in report[key]]))
        dist.x_labels = [b["bin"] for b in report[key]]
        dist.add("人次", [b["count"] for b in report[key]])
        charts[key] = render_chart(dist)
    pie = pygal.Pie(title=f"评价（好评率 {report['totals']['satisfaction'] or '—'}%）", inner_radius=.45,
                    **{**options, "width": 420})
    for lv in report["ratings_by_level"]:
        pie.add(lv["name"], lv["count"])
    charts["ratings"] = render_chart(pie)
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
    return tables_csv(_tables(report))


def report_xlsx(report: dict[str, Any]) -> bytes:
    return tables_xlsx(_tables(report))


Table = tuple[str, list[str], list[list[Any]]]     # title, header, rows


def tables_csv(tables: list[Table]) -> str:
    """Every table one after another, each under its title (UTF-8 with BOM: Excel reads the Chinese)."""
    out = io.StringIO()
    w = SafeCsvWriter(out)
    for title, header, rows in tables:
        w.writerow([f"【{title}】"])
        w.writerow(header)
        w.writerows([["" if v is None else v for v in row] for row in rows])
        w.writerow([])
    return "\ufeff" + out.getvalue()


def tables_xlsx(tables: list[Table]) -> bytes:
    """One sheet per table, header row bold and frozen, columns wide enough for the Chinese."""
    from openpyxl import Workbook  # openpyxl: only for an Excel file
    from openpyxl.styles import Font  # openpyxl: only for an Excel file
    book = Workbook()
    book.remove(book.active)
    for title, header, rows in tables:
        sheet = book.create_sheet(title)
        sheet.append(header)
        for cell in sheet[1]:
            cell.font = Font(bold=True)
        for row in rows:
            append_row(sheet, row)
        sheet.freeze_panes = "A2"
        for i, name in enumerate(header, start=1):
            sheet.column_dimensions[sheet.cell(1, i).column_letter].width = max(10, 2 * len(name) + 4)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
