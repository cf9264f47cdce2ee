"""首问负责制: the first-asked records the inquiry, answers it on the spot or hands it to a named
window or person, who records the outcome; the domain at its edges, the command path on a real
SQLite store (a counter acts only for its own window's logged-in staff), the receiving counter's
retained list, and the report over HTTP with a lead's scope and an auditor's read-only."""
import csv
import io
import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from govhall.config import ManagerConfig
from hallserver.domain.clock import SimClock
from hallserver.domain.inquiries import QUESTION_MAX, InquiryBook, InquiryError
from hallserver.passwords import hash_password
from hallserver.processor import CommandProcessor
from hallserver.reports.inquiries import inquiry_report
from hallserver.store import Store
from hallserver.web.app import WebServer, create_app
from hallserver.web.dashboard import Dashboard
from hallserver.web.live import LiveView
from tests.conftest import free_port

TZ = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 12, 1, 9, 0, tzinfo=TZ)


def book():
    return InquiryBook([], 0, frozenset({"w1", "w2"}), frozenset({"s001", "s002", "s003"}),
                       frozenset({"social", "pension-transfer"}))


def refused(code, call, *args, **kwargs):
    with pytest.raises(InquiryError) as info:
        call(*args, **kwargs)
    assert info.value.code == code, info.value.detail
    return info.value.detail


# ---------------------------------------------------------------------- the domain at its edges
def test_recorded_answered_on_the_spot_or_handed_off_and_closed_by_the_receiver():
    b = book()
    answered = b.record("s001", "w1", "counter-1", "  社保卡丢了怎么补办？ ", "social", T0, answered=True)
    assert (answered.id, answered.status, answered.question, answered.outcome) == (1, "已答复", "社保卡丢了怎么补办？",
                                                                                  "answered")
    assert (answered.closed_by, answered.closed_at) == ("s001", T0)
    handed = b.record("s001", "w1", "counter-1", "养老保险转移要带什么", "pension-transfer", T0, to_window="w2")
    assert (handed.id, handed.status, handed.to_window, handed.handed_at) == (2, "已转交", "w2", T0)
    assert b.open_for("w2", "s002") == [handed] and b.open_for("w1", "s001") == []
    refused("forbidden", b.close, 2, "s001", "w1", "answered", "", T0)          # the first-asked cannot close it
    refused("forbidden", b.close, 2, "s001", "w2", "answered", "", T0)          # not even entered at the receiver
    done = b.close(2, "s002", "w2", "ticket", "已取号 A012", T0 + timedelta(minutes=7))
    assert (done.status, done.outcome, done.closed_by, done.closed_window) == ("已办结", "ticket", "s002", "w2")
    refused("invalid", b.close, 2, "s002", "w2", "answered", "", T0)             # once
    assert [x.id for x in b.take_changed()] == [1, 2] and b.take_changed() == []
    assert b.items == {}                                                        # saved and closed: out of memory
    refused("not_found", b.close, 2, "s002", "w2", "answered", "", T0)


def test_recorded_first_then_handed_to_a_person_or_answered_by_the_first_asked():
    b = book()
    x = b.record("s001", "", "m001", "公积金提取", "", T0)                        # the dashboard's 导办台
    assert x.status == "登记" and x.window == ""
    refused("forbidden", b.hand_off, x.id, "s002", "", "s003", T0)               # only the first-asked hands on
    b.hand_off(x.id, "s001", "", "s003", T0)
    assert b.open_for("w1", "s003") == [x]                                       # wherever s003 sits
    refused("invalid", b.hand_off, x.id, "s001", "", "s002", T0)                 # handed already
    refused("forbidden", b.close, x.id, "s002", "w2", "answered", "", T0)
    assert b.close(x.id, "s003", "w1", "referred", "请到税务局办理", T0).status == "已办结"
    y = b.record("s002", "w2", "counter-2", "营业执照", "", T0)
    refused("forbidden", b.close, y.id, "s001", "w1", "answered", "", T0)
    assert b.close(y.id, "s002", "w2", "answered", "", T0).status == "已答复"


