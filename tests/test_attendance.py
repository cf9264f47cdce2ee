"""Attendance, leave and the front desk, on a simulated clock, at their edges."""
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest

from hallserver.calendar_source import work_calendar
from hallserver.domain.attendance import (
    ClockEvent,
    FrontDeskWatch,
    LeaveBook,
    LeaveError,
    PauseSpan,
    Post,
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
