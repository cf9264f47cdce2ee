"""Cases through the one command path: 受理 at the window for the citizen just served, 补正,
steps, 延期 approved on the HTTP side, the colours announced, all kept across a restart."""
import json
import shutil
import uuid
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from hallserver.domain.clock import SimClock
from hallserver.processor import CommandProcessor
from hallserver.store import Store

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def proc(config, db_url):
    store = Store(db_url)
    store.migrate()
    yield CommandProcessor(config, store, SimClock(datetime(2025, 11, 17, 9, 0, tzinfo=TZ)))
    store.close()


def send(proc, device, **command):
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command, ensure_ascii=False).encode())
    reply = next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device))
    events = [json.loads(o.payload) for o in out if o.topic.endswith("/event/case.colour")]
    return reply, events


def serve_one(proc):
    send(proc, "kiosk-1", type="ticket.issue", category="business")
    send(proc, "counter-2", type="window.login", window="w2", staff="s002")
    send(proc, "counter-2", type="window.call_next", window="w2")


def test_a_case_accepted_at_the_window_gets_its_deadline_and_colour(proc):
    serve_one(proc)
    reply, events = send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence",
                         received={"登记申请书": 2, "经营者身份证明": 1, "经营场所证明": 4})
    case = reply["result"]["case"]
    assert case["matter_name"] == "个体工商户登记" and case["handler"] == "李强" and case["colour"] == "green"
    assert case["due"] == "2025-11-20T17:00:00+08:00" and case["missing"] == []          # 3 working days
    assert case["received"] == {"登记申请书": 2, "经营者身份证明": 1, "经营场所证明": 4}
    assert events[0]["case"] == case["code"] and events[0]["colour"] == "green"
    ticket = proc.engine.windows["w2"].ticket
    row = proc.store.case_row_by(code=case["code"])
    assert row["ticket_id"] == ticket.id and row["accepted_by"] == "s002"


def test_missing_materials_print_a_one_time_list_and_stop_the_clock(proc):
    serve_one(proc)
    reply, _ = send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence",
                    received={"登记申请书": 2})
    case = reply["result"]["case"]
    assert case["missing"] == ["经营者身份证明", "经营场所证明"] and case["waiting_materials"]
    refused, _ = send(proc, "counter-2", type="case.advance", window="w2", case=case["code"], step="审核")
    assert refused["error"]["code"] == "waiting_materials"
    proc.clock.set(datetime(2025, 11, 19, 10, 0, tzinfo=TZ))
    reply, _ = send(proc, "counter-2", type="case.supplement", window="w2", case=case["code"],
                    received={"经营者身份证明": 1, "经营场所证明": 3})
    after = reply["result"]["case"]
    assert not after["waiting_materials"] and after["paused_days"] == 2 and after["due"] == "2025-11-24T17:00:00+08:00"


def test_steps_extension_and_a_restart(proc):
    serve_one(proc)
    code = send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence",
                received={"登记申请书": 1, "经营者身份证明": 1, "经营场所证明": 1})[0]["result"]["case"]["code"]
    send(proc, "counter-2", type="case.advance", window="w2", case=code, step="审核", note="材料齐全")
    reply, _ = send(proc, "counter-2", type="case.request_extension", window="w2", case=code, days=2,
                    reason="需现场核查经营场所")
    assert reply["result"]["case"]["extension_waiting"] and reply["result"]["case"]["due"].startswith("2025-11-20")
    forbidden, _ = send(proc, "counter-2", type="case.approve_extension", case=code, manager="m001")
    assert forbidden["error"]["code"] == "forbidden"                 # a counter does not approve
    approved, _ = proc.handle_local(json.dumps({"id": "x1", "type": "case.approve_extension", "case": code,
                                                "manager": "m001"}).encode())
    assert approved["ok"] and approved["result"]["case"]["due"].startswith("2025-11-24")
    rebuilt = CommandProcessor(proc.config, proc.store, proc.clock)       # a restart
    reply, _ = send(rebuilt, "counter-2", type="case.advance", window="w2", case=code, step="审批")
    case = reply["result"]["case"]
    assert [s["step"] for s in case["steps"]] == ["受理", "审核", "审批"] and case["steps"][1]["note"] == "材料齐全"
    assert case["extensions"] == [{"days": 2, "reason": "需现场核查经营场所", "approved": True}]


