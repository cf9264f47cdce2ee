"""Attendance, leave and the front desk, on a simulated clock, at their edges."""
import time as timer
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hallserver.calendar_source import work_calendar
from hallserver.domain.attendance import (
    ClockEvent,
    FrontDeskWatch,
    LeaveBook,
    LeaveError,
    PauseSpan,
    Post,
    Roster,
    Shift,
    day_figures,
)

TZ = ZoneInfo("Asia/Shanghai")
CAL = work_calendar()
SHIFTS = [Shift("上午", time(9, 0), time(12, 0)), Shift("下午", time(13, 30), time(17, 30)),
          Shift("延时", time(17, 30), time(19, 0), weekdays=frozenset({2}))]      # 延时服务 on Wednesdays


def at(d, hh, mm=0, month=11):
    return datetime(2025, month, d, hh, mm, tzinfo=TZ)


def clock(staff, *times, kind="in", source="terminal"):
    return [ClockEvent(staff, t, kind, source) for t in times]


def figures(events, pauses=(), leaves=(), day=date(2025, 11, 17)):
    return day_figures("s1", day, SHIFTS, list(events), list(pauses), list(leaves), CAL, TZ)


def test_exactly_at_the_grace_is_on_time_a_minute_later_is_late_from_the_start():
    on_time = figures(clock("s1", at(17, 9, 5), at(17, 13, 30)) + clock("s1", at(17, 12), at(17, 17, 30), kind="out"))
    assert (on_time.late_min, on_time.early_min, on_time.absent_shifts) == (0, 0, 0)
    late = figures(clock("s1", at(17, 9, 6), at(17, 13, 30)))
    assert late.shifts[0].late_min == 6


def test_across_lunch_an_early_leave_and_an_absent_afternoon():
    f = figures(clock("s1", at(17, 8, 50)) + clock("s1", at(17, 11, 40), kind="out"))
    assert f.shifts[0].early_min == 20 and f.shifts[1].absent
    back = figures(clock("s1", at(17, 8, 50), at(17, 11, 45)) + clock("s1", at(17, 11, 30), at(17, 12, 1),
                                                                        kind="out"))
    assert back.shifts[0].early_min == 0                                  # out, back in, out after noon


def test_long_pauses_count_as_away_beyond_the_allowed_minutes():
    f = figures(clock("s1", at(17, 9), at(17, 13, 30)), pauses=[PauseSpan("s1", at(17, 10), at(17, 10, 40)),
                                                                 PauseSpan("s1", at(17, 14), at(17, 14, 10))])
    assert f.away_min == 25                                                # 40 − 15; the 10-minute one is fine


def test_a_tiaoxiu_saturday_is_a_working_day_and_a_holiday_is_not():
    saturday = figures([], day=date(2025, 9, 28))                          # 调休 Sunday worked
    assert [s.shift for s in saturday.shifts] == ["上午", "下午"] and saturday.absent_shifts == 2
    assert figures([], day=date(2025, 10, 2)).shifts == []                 # 国庆
    wednesday = figures([], day=date(2025, 11, 19))
    assert [s.shift for s in wednesday.shifts] == ["上午", "下午", "延时"]


def test_overnight_last_nights_clock_in_is_not_this_mornings_and_a_leave_over_the_night_covers_both_halves():
    # clocked in at 22:00 the evening before (overtime, or a mistaken press) and not again: absent this morning
    f = figures(clock("s1", at(16, 22, 0)) + clock("s1", at(17, 13, 20)))
    assert f.shifts[0].absent and not f.shifts[1].absent and f.shifts[1].late_min == 0
    # out after midnight from the 延时 night before counts for nothing today: still on time at 08:59
    f = figures(clock("s1", at(17, 0, 30), kind="out") + clock("s1", at(17, 8, 59), at(17, 13, 30)))
    assert (f.absent_shifts, f.late_min, f.early_min) == (0, 0, 0)
    # in early the same morning and not out since: present, on time (the day starts at midnight)
    assert not figures(clock("s1", at(17, 6, 0))).shifts[0].absent
    assert figures(clock("s1", at(17, 6, 0)) + clock("s1", at(17, 6, 30), kind="out")).shifts[0].absent
    # a leave from Monday 13:30 to Tuesday 12:00: Monday afternoon and Tuesday morning, nothing else
    book = LeaveBook([])
    leave = book.request("s1", "事假", at(17, 13, 30), at(18, 12, 0), "家中有事")
    book.decide(leave.id, "m1", approve=True)
    monday, tuesday = figures([], [], [leave]), figures([], [], [leave], day=date(2025, 11, 18))
    assert [(x.on_leave, x.absent) for x in monday.shifts] == [(False, True), (True, False)]
    assert [(x.on_leave, x.absent) for x in tuesday.shifts] == [(True, False), (False, True)]


def test_leave_spanning_a_holiday_covers_its_shifts_and_corrections_are_their_own_records():
    book = LeaveBook([])
    leave = book.request("s1", "年休假", at(30, 0, month=9), at(10, 23, month=10), "探亲")
    book.decide(leave.id, "m1", approve=True)
    assert figures([], [], [leave], day=date(2025, 9, 30)).leave_shifts == 2
    assert figures([], [], [leave], day=date(2025, 10, 9)).absent_shifts == 0
    fixed = clock("s1", at(17, 9, 0), source="correction")                  # the terminal failed; a manager adds it
    assert figures(fixed).shifts[0].late_min == 0


