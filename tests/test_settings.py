"""系统设置: a manager changes hall.toml from the dashboard; the hall's rules check it first."""
import shutil
import tomllib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govhall.config import ManagerConfig
from govhall.config_file import load_config
from hallserver.broker import free_port
from hallserver.passwords import hash_password
from hallserver.settings_file import SettingsError, save_settings
from tests.conftest import running_hall

EXAMPLE = Path(__file__).parent.parent / "examples" / "hall.toml"
NOW = datetime(2026, 11, 23, 10, 30, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture
def hall_toml(tmp_path):
    path = tmp_path / "hall.toml"
    shutil.copy(EXAMPLE, path)
    return path


def test_a_threshold_is_saved_with_the_files_comments_kept_and_a_backup(hall_toml):
    changes = save_settings(hall_toml, "rules", {"wait_target_minutes": 15, "long_wait_minutes": 25, "green_age": 65},
                            NOW)
    assert changes == ["rules.wait_target_minutes: 20.0 → 15", "rules.long_wait_minutes: 30.0 → 25"]
    text = hall_toml.read_text(encoding="utf-8")
    assert "# 绿色通道 from this age, read from the ID card" in text         # the hall's own comments stay
    config = load_config(hall_toml)
    assert config.rules.wait_target_minutes == 15 and config.rules.long_wait_minutes == 25
    (backup,) = hall_toml.parent.glob("hall.toml.bak-*")
    assert backup.name == "hall.toml.bak-20261123-103000" and backup.read_text(encoding="utf-8") == \
        EXAMPLE.read_text(encoding="utf-8")
    assert save_settings(hall_toml, "rules", {"wait_target_minutes": 15}, NOW) == []     # nothing new: no write


def test_what_the_rules_refuse_leaves_the_file_as_it_was(hall_toml):
    before = hall_toml.read_bytes()
    with pytest.raises(SettingsError, match="wait_target_minutes"):
        save_settings(hall_toml, "rules", {"wait_target_minutes": -5}, NOW)
    with pytest.raises(SettingsError, match="unknown key"):
        save_settings(hall_toml, "rules", {"drop_table": 1}, NOW)
    with pytest.raises(SettingsError, match="prefix"):               # a second category with prefix A
        save_settings(hall_toml, "categories", [{"id": "tax", "prefix": "A", "name": "税务"}], NOW)
    with pytest.raises(SettingsError, match="cannot be changed"):
        save_settings(hall_toml, "categories", [{"id": "social", "prefix": "Z"}], NOW)
    with pytest.raises(SettingsError):                                 # a window calling a category that is not there
        save_settings(hall_toml, "windows", [{"id": "w1", "categories": ["nothing"]}], NOW)
    with pytest.raises(SettingsError, match="no w9 in the config"):
        save_settings(hall_toml, "windows", [{"id": "w9", "name": "9号"}], NOW)
    with pytest.raises(SettingsError):
        save_settings(hall_toml, "rules", ["not", "an", "object"], NOW)
    assert hall_toml.read_bytes() == before and not list(hall_toml.parent.glob("hall.toml.bak-*"))
    assert not list(hall_toml.parent.glob(".hall-settings-*"))                         # no temporary file left


def test_categories_windows_and_staff_are_edited_and_added(hall_toml):
    save_settings(hall_toml, "categories", [{"id": "social", "name": "社保医保服务", "daily_quota": 200},
                                            {"id": "tax", "prefix": "T", "name": "税务"}], NOW)
    save_settings(hall_toml, "windows", [{"id": "w2", "categories": ["tax", "business"], "elderly_first": True}], NOW)
    staff = [{"id": "s001", "post": "社保窗口"}, {"id": "s009", "name": "赵敏", "post": "税务"}]
    save_settings(hall_toml, "staff", staff, NOW)
    changes = save_settings(hall_toml, "categories", [{"id": "social", "daily_quota": None}], NOW)
    assert changes == ["categories.social.daily_quota: 200 → (none)"]
    config = load_config(hall_toml)
    social = config.category("social")
    assert social.name == "社保医保服务" and social.daily_quota is None and config.category("tax").prefix == "T"
    w2 = next(w for w in config.windows if w.id == "w2")
    assert w2.categories == ["tax", "business"] and w2.elderly_first
    assert [(s.id, s.name, s.post) for s in config.staff][-1] == ("s009", "赵敏", "税务")
    assert tomllib.loads(hall_toml.read_text(encoding="utf-8"))["hall"]["name"] == "示范县政务服务中心"


def test_only_a_hall_manager_saves_settings_over_http_and_it_is_audited(config, embedded_broker, sqlite_url,
                                                                        hall_toml):
    secret = hash_password("manager-pass-2026")
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=secret),
                       ManagerConfig(id="l001", name="刘科长", password_hash=secret, role="lead")]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, _):
        base = server.dashboard_url

        def login(who):
            client = httpx.Client(base_url=base, timeout=5)
            client.post("/login", data={"manager": who, "password": "manager-pass-2026"})
            return client, {"X-CSRF-Token": client.cookies["govhall_csrf"]}
        manager, csrf = login("m001")
        assert "服务器不是从配置文件启动的" in manager.get("/settings").text        # this test hall: no file yet
        assert manager.post("/api/settings/rules", json={"green_age": 70}, headers=csrf).status_code == 409
        server.dashboard.config_path = str(hall_toml)      # as `hall server --config hall.toml` sets it
        page = manager.get("/settings").text
        assert "保存规则阈值" in page and "社保医保" in page
        ok = manager.post("/api/settings/rules", json={"wait_target_minutes": 18}, headers=csrf)
        assert ok.status_code == 200 and ok.json()["applied"] and not ok.json()["restart_needed"]
        assert load_config(hall_toml).rules.wait_target_minutes == 18
        assert manager.get("/api/overview").json()["wait_target_s"] == 18 * 60      # the running hall: at once
        bad = manager.post("/api/settings/rules", json={"long_wait_minutes": 0}, headers=csrf)
        assert bad.status_code == 400 and bad.json()["error"]["detail"] == "规则阈值·超长等候告警：应大于 0"
        assert manager.post("/api/settings/managers", json={}, headers=csrf).status_code == 404
        assert manager.post("/api/settings/rules", content=b"{", headers=csrf).status_code == 400
        page = manager.get("/settings").text
        assert "data-pending" not in page and 'data-key="wait_target_minutes" value="18' in page
        lead, csrf_lead = login("l001")
        refused = lead.post("/api/settings/rules", json={"green_age": 70}, headers=csrf_lead)
        assert refused.status_code == 403 and "系统设置" in refused.json()["error"]["message"]
        assert 'class="save"' not in lead.get("/settings").text
        audit = [(a["actor"], a["action"], a["outcome"]) for a in server.store.audit_records()
                 if a["action"] == "settings.save"]
        assert audit == [("m001", "settings.save", "ok"), ("m001", "settings.save", "refused")]