def test_the_calendar_alone_turns_a_case_yellow_then_red(proc):
    serve_one(proc)
    send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence",
         received={"登记申请书": 1, "经营者身份证明": 1, "经营场所证明": 1})
    assert [o for o in proc.tick() if o.topic.endswith("case.colour")] == []
    proc.clock.set(datetime(2025, 11, 19, 9, 0, tzinfo=TZ))           # one working day left
    (event,) = [json.loads(o.payload) for o in proc.tick() if o.topic.endswith("case.colour")]
    assert event["colour"] == "yellow" and event["staff"] == "s002"
    proc.clock.set(datetime(2025, 11, 20, 17, 1, tzinfo=TZ))
    (event,) = [json.loads(o.payload) for o in proc.tick() if o.topic.endswith("case.colour")]
    assert event["colour"] == "red"


@pytest.mark.parametrize("command, code", [
    ({"matter": "no-such"}, "unknown_matter"),
    ({"matter": "business-licence", "received": {"护照": 1}}, "invalid"),
    ({"matter": "business-licence", "received": {"登记申请书": 0}}, "invalid"),
    ({"matter": "business-licence", "received": {"登记申请书": True}}, "invalid"),
])
def test_bad_acceptances_are_refused_and_nothing_is_stored(proc, command, code):
    serve_one(proc)
    reply, events = send(proc, "counter-2", type="case.accept", window="w2", **command)
    assert reply["error"]["code"] == code and events == []
    assert proc.store.case_rows() == []


def test_accepting_at_a_closed_window_is_refused(proc):
    reply, _ = send(proc, "counter-1", type="case.accept", window="w1", matter="residence-proof",
                    received={"身份证": 1})
    assert reply["error"]["code"] == "window_closed"


def test_the_citizen_tracks_the_case_and_a_manager_approves_an_extension_over_http(config, embedded_broker,
                                                                                  sqlite_url):
    import httpx

    from hallserver.broker import free_port
    from tests.conftest import running_hall
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        kiosk, counter = device("kiosk-1"), device("counter-2")
        kiosk.request({"type": "ticket.issue", "category": "business"})
        counter.request({"type": "window.login", "window": "w2", "staff": "s002"})
        counter.request({"type": "window.call_next", "window": "w2"})
        case = counter.request({"type": "case.accept", "window": "w2", "matter": "business-licence",
                                "received": {"登记申请书": 2}})["result"]["case"]
        page = httpx.get(case["track_url"], timeout=5)
        assert page.status_code == 200 and "个体工商户登记" in page.text and "等待补正材料" in page.text
        assert "<li>经营者身份证明</li>" in page.text and "<li>经营场所证明</li>" in page.text
        counter.request({"type": "case.supplement", "window": "w2", "case": case["code"],
                         "received": {"经营者身份证明": 1, "经营场所证明": 1}})
        counter.request({"type": "case.request_extension", "window": "w2", "case": case["code"], "days": 2,
                         "reason": "需现场核查"})
        url = f"{server.dashboard_url}api/cases/{case['code']}/extension/approve"
        assert httpx.post(url, json={"manager": "s002"}, timeout=5).status_code == 403     # not the requester
        approved = httpx.post(url, json={"manager": "m001"}, timeout=5)
        assert approved.status_code == 200 and approved.json()["case"]["extensions"][0]["approved"]
        page = httpx.get(case["track_url"], timeout=5).text
        assert "承诺" in page and "已延期 2 个工作日，延期理由：需现场核查" in page
        assert httpx.get(server.dashboard_url + "c/" + "x" * 16, timeout=5).status_code == 404
        assert httpx.post(server.dashboard_url + "api/cases/2025/extension/approve", json={"manager": "m001"},
                          timeout=5).status_code == 400                                  # not a case number
        assert httpx.post(server.dashboard_url + "api/cases/2099010100009/extension/approve",
                          json={"manager": "m001"}, timeout=5).status_code == 404


