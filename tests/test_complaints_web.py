"""投诉 over real HTTP on a running hall: staff register and work a complaint (CSRF, Chinese
refusals, never a 500), the report and its CSV, a lead's scope, the auditor reads only, the
citizen's public form with its per-address limit, and the red alert when one is overdue."""
from datetime import datetime
from zoneinfo import ZoneInfo

import httpx
import pytest

from govhall.config import ManagerConfig
from hallserver.broker import free_port
from hallserver.domain.clock import SimClock
from hallserver.passwords import hash_password
from tests.conftest import running_hall
from tests.test_web_auth import lead_hall, login

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture(scope="module")
def manager_hash():
    return hash_password("manager-pass-2026")


@pytest.fixture
def hall(config, embedded_broker, sqlite_url, manager_hash):
    config = lead_hall(config)
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=manager_hash),
                       ManagerConfig(id="l001", name="人社局刘科长", password_hash=manager_hash, role="lead",
                                     departments=["人社局"]),
                       ManagerConfig(id="a001", name="审计员", password_hash=manager_hash, role="auditor")]
    clock = SimClock(datetime(2026, 12, 1, 9, 0, tzinfo=TZ))
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port()),
                      clock=clock) as (server, _device):
        yield server, server.dashboard_url, clock


def session(base, who="m001"):
    client, r = login(base, who=who)
    assert r.status_code == 303
    client.headers["X-CSRF-Token"] = client.cookies["govhall_csrf"]
    return client


def test_staff_register_assign_handle_reply_and_close_over_http(hall):
    server, base, _clock = hall
    m = session(base)
    assert m.post("/api/complaints", json={"channel": "hotline", "text": "x"},
                  headers={"X-CSRF-Token": ""}).status_code == 403                         # CSRF
    r = m.post("/api/complaints", json={"channel": "hotline", "text": "=HYPERLINK(\"http://x\") 等候两小时无人理",
                                        "name": "王先生", "phone": "13800138000", "window": "w1"})
    assert r.status_code == 201, r.text
    x = r.json()["complaint"]
    number = x["number"]
    assert number == "TS-20261201-001" and x["department"] == "人社局" and x["status"] == "已分派"
    assert x["registered_by"] == "m001" and x["due"] == "2026-12-08T17:00:00+08:00"
    for body, words in (({"channel": "fax", "text": "x"}, "渠道"), ({"channel": "box", "text": "  "}, "投诉内容"),
                        ({"channel": "box", "text": "x", "phone": "12345"}, "手机号码"),
                        ({"channel": "box", "text": "x", "department": "人设局"}, "没有部门"),
                        ({"channel": "box", "text": "x", "window": "w9"}, "没有窗口"),
                        ({"channel": "box", "text": "x", "staff": "<b>"}, "工号")):
        refused = m.post("/api/complaints", json=body)
        assert refused.status_code == 400 and words in refused.json()["error"]["message"], (body, refused.text)
    assert m.post(f"/api/complaints/{number}/handle", json={"note": "已约谈窗口人员"}).status_code == 200
    closing = m.post(f"/api/complaints/{number}/close", json={})
    assert closing.status_code == 409 and "答复" in closing.json()["error"]["message"]
    assert m.post(f"/api/complaints/{number}/reply", json={"method": "飞鸽", "note": "x"}).status_code == 400
    told = m.post(f"/api/complaints/{number}/reply", json={"method": "电话", "note": "已电话告知处理结果",
                                                           "told_at": "2026-12-01T09:00:00"})
    assert told.status_code == 200, told.text
    assert told.json()["complaint"]["reply"]["told_at"] == "2026-12-01T09:00:00+08:00"
    assert m.post(f"/api/complaints/{number}/close", json={}).json()["complaint"]["status"] == "办结"
    assert m.post("/api/complaints/TS-20261201-099/handle", json={"note": "x"}).status_code == 404
    assert m.post(f"/api/complaints/{number}/explode", json={}).status_code == 404
    assert m.post("/api/complaints/../../x/handle", json={}).status_code == 404
    report = m.get("/api/reports/complaints").json()
    assert report["total"]["closed_on_time"] == 1 and report["by_department"]["人社局"]["registered"] == 1
    assert report["by_window"]["w1"]["replied"] == 1
    csv = m.get("/api/reports/complaints?format=records")
    assert csv.text.startswith("\ufeff") and "'=HYPERLINK" in csv.text and "13800138000" not in csv.text
    assert "人社局" in m.get("/api/reports/complaints?format=csv").text
    assert m.get("/api/reports/complaints?start=2026-13-01").status_code == 400
    assert m.get("/api/reports/complaints?format=xls").status_code == 400
    audit = [(a["actor"], a["action"], a["outcome"]) for a in server.store.audit_records()]
    assert ("@web", "complaint.register", "ok") in audit and ("@web", "complaint.act", "not_replied") in audit


def test_the_page_shows_text_as_text(hall):
    _server, base, _clock = hall
    m = session(base)
    m.post("/api/complaints", json={"channel": "book", "text": "<script>alert(1)</script><img src=x onerror=y>"})
    page = m.get("/complaints")
    assert page.status_code == 200 and "TS-20261201-001" in page.text and "留言簿" in page.text
    assert "<script>alert(1)" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text


