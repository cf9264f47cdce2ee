"""预约: booking slots, checking in at the kiosk, and booking over HTTP."""
from __future__ import annotations

import itertools
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from govhall.contract import ErrorCode, TicketClass
from hallserver.broker import free_port
from hallserver.domain.appointments import AppointmentRules
from hallserver.domain.clock import SimClock
from hallserver.domain.hours import HallHours, Session
from hallserver.domain.identity import check_char
from hallserver.domain.queue import Category, DomainError, QueueEngine, Staff, Window
from tests.conftest import running_hall

TZ = ZoneInfo("Asia/Shanghai")


def at(day: int, hh: int, mm: int = 0) -> datetime:
    return datetime(2026, 11, day, hh, mm, tzinfo=TZ)


def engine(clock: SimClock) -> QueueEngine:
    codes = (f"{n:06d}" for n in itertools.count(100001))
    return QueueEngine(clock, [Category("social", "社保医保", "A"), Category("business", "企业开办", "B")],
                       [Window("w1", 1, "1号窗口", ("social",))], [Staff("s1", "王丽")],
                       hours=HallHours(tz=TZ, sessions=(Session(time(9), time(12)), Session(time(13, 30), time(17)))),
                       appointment_rules=AppointmentRules(capacity=2), capacities={"business": 1},
                       code_factory=lambda: next(codes))


def refused(fn, *args) -> ErrorCode:
    with pytest.raises(DomainError) as info:
        fn(*args)
    return info.value.code


def test_a_slot_holds_its_capacity_and_no_more():
    e = engine(SimClock(at(23, 8, 0)))
    e.book("social", at(24, 9, 30), "王丽", "13800000000")
    e.book("social", at(24, 9, 30))
    assert refused(e.book, "social", at(24, 9, 30)) == ErrorCode.SLOT_FULL
    e.book("social", at(24, 10, 0))                                     # the next slot is free
    e.book("business", at(24, 9, 30))
    assert refused(e.book, "business", at(24, 9, 30)) == ErrorCode.SLOT_FULL   # the category's own capacity


def test_real_name_limits_one_per_category_and_day_and_three_to_come_per_id_and_phone():
    clock = SimClock(at(23, 8, 0))
    e = engine(clock)
    me, other = "a" * 64, "b" * 64
    e.book("social", at(24, 9, 30), "王丽", "13800000000", me)
    assert refused(e.book, "social", at(24, 15, 0), "王丽", "13900000000", me) == ErrorCode.ALREADY_BOOKED
    e.book("social", at(25, 9, 30), "王丽", "13800000000", me)          # another day
    e.book("business", at(24, 9, 30), "王丽", "13800000000", me)        # another category
    assert refused(e.book, "social", at(26, 9, 30), "王丽", "13900000000", me) == ErrorCode.BOOKING_LIMIT
    assert refused(e.book, "social", at(26, 9, 30), "李强", "13800000000", other) == ErrorCode.BOOKING_LIMIT
    e.book("social", at(26, 9, 30), "李强", "13900000000", other)       # someone else, their own phone
    clock.set(at(24, 10, 30))                                           # two of mine are past: room again
    e.book("social", at(26, 10, 0), "王丽", "13800000000", me)


@pytest.mark.parametrize("slot", [
    at(24, 9, 10),          # not on the 30-minute grid
    at(23, 7, 30),          # already begun
    at(24, 12, 0),          # lunch: the hall is closed
    at(28, 10, 0),          # Saturday: closed
    at(30, 10, 0) + timedelta(days=1),   # 1 December: beyond the 7-day horizon
])
def test_slots_outside_the_grid_the_hours_or_the_horizon_are_refused(slot):
    e = engine(SimClock(at(23, 8, 0)))
    assert refused(e.book, "social", slot) == ErrorCode.INVALID


