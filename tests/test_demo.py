"""The demo: a whole hall on simulated time, as `make demo` and `hall demo` run it."""
from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy.engine import make_url

from lab.demo import run_demo

REQUIRED = {"tickets_issued", "tickets_served", "tickets_waiting", "avg_wait_s", "max_wait_s", "ratings",
            "broker", "database"}


def _figures(result: dict) -> dict:
    return {k: v for k, v in result.items() if k != "database"}


def test_the_same_seed_gives_the_same_morning():
    first = run_demo(minutes=60, seed=11)
    second = run_demo(minutes=60, seed=11)
    assert _figures(first) == _figures(second)
    other = run_demo(minutes=60, seed=12)
    assert _figures(other) != _figures(first)


def test_the_morning_adds_up():
    r = run_demo(minutes=180, seed=7)
    assert r["tickets_issued"] > 20
    assert r["tickets_issued"] == r["tickets_served"] + r["tickets_skipped"] + r["tickets_waiting"] + \
        sum(1 for text in r["led_screens"].values() if text.startswith("请 "))
    assert 0 < r["avg_wait_s"] <= r["max_wait_s"]
    assert r["ratings"] == sum(r["ratings_by_level"].values()) and r["ratings"] <= r["tickets_served"]
    # every call reached the hall screen, and each window's LED screen shows its last call
    assert r["calls_announced"] >= r["tickets_served"]
    assert set(r["led_screens"]) == {"1", "2", "3"}
    # the morning exercises the rules, and the green channel really goes first
    for rule in ("green_tickets", "transfers", "requeues", "pauses", "refused_closed", "refused_quota_full",
                 "appointments_booked", "appointments_on_time", "appointments_late"):
        assert r[rule] > 0, f"the demo morning never exercised {rule}"
    by_class = r["avg_wait_s_by_class"]
    assert by_class["green"] < by_class["normal"] and by_class["appointment"] < by_class["normal"]
    # the kiosk's wait estimates were checked against the real waits of the tickets called
    assert r["estimates_checked"] > 10 and 0 < r["estimate_mae_s"] < r["max_wait_s"]
    # AB岗: 张敏 (A of 户籍受理岗) starts twenty minutes late and 王丽 (B) covers; 企业开办 has nobody
    # for its first two minutes: the front-desk alert opens and closes with its duration
    assert r["post_minutes"]["front-residence"]["B"] >= 15
    assert {"category": "business", "minutes": 2} in r["front_desk_alerts"]
    assert all(a["minutes"] is not None for a in r["front_desk_alerts"] if a["category"] == "business")


