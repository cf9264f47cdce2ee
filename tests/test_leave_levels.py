"""请销假 by level (`[[attendance.leave_levels]]`): the chain by length, each level's approver, the A/B
check again at every level, 销假 early and late; through the command path on a SimClock with a real
store, over HTTP, and the config's checks."""
import json
import uuid
from datetime import UTC, date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest

from govhall.config import (
    ConfigError,
    DeviceConfig,
    LeaveLevelConfig,
    ManagerConfig,
    PostConfig,
    parse_config,
)
from govhall.config_file import load_config
from hallserver.broker import free_port
from hallserver.domain.attendance import LeaveBook, LeaveError
from hallserver.domain.clock import SimClock
from hallserver.domain.leave_chain import LeaveLevel
from hallserver.passwords import hash_password
from hallserver.processor import CommandProcessor
from hallserver.settings_file import save_settings
from hallserver.store import Store
from lab.demo import demo_config
from tests.conftest import running_hall

TZ = ZoneInfo("Asia/Shanghai")
CHAIN = [LeaveLevelConfig(up_to_days=1, approvers=["lead"]),
         LeaveLevelConfig(up_to_days=3, approvers=["lead", "manager"]),
         LeaveLevelConfig(approvers=["lead", "manager", "m002"])]


def at(d, hh, mm=0):
    return datetime(2025, 11, d, hh, mm, tzinfo=TZ)


def leveled_hall(config, password_hash="$argon2id$v=19$m=65536,t=3,p=4$x$y"):
    """王丽 s001 and 张敏 s003 (A and B of 社保受理岗) 人社局, 李强 s002 市场监管局; a lead for each, two
    hall managers and an auditor; the chain above."""
    for window, staff, department in (("w1", "s001", "人社局"), ("w2", "s002", "市场监管局"), ("w3", "s003", "人社局")):
        config.window(window).department = department
        next(s for s in config.staff if s.id == staff).department = department
    config.posts = [PostConfig(id="p1", name="社保受理岗", a="s001", b="s003", categories=["social"])]
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=password_hash),
                       ManagerConfig(id="m002", name="周主任", password_hash=password_hash),
                       ManagerConfig(id="l001", name="人社局刘科长", password_hash=password_hash, role="lead",
                                     departments=["人社局"]),
                       ManagerConfig(id="l002", name="市场监管局吴科长", password_hash=password_hash, role="lead",
                                     departments=["市场监管局"]),
                       ManagerConfig(id="a001", name="审计孙", password_hash=password_hash, role="auditor")]
    config.attendance.leave_levels = CHAIN
    return config


@pytest.fixture
def proc(config, db_url):
    config = leveled_hall(config)
    config.devices.append(DeviceConfig(id="door-1", role="attendance-terminal"))
    store = Store(db_url)
    store.migrate()
    yield CommandProcessor(config, store, SimClock(at(17, 8, 0)))
    store.close()


def web(proc, **command):
    reply, _ = proc.handle_local(json.dumps({"id": uuid.uuid4().hex, **command}, ensure_ascii=False).encode())
    return reply


def request(proc, staff, start, end, **more):
    reply = web(proc, type="leave.act", action="request", staff=staff, kind="事假", start=start.isoformat(),
                end=end.isoformat(), reason="家中有事", **more)
    return reply["result"]["leave"]


def decide(proc, leave, manager, approve=True, **more):
    return web(proc, type="leave.act", action="decide", leave=leave["id"], manager=manager, approve=approve, **more)


def code(reply):
    return reply["error"]["code"]


