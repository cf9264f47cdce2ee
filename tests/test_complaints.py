"""投诉: registered with a number, assigned, dealt with, answered (how and when) and closed, due
in 5 working days (ours), overdue the day after; through the command path on a real store (SQLite and PostgreSQL)."""
import json
import uuid
from datetime import date, datetime
from zoneinfo import ZoneInfo

import pytest

from hallserver.calendar_source import work_calendar
from hallserver.domain.clock import SimClock
from hallserver.domain.complaints import ComplaintBook, ComplaintError, due, on_time, overdue
from hallserver.domain.workdays import Deadline, Pending
from hallserver.processor import CommandProcessor
from hallserver.reports.complaints import complaint_statistics
from hallserver.store import Store

TZ = ZoneInfo("Asia/Shanghai")
CAL = work_calendar()
CLOSE = datetime(2026, 1, 1, 17, 0).time()


def at(y, m, d, hh=10, mm=0):
    return datetime(y, m, d, hh, mm, tzinfo=TZ)


def registered(book, when, phone=""):
    return book.register("hotline", "窗口人员态度差", "张先生", phone, "m001", when, when.date())


def test_numbers_per_hall_day_and_the_deadline_on_the_fifth_working_day():
    book = ComplaintBook()
    first = registered(book, at(2026, 12, 1))
    second = registered(book, at(2026, 12, 1, 15))
    third = registered(book, at(2026, 12, 2))
    assert (first.number, second.number, third.number) == ("TS-20261201-001", "TS-20261201-002", "TS-20261202-001")
    d = due(first, CAL, CLOSE)           # Tue 1 Dec: Wed 2 … Tue 8 Dec (the weekend does not count)
    assert isinstance(d, Deadline) and d.due == at(2026, 12, 8, 17)
    assert not overdue(first, CAL, CLOSE, at(2026, 12, 8, 17))        # exactly on the last working day's close
    assert overdue(first, CAL, CLOSE, at(2026, 12, 8, 17, 1))
    assert overdue(first, CAL, CLOSE, at(2026, 12, 9, 9))             # the day after


def test_a_holiday_in_between_and_an_uncovered_year_pending():
    book = ComplaintBook()
    x = registered(book, at(2026, 9, 29))          # 国庆 2026: 1–7 Oct off, Sat 10 Oct worked (调休)
    assert due(x, CAL, CLOSE).due == at(2026, 10, 12, 17)     # Wed 30 Sep, Thu 8, Fri 9, Sat 10, Mon 12 Oct
    late = registered(book, at(2026, 12, 28))
    assert due(late, CAL, CLOSE) == Pending(2027)
    assert not overdue(late, CAL, CLOSE, at(2026, 12, 31, 18))        # pending is never overdue
    assert on_time(late, CAL, CLOSE) is None
    book.assign(late.number, "m001", "人社局", "w1", "s001", at(2026, 12, 28, 11))
    book.handle(late.number, "s001", "已核实处理", at(2026, 12, 29))
    book.close(late.number, "m001", "", at(2026, 12, 29, 10))          # closed before 2027 began: on time,
    assert on_time(late, CAL, CLOSE) is True                           # as the case report counts it
    later = registered(book, at(2026, 12, 28, 15))
    book.assign(later.number, "m001", "人社局", "w1", "s001", at(2026, 12, 28, 16))
    book.handle(later.number, "s001", "已核实处理", at(2027, 1, 4))
    book.close(later.number, "m001", "", at(2027, 1, 4, 10))           # closed in the year still pending
    assert on_time(later, CAL, CLOSE) is None


def test_the_steps_in_order_and_a_contact_must_be_told_before_closing():
    book = ComplaintBook()
    x = registered(book, at(2026, 12, 1), phone="13800138000")
    with pytest.raises(ComplaintError):
        book.handle(x.number, "m001", "已核实", at(2026, 12, 1))          # assign first
    book.assign(x.number, "m001", "人社局", "w1", "s001", at(2026, 12, 1))
    assert x.status == "已分派" and x.department == "人社局"
    with pytest.raises(ComplaintError):
        book.handle(x.number, "m001", "  ", at(2026, 12, 1))              # what was done, in words
    book.handle(x.number, "s001", "已约谈窗口人员并整改", at(2026, 12, 2))
    with pytest.raises(ComplaintError) as info:
        book.close(x.number, "m001", "", at(2026, 12, 2))
    assert info.value.code == "not_replied"
    with pytest.raises(ComplaintError):
        book.reply(x.number, "m001", "飞鸽", at(2026, 12, 2), "已答复", at(2026, 12, 2))
    with pytest.raises(ComplaintError):                                   # not in the future
        book.reply(x.number, "m001", "电话", at(2026, 12, 3), "已答复", at(2026, 12, 2))
    book.reply(x.number, "m001", "电话", at(2026, 12, 2, 9), "电话告知处理结果，投诉人满意", at(2026, 12, 2, 10))
    book.close(x.number, "m001", "", at(2026, 12, 2, 11))
    assert x.status == "办结" and on_time(x, CAL, CLOSE) is True
    with pytest.raises(ComplaintError):
        book.handle(x.number, "m001", "again", at(2026, 12, 3))
    anonymous = registered(book, at(2026, 12, 1))
    book.assign(anonymous.number, "m001", "公安局", "", "", at(2026, 12, 1))
    book.handle(anonymous.number, "m001", "已核实处理", at(2026, 12, 9))
    book.close(anonymous.number, "m001", "", at(2026, 12, 9))              # no contact: closes without a reply
    assert on_time(anonymous, CAL, CLOSE) is False