def test_leave_is_refused_when_a_post_would_have_neither_a_nor_b():
    posts = [Post("p1", "社保受理岗", a="s1", b="s2", categories=("social",), front_desk=True)]
    book = LeaveBook(posts)
    b_away = book.request("s2", "病假", at(17, 0), at(19, 23), "")
    book.decide(b_away.id, "m1", approve=True)
    a_away = book.request("s1", "事假", at(18, 0), at(18, 23), "")
    with pytest.raises(LeaveError) as info:
        book.decide(a_away.id, "m1", approve=True)
    assert info.value.code == "post_uncovered" and "社保受理岗" in str(info.value)
    book.decide(a_away.id, "m1", approve=True, cover="s3")                # the manager names another cover
    assert a_away.status == "approved" and a_away.cover == "s3"
    with pytest.raises(LeaveError):
        book.decide(book.request("m1", "事假", at(20, 0), at(20, 23), "").id, "m1", approve=True)
    book.end(b_away.id, at(18, 9))                                         # 销假: back early
    assert b_away.status == "ended"


def test_the_front_desk_alert_opens_the_moment_it_is_empty_and_closes_with_its_duration():
    posts = [Post("p1", "社保受理岗", a="s1", b="s2", categories=("social",), front_desk=True)]
    watch = FrontDeskWatch(posts, ["social"])
    w = {"id": "w1", "staff": "s1", "status": "idle", "categories": ["social"]}
    assert watch.update(at(17, 9), [w], open_now=True) == []
    changes = watch.update(at(17, 10), [{**w, "status": "paused"}], open_now=True)
    assert changes[0][0] == "opened" and changes[0][1].category == "social"
    b = {"id": "w3", "staff": "s2", "status": "idle", "categories": ["social", "business"]}
    (kind, alert), = watch.update(at(17, 10, 12), [{**w, "status": "paused"}, b], open_now=True)
    assert kind == "closed" and alert.minutes == 12
    watch.update(at(17, 11), [{**w, "status": "paused"}, b], open_now=True)
    minutes = watch.minutes[(date(2025, 11, 17), "p1")]
    assert (round(minutes["A"]), round(minutes["none"]), round(minutes["B"])) == (60, 12, 48)
    assert watch.update(at(17, 12, 30), [], open_now=False) == []          # closed hours: no alert
    social = watch.category_minutes[(date(2025, 11, 17), "social")]
    assert {k: round(v) for k, v in social.items()} == {"A": 60, "B": 48, "other": 0, "none": 12}
    # someone who is neither A nor B of the post serving the category: covered, by someone else
    watch.update(at(17, 13, 30), [{"id": "w2", "staff": "s9", "status": "serving", "categories": ["social"]}],
                 open_now=True)
    watch.update(at(17, 13, 50), [], open_now=True)
    assert round(watch.category_minutes[(date(2025, 11, 17), "social")]["other"]) == 20


# --------------------------------------------------------------------------- through the server
import json  # noqa: E402
import uuid  # noqa: E402

from govhall.config import DeviceConfig, PostConfig  # noqa: E402
from hallserver.domain.clock import SimClock  # noqa: E402
from hallserver.processor import CommandProcessor  # noqa: E402
from hallserver.store import Store  # noqa: E402


@pytest.fixture
def proc(config, db_url):
    config.posts = [PostConfig(id="p1", name="社保受理岗", a="s001", b="s003", categories=["social"],
                               front_desk=True)]                      # instead of the demo hall's posts
    config.devices.append(DeviceConfig(id="door-1", role="attendance-terminal"))
    store = Store(db_url)
    store.migrate()
    yield CommandProcessor(config, store, SimClock(at(17, 8, 55)))
    store.close()


def send(proc, device, **command):
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command, ensure_ascii=False).encode())
    reply = next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device))
    events = [json.loads(o.payload) for o in out if o.topic.endswith("/event/coverage.alert")]
    return reply, events


def web(proc, **command):
    reply, _ = proc.handle_local(json.dumps({"id": uuid.uuid4().hex, **command}, ensure_ascii=False).encode())
    return reply


def test_terminals_counters_and_corrections_make_the_day_and_the_month(proc):
    assert send(proc, "door-1", type="attendance.clock", staff="s002", kind="in", method="face")[0]["ok"]
    assert send(proc, "door-1", type="attendance.clock", staff="nobody", kind="in")[0]["error"]["code"] == \
        "unknown_staff"
    proc.clock.set(at(17, 9, 12))
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")          # a login is a clock-in: late
    proc.clock.set(at(17, 12, 0))
    send(proc, "door-1", type="attendance.clock", staff="s002", kind="out", method="face")
    fixed = web(proc, type="attendance.correct", staff="s003", kind="in", at=at(17, 8, 58).isoformat(), by="m001",
                reason="指纹机故障")
    assert fixed["ok"]
    assert web(proc, type="attendance.correct", staff="s003", kind="in", at=at(17, 8, 58).isoformat(),
               by="m001", reason="")["error"]["code"] == "invalid"                  # a correction needs its why
    proc.clock.set(at(17, 18, 0))
    day = {r["staff"]: r for r in proc.attendance.day(date(2025, 11, 17), TZ)}
    assert day["s001"]["late_min"] == 12 and day["s001"]["shifts"][0]["clock_in"].endswith("09:12:00+08:00")
    assert day["s002"]["late_min"] == 0 and day["s003"]["shifts"][0]["clock_in"].endswith("08:58:00+08:00")
    assert day["s002"]["absent_shifts"] == 1                                        # out at noon, never back
    assert day["s001"]["absent_shifts"] == 0                                        # logged in over lunch: present
    from hallserver.attendance_desk import month_csv
    rows = proc.attendance.month(2025, 11, TZ, date(2025, 11, 17))
    sheet = month_csv(rows, 2025, 11)
    assert sheet.startswith("\ufeff2025年11月考勤表") and "s001,王丽" in sheet and "本人签字" in sheet