def test_the_receiver_must_be_known_and_never_oneself():
    b = book()
    assert "窗口" in refused("unknown_window", b.record, "s001", "w1", "c", "问题内容", "", T0, to_window="w9")
    refused("unknown_staff", b.record, "s001", "w1", "c", "问题内容", "", T0, to_staff="s999")
    refused("unknown_staff", b.record, "s999", "w1", "c", "问题内容", "", T0)     # nor an unknown first-asked
    assert "自己" in refused("invalid", b.record, "s001", "w1", "c", "问题内容", "", T0, to_staff="s001")
    refused("invalid", b.record, "s001", "w1", "c", "问题内容", "", T0, to_window="w1")   # the window it was asked at
    refused("invalid", b.record, "s001", "w1", "c", "问题内容", "", T0, answered=True, to_window="w2")
    x = b.record("s001", "w1", "c", "问题内容", "", T0)
    refused("invalid", b.hand_off, x.id, "s001", "w2", "s002", T0)                # one receiver, not two
    refused("invalid", b.hand_off, x.id, "s001", "", "", T0)
    refused("not_found", b.hand_off, 99, "s001", "w2", "", T0)
    assert b.last_id == 1                                                       # nothing refused took a number


def test_the_question_short_without_an_id_number_and_the_topic_of_the_hall():
    b = book()
    refused("invalid", b.record, "s001", "w1", "c", " 问 ", "", T0)                 # 1 character after stripping
    assert b.record("s001", "w1", "c", "问题", "", T0).question == "问题"          # 2: the least
    assert len(b.record("s001", "w1", "c", "问" * QUESTION_MAX, "", T0).question) == QUESTION_MAX
    refused("invalid", b.record, "s001", "w1", "c", "问" * (QUESTION_MAX + 1), "", T0)
    assert "身份证" in refused("invalid", b.record, "s001", "w1", "c", "张三 11010519491231002X 补证", "", T0)
    refused("invalid", b.record, "s001", "w1", "c", "旧证号 110105491231002", "", T0)   # 15 digits
    assert b.record("s001", "w1", "c", "电话 13800138000 回电", "", T0).status == "登记"  # a phone number is no ID
    refused("invalid", b.record, "s001", "w1", "c", "问题内容", "housing", T0)
    x = b.record("s001", "w1", "c", "问题内容", "", T0)
    refused("invalid", b.close, x.id, "s001", "w1", "maybe", "", T0)
    refused("invalid", b.close, x.id, "s001", "w1", "answered", "备" * 201, T0)


def test_the_report_counts_the_first_asked_and_the_receiver():
    b = book()
    b.record("s001", "w1", "c", "问题一", "", T0, answered=True)
    b.record("s001", "w1", "c", "问题二", "", T0, to_window="w2")
    b.record("s001", "w1", "c", "问题三", "", T0, to_staff="s003")
    b.record("s002", "", "m001", "问题四", "", T0)
    b.close(2, "s002", "w2", "answered", "", T0 + timedelta(minutes=10))
    b.close(3, "s003", "", "referred", "", T0 + timedelta(minutes=20))
    r = inquiry_report(b.items.values())
    staff = {x["id"]: x for x in r["by_staff"]}
    windows = {x["id"]: x for x in r["by_window"]}
    assert (staff["s001"]["recorded"], staff["s001"]["answered"], staff["s001"]["handed_off"]) == (3, 1, 2)
    assert (staff["s002"]["recorded"], staff["s002"]["closed"], staff["s002"]["avg_close_minutes"]) == (1, 1, 10.0)
    assert (staff["s003"]["recorded"], staff["s003"]["closed"], staff["s003"]["avg_close_minutes"]) == (0, 1, 20.0)
    assert windows["w1"]["recorded"] == 3 and windows["w2"]["closed"] == 1 and windows["导办台"]["recorded"] == 1
    assert r["totals"] == {"recorded": 4, "answered": 1, "handed_off": 2, "closed": 2, "open": 0,
                           "avg_close_minutes": 15.0}