def test_a_lead_sees_and_acts_on_their_departments_and_the_auditor_only_reads(hall):
    _server, base, _clock = hall
    m = session(base)
    ours = m.post("/api/complaints", json={"channel": "box", "text": "社保窗口排队太久", "window": "w1"}).json()
    theirs = m.post("/api/complaints", json={"channel": "box", "text": "营业执照窗口态度差",
                                             "department": "市场监管局"}).json()
    m.post("/api/complaints", json={"channel": "box", "text": "未分派的意见"})
    lead = session(base, "l001")
    listed = [x["number"] for x in lead.get("/api/complaints").json()["complaints"]]
    assert listed == [ours["complaint"]["number"]]
    other = theirs["complaint"]["number"]
    refused = lead.post(f"/api/complaints/{other}/handle", json={"note": "x"})
    assert refused.status_code == 403 and "本部门" in refused.json()["error"]["message"]
    mine = ours["complaint"]["number"]
    assert lead.post("/api/complaints", json={"channel": "box", "text": "x", "department": "市场监管局"}).status_code \
        == 403
    assert lead.post(f"/api/complaints/{mine}/assign", json={"department": "公安局"}).status_code == 403
    assert lead.post(f"/api/complaints/{mine}/handle", json={"note": "已调度"}).status_code == 200
    assert list(lead.get("/api/reports/complaints").json()["by_department"]) == ["人社局"]
    auditor = session(base, "a001")
    assert len(auditor.get("/api/complaints").json()["complaints"]) == 3
    page = auditor.get("/complaints")
    assert page.status_code == 200 and "登记投诉" not in page.text
    no = auditor.post("/api/complaints", json={"channel": "box", "text": "x"})
    assert no.status_code == 403 and "只能查看" in no.json()["error"]["message"]
    assert auditor.post(f"/api/complaints/{other}/handle", json={"note": "x"}).status_code == 403


def test_a_citizen_files_from_the_phone_page_within_the_limit(hall):
    server, base, _clock = hall
    form = httpx.get(base + "complain?window=w1", timeout=5)
    assert form.status_code == 200 and "提交投诉" in form.text
    assert 'href="/complain?window=w1"' in httpx.get(base + "w/w1/rate", timeout=5).text    # the window's QR page
    public = httpx.Client(base_url=base, timeout=5)
    bad = public.post("/api/complaints/public", json={"text": "办事难", "phone": "1380013800"})
    assert bad.status_code == 400 and "手机号码" in bad.json()["error"]["message"]
    assert public.post("/api/complaints/public", json={"text": "", "phone": ""}).status_code == 400
    assert public.post("/api/complaints/public", json={"text": "x", "window": "w9"}).status_code == 400
    filed = {"text": "窗口人员玩手机", "phone": "13900139000", "window": "w1"}
    first = public.post("/api/complaints/public", json=filed, headers={"Idempotency-Key": "phone-1"})
    assert first.status_code == 201 and first.json()["number"] == "TS-20261201-001"
    assert set(first.json()) == {"number", "status", "due", "due_pending"}          # nothing of the hall's inside
    again = public.post("/api/complaints/public", json=filed, headers={"Idempotency-Key": "phone-1"})
    assert again.json()["number"] == "TS-20261201-001"             # a retry, not a second one (it counts, though)
    for i in range(3):
        assert public.post("/api/complaints/public", json={"text": f"意见 {i}"}).status_code == 201
    held = public.post("/api/complaints/public", json={"text": "第六条"})
    assert held.status_code == 429 and "过多" in held.json()["error"]["message"]
    m = session(base)
    listed = m.get("/api/complaints").json()["complaints"]
    assert len(listed) == 4 and listed[-1]["channel"] == "phone" and listed[-1]["department"] == "人社局"
    assert ("complaint.register", "rate_limited") in [(a["action"], a["outcome"]) for a in server.store.audit_records()]


def test_an_overdue_complaint_is_a_red_alert_on_the_board(hall):
    server, base, clock = hall
    m = session(base)
    number = m.post("/api/complaints", json={"channel": "hotline", "text": "12345 转办：窗口推诿",
                                             "department": "市场监管局"}).json()["complaint"]["number"]
    query = server.web.app.state.web.query
    clock.set(datetime(2026, 12, 8, 17, 0, tzinfo=TZ))                   # the last working day's close: not yet
    query(lambda p: p.tick())
    assert not [a for a in m.get("/api/overview").json()["alerts"] if a["kind"] == "complaint"]
    clock.set(datetime(2026, 12, 9, 9, 0, tzinfo=TZ))                    # the day after
    query(lambda p: p.tick())
    (alert,) = [a for a in m.get("/api/overview").json()["alerts"] if a["kind"] == "complaint"]
    assert alert["level"] == "red" and number in alert["text"] and "市场监管局" in alert["text"]
    lead = session(base, "l001")                                          # 人社局's lead: not theirs
    assert not [a for a in lead.get("/api/overview").json()["alerts"] if a["kind"] == "complaint"]
    assert m.get("/api/complaints").json()["complaints"][0]["overdue"] is True
    m.post(f"/api/complaints/{number}/handle", json={"note": "已督办"})
    m.post(f"/api/complaints/{number}/close", json={})
    query(lambda p: p.tick())
    assert not [a for a in m.get("/api/overview").json()["alerts"] if a["kind"] == "complaint"]
