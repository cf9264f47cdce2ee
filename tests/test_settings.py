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

from govhall.config import ManagerConfig, load_config
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
    with pytest.raises(SettingsError, match="new ones are added"):
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
        assert ok.status_code == 200 and ok.json()["restart_needed"]
        assert load_config(hall_toml).rules.wait_target_minutes == 18
        bad = manager.post("/api/settings/rules", json={"long_wait_minutes": 0}, headers=csrf)
        assert bad.status_code == 400 and "long_wait_minutes" in bad.json()["error"]["detail"]
        assert manager.post("/api/settings/devices", json={}, headers=csrf).status_code == 404
        assert manager.post("/api/settings/rules", content=b"{", headers=csrf).status_code == 400
        page = manager.get("/settings").text
        assert "重启大厅服务后生效" in page and 'data-key="wait_target_minutes" value="18' in page   # the file now
        lead, csrf_lead = login("l001")
        refused = lead.post("/api/settings/rules", json={"green_age": 70}, headers=csrf_lead)
        assert refused.status_code == 403 and "系统设置" in refused.json()["error"]["message"]
        assert 'class="save"' not in lead.get("/settings").text
        audit = [(a["actor"], a["action"], a["outcome"]) for a in server.store.audit_records()
                 if a["action"] == "settings.save"]
        assert audit == [("m001", "settings.save", "ok"), ("m001", "settings.save", "refused")]



JSON = st.recursive(st.none() | st.booleans() | st.integers(-10**6, 10**6) | st.floats(allow_nan=False)
                    | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=12), inner, max_size=4),
                    max_leaves=12)
KEYS = st.sampled_from(["wait_target_minutes", "green_age", "name", "id", "prefix", "categories", "notice",
                        "daily_quota", "number", "post", "x"])
ENTRY = st.dictionaries(KEYS, JSON, max_size=4)
PAYLOAD = st.one_of(JSON, ENTRY, st.lists(ENTRY | st.fixed_dictionaries({"id": st.sampled_from(
    ["social", "w1", "s001", "nothing"])}, optional={"name": JSON, "categories": JSON, "number": JSON}), max_size=3))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(section=st.sampled_from(["rules", "ticket", "categories", "windows", "staff"]), payload=PAYLOAD)
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
