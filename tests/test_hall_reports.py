"""运行报表: the figures of a day, a week and a month, their charts and their exports."""
import csv
import io
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallserver.reports.hall import (
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


def test_times_read_as_naive_utc_give_the_same_report_as_aware_ones():
    from datetime import UTC

    def naive(t):
        return t._replace(**{k: getattr(t, k).astimezone(UTC).replace(tzinfo=None)
                             for k in ("issued_at", "called_at", "finished_at") if getattr(t, k) is not None})
    tickets = [ticket(20, 7, 59), ticket(20, 8, 0, wait_min=55), ticket(20, 23, 30, wait_min=1, service_min=40),
               ticket(21, 0, 10, status="skipped")]
    aware = report("week", date(2026, 11, 20), tickets)
    assert report("week", date(2026, 11, 20), [naive(t) for t in tickets]) == aware
    assert {h["hour"] for h in aware["by_hour"]} == {0, 7, 8, 9, 23}            # 23:30+1+40 is 00:11 next day


def test_the_databases_group_by_gives_exactly_the_report_of_the_tickets_one_by_one(db_url):
    """SQLite and PostgreSQL count, sum and bucket the month; the result equals the pure reference."""
    import random

    from hallserver.reports.hall import report_from_tallies
    from hallserver.reports.queries import report_tallies
    from hallserver.store import Store
    from lab.demo import demo_config
    store = Store(db_url)
    store.migrate()
    from lab.bench_reports import fill
    config = demo_config(with_hours=False)
    today = date(2026, 11, 23)
    fill(store, config, today, 4000, 2500, 300, TZ, seed=11)
    rnd = random.Random(5)
    with store.engine.begin() as conn:                    # durations on the 6-second steps' edges, exactly
        from sqlalchemy import update

        from hallserver.store.tables import tickets
        for tid in rnd.sample(range(1, 3900), 200):
            issued = datetime(2026, 10, 5, 9, 0, tzinfo=TZ) + timedelta(seconds=rnd.randrange(0, 20000))
            called = issued + timedelta(seconds=6 * rnd.randrange(0, 400))
            conn.execute(update(tickets).where(tickets.c.id == tid, tickets.c.status == "completed")
                         .values(issued_at=issued, first_called_at=called, called_at=called,
                                 finished_at=called + timedelta(seconds=300)))
    for kind, day in (("month", date(2026, 10, 1)), ("week", date(2026, 11, 18)), ("day", today)):
        first, last, _ = period_bounds(kind, day)
        reference = hall_report(kind, day, store.ticket_facts(first, last), store.rating_facts(first, last), TZ,
                                NAMES, {}, 20)
        counted = report_from_tallies(kind, day, report_tallies(store.engine, first, last, TZ), NAMES, {}, 20)
        assert counted == reference and counted["totals"]["issued"] > 0
    store.close()


def test_settled_days_are_read_from_their_rollups_and_a_stale_rollup_is_rebuilt(db_url):
    from sqlalchemy import func, select, update

    from hallserver.reports.hall import report_from_tallies
    from hallserver.reports.queries import period_tallies, report_tallies, settled_before
    from hallserver.store import Store
    from hallserver.store.tables import report_days, tickets
    from lab.bench_reports import fill
    from lab.demo import demo_config
    store = Store(db_url)
    store.migrate()
    today = date(2026, 11, 23)
    fill(store, demo_config(with_hours=False), today, 3000, 1500, 100, TZ, seed=3)
    settled = settled_before(today, 7)
    assert settled == date(2026, 11, 15)
    now = datetime(2026, 11, 23, 12, tzinfo=TZ)
    first, last = date(2026, 11, 1), date(2026, 11, 30)
    def shown(t):                                                        # sums may differ in the last bit
        return report_from_tallies("month", first, t, NAMES, {}, 20)
    with_rollups = shown(period_tallies(store.engine, first, last, TZ, settled, now))
    assert with_rollups == shown(report_tallies(store.engine, first, last, TZ))
    with store.engine.connect() as conn:
        kept = [r.day for r in conn.execute(select(report_days.c.day).order_by(report_days.c.day))]
    assert kept == [date(2026, 11, d) for d in range(1, 15)]             # settled days only, weekends too
    with store.engine.begin() as conn:                                   # a day that changed behind the rollup...
        conn.execute(update(tickets).where(tickets.c.day == date(2026, 11, 10)).values(status="cancelled"))
    stale = shown(period_tallies(store.engine, first, last, TZ, settled, now))
    assert stale == with_rollups                                         # ...is read from its rollup (settled)
    with store.engine.begin() as conn:                                   # another version's rollup is rebuilt
        conn.execute(update(report_days).where(report_days.c.day == date(2026, 11, 10)).values(version=0))
    rebuilt = shown(period_tallies(store.engine, first, last, TZ, settled, now))
    assert rebuilt == shown(report_tallies(store.engine, first, last, TZ)) and rebuilt != with_rollups
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(report_days)).scalar() == 14
    store.close()


def test_tallies_survive_their_json_and_add_up():
    from hallserver.reports.hall import (
        merge_tallies,
        report_from_tallies,
        tallies_from_facts,
        tallies_from_json,
        tallies_to_json,
    )
    tickets = [ticket(20, 9, 0), ticket(20, 10, 0, category="business", status="skipped"), ticket(21, 9, 5)]
    ratings = [RatingFact(date(2026, 11, 20), "w1", "s001", 4, 3)]
    whole = tallies_from_facts(tickets, ratings, TZ, date(2026, 11, 20), date(2026, 11, 21))
    days = [tallies_from_facts(tickets, ratings, TZ, date(2026, 11, d), date(2026, 11, d)) for d in (20, 21)]
    merged = merge_tallies([tallies_from_json(tallies_to_json(t)) for t in days])
    assert report_from_tallies("week", date(2026, 11, 20), merged, NAMES, {}, 20) == \
        report_from_tallies("week", date(2026, 11, 20), whole, NAMES, {}, 20)
    assert merged.categories == whole.categories and merged.ratings == whole.ratings
    assert tallies_from_json(tallies_to_json(whole).replace('"v":1', '"v":0')) is None