WINDOWS, STAFF = ["w1", "w2", "w9", ""], ["s001", "s002", "s003", "s999"]
STEPS = st.lists(st.one_of(
    st.tuples(st.just("record"), st.sampled_from(STAFF), st.sampled_from(WINDOWS), st.booleans(),
              st.sampled_from(WINDOWS), st.sampled_from([*STAFF, ""])),
    st.tuples(st.just("hand_off"), st.integers(1, 6), st.sampled_from(STAFF), st.sampled_from(WINDOWS),
              st.sampled_from([*STAFF, ""])),
    st.tuples(st.just("close"), st.integers(1, 6), st.sampled_from(STAFF), st.sampled_from(WINDOWS),
              st.sampled_from(["answered", "ticket", "referred", "x"]))), max_size=30)


@settings(max_examples=200, deadline=None)
@given(STEPS)
def test_whatever_is_tried_the_book_keeps_its_rules(steps):
    """Any sequence of steps, refused or not: ids are given in order and only to what was kept;
    已答复 is the first-asked's own, never handed; 已转交 and 已办结 name one known receiver who is
    not the first-asked (nor the window asked at); 已办结 was recorded by that receiver."""
    b, kept = book(), 0
    for step in steps:
        try:
            match step:
                case ("record", staff, window, answered, to_window, to_staff):
                    b.record(staff, window, "c", "问题内容", "", T0, answered=answered, to_window=to_window,
                             to_staff=to_staff)
                    kept += 1
                case ("hand_off", inquiry, actor, to_window, to_staff):
                    b.hand_off(inquiry, actor, to_window, to_staff, T0)
                case ("close", inquiry, actor, window, outcome):
                    b.close(inquiry, actor, window, outcome, "", T0)
        except InquiryError as exc:
            assert exc.code in ("not_found", "forbidden", "invalid", "unknown_window", "unknown_staff")
    assert b.last_id == kept and sorted(b.items) == list(range(1, kept + 1))
    for x in b.items.values():
        assert x.asked_by in b.staff
        if x.status == "已答复":
            assert x.closed_by == x.asked_by and x.handed_at is None and x.outcome
        if x.status in ("已转交", "已办结"):
            assert bool(x.to_window) != bool(x.to_staff) and x.handed_at is not None
            assert x.to_staff != x.asked_by and (not x.to_window or x.to_window != x.window)
            assert (x.to_window in b.windows) if x.to_window else (x.to_staff in b.staff)
        if x.status == "已办结":
            assert (x.closed_by == x.to_staff) if x.to_staff else (x.closed_window == x.to_window)


# ---------------------------------------------------------------------- the command path
@pytest.fixture
def proc(config, sqlite_url):
    store = Store(sqlite_url)
    store.migrate()
    p = CommandProcessor(config, store, SimClock(T0))
    yield p
    store.close()


def send(proc, device, **command):
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command, ensure_ascii=False).encode())
    return next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device)), out


def reply(proc, device, **command):
    return send(proc, device, **command)[0]


def web(proc, **command):
    return proc.handle_local(json.dumps({"id": uuid.uuid4().hex, **command}, ensure_ascii=False).encode())[0]


def lists(out, proc):
    prefix = proc.topics.window_inquiries("")
    return {o.topic.removeprefix(prefix): json.loads(o.payload) for o in out if o.topic.startswith(prefix)}


