"""运行报表: the figures of a day, a week and a month, their charts and their exports."""
import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallserver.hall_reports import (
    RatingFact,
    TicketFact,
    hall_report,
    period_bounds,
    report_charts,
    report_csv,
    report_xlsx,
)

TZ = ZoneInfo("Asia/Shanghai")
NAMES = {"social": "社保医保", "business": "企业开办"}


def ticket(day, hh, mm, category="social", status="completed", wait_min=10, service_min=6, window="w1",
           staff="s001"):
    issued = datetime(2026, 11, day, hh, mm, tzinfo=TZ)
    called = issued + timedelta(minutes=wait_min) if status in ("completed", "skipped") else None
    finished = called + timedelta(minutes=service_min) if status == "completed" else None
    return TicketFact(date(2026, 11, day), category, status, issued, called, finished, window, staff)


def report(kind, day, tickets, ratings=()):
    return hall_report(kind, day, tickets, list(ratings), TZ, NAMES, {"s001": "王丽"}, 20)


def test_periods_are_the_day_the_monday_to_sunday_week_and_the_calendar_month():
    assert period_bounds("day", date(2026, 11, 23))[:2] == (date(2026, 11, 23), date(2026, 11, 23))
    assert period_bounds("week", date(2026, 11, 25))[:2] == (date(2026, 11, 23), date(2026, 11, 29))
    assert period_bounds("month", date(2028, 2, 10))[:2] == (date(2028, 2, 1), date(2028, 2, 29))   # leap year
    assert period_bounds("month", date(2026, 12, 31))[:2] == (date(2026, 12, 1), date(2026, 12, 31))
    with pytest.raises(ValueError):
        period_bounds("year", date(2026, 1, 1))


def test_a_day_counts_served_no_shows_waits_and_service_per_category_and_hour():
    tickets = [ticket(20, 9, 0, wait_min=5), ticket(20, 9, 30, wait_min=35), ticket(20, 10, 5, status="skipped"),
               ticket(20, 10, 10, category="business", wait_min=25), ticket(20, 11, 0, status="cancelled"),
               ticket(20, 16, 50, status="waiting"), ticket(19, 9, 0)]                  # another day: not counted
    ratings = [RatingFact(date(2026, 11, 20), "w1", "s001", 5, 4),
               RatingFact(date(2026, 11, 20), "w1", "s001", 2, 3)]
    r = report("day", date(2026, 11, 20), tickets, ratings)
    t = r["totals"]
    assert (t["issued"], t["served"], t["no_show"], t["cancelled"], t["waiting"]) == (6, 3, 1, 1, 1)
    assert t["no_show_rate"] == 16.7 and t["satisfaction"] == 50.0 and t["ratings"] == 2
    social = next(c for c in r["by_category"] if c["category"] == "social")
    assert (social["issued"], social["served"], social["no_show"]) == (5, 2, 1)
    assert social["wait_avg_min"] == 16.7 and social["wait_max_min"] == 35.0      # (5 + 35 + 10) / 3, skipped too
    business = next(c for c in r["by_category"] if c["category"] == "business")
    assert business["over_target"] and not social["over_target"]
    assert {h["hour"]: h["issued"] for h in r["by_hour"]}[10] == 2
    assert {h["hour"]: h["served"] for h in r["by_hour"]}[10] == 2           # 9:30+35+6 and 10:10+25+6 end in 10时
    waits = {b["bin"]: b["count"] for b in r["wait_distribution"]}
    assert waits["5–10 分钟"] == 1 and waits["30–60 分钟"] == 1 and waits["0–5 分钟"] == 0   # 5 is in 5–10
    assert t["waited_over_target_share"] == 50.0                               # 35 and 25 of 5, 35, 10, 25
    assert r["by_staff"][0] == {"staff": "s001", "name": "王丽", "served": 3, "service_avg_min": 6.0,
                                "ratings": 2, "satisfaction": 50.0}


def test_an_empty_period_is_a_report_of_zeros_with_its_charts():
    r = report("week", date(2026, 11, 23), [])
    assert r["totals"]["issued"] == 0 and r["totals"]["wait_avg_min"] is None and r["by_category"] == []
    charts = report_charts(r)
    assert set(charts) >= {"by_hour", "by_day", "wait_distribution", "service_distribution", "ratings"}
    assert all(svg.lstrip().startswith("<svg") for svg in charts.values())


def test_the_exports_hold_the_same_figures_for_excel():
    from openpyxl import load_workbook
    r = report("month", date(2026, 11, 1), [ticket(20, 9, 0), ticket(21, 9, 0, category="business")])
    text = report_csv(r)
    assert text.startswith("\ufeff")                                         # Excel reads the Chinese
    rows = list(csv.reader(io.StringIO(text[1:])))
    assert ["【按业务】"] in rows and ["社保医保", "1", "1", "0", "0", "10.0", "10.0", "6.0"] in rows
    book = load_workbook(io.BytesIO(report_xlsx(r)))
    assert book.sheetnames[:3] == ["汇总", "按业务", "按小时"]
    assert [c.value for c in book["按日"][2]] == ["2026-11-20", 1, 1]
    assert book["按业务"].freeze_panes == "A2"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 30), st.integers(0, 23), st.integers(0, 59),
                          st.sampled_from(["social", "business", "ghost"]),
                          st.sampled_from(["completed", "skipped", "cancelled", "waiting", "called"]),
                          st.integers(0, 300), st.integers(0, 120)), max_size=60),
       st.sampled_from(["day", "week", "month"]), st.integers(1, 30))
def test_the_books_balance_whatever_the_tickets(rows, kind, day):
    tickets = [ticket(d, h, m, c, s, w, sv) for d, h, m, c, s, w, sv in rows]
    r = report(kind, date(2026, 11, day), tickets)
    t = r["totals"]
    first, last, _ = period_bounds(kind, date(2026, 11, day))
    assert t["issued"] == sum(1 for x in tickets if first <= x.day <= last)
    assert sum(b["count"] for b in r["wait_distribution"]) == sum(
        1 for x in tickets if first <= x.day <= last and x.called_at is not None)
    assert sum(c["issued"] for c in r["by_category"]) == t["issued"] == sum(h["issued"] for h in r["by_hour"])
    assert t["served"] + t["no_show"] + t["cancelled"] + t["waiting"] <= t["issued"]
