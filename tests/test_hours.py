"""Opening hours, 停止取号 and quotas: whether the kiosk may issue a ticket, and when it may again."""
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from govhall.contract import ErrorCode
from hallserver.domain.clock import SimClock
from hallserver.domain.hours import CategoryLimits, Extended, HallHours, Session
from hallserver.domain.queue import Category, DomainError, QueueEngine, Staff, Window

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