def test_a_counter_records_for_its_own_staff_and_the_receiving_counter_sees_it(proc):
    reply(proc, "counter-1", type="window.login", window="w1", staff="s001")
    reply(proc, "counter-2", type="window.login", window="w2", staff="s002")
    r, out = send(proc, "counter-1", type="inquiry.record", window="w1", question="社保转移接续怎么办",
                  topic="social", to_window="w2")
    assert r["ok"], r
    x = r["result"]["inquiry"]
    assert (x["asked_by"], x["window"], x["entered_by"], x["status"]) == ("s001", "w1", "counter-1", "已转交")
    (item,) = lists(out, proc)["w2"]["items"]
    assert (item["inquiry"], item["asked_by_name"], item["from_window"]) == (x["id"], "王丽", "w1")
    assert "w1" not in lists(out, proc)                                          # unchanged: not sent again
    assert reply(proc, "counter-1", type="inquiry.close", window="w1", inquiry=x["id"],
                 outcome="answered")["error"]["code"] == "forbidden"             # only the receiver closes
    r, out = send(proc, "counter-2", type="inquiry.close", window="w2", inquiry=x["id"], outcome="ticket",
                  note="已取号")
    assert r["result"]["inquiry"]["status"] == "已办结" and r["result"]["inquiry"]["closed_by"] == "s002"
    assert lists(out, proc)["w2"]["items"] == []
    (row,) = proc.store.inquiries_between(T0, T0 + timedelta(days=1))
    assert (row.status, row.outcome, row.closed_by, row.note) == ("已办结", "ticket", "s002", "已取号")
    audit = [(a["action"], a["outcome"]) for a in proc.store.audit_records()]
    assert ("inquiry.record", "ok") in audit and ("inquiry.close", "forbidden") in audit


def test_a_manager_closing_on_the_dashboard_names_the_receiver_never_the_first_asked(proc):
    reply(proc, "counter-1", type="window.login", window="w1", staff="s001")
    reply(proc, "counter-3", type="window.login", window="w3", staff="s003")
    x = reply(proc, "counter-1", type="inquiry.record", window="w1", question="不动产登记要带什么", to_window="w3")
    number = x["result"]["inquiry"]["id"]
    as_asker = web(proc, type="inquiry.close", inquiry=number, staff="s001", by="m001", outcome="answered")
    assert as_asker["error"]["code"] == "forbidden"                           # the first-asked is not the receiver
    as_other = web(proc, type="inquiry.close", inquiry=number, staff="s002", by="m001", outcome="answered")
    assert as_other["error"]["code"] == "forbidden" and "s003" in as_other["error"]["detail"]
    done = web(proc, type="inquiry.close", inquiry=number, staff="s003", by="m001", outcome="answered")
    assert done["ok"] and done["result"]["inquiry"]["closed_by"] == "s003"


def test_the_counter_of_window_1_cannot_record_for_window_2s_staff(proc):
    reply(proc, "counter-1", type="window.login", window="w1", staff="s001")
    reply(proc, "counter-2", type="window.login", window="w2", staff="s002")
    other_window = reply(proc, "counter-1", type="inquiry.record", window="w2", question="代别人登记", answered=True)
    assert other_window["error"]["code"] == "forbidden"
    other_staff = reply(proc, "counter-1", type="inquiry.record", window="w1", staff="s002", question="代别人登记",
                        answered=True)
    assert other_staff["error"]["code"] == "forbidden"
    no_window = reply(proc, "counter-1", type="inquiry.record", question="不写窗口", answered=True)
    assert no_window["error"]["code"] == "forbidden"
    closed = reply(proc, "counter-3", type="inquiry.record", window="w3", question="没人登录", answered=True)
    assert closed["error"]["code"] == "window_closed"
    assert reply(proc, "kiosk-1", type="inquiry.record", window="w1", question="自助机", answered=True
                 )["error"]["code"] == "forbidden"                              # not a kiosk's command
    assert proc.store.inquiries_between(T0, T0 + timedelta(days=1)) == []