def test_leave_needs_a_cover_when_a_and_b_would_both_be_away(proc):
    b = web(proc, type="leave.act", action="request", staff="s003", kind="病假", start=at(18, 0).isoformat(),
            end=at(19, 23).isoformat(), reason="发烧")
    assert web(proc, type="leave.act", action="decide", leave=b["result"]["leave"]["id"], manager="m001",
               approve=True)["ok"]
    a = web(proc, type="leave.act", action="request", staff="s001", kind="事假", start=at(19, 0).isoformat(),
            end=at(19, 23).isoformat(), reason="")
    refused = web(proc, type="leave.act", action="decide", leave=a["result"]["leave"]["id"], manager="m001",
                  approve=True)
    assert refused["error"]["code"] == "post_uncovered" and "社保受理岗" in refused["error"]["detail"]
    ok = web(proc, type="leave.act", action="decide", leave=a["result"]["leave"]["id"], manager="m001",
             approve=True, cover="s002")
    assert ok["result"]["leave"]["status"] == "approved" and ok["result"]["leave"]["cover"] == "s002"
    rebuilt = CommandProcessor(proc.config, proc.store, proc.clock)                   # kept across a restart
    assert [lv.status for lv in rebuilt.attendance.leaves.leaves.values()] == ["approved", "approved"]


def test_the_front_desk_alert_opens_and_closes_as_windows_pause_and_resume(proc):
    proc.clock.set(at(17, 9, 0))
    _, events = send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    assert events == [] or events[-1]["open"] is False
    proc.clock.set(at(17, 10, 0))
    _, events = send(proc, "counter-1", type="window.pause", window="w1", reason="meeting")
    # w3 also takes social, but nobody is logged in there: the front desk is empty
    assert events and events[0]["category"] == "social" and events[0]["open"]
    proc.clock.set(at(17, 10, 9))
    _, events = send(proc, "counter-3", type="window.login", window="w3", staff="s003")   # B comes
    assert events[0]["open"] is False and events[0]["minutes"] == 9
    rows = proc.store.coverage_history(at(17, 0))
    assert [(r["category"], r["ended_at"] is not None) for r in rows][-1] == ("social", True)


def test_attendance_and_leave_over_http(config, embedded_broker, sqlite_url):
    import httpx

    from hallserver.broker import free_port
    from tests.conftest import running_hall
    config.posts = [PostConfig(id="p1", name="社保受理岗", a="s001", b="s003", categories=["social"])]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        base = server.dashboard_url
        made = httpx.post(base + "api/leaves", json={"staff": "s001", "kind": "年休假", "reason": "探亲",
                                                     "start": "2026-12-01T00:00:00+08:00",
                                                     "end": "2026-12-02T23:00:00+08:00"}, timeout=5)
        assert made.status_code == 201 and made.json()["leave"]["status"] == "requested"
        leave_id = made.json()["leave"]["id"]
        sneaky = httpx.post(base + "api/leaves", json={"type": "appointment.book", "staff": "s002", "kind": "事假",
                                                       "start": "2026-12-01T00:00:00+08:00",
                                                       "end": "2026-12-01T23:00:00+08:00"}, timeout=5)
        assert sneaky.status_code == 201 and "leave" in sneaky.json()          # the route decides the command
        assert httpx.post(base + f"api/leaves/{leave_id}/decide", json={"manager": "s001", "approve": True},
                          timeout=5).status_code == 403                          # not one's own leave
        done = httpx.post(base + f"api/leaves/{leave_id}/decide", json={"manager": "m001", "approve": True},
                          timeout=5)
        assert done.status_code == 200 and done.json()["leave"]["status"] == "approved"
        b_leave = {"staff": "s003", "kind": "事假", "start": "2026-12-02T11:59:00+08:00",
                   "end": "2026-12-02T17:00:00+08:00"}
        for cover, status, code in (("s999", 400, "unknown_cover"), ("s003", 400, "cover_is_self"),
                                    ("s001", 409, "cover_unavailable")):      # s001 is on leave that day
            answer = httpx.post(base + "api/leaves", json={**b_leave, "cover": cover}, timeout=5)
            assert (answer.status_code, answer.json()["error"]["code"]) == (status, code)
        b_made = httpx.post(base + "api/leaves", json=b_leave, timeout=5).json()["leave"]["id"]
        uncovered = httpx.post(base + f"api/leaves/{b_made}/decide", json={"manager": "m001", "approve": True},
                               timeout=5)
        assert uncovered.status_code == 409 and uncovered.json()["error"]["code"] == "post_uncovered"
        device("counter-1").request({"type": "window.login", "window": "w1", "staff": "s002"})
        today = httpx.get(base + "api/attendance/day", timeout=5).json()
        assert {r["staff"] for r in today["staff"]} == {"s001", "s002", "s003"}
        sheet = httpx.get(base + "api/attendance/month?format=csv", timeout=5)
        assert sheet.status_code == 200 and "考勤表" in sheet.text
        assert httpx.get(base + "api/attendance/month?month=2026-13", timeout=5).status_code == 400
        assert httpx.get(base + "api/attendance/month?format=pdf", timeout=5).status_code == 400


