"""Matter classes (通渭县 003: 即收即办件, 当日办结件, 限时办结件, 代办服务件, 不见面办件) through the
one command path on a SimClock with a real store: the 当日办结件's deadline at closing, 代办 with a
staff helper or a volunteer, 不见面 by mail with the certificate's 送达 step (行政许可法 §44)."""
import copy
import json
import uuid
from datetime import datetime
from pathlib import Path

import pytest

from govhall.catalogue import load_catalogue
from govhall.config import ConfigError, MatterConfig, parse_config
from hallserver.domain.clock import SimClock
from hallserver.processor import CommandProcessor
from hallserver.store import Store
from lab.demo_halls import SMALL_HALL
from tests.test_case_desk import TZ, send

SAME_DAY = MatterConfig(id="tax-proof", name="完税证明开具", department="税务局", kind="当日办结件",
                        legal_days=1, promised_days=0, materials=["申请表"])
PERMIT = MatterConfig(id="food-permit", name="食品经营许可", department="市场监管局", kind="承诺件",
                      legal_days=20, promised_days=5, materials=["申请书"], certificate=True)


def make(config, db_url, at):
    config.matters.extend([SAME_DAY, PERMIT])
    store = Store(db_url)
    store.migrate()
    return store, CommandProcessor(config, store, SimClock(at.replace(tzinfo=TZ)))


@pytest.fixture
def hall(config, db_url):
    store, proc = make(config, db_url, datetime(2025, 11, 17, 9, 0))
    yield proc
    store.close()


def accept(proc, matter="tax-proof", received=None, **fields):
    send(proc, "counter-2", type="window.login", window="w2", staff="s002")
    received = {"tax-proof": {"申请表": 1}, "food-permit": {"申请书": 2}}[matter] if received is None else received
    return send(proc, "counter-2", type="case.accept", window="w2", matter=matter, received=received, **fields)[0]


def advance(proc, code, step, **fields):
    return send(proc, "counter-2", type="case.advance", window="w2", case=code, step=step, **fields)[0]


def colour_events(proc):
    return [json.loads(o.payload)["colour"] for o in proc.tick() if o.topic.endswith("case.colour")]


# ---------------------------------------------------------------- 当日办结件
@pytest.mark.parametrize("accepted, due", [
    (datetime(2025, 11, 17, 9, 0), "2025-11-17T17:00:00+08:00"),
    (datetime(2025, 11, 17, 16, 59), "2025-11-17T17:00:00+08:00"),    # a minute before closing: today
    (datetime(2025, 11, 17, 17, 0), "2025-11-18T17:00:00+08:00"),     # at closing: the next working day
    (datetime(2025, 11, 17, 17, 1), "2025-11-18T17:00:00+08:00"),
    (datetime(2025, 11, 21, 17, 1), "2025-11-24T17:00:00+08:00"),     # Friday evening: Monday
    (datetime(2025, 11, 22, 10, 0), "2025-11-24T17:00:00+08:00"),     # a Saturday (online or 延时服务)
    (datetime(2025, 9, 30, 16, 59), "2025-09-30T17:00:00+08:00"),     # the eve of 国庆, still today
    (datetime(2025, 9, 30, 17, 1), "2025-10-09T17:00:00+08:00"),      # after closing: 1–8 Oct off
    (datetime(2025, 9, 28, 11, 0), "2025-09-28T17:00:00+08:00"),      # a 调休 working Sunday
])
def test_a_same_day_case_is_due_at_closing_today_or_the_next_working_day(config, db_url, accepted, due):
    store, proc = make(config, db_url, accepted)
    reply = accept(proc)
    case = reply["result"]["case"]
    assert reply["ok"] and case["kind"] == "当日办结件" and case["due"] == due and case["promised_days"] == 0
    assert store.case_row_by(code=case["code"]) is not None
    store.close()