def test_check_in_in_time_gives_an_appointment_ticket_that_goes_before_walk_ins():
    clock = SimClock(at(24, 8, 0))
    e = engine(clock)
    a = e.book("social", at(24, 9, 30))
    clock.set(at(24, 9, 0))
    walk_in = e.issue("social", "kiosk-1")
    assert refused(e.check_in, a.code, "kiosk-1") == ErrorCode.TOO_EARLY   # opens 09:15
    clock.set(at(24, 9, 20))
    t, checked = e.check_in(a.code, "kiosk-1")
    assert t.priority == TicketClass.APPOINTMENT and not checked.late and checked.ticket_id == t.id
    e.login("w1", "s1")
    assert e.call_next("w1") is t and e.call_next("w1") is walk_in
    assert refused(e.check_in, a.code, "kiosk-1") == ErrorCode.ALREADY_CHECKED_IN


def test_a_late_check_in_becomes_a_normal_ticket_and_an_old_one_has_expired():
    clock = SimClock(at(24, 8, 0))
    e = engine(clock)
    late = e.book("social", at(24, 9, 30))
    old = e.book("social", at(24, 10, 0))
    clock.set(at(24, 9, 50))
    t, a = e.check_in(late.code, "kiosk-1")
    assert t.priority == TicketClass.NORMAL and a.late
    clock.set(at(25, 9, 0))
    assert refused(e.check_in, old.code, "kiosk-1") == ErrorCode.APPOINTMENT_EXPIRED
    assert refused(e.check_in, "999999", "kiosk-1") == ErrorCode.APPOINTMENT_NOT_FOUND


def test_the_too_early_refusal_says_when_check_in_opens():
    clock = SimClock(at(24, 8, 0))
    e = engine(clock)
    a = e.book("social", at(24, 9, 30))
    with pytest.raises(DomainError) as info:
        e.check_in(a.code, "kiosk-1")
    assert info.value.next_open == at(24, 9, 15)


def test_booking_over_http_runs_through_the_command_path_and_checks_in_at_the_kiosk(
        config, embedded_broker, sqlite_url):
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        url = server.dashboard_url + "api/appointments"
        today = server.clock.now().astimezone(TZ).date()
        tomorrow = datetime.combine(today + timedelta(days=1), time(10), TZ)
        def body(n: int) -> dict:          # real-name: each booking a person of its own
            first17 = f"11010519800101{n:03d}"
            return {"category": "social", "slot_start": tomorrow.isoformat(), "name": "王丽",
                    "id_number": first17 + check_char(first17), "phone": f"1380000000{n}"}
        first = httpx.post(url, json=body(0), headers={"Idempotency-Key": "phone-42"}, timeout=5)
        assert first.status_code == 201, first.text
        again = httpx.post(url, json=body(0), headers={"Idempotency-Key": "phone-42"}, timeout=5)
        assert again.json() == first.json()                               # a retry books nothing new
        other = httpx.post(url, json={**body(1), "name": "李强"}, headers={"Idempotency-Key": "phone-42"}, timeout=5)
        assert other.json()["appointment"]["code"] != first.json()["appointment"]["code"]   # nobody reads another's
        appointment = first.json()["appointment"]
        assert len(appointment["code"]) == 6 and "phone" not in appointment and "name" not in appointment
        assert appointment["check_in_from"].endswith("09:45:00+08:00")
        for n in (2, 3):
            assert httpx.post(url, json=body(n), timeout=5).status_code == 201  # capacity 4 by default
        full = httpx.post(url, json=body(4), timeout=5)
        assert full.status_code == 409 and full.json()["error"]["code"] == "slot_full"
        bad_grid = httpx.post(url, json={**body(5), "slot_start": tomorrow.replace(minute=10).isoformat()}, timeout=5)
        assert bad_grid.status_code == 400 and "30 minutes" in bad_grid.json()["error"]["detail"]
        assert httpx.post(url, json={**body(5), "phone": "12345"}, timeout=5).status_code == 400
        assert httpx.post(url, json={"category": "social"}, timeout=5).status_code == 422
        assert httpx.post(url, content=b"not json", timeout=5).status_code == 422
        assert httpx.post(url, json=body(5), headers={"Idempotency-Key": "bad key!"}, timeout=5).status_code == 400
        # the kiosk: too early today, with the time it opens
        reply = device("kiosk-1").request({"type": "appointment.check_in", "code": appointment["code"]})
        assert reply["error"]["code"] == "too_early" and reply["error"]["next_open"] == appointment["check_in_from"]