def test_an_unknown_receiver_or_oneself_is_refused_and_nothing_is_kept(proc):
    reply(proc, "counter-1", type="window.login", window="w1", staff="s001")
    assert reply(proc, "counter-1", type="inquiry.record", window="w1", question="转给谁",
                 to_window="w9")["error"]["code"] == "unknown_window"
    assert reply(proc, "counter-1", type="inquiry.record", window="w1", question="转给谁",
                 to_staff="s999")["error"]["code"] == "unknown_staff"
    assert reply(proc, "counter-1", type="inquiry.record", window="w1", question="转给谁",
                 to_staff="s001")["error"]["code"] == "invalid"
    assert reply(proc, "counter-1", type="inquiry.record", window="w1", question="转给谁",
                 topic="nothing")["error"]["code"] == "invalid"
    bad = reply(proc, "counter-1", type="inquiry.record", window="w1", question="x" * 201)
    assert bad["error"]["code"] == "invalid"                                     # the contract's own limit
    assert proc.store.inquiries_between(T0, T0 + timedelta(days=1)) == []
    ok = reply(proc, "counter-1", type="inquiry.record", window="w1", question="转给谁")
    assert ok["result"]["inquiry"]["id"] == 1                                   # refusals took no number


def test_handed_to_a_person_the_list_follows_them_and_survives_a_restart(proc):
    reply(proc, "counter-1", type="window.login", window="w1", staff="s001")
    r = web(proc, type="inquiry.record", staff="s003", by="m001", question="不动产登记在哪办")
    assert r["result"]["inquiry"]["window"] == "" and r["result"]["inquiry"]["entered_by"] == "m001"
    assert web(proc, type="inquiry.record", question="没写首问人", by="m001")["error"]["code"] == "invalid"
    assert web(proc, type="inquiry.record", staff="s003", question="没写录入人")["error"]["code"] == "invalid"
    rebuilt = CommandProcessor(proc.config, proc.store, proc.clock)             # a restart: from the database
    assert web(rebuilt, type="inquiry.hand_off", inquiry=1, staff="s003", by="m001", to_staff="s002")["ok"]
    _, out = send(rebuilt, "counter-2", type="window.login", window="w2", staff="s002")
    (item,) = lists(out, rebuilt)["w2"]["items"]                               # s002 logs in at w2: it is there
    assert item["to_staff"] == "s002"
    retained = lists(rebuilt.full_state(), rebuilt)
    assert set(retained) == {"w1", "w2", "w3"} and len(retained["w2"]["items"]) == 1
    again = CommandProcessor(proc.config, proc.store, proc.clock)
    assert reply(again, "counter-2", type="inquiry.close", window="w2", inquiry=1, outcome="referred",
                 note="请到不动产登记中心")["result"]["inquiry"]["status"] == "已办结"


# ---------------------------------------------------------------------- the report over HTTP
@pytest.fixture
def site(proc):
    secret = hash_password("manager-pass-2026")
    proc.config.windows[1].department = "人社局"
    proc.config.staff[1].department = "人社局"
    proc.config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=secret),
                            ManagerConfig(id="a001", name="审计员", password_hash=secret, role="auditor"),
                            ManagerConfig(id="l001", name="刘科长", password_hash=secret, role="lead",
                                          departments=["人社局"])]
    dashboard = Dashboard("示范县政务服务中心", LiveView(proc.topics, proc.clock), proc.store, proc.clock)
    dashboard.config = proc.config
    server = WebServer(create_app(dashboard, submit=lambda payload: proc.handle_local(payload)[0],
                                  query=lambda fn: fn(proc)), "127.0.0.1", free_port()).start()
    yield server.url
    server.stop()


def login(base, who):
    client = httpx.Client(base_url=base, timeout=10)
    assert client.post("/login", data={"manager": who, "password": "manager-pass-2026"}).status_code in (200, 303)
    return client, {"X-CSRF-Token": client.cookies["govhall_csrf"]}


