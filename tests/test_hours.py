"""Opening hours, 停止取号 and quotas: whether the kiosk may issue a ticket, and when it may again."""
import json
import uuid
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import httpx
import pytest

from govhall.config import HoursConfig
from govhall.contract import ErrorCode
from hallserver.broker import free_port
from hallserver.calendar_source import work_calendar
from hallserver.domain.attendance import Shift, scheduled
from hallserver.domain.clock import SimClock
from hallserver.domain.hours import CategoryLimits, DayRule, Extended, HallDays, HallHours, Session
from hallserver.domain.identity import check_char
from hallserver.domain.queue import Category, DomainError, QueueEngine, Staff, Window
from hallserver.processor import CommandProcessor
from hallserver.store import Store
from hallserver.web.overview import device_alert_text
from lab.demo import demo_config
from tests.conftest import running_hall

TZ = ZoneInfo("Asia/Shanghai")
MORNING, AFTERNOON = Session(time(9), time(12)), Session(time(13, 30), time(17))


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ)       # 23 Nov 2026 is a Monday


def hours(**limits) -> HallHours:
    return HallHours(tz=TZ, sessions=(MORNING, AFTERNOON), last_ticket_minutes=30,
                     extended=(Extended(frozenset({5}), (MORNING,), frozenset({"social"})),),   # 周六上午 社保
                     limits={"social": CategoryLimits(**limits)})


@pytest.mark.parametrize("now, next_open", [
    (at(23, 8, 59), at(23, 9, 0)),          # before opening
    (at(23, 11, 30), at(23, 13, 30)),       # 停止取号: half an hour before noon
    (at(23, 12, 40), at(23, 13, 30)),       # lunch break
    (at(23, 16, 45), at(24, 9, 0)),         # after the last ticket of the day
    (at(27, 17, 0), at(28, 9, 0)),          # Friday evening: Saturday morning is extended for 社保
])
def test_outside_the_hours_the_kiosk_says_when_it_opens(now, next_open):
    refusal = hours().check("social", now, [])
    assert refusal.reason == "closed" and refusal.next_open == next_open


def test_inside_the_hours_tickets_are_issued_up_to_the_last_minute():
    h = hours()
    assert h.check("social", at(23, 9, 0), []) is None
    assert h.check("social", at(23, 11, 29), []) is None
    assert h.check("social", at(28, 10, 0), []) is None                 # Saturday: extended for 社保
    assert h.check("business", at(28, 10, 0), []).next_open == at(30, 9, 0)   # not for 企业: Monday


def test_a_category_can_stop_earlier_than_the_hall():
    h = hours(last_ticket_minutes=60)
    assert h.check("social", at(23, 11, 0), []).reason == "closed"
    assert h.check("business", at(23, 11, 0), []) is None


def test_the_half_day_quota_sends_people_to_the_afternoon_and_the_daily_quota_to_tomorrow():
    h = hours(session_quota=2, daily_quota=3)
    morning = [at(23, 9, 5), at(23, 9, 10)]
    refusal = h.check("social", at(23, 9, 30), morning)
    assert (refusal.reason, refusal.next_open) == ("quota_full", at(23, 13, 30))
    assert h.check("social", at(23, 13, 40), morning) is None            # a new half-day
    refusal = h.check("social", at(23, 13, 50), morning + [at(23, 13, 40)])
    assert (refusal.reason, refusal.next_open) == ("quota_full", at(24, 9, 0))


def test_no_hours_configured_means_always_open():
    assert HallHours(tz=TZ).check("social", at(22, 3, 0), []) is None


def test_the_engine_refuses_with_the_next_opening_and_uses_no_number():
    clock = SimClock(at(23, 9, 0))
    kwargs = dict(categories=[Category("social", "社保医保", "A")], windows=[Window("w1", 1, "1号窗口", ("social",))],
                  staff=[Staff("s1", "王丽")], hours=hours(session_quota=2))
    e = QueueEngine(clock, **kwargs)
    e.issue("social", "k")
    e.issue("social", "k")
    with pytest.raises(DomainError) as info:
        e.issue("social", "k")
    assert info.value.code == ErrorCode.QUOTA_FULL and info.value.next_open == at(23, 13, 30)
    assert e.counters[(date(2026, 11, 23), "social")] == 2                # the refusal used no number


# ---------------------------------------------------------------------------- one calendar for the hall
# The 2026 schedule as chinese-calendar carries the State Council's notice: 春节 15–23 Feb with
# 调休 Saturdays 14 and 28 Feb; 国庆+中秋 1–7 Oct, 调休 Saturday 10 Oct. Nothing in 2027.
CALENDAR = work_calendar()