def test_inputs_refused_in_chinese():
    book = ComplaintBook()
    bad = (("fax", "x", ""), ("box", "   ", ""), ("box", "长" * 1001, ""), ("box", "x", "名" * 21))
    for channel, text, name in bad:
        with pytest.raises(ComplaintError) as info:
            book.register(channel, text, name, "", "m001", at(2026, 12, 1), date(2026, 12, 1))
        assert info.value.code == "invalid" and any("\u4e00" <= ch <= "\u9fff" for ch in info.value.detail)
    with pytest.raises(ComplaintError) as info:
        book.get("TS-20261201-009")
    assert info.value.code == "not_found"


def test_statistics_per_department_and_window():
    book = ComplaintBook()
    a = registered(book, at(2026, 12, 1))
    book.assign(a.number, "m001", "人社局", "w1", "", at(2026, 12, 1))
    book.handle(a.number, "m001", "已处理", at(2026, 12, 2))
    book.close(a.number, "m001", "", at(2026, 12, 2))
    b = registered(book, at(2026, 12, 1))
    book.assign(b.number, "m001", "人社局", "w2", "", at(2026, 12, 1))
    registered(book, at(2026, 12, 1))
    stats = complaint_statistics(list(book.items.values()), CAL, CLOSE, at(2026, 12, 10))
    assert stats["total"] == {"registered": 3, "closed": 1, "closed_on_time": 1, "open": 2, "overdue": 2,
                              "replied": 0, "on_time_rate": 100.0}
    assert stats["by_department"]["人社局"]["registered"] == 2 and stats["by_department"]["未分派"]["overdue"] == 1
    assert stats["by_window"]["w2"]["overdue"] == 1 and stats["by_channel"]["12345热线"] == 3


@pytest.fixture
def proc(config, db_url):
    config.windows[0].department = "人社局"
    store = Store(db_url)
    store.migrate()
    yield CommandProcessor(config, store, SimClock(at(2026, 12, 1, 9)))
    store.close()


def web(proc, **command):
    reply, _ = proc.handle_local(json.dumps({"id": uuid.uuid4().hex, **command}, ensure_ascii=False).encode())
    return reply


def send(proc, device, **command):
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command, ensure_ascii=False).encode())
    return next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device))


def act(proc, number, action, **fields):
    return web(proc, type="complaint.act", complaint=number, action=action, by="m001", **fields)


def test_through_the_command_path_saved_audited_and_kept_across_a_restart(proc):
    reply = web(proc, type="complaint.register", channel="hotline", text="办事等候太久", phone="13800138000",
                by="m001", window="w1")
    assert reply["ok"], reply
    x = reply["result"]["complaint"]
    assert x["number"] == "TS-20261201-001" and x["status"] == "已分派" and x["department"] == "人社局"
    assert x["due"] == "2026-12-08T17:00:00+08:00"
    number = x["number"]
    assert act(proc, number, "assign", department="人设局")["error"]["code"] == "unknown_department"
    assert act(proc, number, "assign", department="人社局", staff="s999")["error"]["code"] == "unknown_staff"
    assert act(proc, number, "assign", window="w9")["error"]["code"] == "unknown_window"
    assert act(proc, "TS-20261201-099", "handle", note="x")["error"]["code"] == "not_found"
    assert act(proc, number, "handle", note="已调整窗口人员")["ok"]
    refused = act(proc, number, "close")
    assert refused["error"]["code"] == "not_replied" and "答复" in refused["error"]["detail"]
    rebuilt = CommandProcessor(proc.config, proc.store, proc.clock)           # a restart: from the database
    told = act(rebuilt, number, "reply", method="短信", note="已短信告知处理结果", told_at="2026-12-01T08:30:00+08:00")
    assert told["error"]["code"] == "invalid"                                 # before it was registered
    told = act(rebuilt, number, "reply", method="短信", note="已短信告知处理结果")
    assert told["ok"] and told["result"]["complaint"]["reply"]["method"] == "短信"
    assert act(rebuilt, number, "close")["result"]["complaint"]["status"] == "办结"
    (row,) = proc.store.complaint_items()
    assert row.status == "办结" and [s.kind for s in row.steps] == ["分派", "办理", "答复", "办结"]
    audit = [(a["action"], a["outcome"]) for a in proc.store.audit_records()]
    assert ("complaint.register", "ok") in audit and ("complaint.act", "not_replied") in audit


