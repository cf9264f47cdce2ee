"""The report page's people part: 按期办结率 per department, 考勤 per person and AB岗 coverage
per post over the report's period, as figures, charts and tables."""
import json
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from hallserver.broker import free_port
from hallserver.domain.attendance import Post
from hallserver.domain.clock import SimClock
from hallserver.processor import CommandProcessor
from hallserver.reports.people import attendance_rows, coverage_rows, people_charts
from hallserver.store import Store
from hallserver.web.app import WebServer, create_app
from hallserver.web.dashboard import Dashboard
from hallserver.web.live import LiveView

TZ = ZoneInfo("Asia/Shanghai")


def test_coverage_is_summed_over_the_period_per_post():
    posts = [Post("p1", "户籍受理岗", "s003", "s001", ("residence",), True), Post("p2", "企业开办岗", "s002", "s003",
                                                                            ("business",), True)]
    minutes = {(date(2025, 11, 17), "p1"): {"A": 200.0, "B": 40.4, "none": 0.0},
               (date(2025, 11, 18), "p1"): {"A": 0.0, "B": 0.0, "none": 60.0},
               (date(2025, 11, 24), "p1"): {"A": 999.0, "B": 0.0, "none": 0.0},       # the next week
               (date(2025, 11, 17), "gone"): {"A": 5.0, "B": 0.0, "none": 0.0}}      # a post since removed
    rows = coverage_rows(minutes, posts, date(2025, 11, 17), date(2025, 11, 23))
    assert rows == [{"post": "p1", "name": "户籍受理岗", "a": 200, "b": 40, "none": 60, "covered_share": 80.0},
                    {"post": "p2", "name": "企业开办岗", "a": 0, "b": 0, "none": 0, "covered_share": None}]


def test_the_attendance_rate_leaves_out_the_shifts_on_leave():
    rows = attendance_rows([{"staff": "s001", "name": "王丽", "scheduled": 10, "present": 6, "leave_shifts": 2,
                             "late_times": 1, "early_times": 0, "absent_shifts": 2},
                            {"staff": "s002", "name": "李强", "scheduled": 2, "present": 0, "leave_shifts": 2,
                             "late_times": 0, "early_times": 0, "absent_shifts": 0}])
    assert [r["attendance_rate"] for r in rows] == [75.0, None]
    charts = people_charts([{"department": "市场监管局", "on_time_rate": 50.0}], rows, [])
    assert set(charts) == {"on_time", "attendance", "coverage"}
    assert "#b42318" in charts["on_time"] and "市场监管局" in charts["on_time"]   # below 100 %: red
    assert "王丽" in charts["attendance"] and "无数据" in charts["coverage"]


@pytest.fixture
def proc(config, db_url):
    store = Store(db_url)
    store.migrate()
    yield CommandProcessor(config, store, SimClock(datetime(2025, 11, 17, 9, 0, tzinfo=TZ)))   # a Monday
    store.close()


def send(proc, device, **command):
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command, ensure_ascii=False).encode())
    return next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device))


def test_the_week_of_a_hall_in_the_people_report(proc):
    send(proc, "kiosk-1", type="ticket.issue", category="business")
    send(proc, "counter-2", type="window.login", window="w2", staff="s002")      # 李强 at 09:00: on time
    send(proc, "counter-2", type="window.call_next", window="w2")
    proc.tick()
    codes = [send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence",
                  received={"登记申请书": 1, "经营者身份证明": 1, "经营场所证明": 1})["result"]["case"]["code"]
             for _ in range(2)]
    proc.clock.set(datetime(2025, 11, 17, 9, 30, tzinfo=TZ))
    proc.tick()                                  # half an hour: 企业开办岗 by its A, 户籍受理岗 by nobody
    for step in ("审核", "审批", "办结"):
        send(proc, "counter-2", type="case.advance", window="w2", case=codes[0], step=step)
    proc.clock.set(datetime(2025, 11, 21, 10, 0, tzinfo=TZ))      # Friday: the second case is overdue

    view = LiveView(proc.topics, proc.clock)
    dashboard = Dashboard("示范县政务服务中心", view, proc.store, proc.clock,
                          {x.id: x.name for x in proc.config.categories})
    dashboard.config = proc.config
    web = WebServer(create_app(dashboard, query=lambda fn: fn(proc)), "127.0.0.1", free_port()).start()
    try:
        check_the_week(httpx.Client(base_url=web.url, timeout=10))
    finally:
        web.stop()


def check_the_week(client):
    figures = client.get("/reports/people?period=week&date=2025-11-19&format=json").json()
    assert (figures["from"], figures["to"]) == ("2025-11-17", "2025-11-23")
    (market,) = figures["departments"]
    assert (market["department"], market["accepted"], market["finished"], market["on_time_rate"],
            market["open_overdue"]) == ("市场监管局", 2, 1, 100.0, 1)
    people = {r["staff"]: r for r in figures["attendance"]}
    assert people["s002"]["scheduled"] == 10 and people["s002"]["late_times"] == 0      # Monday to Friday, 2 a day
    assert people["s001"]["absent_shifts"] == 10 and people["s001"]["attendance_rate"] == 0.0
    coverage = {r["post"]: r for r in figures["coverage"]}
    assert coverage["front-business"]["a"] == 30 and coverage["front-residence"]["none"] == 30
    by_category = {r["category"]: r for r in figures["category_coverage"]}
    assert (by_category["business"]["name"], by_category["business"]["a"]) == ("企业开办", 30)
    assert by_category["residence"]["none"] == 30 and by_category["residence"]["covered_share"] == 0.0

    page = client.get("/reports/people?period=week&date=2025-11-19")
    assert page.status_code == 200
    for part in ('data-chart="on_time"', 'data-chart="attendance"', 'data-chart="coverage"', "市场监管局",
                 "企业开办岗", "2025-11 考勤表（Excel，按部门）"):
        assert part in page.text
    assert client.get("/reports/people?period=year").status_code == 400
    assert client.get("/reports/people?date=2025-13-01").status_code == 400