def day_of(y: int, m: int, d: int, hh: int = 0, mm: int = 0) -> datetime:
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def hall_days(**kw) -> HallDays:
    return HallDays(calendar=CALENDAR, **kw)


@pytest.mark.parametrize("day, rule, is_open", [
    (date(2026, 9, 30), DayRule.WEEK, True),          # Wednesday before 国庆
    (date(2026, 10, 1), DayRule.HOLIDAY, False),      # 国庆, a Thursday
    (date(2026, 10, 7), DayRule.HOLIDAY, False),
    (date(2026, 10, 8), DayRule.WEEK, True),
    (date(2026, 10, 10), DayRule.WORKED, True),       # 调休 Saturday
    (date(2026, 2, 14), DayRule.WORKED, True),        # 调休 Saturday before 春节
    (date(2026, 2, 16), DayRule.HOLIDAY, False),      # 春节, a Monday
    (date(2026, 11, 21), DayRule.WEEK, False),        # an ordinary Saturday
    (date(2027, 1, 4), DayRule.UNCOVERED, True),      # 2027 not loaded: Monday, open
    (date(2027, 1, 2), DayRule.UNCOVERED, False),     # a Saturday
])
def test_the_hall_opens_on_the_calendars_working_days(day, rule, is_open):
    days = hall_days()
    assert days.rule(day) == rule and days.is_open(day) is is_open


def test_the_halls_own_exceptions_come_first():
    saturdays = hall_days(weekdays=frozenset(range(6)))               # weekdays = [1, 2, 3, 4, 5, 6]
    assert saturdays.is_open(date(2026, 11, 21))                      # every ordinary Saturday
    assert not saturdays.is_open(date(2026, 10, 3))                   # but not a 国庆 Saturday
    special = hall_days(open_days=frozenset({date(2026, 10, 3)}), closed_days=frozenset({date(2026, 11, 20)}))
    assert special.is_open(date(2026, 10, 3)) and special.rule(date(2026, 10, 3)) == DayRule.OPEN_DAY
    assert not special.is_open(date(2026, 11, 20)) and special.closed_all_day(date(2026, 11, 20))


def test_extended_sessions_run_by_weekday_but_not_on_a_holiday_or_a_closed_day():
    h = HallHours(tz=TZ, days=hall_days(closed_days=frozenset({date(2026, 11, 28)})), sessions=(MORNING, AFTERNOON),
                  extended=(Extended(frozenset({5}), (MORNING,), frozenset({"social"})),))     # 周六上午 社保
    assert h.check("social", day_of(2026, 11, 21, 10), []) is None                 # an ordinary Saturday
    assert h.check("social", day_of(2026, 10, 3, 10), []).reason == "closed"       # 国庆 Saturday
    assert h.check("social", day_of(2026, 11, 28, 10), []).reason == "closed"      # the hall's closed day
    spans = h.sessions_on("social", date(2026, 2, 14))          # 调休 Saturday: its 延时 is the morning once
    assert [s.hour for s, _ in spans] == [9, 13]


@pytest.mark.parametrize("now, next_open", [
    (day_of(2026, 9, 30, 16, 45), day_of(2026, 10, 8, 9)),    # after the last ticket before 国庆
    (day_of(2026, 10, 1, 10), day_of(2026, 10, 8, 9)),        # during it
    (day_of(2026, 10, 9, 17), day_of(2026, 10, 10, 9)),       # Friday evening: the 调休 Saturday
    (day_of(2026, 2, 13, 17), day_of(2026, 2, 14, 9)),        # before 春节: the 调休 Saturday
    (day_of(2026, 2, 14, 17), day_of(2026, 2, 24, 9)),        # 春节 15–23 Feb
    (day_of(2026, 12, 31, 17), day_of(2027, 1, 1, 9)),        # into 2027 unloaded: Friday counts as a weekday
])
def test_the_next_opening_skips_holidays(now, next_open):
    h = HallHours(tz=TZ, days=hall_days(), sessions=(MORNING, AFTERNOON))
    assert h.check("social", now, []).next_open == next_open


def test_the_daily_quota_on_the_day_before_a_holiday_points_past_it():
    h = HallHours(tz=TZ, days=hall_days(), sessions=(MORNING, AFTERNOON),
                  limits={"social": CategoryLimits(daily_quota=1)})
    refusal = h.check("social", day_of(2026, 9, 30, 10), [day_of(2026, 9, 30, 9, 5)])
    assert (refusal.reason, refusal.next_open) == ("quota_full", day_of(2026, 10, 8, 9))