def test_the_dashboard_lists_slipping_cases_red_first():
    from govhall.contract import Topics
    from hallserver.announce import Outgoing
    from hallserver.web.live import LiveView
    from hallserver.web.overview import case_alert_text
    view = LiveView(Topics("demo"))

    def event(code, colour, due, finished=False):
        payload = {"type": "case.colour", "case": code, "matter": "个体工商户登记", "window": "w2", "staff": "s002",
                   "colour": colour, "due": due, "waiting_materials": False, "finished": finished}
        view.on_outgoing([Outgoing(view.topics.event("case.colour"), json.dumps(payload).encode())])
    event("2025111700001", "yellow", "2025-11-20T17:00:00+08:00")
    event("2025111700002", "red", "2025-11-21T17:00:00+08:00")
    event("2025111700003", "yellow", "2025-11-22T17:00:00+08:00")
    event("2025111700003", "green", "2025-11-22T17:00:00+08:00", finished=True)
    assert [x["case"] for x in view.snapshot()["cases_slipping"]] == ["2025111700002", "2025111700001"]
    assert case_alert_text(view.snapshot()["cases_slipping"][0]).endswith("已超过承诺时限（11-21 17:00），窗口 w2")


def test_reports_count_on_time_cases_per_department_and_list_the_overdue(proc):
    serve_one(proc)
    codes = []
    for _ in range(2):
        reply, _ = send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence",
                        received={"登记申请书": 1, "经营者身份证明": 1, "经营场所证明": 1})
        codes.append(reply["result"]["case"]["code"])
    proc.clock.set(datetime(2025, 11, 18, 10, 0, tzinfo=TZ))
    for step in ("审核", "审批", "办结"):
        send(proc, "counter-2", type="case.advance", window="w2", case=codes[0], step=step)
    online, _ = proc.handle_local(json.dumps({"id": "o1", "type": "case.apply_online", "matter": "pension-transfer",
                                              "received": {"转移申请表": 2}}).encode())
    assert online["ok"] and online["result"]["case"]["window"] == "online"
    proc.clock.set(datetime(2025, 11, 21, 10, 0, tzinfo=TZ))               # the second one is now overdue
    from datetime import date
    report = proc.case_report(date(2025, 11, 1), date(2025, 11, 30))
    market = report["by_department"]["市场监管局"]
    assert (market["accepted"], market["finished"], market["on_time_rate"], market["open_overdue"]) == (2, 1, 100.0, 1)
    assert [x["case"] for x in report["overdue"]] == [codes[1]] and report["overdue"][0]["working_days_late"] == 1
    assert report["by_staff"]["李强"]["accepted"] == 2 and report["step_working_days"]["审核"] == 1
    digest = proc.case_report(None, None, digest=True)
    assert digest["departments"]["市场监管局"]["red"] == 1 and digest["departments"]["人社局"]["open"] == 1


def test_the_report_over_http_as_json_and_csv_and_an_online_application(config, embedded_broker, sqlite_url):
    import httpx

    from hallserver.broker import free_port
    from tests.conftest import running_hall
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, _):
        base = server.dashboard_url
        me = {"name": "王丽", "id_number": "11010519491231002X", "phone": "13800138000"}
        application = {"matter": "business-licence", "received": {"登记申请书": 1}, **me}
        made = httpx.post(base + "api/cases/online", json=application, headers={"Idempotency-Key": "web-1"}, timeout=5)
        assert made.status_code == 201 and made.json()["case"]["missing"] == ["经营者身份证明", "经营场所证明"]
        again = httpx.post(base + "api/cases/online", json=application, headers={"Idempotency-Key": "web-1"},
                           timeout=5)
        assert again.json()["case"]["code"] == made.json()["case"]["code"]          # the same application once
        assert httpx.post(base + "api/cases/online", json={"matter": "nope", **me}, timeout=5).status_code == 404
        assert httpx.post(base + "api/cases/online", json={**application, "received": {"x": "y"}},
                          timeout=5).status_code == 422
        report = httpx.get(base + "api/reports/cases", timeout=5).json()
        assert report["total"]["accepted"] == 1
        csv_text = httpx.get(base + "api/reports/cases?format=csv", timeout=5).text
        assert csv_text.startswith("\ufeff分组,名称") and "部门,市场监管局,1,0,0,,0,0" in csv_text
        assert httpx.get(base + "api/reports/cases?from=yesterday", timeout=5).status_code == 400
        assert "departments" in httpx.get(base + "api/cases/digest", timeout=5).json()