def test_the_report_over_http_with_csv_a_leads_scope_and_an_auditor_read_only(proc, site):
    reply(proc, "counter-1", type="window.login", window="w1", staff="s001")
    reply(proc, "counter-2", type="window.login", window="w2", staff="s002")
    reply(proc, "counter-1", type="inquiry.record", window="w1", question="社保卡补办", answered=True)
    handed = reply(proc, "counter-1", type="inquiry.record", window="w1", question="社保转移", to_window="w2")
    proc.clock.set(T0 + timedelta(minutes=12))
    reply(proc, "counter-2", type="inquiry.close", window="w2", inquiry=handed["result"]["inquiry"]["id"],
          outcome="answered")
    manager, csrf = login(site, "m001")
    made = manager.post("/api/inquiries", json={"staff": "s003", "by": "someone", "question": "导办台登记",
                                                "to_staff": "s002"}, headers=csrf)
    assert made.status_code == 201 and made.json()["inquiry"]["entered_by"] == "m001"    # the one logged in
    assert manager.post("/api/inquiries", json={"staff": "s003", "question": "x"}, headers=csrf).status_code == 400
    assert manager.post("/api/inquiries/99/close", json={"staff": "s002", "outcome": "answered"},
                        headers=csrf).status_code == 404
    assert manager.post("/api/inquiries", json={"staff": "s003", "question": "导办台", "to_window": "w9"},
                        headers=csrf).status_code == 400
    assert manager.post("/api/inquiries", json={"staff": "s003", "question": "导办台"}).status_code == 403  # CSRF
    figures = manager.get("/api/reports/inquiries?period=day&date=2026-12-01").json()
    staff = {r["id"]: r for r in figures["by_staff"]}
    assert (staff["s001"]["recorded"], staff["s001"]["answered"], staff["s001"]["handed_off"]) == (2, 1, 1)
    assert (staff["s002"]["closed"], staff["s002"]["avg_close_minutes"], staff["s002"]["open"]) == (1, 12.0, 1)
    assert figures["totals"]["recorded"] == 3 and staff["s003"]["name"] == "张敏"
    rows = list(csv.reader(io.StringIO(manager.get("/api/reports/inquiries?date=2026-12-01&format=csv").text)))
    assert rows[0] == ["\ufeff【按人员】"] and ["s001", "王丽", "2", "1", "1", "0", "0", ""] in rows
    assert manager.get("/api/reports/inquiries?format=xml").status_code == 400
    assert manager.get("/api/reports/inquiries?period=year").status_code == 400
    part = manager.get("/reports/inquiries?period=day&date=2026-12-01")
    assert part.status_code == 200 and "首问负责" in part.text and "王丽" in part.text
    lead, lead_csrf = login(site, "l001")
    seen = lead.get("/api/reports/inquiries?date=2026-12-01").json()
    assert {r["id"] for r in seen["by_staff"]} == {"s002"} and {r["id"] for r in seen["by_window"]} == {"w2"}
    assert lead.post("/api/inquiries", json={"staff": "s001", "question": "别的部门"},
                     headers=lead_csrf).status_code == 403
    assert lead.post("/api/inquiries", json={"staff": "s002", "question": "本部门", "answered": True},
                     headers=lead_csrf).status_code == 201
    other = reply(proc, "counter-1", type="inquiry.record", window="w1", question="别的部门的", to_window="w3")
    assert lead.post(f"/api/inquiries/{other['result']['inquiry']['id']}/close",
                     json={"staff": "s002", "outcome": "answered"}, headers=lead_csrf).status_code == 403
    assert [x["question"] for x in lead.get("/api/inquiries").json()["inquiries"]] == ["导办台登记"]   # to s002
    page = manager.get("/inquiries")
    assert page.status_code == 200 and "导办台登记" in page.text and 'id="record"' in page.text
    closed = manager.post(f"/api/inquiries/{made.json()['inquiry']['id']}/close",
                          json={"staff": "s002", "outcome": "referred", "note": "请到税务局"}, headers=csrf)
    assert closed.status_code == 200 and closed.json()["inquiry"]["status"] == "已办结"
    assert [x["question"] for x in manager.get("/api/inquiries").json()["inquiries"]] == ["别的部门的"]
    auditor, auditor_csrf = login(site, "a001")
    assert auditor.get("/api/reports/inquiries?date=2026-12-01").status_code == 200
    assert 'id="record"' not in auditor.get("/inquiries").text                  # read-only: no form
    assert auditor.post("/api/inquiries", json={"staff": "s002", "question": "审计"},
                        headers=auditor_csrf).status_code == 403
