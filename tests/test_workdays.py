"""Working days and 限时办结 deadlines, against the State Council's schedules for 2025 and
2026 written out by hand (国办发明电 notices), plus properties over generated dates."""
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from govhall.config import ConfigError
from hallserver.calendar_source import load_calendar_file, work_calendar
from hallserver.domain.workdays import Colour, NoSchedule, Pause, colour, deadline

TZ = ZoneInfo("Asia/Shanghai")
CLOSE = time(17, 0)
SESSIONS = [(time(9, 0), time(12, 0)), (time(13, 30), time(17, 0))]
CAL = work_calendar()


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def due(accepted, n, **kw):
    return deadline(accepted, n, CAL, CLOSE, SESSIONS, **kw).due


# the official schedules, by hand: days off on weekdays, and weekend days worked (调休)
OFFICIAL = {
    2025: {"off": ["01-01", "01-28", "01-29", "01-30", "01-31", "02-03", "02-04", "04-04", "05-01", "05-02",
                   "05-05", "06-02", "10-01", "10-02", "10-03", "10-06", "10-07", "10-08"],
           "worked": ["01-26", "02-08", "04-27", "09-28", "10-11"]},
    2026: {"off": ["01-01", "01-02", "02-16", "02-17", "02-18", "02-19", "02-20", "02-23", "04-06", "05-01",
                   "05-04", "05-05", "06-19", "09-25", "10-01", "10-02", "10-05", "10-06", "10-07"],
           "worked": ["01-04", "02-14", "02-28", "05-09", "09-20", "10-10"]},
}


@pytest.mark.parametrize("year", [2025, 2026])
def test_the_calendar_matches_the_official_schedule(year):
    for day in OFFICIAL[year]["off"]:
        assert not CAL.is_working_day(date.fromisoformat(f"{year}-{day}")), f"{year}-{day} is a holiday"
    for day in OFFICIAL[year]["worked"]:
        assert CAL.is_working_day(date.fromisoformat(f"{year}-{day}")), f"{year}-{day} is a 调休 working day"
    assert CAL.is_working_day(date(year, 11, 20)) and not CAL.is_working_day(date(year, 11, 22 if year == 2025 else 21))


@pytest.mark.parametrize("accepted, days, expected", [
    (at(2025, 11, 21, 15, 30), 5, date(2025, 11, 28)),    # Friday afternoon: working day 1 is Monday
    (at(2025, 9, 30), 3, date(2025, 10, 11)),             # the last day before 国庆: 9, 10 Oct, then 调休 Sat 11
    (at(2025, 9, 28), 2, date(2025, 9, 30)),              # accepted on a 调休 Sunday: count from Monday
    (at(2025, 1, 24), 3, date(2025, 2, 5)),               # before 春节: 调休 Sun 26 Jan, Mon 27, then 5 Feb
    (at(2025, 11, 22), 1, date(2025, 11, 24)),            # an online application on a Saturday
    (at(2026, 9, 30), 1, date(2026, 10, 8)),              # 国庆 2026: 1–7 Oct off
    (at(2025, 12, 31), 2, date(2026, 1, 5)),              # across the year: 元旦 1–3 Jan off, 调休 Sun 4 Jan
])
def test_n_working_days_count_from_the_next_working_day(accepted, days, expected):
    assert due(accepted, days) == datetime.combine(expected, CLOSE, TZ)


@pytest.mark.parametrize("accepted, expected", [
    (at(2025, 11, 21, 10, 30), at(2025, 11, 21, 12, 0)),   # morning session: by 12:00
    (at(2025, 11, 21, 12, 30), at(2025, 11, 21, 17, 0)),   # between sessions: the afternoon one
    (at(2025, 11, 21, 17, 30), at(2025, 11, 24, 12, 0)),   # after closing on Friday: Monday morning
    (at(2025, 10, 3, 10, 0), at(2025, 10, 9, 12, 0)),      # during 国庆: the first morning after it
])
def test_an_immediate_case_is_due_by_the_end_of_its_session(accepted, expected):
    assert due(accepted, 0) == expected


def test_materials_missing_stop_the_clock_for_exactly_the_working_days_waited():
    accepted = at(2025, 11, 17)                            # Monday, 5 working days: due Monday 24th
    assert due(accepted, 5) == datetime.combine(date(2025, 11, 24), CLOSE, TZ)
    gap = Pause(at(2025, 11, 18), at(2025, 11, 20))        # waiting Tue → Thu: Wed and Thu do not count
    assert due(accepted, 5, pauses=[gap]) == datetime.combine(date(2025, 11, 26), CLOSE, TZ)
    still = Pause(at(2025, 11, 18))                        # still waiting on Friday 21st
    d = deadline(accepted, 5, CAL, CLOSE, SESSIONS, pauses=[still], now=at(2025, 11, 21))
    assert d.waiting_materials and d.paused_days == 3 and d.due.date() == date(2025, 11, 27)