def test_a_change_that_leaves_a_lead_without_their_department_is_refused_in_chinese(hall_toml):
    from hallserver.web.settings_words import settings_reason
    lead = '\n[[managers]]\nid = "l001"\nname = "刘科长"\npassword_hash = "$argon2id$x"\nrole = "lead"\n' \
        'departments = ["市场监管局"]\n'
    hall_toml.write_text(hall_toml.read_text(encoding="utf-8") + lead, encoding="utf-8")
    before = hall_toml.read_bytes()
    with pytest.raises(SettingsError) as refused:
        save_settings(hall_toml, "matters", [{"id": "business-licence", "department": "市场监督管理局"}], NOW)
    assert settings_reason(str(refused.value)) == ("管理人员第 1 项·负责部门：没有“市场监管局”这个部门："
                                                   "部门负责人所负责的部门须是某个窗口、工作人员或事项的所属部门")
    assert hall_toml.read_bytes() == before


def test_shifts_posts_schedules_and_attendance_thresholds_are_added_changed_and_removed(hall_toml):
    save_settings(hall_toml, "shifts", [{"name": "延时", "start": "17:30", "end": "19:00", "weekdays": [3]},
                                        {"name": "下午", "end": "17:00"}], NOW)
    save_settings(hall_toml, "staff", [{"id": "s002", "shifts": ["上午", "延时"]}], NOW)
    save_settings(hall_toml, "posts", [{"id": "front-residence", "name": "户籍受理岗", "a": "s003", "b": "s001",
                                        "categories": ["residence"], "front_desk": True},
                                       {"id": "front-business", "b": "s001"}], NOW)
    save_settings(hall_toml, "attendance", {"grace_minutes": 3, "away_limit_minutes": 20}, NOW)
    config = load_config(hall_toml)
    assert [(x.name, x.start, x.end, x.weekdays) for x in config.shifts] == [
        ("上午", "09:00", "12:00", None), ("下午", "13:30", "17:00", None), ("延时", "17:30", "19:00", [3])]
    assert next(x for x in config.staff if x.id == "s002").shifts == ["上午", "延时"]
    assert [(p.id, p.a, p.b) for p in config.posts] == [("front-social", "s001", "s003"),
                                                        ("front-business", "s002", "s001"),
                                                        ("front-residence", "s003", "s001")]
    assert (config.attendance.grace_minutes, config.attendance.away_limit_minutes) == (3, 20)
    # a schedule back to every shift; a post and a shift removed
    save_settings(hall_toml, "staff", [{"id": "s002", "shifts": None}], NOW)
    assert save_settings(hall_toml, "posts", [{"id": "front-business", "remove": True}], NOW) == \
        ["posts: removed front-business"]
    save_settings(hall_toml, "shifts", [{"name": "延时", "remove": True}], NOW)
    config = load_config(hall_toml)
    assert [p.id for p in config.posts] == ["front-social", "front-residence"]
    assert [x.name for x in config.shifts] == ["上午", "下午"] and config.staff[1].shifts is None