def test_a_day_needs_one_level_exactly_three_days_two_and_three_and_a_half_three(proc):
    one_day = request(proc, "s001", at(18, 0), at(19, 0))
    three = request(proc, "s001", at(20, 0), at(23, 0))
    longer = request(proc, "s001", at(24, 0), at(27, 12))
    assert [lv["levels"] for lv in (one_day, three, longer)] == [["lead"], ["lead", "manager"],
                                                                 ["lead", "manager", "m002"]]
    proc.clock.set(at(17, 9, 30))
    done = decide(proc, one_day, "l001")["result"]["leave"]
    assert done["status"] == "approved" and done["approvals"] == [{"by": "l001", "at": at(17, 9, 30).isoformat()}]
    first = decide(proc, three, "l001")["result"]["leave"]
    assert first["status"] == "requested" and [a["by"] for a in first["approvals"]] == ["l001"]
    assert decide(proc, three, "m001")["result"]["leave"]["status"] == "approved"
    decide(proc, longer, "l001")
    assert decide(proc, longer, "m002")["result"]["leave"]["status"] == "requested"    # m002 as a manager
    assert code(decide(proc, longer, "m002")) == "leave_approved_twice"               # … not again as m002
    assert code(decide(proc, longer, "m001")) == "leave_wrong_level"                  # level 3 is m002's only
    rebuilt = CommandProcessor(proc.config, proc.store, proc.clock)                   # kept across a restart
    kept = rebuilt.attendance.leaves.leaves[longer["id"]]
    assert kept.status == "requested" and [who for who, _ in kept.approvals] == ["l001", "m002"]
    assert [lv.status for lv in rebuilt.attendance.leaves.leaves.values()] == ["approved", "approved", "requested"]


def test_levels_in_order_never_twice_never_ones_own_and_a_lead_for_their_departments_only(proc):
    leave = request(proc, "s001", at(18, 0), at(20, 0))
    assert code(decide(proc, leave, "m001")) == "leave_wrong_level"                   # the lead comes first
    refused = decide(proc, leave, "l002")
    assert code(refused) == "forbidden"                                                # 市场监管局's lead
    assert code(decide(proc, leave, "a001")) == "forbidden"                            # an auditor reads only
    assert code(decide(proc, leave, "s001")) == "own_leave"
    assert code(decide(proc, leave, "s003")) == "leave_wrong_level"                    # no manager at all
    assert decide(proc, leave, "l001")["ok"]
    twice = decide(proc, leave, "l001")
    assert code(twice) == "leave_approved_twice" and twice["error"]["message"] == "同一人不能审批同一请假的两个层级"
    assert code(decide(proc, leave, "l002")) == "forbidden"
    assert decide(proc, leave, "m001")["result"]["leave"]["status"] == "approved"
    assert code(decide(proc, leave, "m002")) == "invalid"                              # approved: no level left
    own = request(proc, "s002", at(24, 0), at(24, 8))
    assert decide(proc, own, "l002")["result"]["leave"]["status"] == "approved"


def test_a_refusal_at_any_level_ends_the_leave(proc):
    leave = request(proc, "s001", at(18, 0), at(20, 0))
    decide(proc, leave, "l001")
    rejected = decide(proc, leave, "m001", approve=False)["result"]["leave"]
    assert rejected["status"] == "rejected" and rejected["decided_by"] == "m001"
    assert code(decide(proc, leave, "m002")) == "invalid"
    assert request(proc, "s001", at(18, 0), at(20, 0))["status"] == "requested"       # a new request may follow


def test_a_cover_who_goes_on_leave_between_level_1_and_2_blocks_level_2(proc):
    leave = request(proc, "s001", at(18, 0), at(20, 0), cover="s002")
    assert decide(proc, leave, "l001")["ok"]                                           # s002 free at level 1
    away = request(proc, "s002", at(19, 0), at(19, 23))
    assert decide(proc, away, "l002")["result"]["leave"]["status"] == "approved"
    blocked = decide(proc, leave, "m001")
    assert code(blocked) == "cover_unavailable"
    b_leave = request(proc, "s003", at(18, 0), at(18, 12))                             # B, within s001's leave
    assert decide(proc, b_leave, "l001")["ok"]
    still = decide(proc, leave, "m001", cover="s002")
    assert code(still) == "cover_unavailable"
    assert proc.attendance.leaves.leaves[leave["id"]].status == "requested"           # nothing half-done


