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
from hallserver.domain.workdays import Pending
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
    other = book.open(2, "w1", "s001", "人社局", 1, "", at(17))
    book.appeal(other.id, "s001", "窗口系统故障", at(17), filed_by="m002")      # entered by a manager for s001
    with pytest.raises(RectificationError):
        book.decide(other.id, "m002", False, "自己录入自己裁决", at(18))
    book.decide(other.id, "m001", False, "系统日志无故障", at(18))
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


def test_statistics_and_the_weighted_window_ranking():
    from hallserver.reports.ratings import rating_statistics, window_ranking

    def row(window, level, channel, rectification="无需整改"):
        return {"window": window, "staff": "s1", "department": "人社局", "matter": "社保医保", "level": level,
                "channel": channel, "rectification": rectification}
    rows = [row("w1", 5, 4), row("w1", 4, 4), row("w1", 1, 3, "已整改"), row("w1", 2, 3, "待核实"),
            row("w2", 5, 4), row("w2", 5, 3)]
    stats = rating_statistics(rows)
    w1 = stats["by_window"]["w1"]
    assert (w1["count"], w1["satisfaction"], w1["bad"], w1["rectification_rate"]) == (4, 50.0, 2, 50.0)
    assert stats["by_channel"]["评价器"]["count"] == 3 and stats["total"]["rate_by_level"]["5"] == 50.0
    adjustments = [{"window": "w2", "points": -30, "reason": "暗访发现离岗", "by": "m001", "at": "…"}]
    ranking = window_ranking(rows, adjustments, {4: 0.6, 3: 0.4}, 0.2, ["w1", "w2", "w3"])
    assert [(r["window"], r["rank"]) for r in ranking] == [("w2", 1), ("w1", 2), ("w3", None)]
    w2 = ranking[0]
    assert w2["raters"] == 100.0 and w2["manager"] == 70.0 and w2["score"] == 94.0       # 0.8 × 100 + 0.2 × 70
    assert ranking[1]["raters"] == 60.0 and ranking[1]["score"] == 68.0                  # 0.6×100 + 0.4×0 = 60
    assert w2["adjustments"][0]["reason"] == "暗访发现离岗"


def test_the_ratings_report_and_an_adjustment_over_http(config, embedded_broker, sqlite_url):
    import httpx

    from hallserver.broker import free_port
    from tests.conftest import running_hall
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        counter, tablet, kiosk = device("counter-1"), device("tablet-1"), device("kiosk-1")
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        kiosk.request({"type": "ticket.issue", "category": "social"})
        counter.request({"type": "window.call_next", "window": "w1"})
        counter.request({"type": "window.complete", "window": "w1"})
        tablet.request({"type": "rating.submit", "window": "w1", "level": 2})
        base = server.dashboard_url
        assert httpx.post(base + "api/ranking/adjustments", json={"window": "w1", "points": 5, "reason": "表扬信",
                                                                   "by": "m001"}, timeout=5).status_code == 201
        assert httpx.post(base + "api/ranking/adjustments", json={"window": "w1", "points": 5, "reason": "",
                                                                   "by": "m001"}, timeout=5).status_code == 422
        report = httpx.get(base + "api/reports/ratings", timeout=5).json()
        assert report["by_window"]["w1"]["bad"] == 1 and report["ranking"][0]["window"] == "w1"
        assert report["ranking"][0]["adjustments"][0]["reason"] == "表扬信"
        (item,) = httpx.get(base + "api/rectifications", timeout=5).json()["rectifications"]
        r = httpx.post(base + f"api/rectifications/{item['id']}/verify", json={"by": "m001", "note": "已核实"},
                       timeout=5)
        assert r.status_code == 200 and r.json()["rectification"]["status"] == "待整改"
        assert httpx.post(base + f"api/rectifications/{item['id']}/appeal", json={"by": "s002", "note": "x"},
                          timeout=5).status_code == 403
        assert httpx.post(base + "api/rectifications/1/shred", json={"by": "m001", "note": "x"},
                          timeout=5).status_code == 404


def test_the_windows_static_qr_leads_to_the_citizens_own_recent_service(config, embedded_broker, sqlite_url):
    import httpx

    from hallserver.broker import free_port
    from tests.conftest import running_hall
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        from hallserver.domain.rating_code import rating_code
        counter, kiosk = device("counter-1"), device("kiosk-1")
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        token = kiosk.request({"type": "ticket.issue", "category": "social"})["result"]["page_url"].rsplit("/", 1)[1]
        code = rating_code(token)                      # what the window's tablet shows at 办结
        base = server.dashboard_url
        assert "请输入您号票上的号码" in httpx.get(base + "w/w1/rate", timeout=5).text
        assert httpx.get(base + "w/w9/rate", timeout=5).status_code == 404
        early = httpx.post(base + "w/w1/rate", data={"number": "a001", "code": code}, timeout=5)
        assert early.status_code == 404 and "号码或评价码不对" in early.text        # not served yet
        counter.request({"type": "window.call_next", "window": "w1"})
        counter.request({"type": "window.complete", "window": "w1"})
        assert httpx.post(base + "w/w2/rate", data={"number": "A001", "code": code},
                          timeout=5).status_code == 404                              # other window
        assert httpx.post(base + "w/w1/rate", data={"number": "A001"}, timeout=5).status_code == 400   # no code
        found = httpx.post(base + "w/w1/rate", data={"number": "a001", "code": code}, timeout=5)
        assert found.status_code == 303 and found.headers["location"] == f"/t/{token}"
        httpx.post(base + f"t/{token}/rating", data={"level": "5"}, timeout=5)
        rated = httpx.post(base + "w/w1/rate", data={"number": "A001", "code": code}, timeout=5)
        assert rated.status_code == 303 and "已评价" in httpx.get(base + f"t/{token}", timeout=5).text


