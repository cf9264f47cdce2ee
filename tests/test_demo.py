"""The demo: a whole hall on simulated time, as `make demo` and `hall demo` run it."""
from __future__ import annotations

import json
import subprocess
import sys

from sqlalchemy.engine import make_url

from hallserver.demo import run_demo

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
    run = subprocess.run([sys.executable, "-m", "hallserver.cli", "demo", "--headless", "--minutes", "30",
                          "--seed", "7", "--json"], capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)          # the whole of stdout is one JSON object
    assert REQUIRED <= set(result)
    assert result["broker"] == "embedded" and result["database"].startswith("sqlite:///")


def test_the_demo_runs_on_mosquitto_and_postgresql_and_hides_the_password(mosquitto, pg_database):
    from tests.conftest import _fresh_pg
    url = make_url(_fresh_pg(pg_database)).set(password="s3cret-pw")   # trust auth ignores it
    run = subprocess.run([sys.executable, "-m", "hallserver.cli", "demo", "--headless", "--minutes", "20",
                          "--seed", "7", "--json", "--broker", mosquitto.url,
                          "--database", url.render_as_string(hide_password=False)],
                         capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    result = json.loads(run.stdout)
    assert result["broker"] == mosquitto.url
    assert "s3cret-pw" not in run.stdout and "***" in result["database"]
    assert result["tickets_issued"] > 0