# ---------------------------------------------------------------------------- through the server
@pytest.fixture
def hall(sqlite_url):
    """The demo hall (hours 09:00–12:00, 13:30–17:00 on weekdays 1–5, two front-desk posts) on a
    real SQLite store and the real calendar; `hall(when, **hours)` starts it at that moment."""
    stores = []

    def start(when: datetime, **hours) -> CommandProcessor:
        config = demo_config()
        config.hours = HoursConfig(**{**config.hours.model_dump(), **hours})
        store = Store(sqlite_url)
        store.migrate()
        stores.append(store)
        return CommandProcessor(config, store, SimClock(when))
    yield start
    for store in stores:
        store.close()


def send(proc: CommandProcessor, device: str, **command) -> dict:
    out = proc.handle(proc.topics.command(device), json.dumps({"id": uuid.uuid4().hex, **command}).encode())
    return next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device))


def front_desk_alerts(out: list) -> list[dict]:
    return [json.loads(o.payload) for o in out if o.topic.endswith("/event/coverage.alert")]


def social_state(proc: CommandProcessor) -> dict:
    return next(q for q in proc.queue_state().model_dump(mode="json")["categories"] if q["category"] == "social")


def test_the_day_before_national_day_is_open_national_day_is_closed(hall):
    proc = hall(day_of(2026, 9, 30, 10))
    assert send(proc, "kiosk-1", type="ticket.issue", category="social")["ok"]
    proc.clock.set(day_of(2026, 10, 1, 10))
    reply = send(proc, "kiosk-1", type="ticket.issue", category="social")
    assert reply["error"]["code"] == "category_closed"
    assert reply["error"]["next_open"] == "2026-10-08T09:00:00+08:00"
    state = social_state(proc)
    assert not state["issuing"] and state["next_open"] == "2026-10-08T09:00:00+08:00"   # the kiosk's screen
    assert front_desk_alerts(proc.tick()) == []            # nobody at the front desk on a holiday: no alert


def test_a_tiaoxiu_saturday_issues_tickets_and_watches_the_front_desk(hall):
    proc = hall(day_of(2026, 2, 14, 9, 5))
    reply = send(proc, "kiosk-1", type="ticket.issue", category="social")
    assert reply["ok"] and reply["result"]["ticket"]["number"] == "A001"
    alerts = front_desk_alerts(proc.tick())                 # nobody logged in at a front-desk post
    assert {a["category"] for a in alerts if a["open"]} == {"business", "residence"}
    assert proc.attendance.in_shift(day_of(2026, 2, 14, 9, 10))      # attendance expects the shifts too


def test_a_closed_day_of_the_hall_refuses_tickets_and_appointments(hall):
    proc = hall(day_of(2026, 11, 19, 10), closed_days=["2026-11-20"])   # Friday closed for an event
    booked = web_book(proc, day_of(2026, 11, 20, 10))
    assert booked["error"]["code"] == "invalid" and "not open" in booked["error"]["detail"]
    proc.clock.set(day_of(2026, 11, 20, 10))
    reply = send(proc, "kiosk-1", type="ticket.issue", category="social")
    assert reply["error"]["code"] == "category_closed" and reply["error"]["next_open"] == "2026-11-23T09:00:00+08:00"
    assert front_desk_alerts(proc.tick()) == []


def test_an_open_day_of_the_hall_on_a_weekend(hall):
    proc = hall(day_of(2026, 11, 21, 10), open_days=["2026-11-21"])     # a Saturday's special service
    assert send(proc, "kiosk-1", type="ticket.issue", category="social")["ok"]
    assert {a["category"] for a in front_desk_alerts(proc.tick()) if a["open"]} == {"business", "residence"}
    proc.clock.set(day_of(2026, 11, 22, 10))
    assert send(proc, "kiosk-1", type="ticket.issue", category="social")["error"]["next_open"] == \
        "2026-11-23T09:00:00+08:00"


def test_a_year_the_calendar_does_not_cover_opens_on_weekdays_and_warns(hall):
    proc = hall(day_of(2027, 1, 2, 10))                     # a Saturday; 2027's notice not loaded
    assert send(proc, "kiosk-1", type="ticket.issue", category="social")["error"]["next_open"] == \
        "2027-01-04T09:00:00+08:00"
    alerts = [json.loads(o.payload) for o in proc.tick() if o.topic.endswith("/event/device.alert")]
    assert [(a["component"], a["detail"]) for a in alerts] == [("calendar", "2027")]
    assert device_alert_text(alerts[0]).startswith("尚未导入 2027 年法定节假日安排")
    proc.clock.set(day_of(2027, 1, 4, 10))                  # Monday
    assert send(proc, "kiosk-1", type="ticket.issue", category="social")["ok"]
    assert not [o for o in proc.tick() if o.topic.endswith("/event/device.alert")]     # raised once, kept open