def test_the_catalogue_from_an_excel_workbook(tmp_path):
    from openpyxl import Workbook

    from govhall.catalogue import load_catalogue
    from govhall.config import ConfigError
    book = Workbook()
    sheet = book.active
    sheet.append(["id", "name", "department", "kind", "legal_days", "promised_days", "materials"])
    sheet.append(["food", "食品经营许可", "市场监管局", "承诺件", 20, 5, "申请书|营业执照"])
    book.save(tmp_path / "matters.xlsx")
    (matter,) = load_catalogue(tmp_path / "matters.xlsx")
    assert matter.name == "食品经营许可" and matter.materials == ["申请书", "营业执照"] and matter.promised_days == 5
    (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
    with pytest.raises(ConfigError, match="not a readable Excel workbook"):
        load_catalogue(tmp_path / "broken.xlsx")


def test_the_daily_digest_goes_out_once_at_closing_time(proc):
    serve_one(proc)
    send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence", received={"登记申请书": 1})
    digests = lambda: [json.loads(o.payload) for o in proc.tick() if o.topic.endswith("/event/case.digest")]  # noqa: E731
    assert digests() == []                                               # 09:00: not yet
    proc.clock.set(datetime(2025, 11, 17, 17, 0, tzinfo=TZ))
    (digest,) = digests()
    assert digest["day"] == "2025-11-17" and digest["departments"]["市场监管局"]["waiting_materials"] == 1
    assert digests() == []                                               # once a day


def test_from_november_the_manager_is_told_while_next_years_schedule_is_missing(proc):
    assert proc.tick() is not None and [a.component for a in proc.devices.open_alerts()] == []   # Nov 2025: 2026 known
    proc.clock.set(datetime(2026, 11, 2, 9, 0, tzinfo=TZ))
    events = [json.loads(o.payload) for o in proc.tick() if o.topic.endswith("/event/device.alert")]
    assert events and events[0]["component"] == "calendar" and events[0]["detail"] == "2027"
    from hallserver.web.overview import device_alert_text
    assert device_alert_text(events[0]).startswith("尚未导入 2027 年法定节假日安排")
    assert [o for o in proc.tick() if o.topic.endswith("/event/device.alert")] == []          # said once


def test_a_case_keeps_the_promised_days_it_was_accepted_under_when_the_catalogue_changes(proc, config):
    """承诺时限 is a promise made at the window: shortening the matter's promised days in the
    catalogue later moves the deadline of new cases only."""
    serve_one(proc)
    reply, _ = send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence",
                    received={"登记申请书": 1, "经营者身份证明": 1, "经营场所证明": 1})
    before = reply["result"]["case"]
    assert before["due"] == "2025-11-20T17:00:00+08:00"                                    # 3 working days
    shorter = config.model_copy(deep=True)
    next(m for m in shorter.matters if m.id == "business-licence").promised_days = 1
    proc.tick()                                                          # the colours announced once
    proc.apply_config(shorter)                                           # the manager edits the catalogue
    assert not [o for o in proc.tick() if o.topic.endswith("/event/case.colour")]   # not all over again
    case = next(c for c in proc.cases.book.cases.values() if c.code == before["code"])
    assert case.matter.promised_days == 3 and proc.case_view(case)["due"] == before["due"]   # still 3 days
    reply, _ = send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence",
                    received={"登记申请书": 1, "经营者身份证明": 1, "经营场所证明": 1})
    assert reply["result"]["case"]["due"] == "2025-11-18T17:00:00+08:00"                    # new cases: 1 day
    from hallserver.store.repository import case_from_row
    restarted = CommandProcessor(shorter, proc.store, proc.clock)
    first = case_from_row(restarted.store.case_row_by(code=before["code"]), restarted.cases.matters, TZ)
    assert first.matter.promised_days == 3 and first.matter.name == "个体工商户登记"


def test_deadlines_are_the_same_after_a_restart_whatever_the_hour_of_acceptance(proc, config):
    """Times come back from the database in UTC; deadlines count the hall's days and close at
    its closing time. An online application at 07:30 Beijing time is 23:30 UTC the day before."""
    proc.clock.set(datetime(2025, 11, 18, 7, 30, tzinfo=TZ))                    # Tuesday, before opening
    online, _ = proc.handle_local(json.dumps({"id": "o1", "type": "case.apply_online", "matter": "pension-transfer",
                                              "received": {"转移申请表": 1, "身份证复印件": 1,
                                                           "参保缴费凭证": 1}}).encode())
    before = online["result"]["case"]
    assert before["due"] == "2025-11-25T17:00:00+08:00"                        # 5 working days from Tuesday
    proc.clock.set(datetime(2025, 11, 25, 18, 0, tzinfo=TZ))                   # an hour after the deadline
    restarted = CommandProcessor(config, proc.store, proc.clock)
    case = next(c for c in restarted.cases.book.cases.values() if c.code == before["code"])
    view = restarted.case_view(case)
    assert view["due"] == before["due"] and view["colour"] == "red"