def test_what_the_roster_rules_refuse_is_said_in_chinese(hall_toml):
    from hallserver.web.settings_words import settings_reason
    save_settings(hall_toml, "staff", [{"id": "s002", "shifts": ["上午"]}], NOW)
    before = hall_toml.read_bytes()

    def refused(section, payload):
        with pytest.raises(SettingsError) as exc:
            save_settings(hall_toml, section, payload, NOW)
        assert hall_toml.read_bytes() == before
        return settings_reason(str(exc.value))
    assert refused("shifts", [{"name": "上午", "remove": True}]) == "工作人员·s002·班次：没有名为“上午”的班次"
    assert refused("posts", [{"id": "front-social", "b": "s001"}]) == "岗位·front-social：A角和B角必须是两个不同的人"
    assert refused("posts", [{"id": "front-social", "a": "s099"}]) == \
        "岗位·front-social·A角：没有工号为 s099 的工作人员"
    assert refused("posts", [{"id": "p9", "name": "新岗", "a": "s001", "b": "s002", "categories": []}]) == \
        "岗位·p9·业务：至少选 1 项"
    assert refused("shifts", [{"name": "晚班", "start": "19:00", "end": "18:00"}]) == \
        "班次·晚班：班次“晚班”的结束时间不晚于开始时间"
    assert refused("attendance", {"posts_csv": "/etc/passwd"}) == "考勤：不是可设置的项：posts_csv"
    assert refused("attendance", {"grace_minutes": 90}) == "考勤·迟到宽限：不能大于 60"
    assert refused("posts", [{"id": "nothing", "remove": True}]) == "岗位：配置中没有 nothing，无法删除"
    assert refused("categories", [{"id": "social", "remove": True}]) == "业务类别：这一项设置不能在此删除"
    assert refused("staff", [{"id": "s009", "shifts": ["上午"]}]).startswith("工作人员·s009·名称：必须填写")


def test_posts_and_schedules_are_imported_from_csv(hall_toml):
    from hallserver.settings_file import posts_from_csv, schedules_from_csv
    posts = posts_from_csv("\ufeffid,name,a,b,categories,front_desk\n"
                           "front-residence,户籍受理岗,s003,s002,residence｜social,是\n"
                           "front-social,社保受理岗,s001,s002,social,否\n")
    assert posts[0] == {"id": "front-residence", "name": "户籍受理岗", "a": "s003", "b": "s002",
                        "categories": ["residence", "social"], "front_desk": True}
    save_settings(hall_toml, "posts", posts, NOW)
    schedules = schedules_from_csv("staff,shifts\ns001,上午|下午\ns002,\n")
    assert schedules == [{"id": "s001", "shifts": ["上午", "下午"]}, {"id": "s002", "shifts": None}]
    save_settings(hall_toml, "staff", schedules, NOW, may_add=False)
    config = load_config(hall_toml)
    assert [(p.id, p.b, p.front_desk) for p in config.posts] == [
        ("front-social", "s002", False), ("front-business", "s003", True), ("front-residence", "s002", True)]
    with pytest.raises(SettingsError, match="no s099 in the config"):       # a schedule for someone unknown
        save_settings(hall_toml, "staff", schedules_from_csv("staff,shifts\ns099,上午\n"), NOW, may_add=False)
    with pytest.raises(SettingsError, match="missing front_desk"):
        posts_from_csv("id,name,a,b,categories\nx,y,s001,s002,social\n")
    with pytest.raises(SettingsError, match="row 2: a: "):                    # a short row: the cell is empty
        posts_from_csv("id,name,a,b,categories,front_desk\nx,y\n")


