"""The live overview's rules: windows' states, alerts and their acknowledgement (pure functions)."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hallserver.web.overview import category_rows, hall_alerts, mark_acknowledged, window_cards
from lab.demo import demo_config

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 23, 10, 0, tzinfo=TZ)


def window(wid, number, status, staff=None, ticket=None, since=NOW - timedelta(minutes=12), reason=None):
    return {"window": wid, "number": number, "name": f"{number}号窗口", "status": status,
            "staff": {"id": staff, "name": {"s001": "王丽", "s002": "李强", "s003": "张敏"}[staff]} if staff else None,
            "ticket": {"number": ticket, "category_name": "社保医保"} if ticket else None,
            "pause_reason": reason, "since": since.isoformat(), "staff_today": {"served": 7} if staff else None}


def snapshot(**parts):
    base = {"server": {"online": True}, "front_desk_uncovered": [], "posts_away": [], "cases_slipping": [],
            "bad_ratings": [], "device_alerts": [], "devices_offline": {}}
    return {**base, **parts}


def test_window_cards_say_who_serves_whom_for_how_long_and_who_covers():
    config = demo_config(with_hours=False)
    windows = [window("w1", 1, "serving", "s001", "A007"), window("w2", 2, "paused", "s002", reason="meal"),
               window("w3", 3, "idle", "s003"), ]
    covering = [{"post": "front-business", "name": "企业开办前台", "a": "s002", "b": "s003", "state": "b",
                 "window": "w3"}]
    cards = {c["window"]: c for c in window_cards(windows, config, {"counter-1": NOW.isoformat()}, covering, NOW)}
    assert cards["w1"]["state"] == "offline" and cards["w1"]["offline_since"] == "10:00"   # its counter is gone
    assert cards["w2"]["state"] == "paused" and cards["w2"]["pause_reason"] == "用餐" and cards["w2"]["for_s"] == 720
    assert cards["w3"]["duty"] == "B岗顶岗：企业开办前台"
    cards = {c["window"]: c for c in window_cards(windows, config, {}, [], NOW)}
    assert cards["w1"]["state"] == "serving" and cards["w1"]["ticket"] == "A007"
    assert cards["w3"]["duty"].startswith("A岗：")                                # s003 is A of front-residence


def test_a_wait_beyond_the_limit_is_a_red_alert_from_the_moment_it_passed_it():
    config = demo_config(with_hours=False)
    queue = [{"category": "social", "name": "社保医保", "prefix": "A", "waiting": 3, "open_windows": 1}]
    figures = {"social": {"issued": 9, "served": 5, "avg_wait_s": 1500.0, "longest_wait_s": 42 * 60}}
    rows = category_rows(queue, figures, 20 * 60)
    assert rows[0]["over_target"] and rows[0]["longest_wait_s"] == 42 * 60
    (alert,) = hall_alerts(snapshot(), rows, config, NOW, {})
    assert alert.key == "wait:social" and alert.level == "red" and "42 分钟" in alert.text
    assert alert.since == (NOW - timedelta(minutes=12)).isoformat(timespec="minutes")      # 42 − 30
    figures["social"]["longest_wait_s"] = 29 * 60
    assert hall_alerts(snapshot(), category_rows(queue, figures, 1200), config, NOW, {}) == []


def test_alerts_come_newest_first_and_an_acknowledgement_marks_only_that_occurrence():
    config = demo_config(with_hours=False)
    snap = snapshot(
        devices_offline={"tablet-2": (NOW - timedelta(minutes=5)).isoformat()},
        device_alerts=[{"device": "kiosk-1", "component": "printer", "condition": "paper_near_end", "open": True,
                        "since": (NOW - timedelta(minutes=20)).isoformat()}],
        bad_ratings=[{"rating_id": 9, "window": "w2", "level": 1, "ticket": {"number": "B003"},
                      "seen": (NOW - timedelta(minutes=1)).isoformat()}])
    alerts = hall_alerts(snap, [], config, NOW, {})
    assert [a.kind for a in alerts] == ["rating", "offline", "device"]
    assert "评价器 tablet-2 离线" in alerts[1].text and "差评：2号窗口 B003（1 星）" in alerts[0].text
    offline = alerts[1]
    acks = {(offline.key, offline.since): {"by": "m001", "at": NOW}}
    marked = mark_acknowledged(alerts, acks, TZ)
    assert marked[1].acked_by == "m001" and marked[0].acked_by is None
    snap["devices_offline"]["tablet-2"] = NOW.isoformat()              # back and gone again: a new alert
    again = mark_acknowledged(hall_alerts(snap, [], config, NOW, {}), acks, TZ)
    assert next(a for a in again if a.kind == "offline").acked_by is None


def test_the_server_offline_is_always_on_top():
    alerts = hall_alerts(snapshot(server={"online": False}, devices_offline={"kiosk-1": NOW.isoformat()}), [],
                         demo_config(with_hours=False), NOW, {})
    assert alerts[0].kind == "server"