def test_the_monthly_sheet_is_signed_per_department(proc):
    import io

    from openpyxl import load_workbook

    from hallserver.attendance_desk import month_csv, month_xlsx
    proc.config.staff[0].department = "人社局"          # 王丽
    proc.config.staff[2].department = "人社局"          # 张敏; 李强 has none
    proc.clock.set(at(17, 9, 3))
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    proc.clock.set(at(18, 8, 0))
    rows = proc.attendance.month(2025, 11, TZ, date(2025, 11, 17))
    assert {r["staff"]: r["department"] for r in rows} == {"s001": "人社局", "s002": "", "s003": "人社局"}
    book = load_workbook(io.BytesIO(month_xlsx(rows, 2025, 11, "示范县政务服务中心")))
    assert book.sheetnames == ["考勤表", "人社局"]
    sheet = book["人社局"]
    assert sheet["A1"].value == "示范县政务服务中心 2025年11月考勤表（人社局）"
    assert [c.value for c in sheet[2]][-1] == "本人签字"
    assert [(r[0].value, r[1].value, r[3].value, r[9].value) for r in sheet.iter_rows(min_row=3, max_row=4)] == \
        [("s001", "王丽", 22, 20), ("s003", "张敏", 22, 22)]    # 1–17 Nov: 11 working days; 王丽 came on the 17th
    assert sheet.cell(6, 1).value == "部门负责人签字："
    text = month_csv(rows, 2025, 11)
    assert "2025年11月考勤表（人社局）" in text and text.index("s002") < text.index("（人社局）")


def test_the_coverage_report_counts_minutes_by_a_b_and_uncovered(proc):
    proc.clock.set(at(17, 9, 0))
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    proc.clock.set(at(17, 10, 0))
    send(proc, "counter-1", type="window.pause", window="w1", reason="meeting")
    proc.clock.set(at(17, 10, 30))
    send(proc, "counter-3", type="window.login", window="w3", staff="s003")
    proc.clock.set(at(17, 11, 0))
    proc.tick()
    minutes = proc.attendance.watch.minutes[(date(2025, 11, 17), "p1")]
    assert (round(minutes["A"]), round(minutes["none"]), round(minutes["B"])) == (60, 30, 30)
    restarted = CommandProcessor(proc.config, proc.store, proc.clock)        # stored on the tick, kept
    assert restarted.attendance.watch.minutes[(date(2025, 11, 17), "p1")] == {"A": 60.0, "B": 30.0, "none": 30.0}
    assert restarted.attendance.watch.category_minutes[(date(2025, 11, 17), "social")] == \
        {"A": 60.0, "B": 30.0, "other": 0.0, "none": 30.0}
    assert not proc.attendance.watch.changed                                   # all of it saved


def test_when_a_is_away_the_posts_categories_go_to_bs_window_until_a_is_back(config, db_url):
    config.posts = [PostConfig(id="biz", name="企业开办岗", a="s002", b="s001", categories=["business"])]
    store = Store(db_url)
    store.migrate()
    p = CommandProcessor(config, store, SimClock(at(17, 8, 50)))
    send(p, "counter-1", type="window.login", window="w1", staff="s001")          # B at window 1 (social, residence)
    send(p, "kiosk-1", type="ticket.issue", category="business")
    assert p.engine.windows["w1"].categories == ("social", "residence")          # before the shift: nothing moves
    p.clock.set(at(17, 9, 6))                                                      # past start + grace, no A
    out = p.tick()
    events = [json.loads(o.payload) for o in out if o.topic.endswith("/event/post.coverage")]
    assert events == [{"type": "post.coverage", "post": "biz", "name": "企业开办岗", "a": "s002", "b": "s001",
                       "state": "b", "window": "w1"}]
    assert p.engine.windows["w1"].categories == ("social", "residence", "business")
    reply, _ = send(p, "counter-1", type="window.call_next", window="w1")
    assert reply["result"]["ticket"]["number"] == "B001"                           # B serves the post
    send(p, "counter-1", type="window.complete", window="w1")
    send(p, "counter-2", type="window.login", window="w2", staff="s002")          # A is back
    assert p.engine.windows["w1"].categories == ("social", "residence")
    assert p.attendance.post_states["biz"]["state"] == "a"
    store.close()


def test_a_part_time_schedule_counts_only_its_own_shifts():
    f = day_figures("s1", date(2025, 11, 17), SHIFTS, [], [], [], CAL, TZ, works={"上午"})
    assert [s.shift for s in f.shifts] == ["上午"] and f.absent_shifts == 1


def test_posts_from_a_csv_beside_hall_toml(tmp_path):
    from pathlib import Path

    from govhall.config import ConfigError
    from govhall.config_file import load_config
    example = (Path(__file__).parent.parent / "examples" / "hall.toml").read_text(encoding="utf-8")
    (tmp_path / "hall.toml").write_text(example + '\n[attendance]\nposts_csv = "posts.csv"\n', encoding="utf-8")
    (tmp_path / "posts.csv").write_text("id,name,a,b,categories,front_desk\n"
                                        "p9,社保受理岗,s001,s002,social|residence,是\n", encoding="utf-8")
    post = next(p for p in load_config(tmp_path / "hall.toml").posts if p.id == "p9")
    assert post.categories == ["social", "residence"] and post.front_desk and (post.a, post.b) == ("s001", "s002")
    (tmp_path / "posts.csv").write_text("id,name,a,b,categories,front_desk\np9,岗,s001,s404,social,否\n",
                                        encoding="utf-8")
    with pytest.raises(ConfigError, match="posts.csv: posts.*unknown staff 's404'"):
        load_config(tmp_path / "hall.toml")


def test_a_counter_offline_in_a_shift_counts_as_away_beyond_the_allowed_minutes(proc):
    presence = proc.topics.presence("counter-1")
    proc.clock.set(at(17, 8, 58))
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    proc.clock.set(at(17, 10, 0))
    proc.handle(presence, b'{"type": "device.presence", "online": false}')      # the counter's last will
    proc.handle(presence, b'{"type": "device.presence", "online": false}')      # said twice: one span
    proc.clock.set(at(17, 10, 40))
    proc.handle(presence, b'{"type": "device.presence", "online": true}')
    proc.handle(presence, b'not json at all')                                    # logged and dropped
    day = {r["staff"]: r for r in proc.attendance.day(date(2025, 11, 17), TZ)}
    assert day["s001"]["away_min"] == 25                                          # 40 minutes − 15 allowed