def test_a_post_from_the_posts_csv_is_shown_but_changed_in_its_own_file(hall_toml):
    from hallserver.settings_file import posts_in_file
    (hall_toml.parent / "posts.csv").write_text("id,name,a,b,categories,front_desk\n"
                                               "front-residence,户籍受理岗,s003,s001,residence,是\n", encoding="utf-8")
    text = hall_toml.read_text(encoding="utf-8").replace("[led]", '[attendance]\nposts_csv = "posts.csv"\n\n[led]')
    hall_toml.write_text(text, encoding="utf-8")
    assert [p.id for p in load_config(hall_toml).posts] == ["front-social", "front-business", "front-residence"]
    assert posts_in_file(hall_toml) == {"front-social", "front-business"}
    with pytest.raises(SettingsError, match="appears twice"):
        save_settings(hall_toml, "posts", [{"id": "front-residence", "name": "户籍受理岗", "a": "s003", "b": "s002",
                                            "categories": ["residence"]}], NOW)


JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=12)
KEYS = st.sampled_from(["wait_target_minutes", "green_age", "name", "id", "prefix", "categories", "notice",
                        "daily_quota", "number", "post", "x", "a", "b", "start", "end", "weekdays", "remove",
                        "front_desk", "shifts", "grace_minutes", "role", "window", "password", "printer",
                        "department"])
ENTRY = st.dictionaries(KEYS, JSON, max_size=4)
PAYLOAD = st.one_of(JSON, ENTRY, st.lists(ENTRY | st.fixed_dictionaries({"id": st.sampled_from(
    ["social", "w1", "s001", "nothing", "front-social", "kiosk-1", "tablet-1"])}, optional={
        "name": JSON, "categories": JSON, "number": JSON, "remove": JSON, "a": JSON, "shifts": JSON})
    | st.fixed_dictionaries({"name": st.sampled_from(["上午", "夜班"])}, optional={
        "start": JSON, "end": JSON, "weekdays": JSON, "remove": JSON}), max_size=3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(section=st.sampled_from(["rules", "ticket", "attendance", "categories", "windows", "staff", "shifts",
                                 "posts", "devices"]), payload=PAYLOAD)
def test_any_payload_is_saved_whole_or_refused_with_a_reason_never_a_broken_file(hall_toml, section, payload):
    """Whatever a browser sends: either it is saved and the file is a valid hall.toml, or it
    is refused with a SettingsError and the file is byte for byte as it was."""
    before = hall_toml.read_bytes()
    try:
        save_settings(hall_toml, section, payload, NOW)
    except SettingsError as exc:
        assert str(exc)
        assert hall_toml.read_bytes() == before
    load_config(hall_toml)
    hall_toml.write_bytes(before)


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=300) | st.lists(st.lists(st.text(alphabet="ab,|｜\"\n 是s001social", max_size=12),
                                                       max_size=7), max_size=4).map(
    lambda rows: "id,name,a,b,categories,front_desk\nstaff,shifts\n" + "\n".join(",".join(r) for r in rows)))
def test_any_uploaded_csv_is_read_or_refused_with_a_reason(text):
    from hallserver.settings_file import posts_from_csv, schedules_from_csv
    for reader in (posts_from_csv, schedules_from_csv):
        try:
            rows = reader(text)
        except SettingsError as exc:
            assert str(exc).startswith("CSV")
        else:
            assert all(isinstance(r["id"], str) and r["id"] for r in rows)