def test_open_cases_stored_before_cases_kept_their_terms_get_the_catalogue_in_force(proc, config):
    serve_one(proc)
    code = send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence",
                received={"登记申请书": 1, "经营者身份证明": 1, "经营场所证明": 1})[0]["result"]["case"]["code"]
    from sqlalchemy import text
    with proc.store.engine.begin() as conn:                              # as a case stored before migration 0020
        conn.execute(text("update cases set terms = null"))
    CommandProcessor(config, proc.store, proc.clock)                     # the server starts
    terms = json.loads(proc.store.case_row_by(code=code)["terms"])
    assert terms["promised_days"] == 3 and terms["name"] == "个体工商户登记"


# ---------------------------------------------------------------- a year without its holidays (issue 26)
EXAMPLE = Path(__file__).parent.parent / "examples" / "hall.toml"
ALL_MATERIALS = {"登记申请书": 1, "经营者身份证明": 1, "经营场所证明": 1}
PENDING_2027 = "待定：2027 年节假日安排未导入"


def test_a_supplement_into_a_year_without_holidays_is_saved_pending_then_computed_when_the_calendar_is_loaded(
        db_url, tmp_path):
    from govhall.config_file import load_config
    from hallserver.settings_file import save_calendar
    hall_toml = tmp_path / "hall.toml"
    shutil.copy(EXAMPLE, hall_toml)
    store = Store(db_url)
    store.migrate()
    proc = CommandProcessor(load_config(hall_toml), store, SimClock(datetime(2026, 12, 18, 10, 0, tzinfo=TZ)))
    serve_one(proc)
    case = send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence",
                received={"登记申请书": 2})[0]["result"]["case"]
    assert case["waiting_materials"] and case["due"] == "2026-12-23T17:00:00+08:00"   # if they came today
    proc.clock.set(datetime(2026, 12, 29, 10, 0, tzinfo=TZ))                          # 7 working days paused
    reply, events = send(proc, "counter-2", type="case.supplement", window="w2", case=case["code"],
                         received={"经营者身份证明": 1, "经营场所证明": 1})
    after = reply["result"]["case"]
    assert reply["ok"] and not after["waiting_materials"] and events == []
    assert after["due"] is None and after["due_pending"] == PENDING_2027 and after["colour"] is None
    assert proc.store.case_row_by(code=case["code"])["missing"] in ("[]", [])        # saved
    token = next(x.token for x in proc.cases.book.cases.values() if x.code == case["code"])
    assert proc.case_page(token)["due_pending"] == PENDING_2027                        # the tracking page
    assert [o for o in proc.tick() if o.topic.endswith("case.colour")] == []          # the watch: nothing to say yet
    assert proc.case_report(None, None, digest=True)["departments"]["市场监管局"]["due_pending"] == 1
    report = proc.case_report(date(2026, 12, 1), date(2026, 12, 31))
    assert report["total"]["accepted"] == 1 and report["total"]["due_pending"] == 1  # counted, not hidden
    save_calendar(hall_toml, [{"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知",
                               "days_off": ["2027-01-01"]}], proc.clock.now())
    out = proc.apply_config(load_config(hall_toml))                                   # as the settings page does
    (event,) = [json.loads(o.payload) for o in out if o.topic.endswith("/event/case.colour")]
    assert event["case"] == case["code"] and event["due"] == "2027-01-04T17:00:00+08:00"   # 1 Jan off
    assert event["colour"] == "green"
    page = proc.case_page(token)
    assert page["due"] == "2027-01-04T17:00:00+08:00" and page["due_pending"] is None and page["colour"] == "green"
    store.close()