def test_the_b_going_on_leave_between_levels_needs_a_named_cover_at_level_2(proc):
    leave = request(proc, "s001", at(18, 0), at(20, 0))
    assert decide(proc, leave, "l001")["ok"]                                           # B (s003) is there
    b_leave = request(proc, "s003", at(19, 0), at(19, 23))
    assert decide(proc, b_leave, "l001")["ok"]                                         # s001 not yet away
    assert code(decide(proc, leave, "m001")) == "post_uncovered"
    ok = decide(proc, leave, "m001", cover="s002")["result"]["leave"]
    assert ok["status"] == "approved" and ok["cover"] == "s002"


def test_xiaojia_early_is_counted_up_to_it_and_late_beyond_the_end_is_lateness(proc):
    early = request(proc, "s001", at(17, 9, 0), at(17, 12, 0))
    decide(proc, early, "l001")
    proc.clock.set(at(17, 10, 0))
    back = web(proc, type="leave.act", action="end", leave=early["id"])["result"]["leave"]
    assert (back["status"], back["returned"], back["ended_at"]) == ("ended", "early", at(17, 10).isoformat())
    web(proc, type="attendance.correct", staff="s001", kind="in", at=at(17, 10, 0).isoformat(), by="m001",
        reason="销假返岗")
    late = request(proc, "s002", at(17, 9, 0), at(17, 10, 0))
    assert decide(proc, late, "l002")["ok"]
    proc.clock.set(at(17, 10, 40))
    back_late = web(proc, type="leave.act", action="end", leave=late["id"])["result"]["leave"]
    assert back_late["returned"] == "late" and back_late["ended_at"] == at(17, 10, 40).isoformat()
    web(proc, type="attendance.correct", staff="s002", kind="in", at=at(17, 10, 40).isoformat(), by="m001",
        reason="销假返岗")
    proc.clock.set(at(17, 18, 0))
    day = {r["staff"]: r for r in proc.attendance.day(date(2025, 11, 17), TZ)}
    assert (day["s001"]["leave_min"], day["s001"]["late_min"]) == (60, 0)              # on leave up to the 销假
    assert (day["s002"]["leave_min"], day["s002"]["late_min"]) == (60, 40)             # late beyond its end
    listed = {lv["id"]: lv for lv in proc.attendance.leave_list()}
    assert listed[early["id"]]["returned"] == "early" and listed[late["id"]]["returned"] == "late"


def test_level_approvals_over_http_with_the_session_as_approver(config, embedded_broker, sqlite_url):
    password = hash_password("manager-pass-2026")
    config = leveled_hall(config, password)
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, _):
        def login(who):
            client = httpx.Client(base_url=server.dashboard_url, timeout=5)
            client.post("/login", data={"manager": who, "password": "manager-pass-2026"})
            return client, {"X-CSRF-Token": client.cookies["govhall_csrf"]}

        manager, m_csrf = login("m001")
        lead, l_csrf = login("l001")
        auditor, a_csrf = login("a001")
        made = manager.post("/api/leaves", headers=m_csrf, json={
            "staff": "s001", "kind": "年休假", "reason": "探亲", "start": "2027-03-01T00:00:00+08:00",
            "end": "2027-03-04T00:00:00+08:00"}).json()["leave"]
        assert made["levels"] == ["lead", "manager"]
        url = f"/api/leaves/{made['id']}/decide"
        out_of_order = manager.post(url, headers=m_csrf, json={"approve": True})
        assert out_of_order.status_code == 409 and out_of_order.json()["error"]["code"] == "leave_wrong_level"
        assert auditor.post(url, headers=a_csrf, json={"approve": True}).status_code == 403
        first = lead.post(url, headers=l_csrf, json={"approve": True, "manager": "m001"})   # the session decides
        assert first.status_code == 200 and first.json()["leave"]["approvals"][0]["by"] == "l001"
        twice = lead.post(url, headers=l_csrf, json={"approve": True})
        assert twice.status_code == 409 and twice.json()["error"]["message"] == "同一人不能审批同一请假的两个层级"
        done = manager.post(url, headers=m_csrf, json={"approve": True})
        assert done.status_code == 200 and done.json()["leave"]["status"] == "approved"
        listed = auditor.get("/api/leaves").json()["leaves"]
        assert [a["by"] for a in listed[0]["approvals"]] == ["l001", "m001"]