def test_a_same_day_case_turns_yellow_in_its_last_hour_and_red_only_after_closing(hall):
    hall.clock.set(datetime(2025, 11, 17, 10, 0, tzinfo=TZ))
    case = accept(hall)["result"]["case"]
    assert case["colour"] == "green"
    colour_events(hall)
    hall.clock.set(datetime(2025, 11, 17, 15, 59, tzinfo=TZ))
    assert colour_events(hall) == []                                   # 80 % of the day used: still green (ours)
    hall.clock.set(datetime(2025, 11, 17, 16, 0, tzinfo=TZ))
    assert colour_events(hall) == ["yellow"]
    hall.clock.set(datetime(2025, 11, 17, 17, 0, tzinfo=TZ))           # due exactly now: not late yet
    assert colour_events(hall) == [] and hall.case_page(case_token(hall, case))["colour"] == "yellow"
    hall.clock.set(datetime(2025, 11, 17, 17, 1, tzinfo=TZ))
    assert colour_events(hall) == ["red"]


def test_finished_at_closing_is_on_time_a_minute_later_is_late(hall):
    hall.clock.set(datetime(2025, 11, 17, 16, 59, tzinfo=TZ))
    on_time = accept(hall)["result"]["case"]["code"]
    late = accept(hall)["result"]["case"]["code"]
    hall.clock.set(datetime(2025, 11, 17, 17, 0, tzinfo=TZ))
    for step in ("审核", "审批", "办结"):
        advance(hall, on_time, step)
    hall.clock.set(datetime(2025, 11, 17, 17, 1, tzinfo=TZ))
    for step in ("审核", "审批", "办结"):
        advance(hall, late, step)
    report = hall.case_report(datetime(2025, 11, 17).date(), datetime(2025, 11, 17).date())
    assert report["by_kind"]["当日办结件"]["finished"] == 2 and report["by_kind"]["当日办结件"]["finished_on_time"] == 1
    assert [x["case"] for x in report["overdue"]] == [late]


def test_the_hall_closes_at_the_end_of_its_last_session(config, db_url):
    raw = copy.deepcopy(SMALL_HALL.raw)
    raw["hours"]["sessions"] = [["09:00", "12:00"], ["13:30", "17:30"]]
    config = parse_config(raw, "<hall closing 17:30>")
    store, proc = make(config, db_url, datetime(2025, 11, 17, 17, 10))
    assert accept(proc)["result"]["case"]["due"] == "2025-11-17T17:30:00+08:00"
    proc.clock.set(datetime(2025, 11, 17, 17, 30, tzinfo=TZ))
    assert accept(proc)["result"]["case"]["due"] == "2025-11-18T17:30:00+08:00"
    store.close()


def test_missing_materials_move_a_same_day_case_to_the_day_they_arrive(hall):
    hall.clock.set(datetime(2025, 11, 17, 10, 0, tzinfo=TZ))
    case = accept(hall, received={})["result"]["case"]
    assert case["waiting_materials"] and case["due"] == "2025-11-17T17:00:00+08:00"   # as if they came today
    hall.clock.set(datetime(2025, 11, 19, 17, 5, tzinfo=TZ))          # after closing on Wednesday
    after = send(hall, "counter-2", type="case.supplement", window="w2", case=case["code"],
                 received={"申请表": 1})[0]["result"]["case"]
    assert not after["waiting_materials"] and after["due"] == "2025-11-20T17:00:00+08:00"


def test_a_same_day_case_is_never_extended(hall):
    code = accept(hall)["result"]["case"]["code"]
    reply = send(hall, "counter-2", type="case.request_extension", window="w2", case=code, days=1,
                 reason="系统故障")[0]
    assert reply["error"]["code"] == "extension_too_long"


@pytest.mark.parametrize("fields, reason", [
    ({"promised_days": 1}, "0 promised days"),
    ({"max_extension_days": 3}, "never extended"),
])
def test_config_refuses_a_same_day_matter_with_days(fields, reason):
    with pytest.raises(ValueError, match=reason):
        MatterConfig(**{**SAME_DAY.model_dump(), **fields})