def test_settings_saved_over_http_reach_the_running_hall_and_its_devices(embedded_broker, sqlite_url, hall_toml):
    """The manager renames a category and imports a post from Excel's GBK CSV: the kiosk sees the
    new name and the board the new front-desk post at once, without a restart or a lost ticket."""
    import threading
    config = load_config(hall_toml)
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=hash_password("manager-pass-2026"))]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port()),
                      config_path=str(hall_toml)) as (server, device):
        kiosk = device("kiosk-1")
        assert kiosk.request({"type": "ticket.issue", "category": "social"})["result"]["ticket"]["number"] == "A001"
        renamed = threading.Event()

        def on_queue(_topic, state):
            social = next(x for x in state["categories"] if x["category"] == "social")
            if social["name"] == "社保医保服务" and social["waiting"] == 1:
                renamed.set()
        kiosk.subscribe(server.processor.topics.queue_state, on_queue)
        client = httpx.Client(base_url=server.dashboard_url, timeout=10)
        client.post("/login", data={"manager": "m001", "password": "manager-pass-2026"})
        csrf = {"X-CSRF-Token": client.cookies["govhall_csrf"]}

        saved = client.post("/api/settings/categories", json=[{"id": "social", "name": "社保医保服务"}], headers=csrf)
        assert saved.json() == {"ok": True, "changes": ["categories.social.name: 社保医保 → 社保医保服务"],
                                "applied": True, "restart_needed": False, "broker": "unchanged"}
        assert renamed.wait(5)                                   # the kiosk's retained queue state: the new name
        assert kiosk.request({"type": "ticket.issue", "category": "social"})["result"]["ticket"]["number"] == "A002"

        gbk = "id,name,a,b,categories,front_desk\r\nfront-residence,户籍受理岗,s003,s002,residence,是\r\n"
        imported = client.post("/api/settings/posts/import", content=gbk.encode("gb18030"),
                               headers={**csrf, "Content-Type": "text/csv"})
        assert imported.status_code == 200 and imported.json()["changes"] == ["posts: added front-residence"]
        assert "front-residence" in [p.id for p in server.bus.query(lambda p: p.attendance.posts)]
        alerts = client.get("/api/overview").json()["alerts"]
        assert any(a["key"] == "front:residence" for a in alerts)      # nobody at 户籍证件: 前台断档 at once
        page = client.get("/settings").text
        assert "户籍受理岗" in page and "导入排班 CSV" in page

        unknown = client.post("/api/settings/staff/import", content="staff,shifts\ns099,上午\n".encode(),
                              headers={**csrf, "Content-Type": "text/csv"})
        assert unknown.status_code == 400 and unknown.json()["error"]["detail"] == "工作人员：配置中没有 s099"
        binary = client.post("/api/settings/posts/import", content=b"\xff\xff\x80\x80", headers=csrf)
        assert binary.status_code == 400 and "CSV" in binary.json()["error"]["message"]
        assert client.post("/api/settings/rules/import", content=b"x", headers=csrf).status_code == 404
        audit = [(a["action"], a["outcome"]) for a in server.store.audit_records() if a["action"] == "settings.save"]
        assert audit == [("settings.save", "ok"), ("settings.save", "ok"), ("settings.save", "refused")]


def test_devices_are_added_changed_and_removed_and_their_passwords_are_generated_never_typed(hall_toml):
    from hallserver.settings_file import new_device_password
    from hallserver.web.settings_words import settings_reason
    save_settings(hall_toml, "devices", [{"id": "tablet-9", "role": "tablet", "window": "w2"},
                                         {"id": "kiosk-1", "printer": "tcp://192.168.1.50:9100"}], NOW)
    password = new_device_password(hall_toml, "tablet-9", NOW)
    assert len(password) >= 24
    config = load_config(hall_toml)
    assert config.device("tablet-9").password == password and config.device("tablet-9").window == "w2"
    assert config.device("kiosk-1").printer == "tcp://192.168.1.50:9100"
    assert new_device_password(hall_toml, "tablet-9", NOW) != password                 # a new one each time
    save_settings(hall_toml, "devices", [{"id": "tablet-9", "remove": True}], NOW)
    assert load_config(hall_toml).device("tablet-9") is None
    before = hall_toml.read_bytes()

    def refused(payload):
        with pytest.raises(SettingsError) as exc:
            save_settings(hall_toml, "devices", payload, NOW)
        assert hall_toml.read_bytes() == before
        return settings_reason(str(exc.value))
    assert refused([{"id": "kiosk-1", "password": "typed-in-password"}]) == "设备·kiosk-1：密码不能手填，请用“生成密码”"
    assert refused([{"id": "kiosk-7", "role": "kiosk", "password": "typed-in-password"}]).endswith("生成密码”")
    assert refused([{"id": "tablet-8", "role": "tablet"}]) == "设备·tablet-8·窗口：tablet 需要指定窗口"
    assert refused([{"id": "counter-1", "role": "kiosk"}]) == \
        "设备·counter-1：role 不能在此修改（号票、办件和评价都引用它）"
    with pytest.raises(SettingsError):
        new_device_password(hall_toml, "nothing", NOW)