def _hall_toml(levels):
    data = demo_config(with_hours=False).model_dump(mode="json", exclude_none=True)
    data["managers"] = [{"id": "m001", "name": "陈主任", "password_hash": "$argon2id$x"},
                        {"id": "a001", "name": "审计", "password_hash": "$argon2id$x", "role": "auditor"}]
    data["attendance"] = {"leave_levels": levels}
    return data


@pytest.mark.parametrize("levels, key, words", [
    ([{"up_to_days": 3, "approvers": ["manager"]}, {"up_to_days": 1, "approvers": ["lead"]}],
     "attendance", "ascend"),
    ([{"approvers": ["manager"]}, {"up_to_days": 1, "approvers": ["lead"]}], "attendance", "only the last"),
    ([{"up_to_days": 1, "approvers": ["hall_head"]}], "attendance.leave_levels[0].approvers", "hall_head"),
    ([{"up_to_days": 1, "approvers": ["a001"]}], "attendance.leave_levels[0].approvers", "a001"),
    ([{"up_to_days": 1, "approvers": ["m001", "m001"]}], "attendance.leave_levels", "two levels"),
    ([{"up_to_days": 0, "approvers": ["lead"]}], "attendance.leave_levels", "greater than 0"),
    ([{"up_to_days": 1, "approvers": []}], "attendance.leave_levels", "at least 1"),
])
def test_the_chain_is_checked_at_start(levels, key, words):
    with pytest.raises(ConfigError) as caught:
        parse_config(_hall_toml(levels), staff_passwords=False)
    assert key in str(caught.value) and words in str(caught.value), str(caught.value)


def test_a_good_chain_with_a_named_manager_is_taken():
    config = parse_config(_hall_toml([{"up_to_days": 1, "approvers": ["lead"]},
                                      {"approvers": ["lead", "manager", "m001"]}]), staff_passwords=False)
    assert [lv.up_to_days for lv in config.attendance.leave_levels] == [1, None]


def test_saving_the_attendance_thresholds_in_the_settings_keeps_the_chain(tmp_path):
    example = (Path(__file__).parent.parent / "examples" / "hall.toml").read_text(encoding="utf-8")
    commented = '# [[attendance.leave_levels]]\n# up_to_days = 1\n# approvers = ["lead"]'
    assert commented in example                                                        # the example's first row
    (tmp_path / "hall.toml").write_text(example.replace(commented, commented.replace("# ", "")), encoding="utf-8")
    assert save_settings(tmp_path / "hall.toml", "attendance", {"grace_minutes": 7}, datetime.now(UTC))
    config = load_config(tmp_path / "hall.toml")
    assert config.attendance.grace_minutes == 7
    assert [(lv.up_to_days, lv.approvers) for lv in config.attendance.leave_levels] == [(1, ["lead"])]


def test_a_chain_shortened_while_a_leave_waits_makes_its_next_approval_the_last():
    three = [LeaveLevel(None, ("lead", "manager", "m002"))]
    book = LeaveBook([], chain=three)
    leave = book.request("s001", "事假", at(18, 0), at(22, 0), "")
    book.decide(leave.id, "l001", True, role="lead", now=at(17, 9))
    book.decide(leave.id, "m001", True, role="manager", now=at(17, 10))
    book.chain = [LeaveLevel(None, ("lead",))]                                         # settings saved meanwhile
    with pytest.raises(LeaveError) as caught:
        book.decide(leave.id, "m002", True, role="manager", now=at(17, 11))
    assert caught.value.code == "wrong_level"                                          # the last level: a lead's
    assert book.decide(leave.id, "l003", True, role="lead", now=at(17, 11)).status == "approved"
    assert [who for who, _ in leave.approvals] == ["l001", "m001", "l003"]
