"""What the hall server does for counters: 工号 + 密码 login with argon2, lockout after wrong
passwords, and each staff member's own figures today in the window state."""
import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hallserver.domain.clock import SimClock
from hallserver.domain.login_guard import LoginGuard
from hallserver.passwords import hash_password
from hallserver.processor import CommandProcessor
from hallserver.store import Store

TZ = ZoneInfo("Asia/Shanghai")
PASSWORD = "wangli-2026"


@pytest.fixture(scope="module")
def hashed():
    return hash_password(PASSWORD)


@pytest.fixture
def proc(config, db_url, hashed):
    config.staff[0].password_hash = hashed          # s001 王丽 has a password; the others have none
    store = Store(db_url)
    store.migrate()
    yield CommandProcessor(config, store, SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ)))
    store.close()


def send(proc, device, **command):
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command).encode())
    return next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device))


def test_login_needs_the_right_password_and_never_echoes_it(proc):
    assert send(proc, "counter-1", type="window.login", window="w1", staff="s001")["error"]["code"] == "bad_password"
    wrong = send(proc, "counter-1", type="window.login", window="w1", staff="s001", password="nope")
    assert wrong["error"]["code"] == "bad_password" and wrong["error"]["message"] == "工号或密码错误"
    ok = send(proc, "counter-1", type="window.login", window="w1", staff="s001", password=PASSWORD)
    assert ok["ok"] and ok["result"]["window"]["staff"]["name"] == "王丽"
    assert PASSWORD not in json.dumps(ok)
    # unlocking a locked counter: the same login again, with the password, changes nothing else
    again = send(proc, "counter-1", type="window.login", window="w1", staff="s001", password=PASSWORD)
    assert again["ok"] and again["result"]["window"]["status"] == "idle"
    # staff without a password hash (a demo hall) log in with the staff number alone
    assert send(proc, "counter-2", type="window.login", window="w2", staff="s002")["ok"]


def test_the_password_is_not_kept_in_the_command_log(proc, db_url):
    from sqlalchemy import create_engine, text
    send(proc, "counter-1", type="window.login", id="l-1", window="w1", staff="s001", password=PASSWORD)
    with create_engine(db_url).connect() as conn:
        rows = conn.execute(text("select * from commands")).all()
    assert rows and PASSWORD not in repr(rows)


def test_five_wrong_passwords_lock_the_staff_number_for_five_minutes(proc):
    for _ in range(5):
        send(proc, "counter-1", type="window.login", window="w1", staff="s001", password="guess")
    locked = send(proc, "counter-1", type="window.login", window="w1", staff="s001", password=PASSWORD)
    assert locked["error"]["code"] == "login_locked"
    assert locked["error"]["next_open"] == "2026-11-23T09:05:00+08:00"
    proc.clock.advance(5 * 60 + 1)
    assert send(proc, "counter-1", type="window.login", window="w1", staff="s001", password=PASSWORD)["ok"]


def test_the_guard_forgets_old_failures_and_a_success_clears_them():
    guard, t0 = LoginGuard(max_failures=3, lock_minutes=5), datetime(2026, 11, 23, 9, 0, tzinfo=TZ)
    from datetime import timedelta
    guard.failed("s1", t0)
    guard.failed("s1", t0 + timedelta(minutes=1))
    assert guard.locked_until("s1", t0 + timedelta(minutes=2)) is None
    guard.failed("s1", t0 + timedelta(minutes=2))
    assert guard.locked_until("s1", t0 + timedelta(minutes=3)) == t0 + timedelta(minutes=7)
    assert guard.locked_until("s1", t0 + timedelta(minutes=8)) is None     # the old ones fell out
    guard.failed("s2", t0)
    guard.succeeded("s2")
    assert guard._failures.get("s2") is None
    for _ in range(3):          # one try counted again (its commit failed and it ran once more) is one
        guard.failed("s3", t0, attempt="counter-1/abc")
    assert guard.locked_until("s3", t0) is None
    guard.failed("s3", t0, attempt="counter-1/abd")
    guard.failed("s3", t0, attempt="counter-1/abe")
    assert guard.locked_until("s3", t0) == t0 + timedelta(minutes=5)


def test_the_counter_shows_the_staff_members_own_figures_today(proc):
    send(proc, "counter-2", type="window.login", window="w2", staff="s002")
    for _ in range(3):
        send(proc, "kiosk-1", type="ticket.issue", category="business")
    for minutes in (4, 6):
        send(proc, "counter-2", type="window.call_next", window="w2")
        proc.clock.advance(minutes * 60)
        reply = send(proc, "counter-2", type="window.complete", window="w2")
        send(proc, "tablet-2", type="rating.submit", window="w2", level=5 if minutes == 4 else 2)
    state = proc.window_state(proc.engine.windows["w2"]).staff_today
    assert (state.served, state.avg_service_s, state.ratings, state.satisfaction) == (2, 300.0, 2, 50.0)
    assert reply["ok"]
    # a restart rebuilds the same figures from the database
    rebuilt = CommandProcessor(proc.config, proc.store, proc.clock)
    again = rebuilt.window_state(rebuilt.engine.windows["w2"]).staff_today
    assert again == state


def test_a_bad_hash_in_the_config_is_refused_before_anything_starts():
    from govhall.config import ConfigError, parse_config
    from lab.demo import demo_config
    data = demo_config(with_hours=False).model_dump(mode="json")
    data["staff"][0]["password_hash"] = "plaintext-password"
    with pytest.raises(ConfigError, match=r"staff\[0\]\.password_hash"):
        parse_config(data)