def test_devices_say_when_they_go_and_come(config, embedded_broker, sqlite_url):
    from govhall.link import DeviceLink
    from tests.conftest import running_hall
    with running_hall(config, embedded_broker.url, sqlite_url) as (server, device):
        counter = DeviceLink(config.hall.id, "counter-1", embedded_broker.url).connect()
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        counter.close()                                                           # the PC is switched off
        deadline = timer.monotonic() + 5
        spans = []
        while not spans and timer.monotonic() < deadline:
            now = server.clock.now()
            spans = server.store.offline_spans(now - timedelta(hours=1), now + timedelta(hours=1))
            timer.sleep(0.05)
        assert [s.staff for s in spans] == ["s001"]


def test_logged_in_over_lunch_is_present_in_the_afternoon_and_on_time():
    f = figures(clock("s1", at(17, 8, 55), source="counter"))
    assert f.absent_shifts == 0 and f.shifts[1].late_min == 0


def test_a_logout_ends_the_offline_span_of_a_counter_that_never_comes_back(proc):
    presence = proc.topics.presence("counter-1")
    proc.clock.set(at(17, 9, 0))
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    proc.clock.set(at(17, 16, 50))
    proc.handle(presence, b'{"type": "device.presence", "online": false}')
    proc.clock.set(at(17, 17, 20))
    send(proc, "counter-1", type="window.logout", window="w1")            # (from another PC, or the keypad)
    spans = proc.store.offline_spans(at(17, 0), at(24, 0))
    assert [(s.start, s.end) for s in spans] == [(at(17, 16, 50), at(17, 17, 20))]


def test_a_terminal_clocks_in_over_http_with_its_own_password_and_nobody_else_can(config, embedded_broker,
                                                                                  sqlite_url):
    import httpx

    from govhall.config import DeviceConfig
    from hallserver.broker import free_port
    from tests.conftest import running_hall
    config.devices.append(DeviceConfig(id="att-1", role="attendance-terminal", password="terminal-pass-2026"))
    config.devices.append(DeviceConfig(id="att-2", role="attendance-terminal"))          # no password: no HTTP
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, _):
        url = server.dashboard_url + "api/attendance/clock"

        def clock_in(auth, **body):
            return httpx.post(url, json={"id": "f-1", "staff": "s002", "kind": "in", "method": "face", **body},
                              auth=auth, timeout=5)
        first = clock_in(("att-1", "terminal-pass-2026"))
        assert first.status_code == 201 and first.json()["staff"] == "s002" and first.json()["kind"] == "in"
        again = clock_in(("att-1", "terminal-pass-2026"))                   # the terminal resends: one event
        assert again.status_code == 201 and again.json()["at"] == first.json()["at"]
        events = [e for e in server.store.clock_events(server.clock.now() - timedelta(hours=1),
                                                       server.clock.now() + timedelta(hours=1)) if e.staff == "s002"]
        assert [(e.kind, e.source) for e in events] == [("in", "terminal:face")]
        assert clock_in(("att-1", "wrong-password"), id="f-2").status_code == 401
        assert clock_in(("att-2", ""), id="f-3").status_code == 401
        assert clock_in(("counter-1", "x"), id="f-4").status_code == 401            # not a terminal
        assert httpx.post(url, json={"id": "f-5", "staff": "s002", "kind": "in"}, timeout=5).status_code == 401
        assert clock_in(("att-1", "terminal-pass-2026"), id="f-6", staff="s099").status_code == 404
        assert clock_in(("att-1", "terminal-pass-2026"), id="f-7", kind="sideways").status_code == 400
        bad = httpx.post(url, content=b"[1,2]", auth=("att-1", "terminal-pass-2026"), timeout=5)
        assert bad.status_code == 400
        for n in range(5):                      # someone elsewhere guessing five times does not lock it out
            httpx.post(url, json={"id": f"x-{n}", "staff": "s002", "kind": "in"}, auth=("att-1", f"guess-{n}"),
                       headers={"X-Forwarded-For": "10.0.0.66"}, timeout=5)
        assert clock_in(("att-1", "terminal-pass-2026"), id="f-9").status_code == 201
        for n in range(5):                      # five wrong passwords from its own address do
            clock_in(("att-1", f"guess-{n}"), id=f"g-{n}")
        assert clock_in(("att-1", "terminal-pass-2026"), id="f-8").status_code == 401


# --------------------------------------------------------------------------- stepping away, part-shift leave
def ins_and_outs(*pairs):
    """(in, out) pairs of 17 Nov: out None for no clock-out."""
    events = []
    for come, go in pairs:
        events += clock("s1", come)
        events += clock("s1", go, kind="out") if go else []
    return events


def approved(start, end, staff="s1", ended_at=None):
    book = LeaveBook([])
    leave = book.request(staff, "事假", start, end, "看病")
    book.decide(leave.id, "m1", approve=True)
    if ended_at:
        book.end(leave.id, ended_at)
    return leave


def morning(events, pauses=(), leaves=()):
    return figures(events, pauses, leaves).shifts[0]


def test_out_and_back_in_within_a_shift_is_away_beyond_the_limit_exactly_at_the_edges():
    hour = morning(ins_and_outs((at(17, 8, 55), at(17, 10, 30)), (at(17, 11, 30), None)))
    assert (hour.away_min, hour.early_min, hour.late_min) == (45, 0, 0)           # 60 − 15, not 早退
    limit = morning(ins_and_outs((at(17, 8, 55), at(17, 10, 30)), (at(17, 10, 45), None)))
    over = morning(ins_and_outs((at(17, 8, 55), at(17, 10, 30)), (at(17, 10, 46), None)))
    assert (limit.away_min, over.away_min) == (0, 1)                               # 15 allowed, 16 is one over
    ok = day_figures("s1", date(2025, 11, 17), SHIFTS, ins_and_outs((at(17, 8, 55), at(17, 10, 30)),
                                                                    (at(17, 10, 50), None)), [], [], CAL, TZ,
                     away_limit_min=20)
    assert ok.shifts[0].away_min == 0                                             # away_limit_minutes applies


