"""差评整改: every 差评 opens a rectification with working-day steps; a real-name one must be
reached; staff may appeal once; the rating itself never changes."""
import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hallserver.calendar_source import work_calendar
from hallserver.domain.clock import SimClock
from hallserver.domain.rectification import RectificationBook, RectificationError, due_dates, step_colours
from hallserver.processor import CommandProcessor
from hallserver.store import Store

TZ = ZoneInfo("Asia/Shanghai")
CAL = work_calendar()
CLOSE = datetime(2025, 11, 17, 17, 0).time()


def at(d, hh=10):
    return datetime(2025, 11, d, hh, 0, tzinfo=TZ)


def test_deadlines_one_and_fifteen_working_days_and_their_colours():
    book = RectificationBook()
    r = book.open(1, "w1", "s001", "人社局", 1, "", at(17))
    verify, rectify = due_dates(r, CAL, CLOSE)
    assert verify == datetime(2025, 11, 18, 17, 0, tzinfo=TZ) and rectify == datetime(2025, 12, 8, 17, 0, tzinfo=TZ)
    assert step_colours(r, CAL, CLOSE, at(17)) == {"核实回访": "yellow", "整改": "green"}
    assert step_colours(r, CAL, CLOSE, at(19))["核实回访"] == "red"


def test_a_real_name_bad_rating_cannot_close_without_reaching_the_citizen():
    book = RectificationBook()
    r = book.open(1, "w1", "s001", "人社局", 2, "13800138000", at(17))
    with pytest.raises(RectificationError):
        book.rectify(r.id, "m001", "已加强培训", at(17))                 # verify first
    book.verify(r.id, "m001", "电话未接通", reached=False, now=at(17))
    with pytest.raises(RectificationError) as info:
        book.rectify(r.id, "m001", "已加强培训", at(18))
    assert info.value.code == "not_reached"
    book.verify(r.id, "m001", "已电话回访，群众反映等候时间长", reached=True, now=at(18))
    book.rectify(r.id, "m001", "高峰时段增开窗口", at(19))
    assert r.status == "已整改" and r.closed


def test_an_appeal_once_by_the_staff_member_decided_by_someone_else():
    book = RectificationBook()
    r = book.open(1, "w1", "s001", "人社局", 1, "", at(17))
    with pytest.raises(RectificationError):
        book.appeal(r.id, "s002", "不是我办理的", at(17))                 # only the one rated
    book.appeal(r.id, "s001", "监控录像显示已一次性告知", at(17))
    assert r.status == "申诉中"
    with pytest.raises(RectificationError):
        book.decide(r.id, "s001", True, "自己裁决", at(18))
    book.decide(r.id, "m001", True, "录像核实属实", at(18))
    assert r.status == "申诉成立" and r.closed
    with pytest.raises(RectificationError):
        book.appeal(r.id, "s001", "again", at(19))


@pytest.fixture
def proc(config, db_url):
    config.windows[0].department = "人社局"
    store = Store(db_url)
    store.migrate()
    yield CommandProcessor(config, store, SimClock(datetime(2025, 11, 17, 9, 0, tzinfo=TZ)))
    store.close()


def send(proc, device, **command):
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command, ensure_ascii=False).encode())
    return next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device))


def web(proc, **command):
    reply, _ = proc.handle_local(json.dumps({"id": uuid.uuid4().hex, "type": "rectification.act", **command},
                                            ensure_ascii=False).encode())
    return reply


def test_a_bad_rating_opens_its_rectification_in_the_same_commit_and_it_survives_a_restart(proc):
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    for level in (5, 1):
        send(proc, "kiosk-1", type="ticket.issue", category="social")
        send(proc, "counter-1", type="window.call_next", window="w1")
        send(proc, "counter-1", type="window.complete", window="w1")
        send(proc, "tablet-1", type="rating.submit", window="w1", level=level,
             phone="13800138000" if level == 1 else "")
    (item,) = proc.rectification_list()
    assert item["department"] == "人社局" and item["real_name"] and item["status"] == "待核实" and item["level"] == 1
    assert web(proc, rectification=item["id"], action="rectify", by="m001", note="x")["error"]["code"] == "invalid"
    assert web(proc, rectification=item["id"], action="verify", by="m001", note="已回访", reached=True)["ok"]
    rebuilt = CommandProcessor(proc.config, proc.store, proc.clock)
    done = web(rebuilt, rectification=item["id"], action="rectify", by="m001", note="增开窗口")
    assert done["ok"] and done["result"]["rectification"]["status"] == "已整改"
    assert proc.store.rectification_status() == {2: "已整改"}
    assert [r["level"] for r in proc.store.rating_records()] == [5, 1]      # the rating itself never changes
    assert web(proc, rectification=99, action="verify", by="m001", note="x")["error"]["code"] == "not_found"