def test_a_config_folder_the_server_may_not_write_is_a_refusal_with_its_reason(hall_toml, monkeypatch):
    """Root ignores file modes, so the refusal of the operating system is made here by hand."""
    import tempfile

    from hallserver.web.settings_words import settings_reason

    def read_only(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied")
    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    before = hall_toml.read_bytes()
    with pytest.raises(SettingsError) as exc:
        save_settings(hall_toml, "rules", {"green_age": 70}, NOW)
    assert settings_reason(str(exc.value)).startswith("服务器无法写入配置文件（Permission denied）")
    assert hall_toml.read_bytes() == before


def test_the_holiday_calendar_is_kept_in_its_own_file_and_checked(hall_toml):
    """The State Council's notice for 2027 comes out in November: the manager enters it here."""
    from hallserver.settings_file import calendar_years, save_calendar
    from hallserver.web.settings_words import settings_reason
    year_2027 = {"year": 2027, "source": "国务院办公厅关于2027年部分节假日安排的通知",
                 "days_off": ["2027-01-01", "2027-02-06..2027-02-14", ""], "days_worked": ["2027-02-20"]}
    changes = save_calendar(hall_toml, [year_2027], NOW)
    assert "calendar: added 2027" in changes and changes[-1] == "calendar.file: calendar.toml"
    config = load_config(hall_toml)
    assert config.calendar.file == str(hall_toml.parent / "calendar.toml")       # hall.toml now names it
    from datetime import date

    from hallserver.calendar_source import work_calendar
    cal = work_calendar(config.calendar.file)
    assert not cal.is_working_day(date(2027, 2, 10)) and cal.is_working_day(date(2027, 2, 20))   # 春节, 调休 Saturday
    assert calendar_years(hall_toml)[0]["days_off"] == ["2027-01-01", "2027-02-06..2027-02-14"]
    assert save_calendar(hall_toml, [year_2027], NOW) == []                      # nothing new
    before = (hall_toml.parent / "calendar.toml").read_bytes()

    def refused(payload):
        with pytest.raises(SettingsError) as exc:
            save_calendar(hall_toml, payload, NOW)
        assert (hall_toml.parent / "calendar.toml").read_bytes() == before
        return settings_reason(str(exc.value))
    assert refused([{"year": 2027, "days_off": ["2027-02-30"]}]) == \
        "年份第 1 项·放假日期：“2027-02-30”不是日期（YYYY-MM-DD）或日期范围（YYYY-MM-DD..YYYY-MM-DD）"
    assert refused([{"year": 2027, "days_worked": ["2027-02-17"]}]) == \
        "年份第 1 项·调休上班日期：2027-02-17 本来就是工作日；调休上班只填周六、周日"
    assert refused([{"year": 2027, "days_off": ["2028-01-01"]}]).endswith("“2028-01-01”不在 2027 年内")
    assert refused([{"year": "2027"}]) == "节假日：每一项都要有年份（2000–2100）"
    assert refused([{"year": 2027, "days_off": "2027-01-01"}]) == "节假日·2027·放假日期：应为日期或日期范围的列表"
    save_calendar(hall_toml, [{"year": 2027, "remove": True}], NOW)
    assert calendar_years(hall_toml) == []


CATALOGUE = ("id,name,department,kind,legal_days,promised_days,materials\n"
             "pension-transfer,养老保险关系转移,人社局,承诺件,15,5,转移申请表|身份证复印件\n"
             "birth-cert,出生医学证明补发,卫健委,承诺件,20,10,申请表|身份证\n")


def test_the_matter_catalogue_is_uploaded_as_csv_or_excel_and_checked_with_hall_toml(hall_toml):
    import io

    from openpyxl import Workbook

    from hallserver.settings_file import save_catalogue
    from hallserver.web.settings_words import settings_reason
    changes = save_catalogue(hall_toml, CATALOGUE.encode("gb18030"), NOW)       # Excel's CSV on a Chinese PC
    assert changes == ["catalogue: 2 matters from matters.csv", "cases.catalogue: matters.csv"]
    config = load_config(hall_toml)
    assert {m.id: m.promised_days for m in config.matters} == {"business-licence": 3, "residence-proof": 0,
                                                               "pension-transfer": 5, "birth-cert": 10}
    book = Workbook()
    sheet = book.active
    for row in CATALOGUE.splitlines():
        sheet.append([int(x) if x.isdigit() else x for x in row.split(",")])
    sheet.append(["id-card", "居民身份证换领", "公安局", "承诺件", 30, 20, "照片回执"])
    data = io.BytesIO()
    book.save(data)
    assert save_catalogue(hall_toml, data.getvalue(), NOW)[0] == "catalogue: 3 matters from matters.xlsx"
    assert load_config(hall_toml).cases.catalogue.endswith("matters.xlsx")
    before = (hall_toml.parent / "matters.xlsx").read_bytes()

    def refused(content):
        with pytest.raises(SettingsError) as exc:
            save_catalogue(hall_toml, content, NOW)
        assert (hall_toml.parent / "matters.xlsx").read_bytes() == before
        return settings_reason(str(exc.value))
    bad = CATALOGUE.replace("15,5", "15,50")
    assert refused(bad.encode()) == "事项目录：第 2 行：承诺时限 50 个工作日长于法定时限 15 个工作日"
    assert "不是 CSV 文本或 Excel 工作簿" in refused(b"\xff\xfe\x80\x81\x82")
    assert "缺少 promised_days" in refused("id,name,department,kind,legal_days\nx,y,z,承诺件,3\n".encode())
    save_settings(hall_toml, "matters", [{"id": "tax-cert", "name": "完税证明开具", "department": "税务局",
                                          "kind": "即办件", "legal_days": 1, "promised_days": 0}], NOW)
    assert "重复" in refused(CATALOGUE.replace("birth-cert", "tax-cert").encode())      # an id twice
    with pytest.raises(SettingsError) as exc:
        save_settings(hall_toml, "matters", [{"id": "tax-cert", "promised_days": 2}], NOW)
    assert settings_reason(str(exc.value)).endswith("承诺时限 2 个工作日长于法定时限 1 个工作日")


def test_two_saves_within_one_second_keep_both_backups_and_a_broken_file_is_refused(hall_toml):
    original = hall_toml.read_bytes()
    save_settings(hall_toml, "rules", {"green_age": 66}, NOW)
    save_settings(hall_toml, "rules", {"green_age": 67}, NOW)               # the same second
    backups = sorted(p.name for p in hall_toml.parent.glob("hall.toml.bak-*"))
    assert backups == ["hall.toml.bak-20261123-103000", "hall.toml.bak-20261123-103000-2"]
    assert (hall_toml.parent / backups[0]).read_bytes() == original            # the first one is not overwritten
    hall_toml.write_text("[hall\nid = ", encoding="utf-8")                     # someone broke it by hand
    with pytest.raises(SettingsError, match="not valid TOML"):
        save_settings(hall_toml, "rules", {"green_age": 68}, NOW)


def test_a_calendar_file_hall_toml_does_not_name_is_not_taken_over(hall_toml):
    from hallserver.settings_file import calendar_years, save_calendar
    (hall_toml.parent / "calendar.toml").write_text('[[year]]\nyear = 2027\ndays_off = ["2027-03-03"]\n',
                                                    encoding="utf-8")     # left over, not in use
    save_calendar(hall_toml, [{"year": 2028, "days_off": ["2028-01-01"]}], NOW)
    assert [y["year"] for y in calendar_years(hall_toml)] == [2028]
    assert list(hall_toml.parent.glob("calendar.toml.bak-*"))                 # the old file kept aside


def test_a_matters_extension_limit_is_set_on_the_page_and_cleared_back_to_its_kinds(hall_toml):
    changes = save_settings(hall_toml, "matters", [{"id": "business-licence", "max_extension_days": 5}], NOW)
    assert changes == ["matters.business-licence.max_extension_days: None → 5"]
    assert load_config(hall_toml).matters[0].max_extension_days == 5
    with pytest.raises(SettingsError, match="即办件"):
        save_settings(hall_toml, "matters", [{"id": "residence-proof", "max_extension_days": 3}], NOW)
    save_settings(hall_toml, "matters", [{"id": "business-licence", "max_extension_days": None}], NOW)
    assert load_config(hall_toml).matters[0].max_extension_days is None       # the kind's 10 again