def test_a_clock_out_and_back_in_does_not_erase_the_early_leave_after_it_or_the_hour_before():
    f = morning(ins_and_outs((at(17, 8, 55), at(17, 10, 30)), (at(17, 11, 30), at(17, 11, 40))))
    assert (f.away_min, f.early_min) == (45, 20)                                  # the hour away and the last 20
    never_back = morning(ins_and_outs((at(17, 8, 55), at(17, 10, 30))))
    assert (never_back.away_min, never_back.early_min) == (0, 90)
    back_after_the_end = figures(ins_and_outs((at(17, 8, 55), at(17, 10, 30)), (at(17, 12, 0), None)))
    assert back_after_the_end.shifts[0].early_min == 90 and back_after_the_end.shifts[1].late_min == 0
    last_minute = morning(ins_and_outs((at(17, 8, 55), at(17, 11, 59))))
    at_the_end = morning(ins_and_outs((at(17, 8, 55), at(17, 12, 0))))
    assert (last_minute.early_min, at_the_end.early_min) == (1, 0)


def test_a_pause_then_a_logout_is_one_stretch_away_and_a_morning_in_before_lunch_is_not_the_afternoons():
    events = ins_and_outs((at(17, 8, 55), at(17, 10, 20)), (at(17, 10, 40), None))
    f = morning(events, pauses=[PauseSpan("s1", at(17, 10, 0), at(17, 10, 20))])
    assert f.away_min == 25                                                       # 40 together − 15, not 5 + 5
    lunch = figures(ins_and_outs((at(17, 8, 55), at(17, 11, 30)), (at(17, 11, 45), at(17, 12, 1))))
    assert lunch.shifts[0].away_min == 0 and lunch.shifts[1].absent               # in at 11:45, out at 12:01


def test_leave_at_the_start_of_a_shift_moves_the_expected_arrival_and_the_grace():
    leave = approved(at(17, 9, 0), at(17, 10, 0))
    on_time = morning(clock("s1", at(17, 10, 5)), leaves=[leave])
    late = morning(clock("s1", at(17, 10, 6)), leaves=[leave])
    assert (on_time.late_min, on_time.leave_min, on_time.on_leave, on_time.absent) == (0, 60, False, False)
    assert late.late_min == 6                                                      # after the leave, not the start
    back_early = morning(clock("s1", at(17, 9, 30)), leaves=[approved(at(17, 9, 0), at(17, 12, 0),
                                                                      ended_at=at(17, 9, 30))])
    assert (back_early.late_min, back_early.leave_min, back_early.on_leave) == (0, 30, False)   # 销假 at 09:30


def test_leave_at_the_end_of_a_shift_covers_the_early_leave_and_counts_as_leave_minutes():
    leave = approved(at(17, 10, 0), at(17, 12, 0))
    f = figures(ins_and_outs((at(17, 8, 55), at(17, 10, 0))), leaves=[leave])
    assert (f.shifts[0].early_min, f.shifts[0].leave_min, f.shifts[0].on_leave) == (0, 120, False)
    assert f.leave_min == 120 and f.leave_shifts == 0 and f.early_min == 0
    before_it = morning(ins_and_outs((at(17, 8, 55), at(17, 9, 58))), leaves=[leave])
    assert before_it.early_min == 2                                               # out before the leave starts
    ends_at_the_out = morning(ins_and_outs((at(17, 8, 55), at(17, 10, 0))),
                              leaves=[approved(at(17, 9, 0), at(17, 10, 0))])
    assert (ends_at_the_out.early_min, ends_at_the_out.leave_min) == (120, 60)    # the leave is over: 早退
    whole = figures(ins_and_outs((at(17, 8, 55), at(17, 10, 0))), leaves=[approved(at(17, 9, 0), at(17, 12, 0))])
    assert whole.leave_shifts == 1 and whole.shifts[0].leave_min == 180 and whole.early_min == 0


def test_leave_in_the_middle_covers_the_time_away_and_only_part_of_an_early_leave_gap_is_excused():
    leave = approved(at(17, 10, 0), at(17, 11, 0))
    covered = morning(ins_and_outs((at(17, 8, 55), at(17, 10, 0)), (at(17, 11, 15), None)), leaves=[leave])
    over = morning(ins_and_outs((at(17, 8, 55), at(17, 10, 0)), (at(17, 11, 16), None)), leaves=[leave])
    assert (covered.away_min, covered.leave_min, over.away_min) == (0, 60, 1)    # 15 after it allowed, 16 not
    part = morning(ins_and_outs((at(17, 8, 55), at(17, 10, 0))), leaves=[approved(at(17, 10, 30), at(17, 11, 30))])
    assert (part.early_min, part.leave_min) == (60, 60)                           # 10:00–10:30 and 11:30–12:00
    never_came = morning([], leaves=[leave])
    assert never_came.absent and never_came.leave_min == 60                       # the rest of the shift: 缺勤
    requested = LeaveBook([]).request("s1", "事假", at(17, 10, 0), at(17, 12, 0), "")
    assert morning(ins_and_outs((at(17, 8, 55), at(17, 10, 0))), leaves=[requested]).early_min == 120


@given(st.lists(st.tuples(st.integers(0, 200), st.sampled_from(["in", "out"])), max_size=8),
       st.integers(0, 180), st.integers(0, 180))