@pytest.mark.parametrize("accepted, matter, due", [
    (datetime(2026, 12, 28, 10, 0), "business-licence", "2026-12-31T17:00:00+08:00"),   # exactly the last covered day
    (datetime(2026, 12, 29, 10, 0), "business-licence", None),                           # day 3 in 2027
    (datetime(2026, 12, 31, 10, 0), "business-licence", None),                           # the day before the boundary
    (datetime(2027, 1, 1, 10, 0), "business-licence", None),                             # on it
    (datetime(2027, 1, 4, 10, 0), "business-licence", None),                             # after it
    (datetime(2026, 12, 31, 10, 0), "residence-proof", "2026-12-31T12:00:00+08:00"),     # 即办: this session
    (datetime(2026, 12, 31, 17, 30), "residence-proof", None),                           # 即办: next session, 2027
])
def test_cases_at_the_year_boundary_are_accepted_with_their_deadline_or_pending(proc, accepted, matter, due):
    proc.clock.set(accepted.replace(tzinfo=TZ))
    serve_one(proc)
    received = ALL_MATERIALS if matter == "business-licence" else {"身份证": 1}
    reply, events = send(proc, "counter-2", type="case.accept", window="w2", matter=matter, received=received)
    case = reply["result"]["case"]
    assert reply["ok"] and case["due"] == due and proc.store.case_row_by(code=case["code"]) is not None
    assert case["due_pending"] == (PENDING_2027 if due is None else None)
    assert [e["case"] for e in events] == ([] if due is None else [case["code"]])
    assert case_receipt_prints(case)


def case_receipt_prints(case):
    """The 收件回执 of the view: the promised time, or the words of a pending one."""
    from hardware.receipt import compose_receipt
    text = compose_receipt(case, "示范大厅").decode("gb18030", errors="ignore")
    return (case["due_pending"] in text) if case["due"] is None else ("承诺办结" in text and case["due"][:10] in text)


def test_warn_mode_gives_a_weekends_only_deadline_and_says_so(config, db_url):
    config.calendar.missing_year = "warn"
    store = Store(db_url)
    store.migrate()
    proc = CommandProcessor(config, store, SimClock(datetime(2026, 12, 30, 10, 0, tzinfo=TZ)))
    serve_one(proc)
    case = send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence",
                received=ALL_MATERIALS)[0]["result"]["case"]
    assert case["due"] == "2027-01-04T17:00:00+08:00" and case["due_pending"] is None   # 31 Dec, Fri 1 Jan, Mon 4
    assert case["due_warning"] == "按周末推算：2027 年节假日安排未导入"
    store.close()


# ---------------------------------------------------------------- 延期 (行政许可法 §42)
@pytest.fixture
def joint_proc(config, db_url):
    from govhall.config import MatterConfig
    config.matters.append(MatterConfig(id="joint-permit", name="建设项目联合审批", department="住建局", kind="联办件",
                                       legal_days=45, promised_days=30, materials=["申请书"]))
    store = Store(db_url)
    store.migrate()
    yield CommandProcessor(config, store, SimClock(datetime(2025, 11, 17, 9, 0, tzinfo=TZ)))
    store.close()


def extend(proc, matter, days, reason="需组织专家评审"):
    received = {"joint-permit": {"申请书": 1}, "business-licence": ALL_MATERIALS}.get(matter, {"身份证": 1})
    code = send(proc, "counter-2", type="case.accept", window="w2", matter=matter,
                received=received)[0]["result"]["case"]["code"]
    return code, send(proc, "counter-2", type="case.request_extension", window="w2", case=code, days=days,
                      reason=reason)[0]


@pytest.mark.parametrize("matter, days, code", [
    ("business-licence", 10, None), ("business-licence", 11, "extension_too_long"),
    ("joint-permit", 15, None), ("joint-permit", 16, "extension_too_long"),
    ("residence-proof", 1, "extension_too_long"),                                  # a 即办件 is never extended
])
def test_an_extension_is_at_most_ten_working_days_fifteen_for_joint_handling(joint_proc, matter, days, code):
    from govhall.contract import ERROR_MESSAGES, ErrorCode
    serve_one(joint_proc)
    _code, reply = extend(joint_proc, matter, days)
    if code is None:
        assert reply["ok"] and reply["result"]["case"]["extension_waiting"]
        assert reply["result"]["case"]["extension_limit"] == days
    else:
        assert reply["error"]["code"] == code and reply["error"]["message"] == ERROR_MESSAGES[ErrorCode(code)]