def test_hall_demo_json_prints_one_object_with_the_promised_keys():
    run = subprocess.run([sys.executable, "-m", "hall.cli", "demo", "--headless", "--minutes", "30",
                          "--seed", "7", "--json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)          # the whole of stdout is one JSON object
    assert REQUIRED <= set(result)
    assert result["broker"] == "embedded" and result["database"].startswith("sqlite:///")


def test_the_demo_runs_on_mosquitto_and_postgresql_and_hides_the_password(mosquitto, pg_database):
    from tests.conftest import _fresh_pg
    url = make_url(_fresh_pg(pg_database)).set(password="s3cret-pw")   # trust auth ignores it
    run = subprocess.run([sys.executable, "-m", "hall.cli", "demo", "--headless", "--minutes", "20",
                          "--seed", "7", "--json", "--broker", mosquitto.url,
                          "--database", url.render_as_string(hide_password=False)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["broker"] == mosquitto.url
    assert "s3cret-pw" not in run.stdout and "***" in result["database"]
    assert result["tickets_issued"] > 0


def test_the_county_hall_runs_a_whole_day_as_a_real_hall_has_it():
    from lab.demo import county_hall_config
    config = county_hall_config()
    assert 25 <= len(config.windows) <= 40
    assert len({w.department for w in config.windows}) >= 10
    names = {c.name for c in config.categories}
    for wanted in ("社保业务", "医保业务", "不动产登记", "住房公积金", "税务业务", "企业开办", "户籍业务", "出入境",
                   "民政业务", "综合受理", "自助区导办"):
        assert wanted in names
    events: list[tuple[str, dict]] = []
    r = run_demo(hall="county", seed=7, on_event=lambda kind, data: events.append((kind, data)))
    assert r["minutes"] == 480                              # 09:00 to 17:00, both sessions
    assert r["tickets_issued"] > 600 and r["tickets_issued"] == \
        r["tickets_served"] + r["tickets_skipped"] + r["tickets_waiting"] + r["tickets_cancelled"] + \
        sum(1 for text in r["led_screens"].values() if text.startswith("请 "))
    assert len(r["led_screens"]) == len(config.windows)
    assert r["refused_closed"] > 0                          # the lunch break: 12:00–13:30 no tickets
    assert r["pauses"] >= len(config.windows)               # every window pauses for lunch
    for rule in ("green_tickets", "appointments_booked", "transfers", "requeues"):
        assert r[rule] > 0, rule
    assert 0 < sum(n for level, n in r["ratings_by_level"].items() if int(level) <= 2) < r["ratings"] * 0.05
    assert r["satisfaction_percent"] == round(100 * r["satisfaction"], 1)
    # 限时办结: cases accepted today at the windows, and earlier 网上申报 now overdue or due soon
    assert r["cases_accepted"] > 0 and r["cases_seeded"] > 0
    assert r["cases_by_colour"]["red"] >= 1 and r["cases_by_colour"]["yellow"] >= 1
    kinds = [kind for kind, _ in events]
    assert "late_start" in kinds
    assert any(k == "post.coverage" and d["state"] == "b" for k, d in events)           # B covers A
    assert any(k == "coverage.alert" and d["open"] is False and d["minutes"] for k, d in events)   # 前台断档
    assert any(k == "case.colour" and d["colour"] == "red" for k, d in events)
    assert any(k == "rating.recorded" and d["level"] <= 2 for k, d in events)


def test_the_console_tells_the_day_in_the_dashboards_words():
    import io
    from datetime import datetime, timedelta

    from lab.demo import DEMO_START, county_hall_config
    from lab.demo_console import DemoConsole
    now = [DEMO_START]
    out = io.StringIO()
    console = DemoConsole(county_hall_config(), lambda: now[0], out=out, tty=False)
    console.event("coverage.alert", {"category": "civil", "open": True, "since": DEMO_START.isoformat()})
    console.status({"tickets_issued": 3, "tickets_served": 1, "tickets_waiting": 2, "avg_wait_s": 30})
    assert "前台断档" not in out.getvalue()                     # a login's moment is not news
    now[0] = DEMO_START + timedelta(minutes=2)
    console.status({"tickets_issued": 9, "tickets_served": 4, "tickets_waiting": 5, "avg_wait_s": 400})
    assert "09:00  前台断档  民政业务 无人受理" in out.getvalue()
    console.event("rating.recorded", {"level": 5, "window": "w1", "staff": "s001", "ticket": {"number": "A001"}})
    console.event("rating.recorded", {"level": 1, "window": "w1", "staff": "s001", "ticket": {"number": "A002"}})
    console.event("case.colour", {"colour": "red", "matter": "不动产转移登记", "window": "online", "staff": "online",
                                  "due": datetime(2026, 11, 17, 17, tzinfo=DEMO_START.tzinfo).isoformat()})
    text = out.getvalue()
    assert "A001" not in text and "差评  1号窗口 王丽（A002）：非常不满意" in text
    assert "红灯办件  不动产转移登记（网上申报）已超期，承诺 11月17日 办结" in text
    assert "平均等候 <1 分钟" in text and "平均等候 7 分钟" not in text      # into a pipe: every half hour
    now[0] = DEMO_START + timedelta(minutes=30)
    console.status({"tickets_issued": 9, "tickets_served": 4, "tickets_waiting": 5, "avg_wait_s": 400})
    assert "⏱ 09:30  今日取号 9 · 已办结 4 · 正在等候 5 · 平均等候 7 分钟" in out.getvalue()


def test_every_screen_of_the_county_hall_is_saved_at_its_real_size(tmp_path):
    from PIL import Image

    from lab.demo_shots import county_screenshots
    saved = county_screenshots(tmp_path, minutes=40)       # raises when the 大屏 cannot show every window
    sizes = {p.name: Image.open(p).size for p in saved}
    assert sizes["county-kiosk-portrait.png"] == (1080, 1920) and sizes["county-counter-w1.png"] == (1366, 768)
    assert sizes["county-tablet-w1.png"] == (1280, 800) and sizes["county-hall-screen.png"] == (1920, 1080)
    assert sizes["county-wall-1920x1080.png"] == (1920, 1080) and sizes["county-wall-1366x768.png"] == (1366, 768)
    for page in ("dashboard", "reports", "reports-people", "settings"):
        for width in (1920, 1366):
            assert sizes[f"county-{page}-{width}x{768 if width == 1366 else 1080}.png"][0] == width
    assert {"county-led-w1.png", "county-led-w23.png", "county-led-w31.png"} <= set(sizes)
    for path in saved:
        colours = Image.open(path).convert("RGB").resize((100, 100)).getcolors(100 * 100)
        assert colours is None or len(colours) > 3, f"{path.name} looks blank"