@settings(max_examples=300, deadline=None)
def test_leave_only_ever_takes_minutes_away_and_no_minute_counts_twice(moves, leave_from, leave_for):
    events = [ClockEvent("s1", at(17, 8, 30) + timedelta(minutes=m), kind, "counter") for m, kind in moves]
    leave = approved(at(17, 9) + timedelta(minutes=leave_from), at(17, 9) + timedelta(minutes=leave_from + leave_for
                                                                                       + 1))
    plain, excused = morning(events), morning(events, leaves=[leave])
    assert excused.late_min <= plain.late_min and excused.early_min <= plain.early_min
    assert excused.away_min <= plain.away_min and excused.absent <= plain.absent
    for f in (plain, excused):                                  # late, early, away and leave never overlap
        assert f.late_min + f.early_min + f.away_min + f.leave_min <= 180
    assert excused.on_leave == (leave_from == 0 and leave_for >= 179)


# --------------------------------------------------------------------------- who may cover
HALL_SHIFTS = [Shift("上午", time(9, 0), time(12, 0)), Shift("下午", time(13, 30), time(17, 0))]


def book_with(works=None, posts=None):
    works = {"s1": None, "s2": None, "s3": None, "s4": frozenset({"上午"}), **(works or {})}
    posts = posts or [Post("p1", "社保受理岗", a="s1", b="s2", categories=("social",), front_desk=True)]
    return LeaveBook(posts, [], Roster(HALL_SHIFTS, CAL, TZ, works))


def refused(call, *args, **kwargs):
    with pytest.raises(LeaveError) as info:
        call(*args, **kwargs)
    return info.value.code


def test_a_cover_must_be_a_known_staff_member_other_than_the_person_on_leave():
    book = book_with()
    assert refused(book.request, "s1", "事假", at(18, 9), at(18, 12), "", cover="s999") == "unknown_cover"
    assert refused(book.request, "s1", "事假", at(18, 9), at(18, 12), "", cover="s1") == "cover_is_self"
    assert not book.leaves                                                         # nothing was requested
    leave = book.request("s1", "事假", at(18, 9), at(18, 12), "")
    assert refused(book.decide, leave.id, "m1", True, cover="s999") == "unknown_cover"
    assert refused(book.decide, leave.id, "m1", True, cover="s1") == "cover_is_self"
    assert book.decide(leave.id, "m1", True, cover="s3").cover == "s3" and leave.status == "approved"
    assert refused(book.request, "s3", "事假", at(18, 9), at(18, 9), "") == "invalid"
    assert refused(book.request, "s3", "产假", at(18, 9), at(18, 9) + timedelta(days=367), "") == "invalid"


def test_a_cover_on_leave_for_one_minute_of_the_hours_cannot_cover_and_one_just_before_can():
    book = book_with()
    s3_away = book.request("s3", "事假", at(18, 8, 0), at(18, 9, 1), "")
    book.decide(s3_away.id, "m1", True)
    leave = book.request("s1", "事假", at(18, 9, 0), at(18, 12, 0), "")
    assert refused(book.decide, leave.id, "m1", True, cover="s3") == "cover_unavailable"
    s2_away = book.request("s2", "事假", at(19, 11, 59), at(19, 13, 0), "")        # the last minute of the morning
    book.decide(s2_away.id, "m1", True)
    assert refused(book.request, "s3", "事假", at(19, 9, 0), at(19, 12), "", cover="s2") == "cover_unavailable"
    other = book_with()
    just_before = other.request("s3", "事假", at(18, 8, 0), at(18, 9, 0), "")     # ends as the leave begins
    other.decide(just_before.id, "m1", True)
    leave = other.request("s1", "事假", at(18, 9, 0), at(18, 12, 0), "", cover="s3")
    assert other.decide(leave.id, "m1", True).cover == "s3"                        # the request's cover
    evening = other.request("s2", "事假", at(19, 18, 0), at(19, 20, 0), "")       # outside every shift
    other.decide(evening.id, "m1", True)
    late = other.request("s1", "事假", at(19, 13, 30), at(19, 18, 30), "", cover="s2")
    assert late.cover == "s2"                                                      # 18:00 is nobody's shift


def test_a_cover_not_scheduled_for_a_shift_of_the_leave_cannot_cover_and_b_not_scheduled_means_no_b():
    book = book_with()
    afternoon = book.request("s1", "事假", at(18, 13, 30), at(18, 17, 0), "")
    assert refused(book.decide, afternoon.id, "m1", True, cover="s4") == "cover_unavailable"   # 上午 only
    morning_only = book.request("s3", "事假", at(19, 9, 0), at(19, 12, 0), "", cover="s4")
    assert book.decide(morning_only.id, "m1", True).status == "approved"
    part_time_b = book_with(posts=[Post("p1", "社保受理岗", a="s1", b="s4", categories=("social",))])
    whole_day = part_time_b.request("s1", "事假", at(18, 0), at(18, 23), "")
    assert refused(part_time_b.decide, whole_day.id, "m1", True) == "post_uncovered"   # no B in the afternoon
    assert part_time_b.decide(whole_day.id, "m1", True, cover="s3").status == "approved"
    only_mornings = part_time_b.request("s1", "事假", at(19, 9, 0), at(19, 12, 0), "")
    assert part_time_b.decide(only_mornings.id, "m1", True).cover is None          # B works mornings: fine