def web_book(proc: CommandProcessor, slot: datetime) -> dict:
    reply, _ = proc.handle_local(json.dumps({"id": uuid.uuid4().hex, "type": "appointment.book", "category": "social",
                                             "slot_start": slot.isoformat(), "name": "王丽", "phone": "13800138000",
                                             "id_hash": "a" * 64}).encode())
    return reply


def test_no_appointment_on_a_holiday_and_the_first_day_after_it_is_bookable(hall):
    proc = hall(day_of(2026, 10, 2, 10))
    assert proc.engine.appointment_slots("social", date(2026, 10, 5)) == []
    refused = web_book(proc, day_of(2026, 10, 5, 10))
    assert refused["error"]["code"] == "invalid" and "not open" in refused["error"]["detail"]
    slots = proc.engine.appointment_slots("social", date(2026, 10, 8))
    assert slots[0] == (day_of(2026, 10, 8, 9), day_of(2026, 10, 8, 9, 30)) and len(slots) == 13
    assert web_book(proc, day_of(2026, 10, 8, 9, 30))["ok"]


def test_a_notice_entered_while_the_hall_runs_moves_its_hours_at_once(hall, tmp_path):
    proc = hall(day_of(2026, 12, 31, 17))
    assert social_state(proc)["next_open"] == "2027-01-01T09:00:00+08:00"     # 2027 unknown: Friday, a weekday
    notice = tmp_path / "calendar.toml"                 # as 系统设置 → 节假日安排 writes it (a made-up 2027)
    notice.write_text('[[year]]\nyear = 2027\nsource = "test"\ndays_off = ["2027-01-01..2027-01-03"]\n',
                      encoding="utf-8")
    config = proc.config.model_copy(deep=True)
    config.calendar.file = str(notice)
    proc.apply_config(config)
    assert social_state(proc)["next_open"] == "2027-01-04T09:00:00+08:00"
    assert not proc.attendance.calendar.is_working_day(date(2027, 1, 1))       # attendance: the same day off


def test_over_http_a_holiday_offers_no_slot_and_refuses_a_booking(embedded_broker, sqlite_url):
    config = demo_config()                               # hours on weekdays 1–5, the real calendar
    clock = SimClock(day_of(2026, 10, 2, 10))            # 国庆
    with running_hall(config, embedded_broker.url, sqlite_url, clock=clock,
                      http=("127.0.0.1", free_port())) as (server, _device):
        url = server.dashboard_url + "api/appointments"
        holiday = httpx.get(url + "/slots", params={"category": "social", "date": "2026-10-05"}, timeout=5)
        assert holiday.status_code == 200 and holiday.json()["slots"] == []
        after = httpx.get(url + "/slots", params={"category": "social", "date": "2026-10-08"}, timeout=5).json()
        assert after["slots"][0] == {"start": "2026-10-08T09:00:00+08:00", "end": "2026-10-08T09:30:00+08:00",
                                     "free": 4}
        assert len(after["slots"]) == 13                 # 09:00–12:00 and 13:30–17:00
        first17 = "11010519800101001"
        body = {"category": "social", "slot_start": "2026-10-05T10:00:00+08:00", "name": "王丽",
                "id_number": first17 + check_char(first17), "phone": "13800138000"}
        refused = httpx.post(url, json=body, timeout=5)
        assert refused.status_code == 400 and "not open" in refused.json()["error"]["detail"]
        booked = httpx.post(url, json={**body, "slot_start": "2026-10-08T09:00:00+08:00"}, timeout=5)
        assert booked.status_code == 201, booked.text
        again = httpx.get(url + "/slots", params={"category": "social", "date": "2026-10-08"}, timeout=5).json()
        assert again["slots"][0]["free"] == 3
        assert httpx.get(url + "/slots", params={"category": "nope", "date": "2026-10-08"}, timeout=5).status_code \
            == 404
        assert httpx.get(url + "/slots", params={"category": "social", "date": "10/08"}, timeout=5).status_code == 400


def test_attendance_has_no_extended_shift_on_a_holiday_or_the_halls_closed_day():
    shifts = [Shift("上午", time(9), time(12)), Shift("延时", time(17, 30), time(19), weekdays=frozenset({2}))]

    def names(day: date, calendar) -> list[str]:
        return [s.name for s in scheduled(shifts, day, calendar)]
    assert names(date(2026, 9, 30), CALENDAR) == ["上午", "延时"]           # a Wednesday
    assert names(date(2026, 10, 7), CALENDAR) == []                        # 国庆, a Wednesday: no 延时 either
    closed = hall_days(closed_days=frozenset({date(2026, 11, 25)}))
    assert names(date(2026, 11, 25), closed) == [] and names(date(2026, 11, 18), closed) == ["上午", "延时"]
    assert names(date(2027, 1, 6), hall_days()) == ["上午", "延时"]        # 2027 unloaded: by the weekday