def test_the_tablet_files_for_its_own_window_only(proc):
    reply = send(proc, "tablet-1", type="complaint.register", channel="tablet", text="工作人员玩手机", window="w1")
    assert reply["ok"] and reply["result"]["complaint"]["window"] == "w1"
    assert reply["result"]["complaint"]["registered_by"] == "tablet-1"
    assert send(proc, "tablet-1", type="complaint.register", channel="tablet", text="x",
                window="w2")["error"]["code"] == "forbidden"
    assert send(proc, "tablet-1", type="complaint.register", channel="hotline", text="x")["error"]["code"] == "invalid"
    assert send(proc, "kiosk-1", type="complaint.register", channel="box", text="x",
                by="m001")["error"]["code"] == "forbidden"
    assert web(proc, type="complaint.register", channel="tablet", text="x")["error"]["code"] == "invalid"
    assert web(proc, type="complaint.register", channel="box", text="x")["error"]["code"] == "invalid"   # who entered


def test_the_overdue_alert_on_the_tick_and_its_end(proc):
    number = web(proc, type="complaint.register", channel="box", text="意见箱：厕所没有纸", by="m001",
                 department="人社局")["result"]["complaint"]["number"]
    colour = proc.topics.event("complaint.colour")
    assert not [o for o in proc.tick() if o.topic == colour]
    proc.clock.set(at(2026, 12, 8, 17))
    assert not [o for o in proc.tick() if o.topic == colour]                  # on the last day's close: not yet
    proc.clock.set(at(2026, 12, 9, 9))
    (red,) = [json.loads(o.payload) for o in proc.tick() if o.topic == colour]
    assert (red["complaint"], red["colour"], red["department"]) == (number, "red", "人社局")
    assert not [o for o in proc.tick() if o.topic == colour]                  # once
    act(proc, number, "handle", note="已补充")
    act(proc, number, "close")
    (done,) = [json.loads(o.payload) for o in proc.tick() if o.topic == colour]
    assert done["colour"] == "green" and done["closed"]


def test_a_complainants_phone_is_masked_after_the_retention_days(proc):
    web(proc, type="complaint.register", channel="hotline", text="态度差", phone="13800138000", by="m001")
    proc.tick()
    proc.clock.set(at(2027, 5, 30, 9))                   # 180 days later: kept
    proc.tick()
    assert proc.store.complaint_items()[0].phone == "13800138000"
    proc.clock.set(at(2027, 5, 31, 9))                   # 181 days: masked, in the database and in memory
    proc.tick()
    assert proc.store.complaint_items()[0].phone == "138****8000"
    (x,) = proc.complaints.listing(proc.clock.now(), proc.clock.tz)
    assert x["phone"] == "138****8000" and x["has_contact"]
    assert ("complaint.retention", "ok") in [(a["action"], a["outcome"]) for a in proc.store.audit_records()]


def test_the_hall_sets_its_own_days_and_a_complaint_keeps_the_days_it_was_registered_with(proc):
    proc.config.complaints.days = 3
    first = web(proc, type="complaint.register", channel="box", text="意见", by="m001")["result"]["complaint"]
    assert first["days"] == 3 and first["due"] == "2026-12-04T17:00:00+08:00"        # Tue 1 Dec + 3: Fri 4 Dec
    proc.config.complaints.days = 5
    second = web(proc, type="complaint.register", channel="box", text="意见", by="m001")["result"]["complaint"]
    assert second["due"] == "2026-12-08T17:00:00+08:00"
    (again, _) = proc.complaints.listing(proc.clock.now(), proc.clock.tz)[::-1]
    assert again["due"] == "2026-12-04T17:00:00+08:00"


def test_a_complaint_at_the_year_end_is_pending_until_next_years_calendar_arrives(proc, tmp_path):
    proc.clock.set(at(2026, 12, 28, 10))                # 5 working days reach into 2027, not loaded
    x = web(proc, type="complaint.register", channel="hotline", text="年底投诉", by="m001",
            department="人社局")["result"]["complaint"]
    assert x["due"] is None and x["due_pending"] == "待定：2027 年节假日安排未导入" and not x["overdue"]
    proc.clock.set(at(2027, 1, 15, 10))                 # long after: still pending, never overdue, no crash
    assert not [o for o in proc.tick() if o.topic == proc.topics.event("complaint.colour")]
    calendar = tmp_path / "calendar.toml"
    calendar.write_text('[[year]]\nyear = 2027\ndays_off = ["2027-01-01"]\n', encoding="utf-8")
    proc.config.calendar.file = str(calendar)
    proc.apply_config(proc.config)                      # the calendar arrives: 29, 30, 31 Dec, 4, 5 Jan
    (view,) = proc.complaints.listing(proc.clock.now(), proc.clock.tz)
    assert view["due"] == "2027-01-05T17:00:00+08:00" and view["overdue"]
    (red,) = [o for o in proc.tick() if o.topic == proc.topics.event("complaint.colour")]
    assert x["number"] in red.payload.decode()