def test_b_on_leave_in_a_shift_of_as_leave_refuses_it_and_a_cover_cannot_go_on_leave_while_covering():
    book = book_with()
    b_away = book.request("s2", "病假", at(18, 11, 59), at(18, 12, 30), "")        # one minute of the morning
    book.decide(b_away.id, "m1", True)
    a_away = book.request("s1", "事假", at(18, 9, 0), at(18, 12, 0), "")
    assert refused(book.decide, a_away.id, "m1", True) == "post_uncovered"
    assert book.decide(a_away.id, "m1", True, cover="s3").cover == "s3"
    covering = book.request("s3", "年休假", at(18, 11, 0), at(18, 11, 30), "")
    assert refused(book.decide, covering.id, "m1", True) == "staff_covering"
    after = book.request("s3", "年休假", at(18, 13, 30), at(18, 17, 0), "")        # after the leave: fine
    assert book.decide(after.id, "m1", True).status == "approved"
    assert book.decide(covering.id, "m1", False).status == "rejected"             # a rejection needs no check


# --------------------------------------------------------------------------- the command path
def test_stepping_away_by_logout_shows_on_the_day_and_the_month_sheet(proc):
    from hallserver.attendance_desk import month_csv
    proc.clock.set(at(17, 8, 55))
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    proc.clock.set(at(17, 10, 30))
    send(proc, "counter-1", type="window.logout", window="w1")
    send(proc, "door-1", type="attendance.clock", staff="s001", kind="out", method="face")
    proc.clock.set(at(17, 11, 30))
    send(proc, "door-1", type="attendance.clock", staff="s001", kind="in", method="face")
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    proc.clock.set(at(17, 11, 59))
    send(proc, "counter-1", type="window.logout", window="w1")                    # the last minute of the shift
    proc.clock.set(at(17, 18, 0))
    day = {r["staff"]: r for r in proc.attendance.day(date(2025, 11, 17), TZ)}
    s001 = day["s001"]["shifts"][0]
    assert (s001["away_min"], s001["early_min"], s001["late_min"]) == (45, 1, 0)
    assert day["s001"]["shifts"][1]["absent"]
    month = {r["staff"]: r for r in proc.attendance.month(2025, 11, TZ, date(2025, 11, 17))}
    assert (month["s001"]["away_min"], month["s001"]["early_min"], month["s001"]["early_times"]) == (45, 1, 1)
    line = next(x for x in month_csv(list(month.values()), 2025, 11).splitlines() if x.startswith("s001"))
    assert line.split(",")[8:12] == ["1", "21", "45", "0"]                         # 早退分钟, 缺勤, 离岗, 请假班次


def test_part_shift_leave_through_the_command_path_is_leave_not_early_leave(proc):
    from hallserver.attendance_desk import SHEET_HEADER, month_csv
    made = web(proc, type="leave.act", action="request", staff="s001", kind="事假", start=at(17, 10, 0).isoformat(),
               end=at(17, 12, 0).isoformat(), reason="看病")
    decided = web(proc, type="leave.act", action="decide", leave=made["result"]["leave"]["id"], manager="m001",
                  approve=True)
    assert decided["ok"] and decided["result"]["leave"]["cover"] is None           # B (s003) is there
    proc.clock.set(at(17, 8, 58))
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    proc.clock.set(at(17, 10, 0))
    send(proc, "counter-1", type="window.logout", window="w1")                    # exactly as the leave starts
    proc.clock.set(at(17, 13, 20))
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    proc.clock.set(at(17, 18, 0))
    s001 = next(r for r in proc.attendance.day(date(2025, 11, 17), TZ) if r["staff"] == "s001")
    assert (s001["early_min"], s001["leave_min"], s001["leave_shifts"], s001["absent_shifts"]) == (0, 120, 0, 0)
    assert s001["shifts"][0]["leave_min"] == 120 and not s001["shifts"][0]["on_leave"]
    rows = proc.attendance.month(2025, 11, TZ, date(2025, 11, 17))
    assert SHEET_HEADER[-2:] == ["请假分钟", "本人签字"]
    line = next(x for x in month_csv(rows, 2025, 11).splitlines() if x.startswith("s001"))
    assert line.split(",")[7:13] == ["0", "0", "20", "0", "0", "120"]            # 早退 0, leave minutes 120


def test_leave_covers_are_checked_on_the_command_path(proc):
    def ask(staff, start, end, **extra):
        return web(proc, type="leave.act", action="request", staff=staff, kind="事假", start=start.isoformat(),
                   end=end.isoformat(), reason="", **extra)

    def decide(reply, **extra):
        return web(proc, type="leave.act", action="decide", leave=reply["result"]["leave"]["id"], manager="m001",
                   approve=True, **extra)
    b_away = ask("s003", at(18, 8, 0), at(18, 9, 1))                               # B: the first minute of the morning
    assert decide(b_away)["ok"]
    a_leave = ask("s001", at(18, 9, 0), at(18, 12, 0))
    assert decide(a_leave)["error"]["code"] == "post_uncovered"
    assert decide(a_leave, cover="s999")["error"]["code"] == "unknown_cover"
    assert decide(a_leave, cover="s001")["error"]["code"] == "cover_is_self"
    assert decide(a_leave, cover="s003")["error"]["code"] == "cover_unavailable"
    refusal = decide(a_leave, cover="s003")["error"]
    assert refusal["message"] == "顶岗人员在请假期间有请假或未排班，请另选顶岗人员"
    assert ask("s002", at(19, 9), at(19, 12), cover="nobody")["error"]["code"] == "unknown_cover"
    assert ask("s404", at(19, 9), at(19, 12))["error"]["code"] == "unknown_staff"
    assert decide(a_leave, cover="s002")["result"]["leave"]["cover"] == "s002"
    s002_leave = ask("s002", at(18, 11, 0), at(18, 11, 30))
    assert decide(s002_leave)["error"]["code"] == "staff_covering"
    rebuilt = CommandProcessor(proc.config, proc.store, proc.clock)
    assert [(lv.staff, lv.status, lv.cover) for lv in rebuilt.attendance.leaves.leaves.values()] == \
        [("s003", "approved", None), ("s001", "approved", "s002"), ("s002", "requested", None)]