def test_a_case_is_extended_once_and_the_applicant_is_told_why(joint_proc):
    serve_one(joint_proc)
    code, reply = extend(joint_proc, "business-licence", 10, "需现场核查经营场所")
    assert extend(joint_proc, "business-licence", 5, "   ")[1]["error"]["code"] == "invalid"   # a reason is required
    approved, _ = joint_proc.handle_local(json.dumps({"id": "ok-1", "type": "case.approve_extension", "case": code,
                                                      "manager": "m001"}).encode())
    view = approved["result"]["case"]
    assert view["due"] == "2025-12-04T17:00:00+08:00"                               # 3 + 10 working days
    again, _ = send(joint_proc, "counter-2", type="case.request_extension", window="w2", case=code, days=1,
                    reason="再延一天")
    assert again["error"]["code"] == "extension_used"
    assert again["error"]["message"] == "该办件已延期过一次，依法不能再次延期"
    token = next(x.token for x in joint_proc.cases.book.cases.values() if x.code == code)
    assert joint_proc.case_page(token)["extensions"] == [{"days": 10, "reason": "需现场核查经营场所", "approved": True}]


# ---------------------------------------------------------------- after closing time ([cases] after_hours_next_day)
@pytest.mark.parametrize("hh, mm, on, due", [
    (16, 59, False, 20), (17, 0, False, 20), (17, 1, False, 20),
    (16, 59, True, 20), (17, 0, True, 21), (17, 1, True, 21),
])
def test_a_case_taken_after_closing_counts_from_the_next_working_day_when_the_hall_says_so(config, db_url, hh, mm,
                                                                                          on, due):
    config.cases.after_hours_next_day = on
    store = Store(db_url)
    store.migrate()
    proc = CommandProcessor(config, store, SimClock(datetime(2025, 11, 17, hh, mm, tzinfo=TZ)))   # a Monday
    serve_one(proc)
    case = send(proc, "counter-2", type="case.accept", window="w2", matter="business-licence",
                received=ALL_MATERIALS)[0]["result"]["case"]
    assert case["due"] == f"2025-11-{due}T17:00:00+08:00"
    store.close()


def test_over_http_the_tracking_page_says_pending_until_the_manager_uploads_next_years_calendar(
        embedded_broker, sqlite_url, tmp_path):
    import httpx

    from govhall.config_file import load_config
    from hallserver.broker import free_port
    from tests.conftest import running_hall
    hall_toml = tmp_path / "hall.toml"
    shutil.copy(EXAMPLE, hall_toml)
    config = load_config(hall_toml)
    clock = SimClock(datetime(2026, 12, 29, 10, 0, tzinfo=TZ))
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port()), clock=clock,
                      config_path=str(hall_toml)) as (server, device):
        kiosk, counter = device("kiosk-1"), device("counter-2")
        kiosk.request({"type": "ticket.issue", "category": "business"})
        counter.request({"type": "window.login", "window": "w2", "staff": "s002"})
        counter.request({"type": "window.call_next", "window": "w2"})
        reply = counter.request({"type": "case.accept", "window": "w2", "matter": "business-licence",
                                 "received": ALL_MATERIALS})
        case = reply["result"]["case"]
        assert reply["ok"] and case["due"] is None and case["due_pending"] == PENDING_2027
        page = httpx.get(case["track_url"], timeout=5)
        assert page.status_code == 200 and "办结时限待定：2027 年节假日安排未导入" in page.text
        saved = httpx.post(f"{server.dashboard_url}api/settings/calendar", timeout=10,
                           json=[{"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知",
                                  "days_off": ["2027-01-01"]}])
        assert saved.status_code == 200 and saved.json()["applied"]
        page = httpx.get(case["track_url"], timeout=5)
        assert "承诺 2027-01-04 17:00 前办结" in page.text and "待定" not in page.text    # 30, 31 Dec, Mon 4 Jan


def test_the_counter_prints_the_receipt_of_a_case_whose_deadline_is_pending():
    from counter.qt_counter import _case_receipt
    from hardware.receipt import compose_receipt
    case = {"code": "2026122900001", "matter_name": "个体工商户登记", "kind": "承诺件", "department": "市场监管局",
            "handler": "李强", "window": "w2", "accepted_at": "2026-12-29T10:00:00+08:00", "due": None,
            "due_pending": PENDING_2027, "missing": [], "received": {"登记申请书": 1}, "track_url": None}
    assert _case_receipt(case) is case
    assert _case_receipt({**case, "due_pending": None}) is None          # neither a time nor its words
    text = compose_receipt(case, "示范大厅").decode("gb18030", errors="ignore")
    assert f"承诺办结：{PENDING_2027}" in text and "办结时限确定后可扫码查询" in text