def test_a_phone_rating_stays_open_for_the_configured_days(config, db_url):
    config.ratings.phone_valid_days = 2
    store = Store(db_url)
    store.migrate()
    proc = CommandProcessor(config, store, SimClock(datetime(2025, 11, 17, 9, 0, tzinfo=TZ)))
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    for _ in range(2):
        send(proc, "kiosk-1", type="ticket.issue", category="social")
        send(proc, "counter-1", type="window.call_next", window="w1")
        send(proc, "counter-1", type="window.complete", window="w1")
    token, other = (t.token for t in store.all_tickets())
    proc.clock.set(datetime(2025, 11, 19, 9, 0, tzinfo=TZ))               # two days later: still open
    later = CommandProcessor(config, store, proc.clock)                   # and after a restart
    reply, _ = later.handle_local(json.dumps({"id": "p1", "type": "rating.submit_by_token", "token": token,
                                              "level": 4}).encode())
    assert reply["ok"]
    reply, _ = later.handle_local(json.dumps({"id": "p2", "type": "rating.submit_by_token", "token": token,
                                              "level": 1}).encode())
    assert reply["error"]["code"] == "already_rated"
    proc.clock.set(datetime(2025, 11, 20, 9, 0, tzinfo=TZ))               # three days: too late
    reply, _ = later.handle_local(json.dumps({"id": "p3", "type": "rating.submit_by_token", "token": other,
                                              "level": 4}).encode())
    assert reply["error"]["code"] == "rating_expired" and reply["error"]["message"] == "已超过评价期限"
    store.close()


def test_each_deadline_stands_on_its_own_at_the_year_boundary():
    """A 差评 on 30 Dec 2026: 核实 is due on the 31st (covered), 整改's 15 days reach 2027 (pending)."""
    book = RectificationBook()
    r = book.open(1, "w1", "s001", "人社局", 1, "", datetime(2026, 12, 30, 10, 0, tzinfo=TZ))
    verify, rectify = due_dates(r, CAL, CLOSE)
    assert verify == datetime(2026, 12, 31, 17, 0, tzinfo=TZ) and rectify == Pending(2027)
    assert step_colours(r, CAL, CLOSE, datetime(2026, 12, 30, 11, 0, tzinfo=TZ)) == {"核实回访": "yellow"}
    last = book.open(2, "w1", "s001", "人社局", 1, "", datetime(2026, 12, 31, 10, 0, tzinfo=TZ))
    assert due_dates(last, CAL, CLOSE) == (Pending(2027), Pending(2027))     # both in 2027


def test_a_bad_rating_on_the_30th_of_december_through_the_command_path(proc, tmp_path):
    proc.clock.set(datetime(2026, 12, 30, 10, 0, tzinfo=TZ))
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    send(proc, "kiosk-1", type="ticket.issue", category="social")
    send(proc, "counter-1", type="window.call_next", window="w1")
    send(proc, "counter-1", type="window.complete", window="w1")
    assert send(proc, "tablet-1", type="rating.submit", window="w1", level=1, phone="13800138000")["ok"]
    (item,) = proc.rectification_list()
    assert item["verify_due"] == "2026-12-31T17:00:00+08:00" and item["verify_pending"] is None
    assert item["rectify_due"] is None and item["rectify_pending"] == "待定：2027 年节假日安排未导入"
    assert item["colours"] == {"核实回访": "yellow"}
    verified = web(proc, rectification=item["id"], action="verify", by="m001", note="已回访", reached=True)
    assert verified["ok"] and verified["result"]["rectification"]["status"] == "待整改"
    calendar = tmp_path / "calendar.toml"
    calendar.write_text('[[year]]\nyear = 2027\ndays_off = ["2027-01-01"]\n', encoding="utf-8")
    proc.config.calendar.file = str(calendar)
    proc.apply_config(proc.config)                                          # the calendar arrives
    (item,) = proc.rectification_list()
    assert item["rectify_due"] == "2027-01-21T17:00:00+08:00" and item["rectify_pending"] is None
    assert item["colours"]["整改"] == "green"