def test_the_catalogue_file_takes_the_new_kind_and_the_certificate_column(tmp_path: Path):
    path = tmp_path / "matters.csv"
    path.write_text("id,name,department,kind,legal_days,promised_days,materials,certificate\n"
                    "tax-proof,完税证明开具,税务局,当日办结件,1,0,申请表,\n"
                    "food-permit,食品经营许可,市场监管局,承诺件,20,5,申请书,是\n", encoding="utf-8")
    same_day, permit = load_catalogue(path)
    assert same_day.kind == "当日办结件" and not same_day.certificate and permit.certificate
    path.write_text("id,name,department,kind,legal_days,promised_days,materials,certificate\n"
                    "food-permit,食品经营许可,市场监管局,承诺件,20,5,申请书,也许\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="row 2: certificate must be 是 or 否"):
        load_catalogue(path)


# ---------------------------------------------------------------- 代办/帮办
def case_token(proc, case):
    return proc.store.case_row_by(code=case["code"])["token"]


def test_a_case_helped_by_a_staff_member_names_them_on_the_receipt(hall):
    from hardware.receipt import compose_receipt
    reply = accept(hall, assisted_by={"staff": "s001", "group": "老年人"})
    case = reply["result"]["case"]
    assert case["assisted"] == {"group": "老年人", "staff": "s001", "volunteer": None, "helper": "王丽",
                                "role": "帮办员"}
    assert case["due"] == "2025-11-17T17:00:00+08:00"                 # the kind's own rule
    text = compose_receipt(case, "示范大厅").decode("gb18030", errors="ignore")
    assert "代办：帮办员 王丽（服务对象：老年人）" in text
    rebuilt = CommandProcessor(hall.config, hall.store, hall.clock)  # a restart
    assert rebuilt.case_page(case_token(hall, case))["assisted"]["helper"] == "王丽"


def test_a_volunteer_helper_is_kept_by_name_and_counted_per_department(hall):
    case = accept(hall, "food-permit", assisted_by={"volunteer": "赵志愿", "group": "残疾人"})["result"]["case"]
    accept(hall, "food-permit")
    assert case["assisted"]["helper"] == "赵志愿" and case["assisted"]["role"] == "志愿者"
    report = hall.case_report(datetime(2025, 11, 17).date(), datetime(2025, 11, 17).date())
    department = report["by_department"]["市场监管局"]
    assert department["accepted"] == 2 and department["assisted"] == 1
    assert report["by_kind"]["承诺件"]["assisted"] == 1


@pytest.mark.parametrize("assisted, code", [
    ({"staff": "s999", "group": "老年人"}, "unknown_staff"),           # no such staff member
    ({"staff": "s002", "group": "老年人"}, "invalid"),                 # the handler themselves
    ({"staff": "s001", "volunteer": "赵志愿", "group": "老年人"}, "invalid"),   # two helpers
    ({"group": "老年人"}, "invalid"),                                  # no helper
    ({"volunteer": "赵", "group": "老年人"}, "invalid"),               # a name of one character
    ({"volunteer": "<b>赵</b>", "group": "老年人"}, "invalid"),
    ({"staff": "s001", "group": "学生"}, "invalid"),                   # not a group of 003 §15
    ({"staff": "s001"}, "invalid"),                                    # for whom is required
])
def test_a_bad_helper_is_refused_and_nothing_is_stored(hall, assisted, code):
    reply = accept(hall, assisted_by=assisted)
    assert reply["error"]["code"] == code and hall.store.last_case_id() == 0


# ---------------------------------------------------------------- 不见面: delivery by mail
def test_a_case_delivered_by_mail_has_its_certificate_step_and_tracking_number(hall):
    from hallserver.web.pages import TEMPLATES
    case = accept(hall, "food-permit", delivery="mail")["result"]["case"]
    assert case["delivery"] == "mail" and case["due"] == "2025-11-24T17:00:00+08:00"   # 5 working days, as 承诺件
    code = case["code"]
    for step in ("审核", "审批"):
        advance(hall, code, step)
    hall.clock.set(datetime(2025, 11, 20, 10, 0, tzinfo=TZ))
    done = advance(hall, code, "办结")["result"]["case"]
    (certificate,) = done["step_colours"]
    assert certificate == {"step": "取件", "due": "2025-12-04T17:00:00+08:00", "done": False, "colour": "green",
                           "pending": None}                             # 10 working days after 办结 (§44)
    page = TEMPLATES.env.get_template("case.html").render(hall="示范大厅", c=done)
    assert "结果将邮寄送达" in page and "送达方式：邮寄送达" in page
    assert advance(hall, code, "取件")["error"]["code"] == "invalid"            # the tracking number is needed
    hall.clock.set(datetime(2025, 12, 5, 10, 0, tzinfo=TZ))
    sent = advance(hall, code, "取件", tracking="EMS1234567890CN")["result"]["case"]
    assert sent["tracking"] == "EMS1234567890CN" and sent["step_colours"][0]["colour"] == "red"   # a day late
    assert "已邮寄，邮件号 EMS1234567890CN" in TEMPLATES.env.get_template("case.html").render(hall="示范大厅", c=sent)
    report = hall.case_report(datetime(2025, 11, 17).date(), datetime(2025, 11, 17).date())
    assert report["by_department"]["市场监管局"]["no_visit"] == 1
    row = hall.store.case_row_by(code=code)
    assert row["delivery"] == "mail" and row["tracking"] == "EMS1234567890CN"


def test_at_the_window_there_is_no_certificate_clock_and_no_tracking_number(hall):
    case = accept(hall, "food-permit")["result"]["case"]
    for step in ("审核", "审批", "办结"):
        advance(hall, case["code"], step)
    assert advance(hall, case["code"], "取件", tracking="EMS1")["error"]["code"] == "invalid"
    handed = advance(hall, case["code"], "取件")["result"]["case"]
    assert handed["step_colours"] == [] and handed["delivery"] == "window" and handed["tracking"] is None


@pytest.mark.parametrize("fields", [{"delivery": "pigeon"}, {"delivery": "mail", "tracking": "x"}])
def test_a_bad_delivery_is_refused(hall, fields):
    assert accept(hall, "food-permit", **fields)["error"]["code"] == "invalid"


def test_an_online_application_may_ask_for_its_result_online(hall):
    reply, _ = hall.handle_local(json.dumps({"id": uuid.uuid4().hex, "type": "case.apply_online",
                                             "matter": "food-permit", "received": {"申请书": 1},
                                             "delivery": "online"}).encode())
    assert reply["ok"] and reply["result"]["case"]["delivery"] == "online"


def test_the_report_exports_have_the_class_and_the_assisted_and_no_visit_counts(hall):
    from hallserver.reports.people import department_rows, kind_rows, people_tables
    from hallserver.web.routes.cases import report_csv
    accept(hall, assisted_by={"volunteer": "赵志愿", "group": "孕妇"})
    accept(hall, "food-permit", delivery="mail")
    day = datetime(2025, 11, 17).date()
    report = hall.case_report(day, day)
    lines = report_csv(report).splitlines()
    assert lines[0].endswith("时限待定,代办,不见面")
    assert "办件类别,当日办结件,1,0,0,,0,0,1,0" in lines and "办件类别,承诺件,1,0,0,,0,0,0,1" in lines
    tables = dict((name, rows) for name, _header, rows in people_tables(
        {"departments": department_rows(report), "kinds": kind_rows(report), "attendance": [], "coverage": [],
         "category_coverage": []}))
    assert tables["按办件类别"] == [["当日办结件", 1, 0, 0, None, 0, 1, 0], ["承诺件", 1, 0, 0, None, 0, 0, 1]]
    assert ["税务局", 1, 0, 0, None, 0, 1, 0] in tables["按期办结率"]


def test_the_settings_page_tells_the_new_refusals_in_chinese():
    from hallserver.web.settings_words import settings_reason
    assert "不能是“也许”" in settings_reason("matters.csv: row 2: certificate must be 是 or 否 (or blank), not '也许'")
    assert "当日办结件的承诺时限为 0 天" in settings_reason(
        "matters.csv: row 3: a 即办件 or 当日办结件 has 0 promised days, and only they do")


def test_a_citizen_applies_online_for_the_result_by_mail(config, embedded_broker, sqlite_url):
    import httpx

    from hallserver.broker import free_port
    from tests.conftest import running_hall
    from tests.test_public_endpoints import id_number
    config.ratings.secret = "a-hall-secret-of-some-length"
    config.matters.append(PERMIT)
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, _):
        me = {"matter": "food-permit", "received": {"申请书": 1}, "name": "王丽", "id_number": id_number(9),
              "phone": "13800138000"}
        url = server.dashboard_url + "api/cases/online"
        assert httpx.post(url, json={**me, "delivery": "pigeon"}, timeout=5).status_code == 422
        made = httpx.post(url, json={**me, "delivery": "mail"}, timeout=5)
        assert made.status_code == 201, made.text
        (row,) = server.store.case_rows()
        assert row["delivery"] == "mail" and row["window"] == "online"