def test_a_year_without_a_schedule_is_an_error_not_a_guess(tmp_path):
    with pytest.raises(NoSchedule, match="2027"):
        due(at(2026, 12, 30), 5)
    guessing = work_calendar(missing_year="warn")
    d = deadline(at(2026, 12, 30), 5, guessing, CLOSE)
    assert d.due.date() == date(2027, 1, 6) and guessing.guessed_years == {2027}
    notice = tmp_path / "calendar.toml"
    notice.write_text('[[year]]\nyear = 2027\nsource = "国办发明电"\n'
                      'days_off = ["2027-01-01", "2027-02-05..2027-02-11"]\ndays_worked = ["2027-02-20"]\n',
                      encoding="utf-8")
    hall = work_calendar(notice)
    assert deadline(at(2026, 12, 31), 1, hall, CLOSE).due.date() == date(2027, 1, 4)
    assert deadline(at(2027, 2, 4), 1, hall, CLOSE).due.date() == date(2027, 2, 12)
    assert hall.is_working_day(date(2027, 2, 20))


@pytest.mark.parametrize("text, problem", [
    ('[[year]]\nyear = 2027\ndays_off = ["2027-13-01"]\n', "is not a date"),
    ('[[year]]\nyear = 2027\ndays_off = ["2028-01-01"]\n', "is not in 2027"),
    ('[[year]]\nyear = 2027\ndays_worked = ["2027-01-04"]\n', "is a weekday"),
    ('[[year]]\nyear = 2027\ndays_off = ["2027-02-09..2027-02-05"]\n', "ends before it starts"),
    ('[[year]]\nyear = 2027\n[[year]]\nyear = 2027\n', "appears twice"),
    ('[[year]]\nyear = 2027\nholidays = []\n', "unknown key"),
    ('year = "soon"\n', "[[year]] table"),
    ("[[year\n", "not valid TOML"),
])
def test_a_bad_calendar_file_is_refused_with_the_place_and_the_reason(tmp_path, text, problem):
    path = tmp_path / "calendar.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_calendar_file(path)
    assert str(path) in str(info.value) and problem in str(info.value)


def test_colours_at_their_boundaries():
    accepted = at(2025, 11, 17)                            # 5 working days: due Mon 24th 17:00
    d = deadline(accepted, 5, CAL, CLOSE)
    assert colour(at(2025, 11, 18), accepted, d, CAL) == Colour.GREEN       # 4 left, 20 % used
    assert colour(at(2025, 11, 20), accepted, d, CAL) == Colour.GREEN       # 2 left, 60 % used
    assert colour(at(2025, 11, 21), accepted, d, CAL) == Colour.YELLOW      # 1 left
    assert colour(at(2025, 11, 24, 16, 59), accepted, d, CAL) == Colour.YELLOW
    assert colour(at(2025, 11, 24, 17, 1), accepted, d, CAL) == Colour.RED
    long = deadline(accepted, 20, CAL, CLOSE)              # 80 % used with many days left is yellow too
    assert long.due.date() == date(2025, 12, 15)
    assert colour(at(2025, 12, 8), accepted, long, CAL) == Colour.GREEN     # 15 of 20 used, 5 left
    assert colour(at(2025, 12, 9), accepted, long, CAL) == Colour.YELLOW    # 16 of 20 used: 80 %


days_in_schedule = st.dates(min_value=date(2024, 1, 1), max_value=date(2026, 10, 31))


@given(days_in_schedule, st.integers(1, 40))
def test_a_deadline_never_falls_on_a_day_off(day, n):
    d = due(datetime.combine(day, time(10), TZ), n)
    assert CAL.is_working_day(d.date()) and d.date() > day


@given(days_in_schedule, st.integers(1, 30), st.integers(0, 10), st.integers(0, 20))
def test_more_days_or_a_later_start_never_make_it_earlier(day, n, more, later):
    base = due(datetime.combine(day, time(10), TZ), n)
    assert due(datetime.combine(day, time(10), TZ), n + more) >= base
    assert due(datetime.combine(day + timedelta(days=later), time(10), TZ), n) >= base


@given(days_in_schedule, st.integers(1, 20), st.integers(0, 15), st.integers(0, 15))
def test_a_pause_moves_the_deadline_by_exactly_the_working_days_paused(day, n, start_after, length):
    accepted = datetime.combine(day, time(10), TZ)
    start = accepted + timedelta(days=start_after)
    end = start + timedelta(days=length)
    paused = CAL.working_days_between(start.date(), end.date())
    assert due(accepted, n, pauses=[Pause(start, end)]) == \
        datetime.combine(CAL.add_working_days(day, n + paused), CLOSE, TZ)
