"""The faults a real hall meets, each ending with "nothing lost, nothing doubled".

The hall server killed with SIGKILL under load is tests/test_restart.py; a printer out of
paper mid-ticket is tests/test_kiosk_server.py and tests/test_printer.py; an LED port pulled
out is tests/test_led.py; keypad bus noise is tests/test_keypad.py. Here: the broker
restarted under load, a device away for ten minutes, the database locked, full or dropped,
midnight during a service, and the machine's clock stepped back.
"""
from __future__ import annotations

import json
import sqlite3
import threading
import time
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import event, select, text
from sqlalchemy.engine import make_url

from govhall.link import DeviceLink, RequestTimeout
from hallserver.broker import MosquittoProcess, free_port, mosquitto_config
from hallserver.domain.clock import SimClock, SteadyClock
from hallserver.processor import CommandProcessor
from hallserver.server import HallServer
from hallserver.store import Store
from hallserver.store.tables import tickets

TZ = ZoneInfo("Asia/Shanghai")


def tickets_in(url: str) -> list:
    store = Store(url)
    try:
        with store.engine.connect() as conn:
            return conn.execute(select(tickets).order_by(tickets.c.id)).all()
    finally:
        store.close()


def assert_numbered_once(rows: list) -> None:
    per_category: dict[tuple, list[int]] = {}
    for r in rows:
        per_category.setdefault((r.day, r.category), []).append(r.seq)
    for key, seqs in per_category.items():
        assert seqs == list(range(1, len(seqs) + 1)), f"{key}: numbers skipped or repeated: {seqs}"


def insist(link: DeviceLink, command: dict, outages: list, give_up_s: float = 60.0) -> dict:
    """What a real device does: send, and while the link or the server is down, wait a
    little and send the same command again (same id), until it is answered."""
    command = dict(command, id=uuid.uuid4().hex)
    deadline = time.monotonic() + give_up_s
    while True:
        try:
            return link.request(command, timeout=1.0, attempts=2)
        except RequestTimeout:              # NotConnected included: the kiosk shows 暂停服务
            outages.append(time.monotonic())
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


# ---------------------------------------------------------------------------- the broker
@pytest.mark.timeout(180)
def test_the_broker_restarted_under_load_loses_nothing_and_doubles_nothing(config, sqlite_url, tmp_path):
    """Two kiosks and two counters keep working while Mosquitto is restarted twice. The
    devices notice (their commands are refused while it is down: the kiosk pauses issuing),
    reconnect by themselves with back-off, resubscribe, and get the retained truth again."""
    port = free_port()
    conf = tmp_path / "mosquitto.conf"
    (tmp_path / "data").mkdir()
    conf.write_text(mosquitto_config(port, persistence_dir=str(tmp_path / "data")))
    broker = MosquittoProcess(port=port, workdir=str(tmp_path), conf_file=str(conf)).start()
    server = HallServer(config, broker_url=broker.url, database_url=sqlite_url).start()
    links = [DeviceLink("demo", d, broker.url).connect() for d in ("kiosk-1", "kiosk-2", "counter-1", "counter-3")]
    kiosks, counters = links[:2], links[2:]
    acked: dict[int, str] = {}
    called: list[str] = []
    outages: list[float] = []
    errors: list[str] = []
    stop = threading.Event()
    lock = threading.Lock()
    try:
        for link, window, staff in ((counters[0], "w1", "s001"), (counters[1], "w3", "s003")):
            assert insist(link, {"type": "window.login", "window": window, "staff": staff}, outages)["ok"]

        def kiosk(link: DeviceLink) -> None:
            try:
                i = 0
                while not stop.is_set():
                    i += 1
                    reply = insist(link, {"type": "ticket.issue", "category": ("social", "residence")[i % 2]}, outages)
                    assert reply["ok"], reply
                    with lock:
                        acked[reply["result"]["ticket"]["id"]] = reply["result"]["ticket"]["number"]
                    time.sleep(0.01)
            except Exception as exc:
                errors.append(f"{link.device_id}: {exc!r}")

        def counter(link: DeviceLink, window: str) -> None:
            try:
                while not stop.is_set():
                    reply = insist(link, {"type": "window.call_next", "window": window}, outages)
                    if reply["ok"]:
                        with lock:
                            called.append(reply["result"]["ticket"]["number"])
                    time.sleep(0.02)
            except Exception as exc:
                errors.append(f"{link.device_id}: {exc!r}")

        threads = [threading.Thread(target=kiosk, args=(k,)) for k in kiosks]
        threads += [threading.Thread(target=counter, args=(c, w)) for c, w in zip(counters, ("w1", "w3"), strict=True)]
        for t in threads:
            t.start()
        for _ in range(2):
            time.sleep(1.5)
            broker.stop()
            time.sleep(1.5)                           # the hall without its broker
            broker.start()
        time.sleep(3)                                 # everybody back and working
        stop.set()
        for t in threads:
            t.join(90)
        assert not errors, errors
        assert outages, "the devices never noticed the broker was gone"
        assert all(link.connected.is_set() for link in links)       # reconnected by themselves

        rows = tickets_in(sqlite_url)
        assert {r.id: r.number for r in rows} == acked              # nothing lost, nothing extra
        assert_numbered_once(rows)
        assert len(called) == len(set(called))                      # nobody called twice
        # after the restarts a new screen gets the truth from the retained state
        screen = DeviceLink("demo", "screen-1", broker.url)
        seen: dict[str, dict] = {}
        screen.subscribe(screen.topics.all_state, lambda topic, data: seen.__setitem__(topic, data))
        screen.connect()
        links.append(screen)
        in_database = sum(1 for r in rows if r.status == "waiting")

        def shown() -> int | None:
            state = seen.get(screen.topics.queue_state)
            return sum(q["waiting"] for q in state["categories"]) if state else None
        deadline = time.monotonic() + 10        # the summary goes out at most 4 times a second: soon
        while time.monotonic() < deadline and (screen.topics.server_state not in seen or shown() != in_database):
            time.sleep(0.05)
        assert shown() == in_database
        assert seen[screen.topics.server_state]["online"]
    finally:
        stop.set()
        for link in links:
            link.close()
        server.stop()
        broker.stop()


# ---------------------------------------------------------------------------- a device away
def test_a_device_away_for_ten_minutes_comes_back_to_the_truth(config, mosquitto, sqlite_url):
    """The hall screen loses its network for ten minutes of hall time while the windows call
    and serve; when it is back it shows what is true now, not what it saw last."""
    clock = SimClock(datetime(2026, 11, 23, 10, 0, tzinfo=TZ))
    server = HallServer(config, broker_url=mosquitto.url, database_url=sqlite_url, clock=clock).start()
    kiosk = DeviceLink("demo", "kiosk-1", mosquitto.url).connect()
    counter = DeviceLink("demo", "counter-1", mosquitto.url).connect()
    links = [kiosk, counter]
    try:
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        for _ in range(6):
            kiosk.request({"type": "ticket.issue", "category": "social"})
        counter.request({"type": "window.call_next", "window": "w1"})
        screen = DeviceLink("demo", "screen-1", mosquitto.url)
        seen: dict[str, dict] = {}
        screen.subscribe(screen.topics.all_state, lambda topic, data: seen.__setitem__(topic, data))
        screen.connect()
        w1 = screen.topics.window_state("w1")
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and (seen.get(w1) or {}).get("ticket", {}).get("number") != "A001":
            time.sleep(0.02)
        assert seen[w1]["ticket"]["number"] == "A001"
        screen.close()                                 # gone: the network cable is out

        for _ in range(10):                            # ten minutes of the hall going on
            clock.advance(60)
            counter.request({"type": "window.call_next", "window": "w1"})
        kiosk.request({"type": "ticket.issue", "category": "residence"})
        counter.request({"type": "window.complete", "window": "w1"})
        assert counter.request({"type": "window.pause", "window": "w1", "reason": "meal"})["ok"]

        seen.clear()
        back = DeviceLink("demo", "screen-1", mosquitto.url)
        back.subscribe(back.topics.all_state, lambda topic, data: seen.__setitem__(topic, data))
        back.connect()
        links.append(back)
        def waiting() -> dict:
            return {q["category"]: q["waiting"] for q in seen.get(back.topics.queue_state, {}).get("categories", [])}
        deadline = time.monotonic() + 5         # the queue summary is at most a quarter second behind
        while time.monotonic() < deadline and not (w1 in seen and waiting().get("residence") == 1):
            time.sleep(0.02)
        assert seen[w1]["status"] == "paused"
        assert waiting()["social"] == 0 and waiting()["residence"] == 1
    finally:
        for link in links:
            link.close()
        server.stop()


# ---------------------------------------------------------------------------- the database
def send(proc: CommandProcessor, device: str, **command) -> dict:
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command).encode())
    return next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device))


@pytest.fixture
def hall(config, sqlite_url):
    store = Store(sqlite_url)
    store.migrate()
    proc = CommandProcessor(config, store, SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ)))
    yield proc, sqlite_url
    store.close()


@pytest.mark.timeout(60)
def test_a_locked_sqlite_database_refuses_cleanly_and_the_server_recovers(hall):
    """Another program holds the database's write lock longer than the server waits (5 s):
    the kiosk is told the write failed, no number is used up, nothing half-saved; once the
    lock is gone the next command works, without a restart."""
    proc, url = hall
    assert send(proc, "kiosk-1", type="ticket.issue", category="social")["ok"]
    locker = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        reply = send(proc, "kiosk-1", type="ticket.issue", id="while-locked", category="social")
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert not reply["ok"] and reply["error"]["code"] == "unavailable"
    assert proc.engine.waiting_count("social") == 1            # the refused ticket is not in the queue
    again = send(proc, "kiosk-1", type="ticket.issue", id="while-locked", category="social")   # the device retries
    assert again["ok"] and again["result"]["ticket"]["number"] == "A002"    # A002: no number lost
    rows = tickets_in(url)
    assert [r.number for r in rows] == ["A001", "A002"]


def test_a_locked_database_is_told_to_the_kiosk_after_one_wait_not_two(config, mosquitto, sqlite_url):
    """Through the running server (its group commit): the database locked by another program
    is told to the kiosk (系统暂时不可用) once SQLite has waited its 5 s, not after a second try
    meeting the same lock, and well before the kiosk gives up (3 tries of 3 s). Meanwhile a
    repeat of a command already saved still gets its first reply (reads work), and the
    dashboard's live view shows nothing of what was refused. Once the lock is gone the same
    command, sent again, is issued with the next number."""
    server = HallServer(config, broker_url=mosquitto.url, database_url=sqlite_url).start()
    kiosk = DeviceLink("demo", "kiosk-1", mosquitto.url).connect()
    counter = DeviceLink("demo", "counter-1", mosquitto.url).connect()
    try:
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        first = kiosk.request({"type": "ticket.issue", "id": "first", "category": "social"})
        assert first["ok"]
        window_before = next(w for w in server.view.snapshot()["windows"] if w["window"] == "w1")
        locker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
        locker.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            refused = kiosk.request({"type": "ticket.issue", "id": "while-locked", "category": "social"},
                                    timeout=9.0, attempts=1)
            waited = time.monotonic() - started
            # the server's 5 s tick meets the lock too, but its own writes wait only briefly
            call = counter.request({"type": "window.call_next", "window": "w1"}, timeout=9.0, attempts=1)
            repeat = kiosk.request({"type": "ticket.issue", "id": "first", "category": "social"},
                                   timeout=9.0, attempts=1)
        finally:
            locker.execute("ROLLBACK")
            locker.close()
        assert not refused["ok"] and refused["error"]["code"] == "unavailable"
        assert waited < 8.0, f"told after {waited:.1f} s"
        assert not call["ok"] and call["error"]["code"] == "unavailable"
        assert repeat == first                              # the saved command's own reply, not a refusal
        view = server.view.snapshot()
        assert next(w for w in view["windows"] if w["window"] == "w1") == window_before    # no call shown
        assert view["recent_calls"] == []
        again = kiosk.request({"type": "ticket.issue", "id": "while-locked", "category": "social"})
        assert again["ok"] and again["result"]["ticket"]["number"] == "A002"
    finally:
        kiosk.close()
        counter.close()
        server.stop()
    assert not server.store._held                          # the writer handed its connection back when it stopped
    rows = tickets_in(sqlite_url)
    assert [(r.number, r.status) for r in rows] == [("A001", "waiting"), ("A002", "waiting")]


def test_the_servers_own_writes_on_its_tick_do_not_wait_out_a_lock(hall, caplog):
    """The tick's writes (a window open: the coverage minutes, every tick) wait only briefly
    for another program's lock and are tried again on a later tick, so the commands behind
    the tick are not held up by a second 5 s wait; once the lock is gone they are stored."""
    proc, url = hall
    assert send(proc, "counter-1", type="window.login", window="w1", staff="s001")["ok"]
    proc.tick()
    locker = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    caplog.clear()
    try:
        proc.clock.advance(60)
        proc.attendance._minutes_saved = float("-inf")     # a minute since the last save, on the machine's clock
        started = time.monotonic()
        with proc.store.brief_waits():
            proc.tick()
        took = time.monotonic() - started
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert took < 2.0, f"the tick waited {took:.1f} s"
    assert "could not store the coverage minutes; trying again on a later tick" in caplog.text
    with proc.store.engine.connect() as conn:          # a command's write still waits the full 5 s
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
    caplog.clear()
    proc.clock.advance(60)
    with proc.store.brief_waits():
        proc.tick()                                     # the lock is gone: stored now
    assert not [r for r in caplog.records if r.levelname == "ERROR"]
    assert not proc.attendance.watch.changed            # nothing left to store


def test_a_refused_batch_answers_each_message_as_it_would_be_answered_before_writing(hall):
    """When the database takes no writes, each message of the refused batch still gets the
    answer it would get before any write: a repeat its stored reply, a bad or forbidden
    command its own error, a presence message is run again; only a new command is told
    系统暂时不可用."""
    proc, url = hall
    first = send(proc, "kiosk-1", type="ticket.issue", id="saved", category="social")
    assert first["ok"]

    def answer(device: str, payload: bytes) -> dict | None:
        out = proc.refuse_unsaved(proc.topics.command(device), payload)
        return next((json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device)), None)

    def cmd(**body) -> bytes:
        return json.dumps(body).encode()

    assert answer("kiosk-1", cmd(type="ticket.issue", id="saved", category="social")) == first
    assert answer("kiosk-1", b"{not json")["error"]["code"] == "bad_json"
    assert answer("stranger", cmd(type="ticket.issue", id="x1", category="social"))["error"]["code"] \
        == "unknown_device"
    assert answer("kiosk-1", cmd(type="window.call_next", id="x2", window="w1"))["error"]["code"] == "forbidden"
    assert answer("kiosk-1", cmd(type="ticket.issue", id="new", category="social"))["error"]["code"] \
        == "unavailable"
    presence = proc.refuse_unsaved(proc.topics.presence("counter-1"), b'{"type": "device.presence", "online": true}')
    assert presence == []                                   # run again alone (nothing to answer)
    assert [r.number for r in tickets_in(url)] == ["A001"]


def test_what_the_database_refuses_is_told_apart_from_what_a_new_try_fixes(sqlite_url, pg_database):
    """Store.refuses_every_write, on the databases' own errors: a lock or no server to reach
    is refused at once; a statement's own error, a cancelled statement or a lost connection
    is run again one command at a time."""
    from sqlalchemy.exc import DBAPIError

    from tests.conftest import _fresh_pg

    def error_of(engine, sql: str, setup=None) -> DBAPIError:   # noqa: ANN001
        with engine.connect() as conn:
            if setup:
                conn.execute(text(setup))
            with pytest.raises(DBAPIError) as caught:
                conn.execute(text(sql))
            return caught.value

    lite = Store(sqlite_url)
    lite.migrate()
    locker = sqlite3.connect(sqlite_url.removeprefix("sqlite:///"), isolation_level=None)
    locker.execute("BEGIN EXCLUSIVE")
    try:
        with lite.engine.connect() as conn:
            conn.execute(text("PRAGMA busy_timeout=50"))
            with pytest.raises(DBAPIError) as locked:
                conn.execute(text("INSERT INTO audit_log (id) VALUES (1)"))
    finally:
        locker.execute("ROLLBACK")
        locker.close()
    assert Store.refuses_every_write(locked.value)
    assert Store.refuses_every_write(RuntimeError("a read or write inside the batch failed")) is False
    wrapped = RuntimeError("none of it is kept")
    wrapped.__cause__ = locked.value
    assert Store.refuses_every_write(wrapped)
    assert not Store.refuses_every_write(error_of(lite.engine, "SELECT * FROM no_such_table"))
    lite.close()

    url = _fresh_pg(pg_database)
    pg = Store(url)
    pg.migrate()
    with pg.engine.connect() as holder:
        holder.execute(text("LOCK TABLE audit_log IN ACCESS EXCLUSIVE MODE"))
        assert Store.refuses_every_write(error_of(pg.engine, "SELECT * FROM audit_log", "SET lock_timeout = 50"))
        holder.rollback()
    assert not Store.refuses_every_write(error_of(pg.engine, "SELECT pg_sleep(1)", "SET statement_timeout = 50"))
    assert not Store.refuses_every_write(error_of(pg.engine, "SELECT * FROM no_such_table"))
    pg.close()
    nobody_there = make_url(url).set(host="127.0.0.1", port=free_port())
    unreachable = Store(nobody_there.render_as_string(hide_password=False))
    with pytest.raises(DBAPIError) as down:
        with unreachable.engine.connect():
            pass
    unreachable.close()
    assert Store.refuses_every_write(down.value)


def test_a_full_sqlite_disk_refuses_cleanly_and_the_server_recovers(hall):
    """The disk fills up (SQLite cannot grow the file): commands fail with a clear error and
    change nothing; when there is room again the hall carries on where it was."""
    proc, url = hall
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    for _ in range(3):
        assert send(proc, "kiosk-1", type="ticket.issue", category="social")["ok"]
    engine = proc.store.engine

    def full(dbapi_connection, _record) -> None:
        pages = dbapi_connection.execute("PRAGMA page_count").fetchone()[0]
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")
    event.listen(engine, "connect", full)
    engine.dispose()                                   # every connection from now on: no room
    refused = []
    for i in range(40):                                # enough rows that a new page is needed
        reply = send(proc, "kiosk-1", type="ticket.issue", id=f"full-{i}", category="social")
        if not reply["ok"]:
            refused.append(reply)
            break
    assert refused and refused[0]["error"]["code"] == "unavailable"
    issued_before = len(tickets_in(url))
    assert proc.engine.waiting_count("social") == issued_before
    event.remove(engine, "connect", full)
    engine.dispose()                                   # room again
    reply = send(proc, "kiosk-1", type="ticket.issue", id=refused and f"full-{i}", category="social")
    assert reply["ok"] and reply["result"]["ticket"]["number"] == f"A{issued_before + 1:03d}"
    called = send(proc, "counter-1", type="window.call_next", window="w1")
    assert called["result"]["ticket"]["number"] == "A001"
    assert_numbered_once(tickets_in(url))


def test_postgresql_connections_dropped_are_reopened_without_a_restart(config, pg_database):
    """PostgreSQL restarts (its connections to us are cut): the next command finds a new
    connection, nothing is half-saved, numbering carries on."""
    from tests.conftest import _fresh_pg
    url = _fresh_pg(pg_database)
    store = Store(url)
    store.migrate()
    proc = CommandProcessor(config, store, SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ)))
    try:
        assert send(proc, "kiosk-1", type="ticket.issue", category="social")["ok"]
        admin = Store(url)
        name = store.engine.url.database
        with admin.engine.connect() as conn:
            cut = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                    "WHERE datname = :name AND pid <> pg_backend_pid()"), {"name": name}).scalar()
        admin.close()
        assert cut >= 1
        replies = [send(proc, "kiosk-1", type="ticket.issue", id="after-cut", category="social") for _ in range(2)]
        assert replies[-1]["ok"] and replies[-1]["result"]["ticket"]["number"] == "A002"
        assert [r.number for r in tickets_in(url)] == ["A001", "A002"]
    finally:
        store.close()



def test_postgresql_cut_under_the_servers_kept_batch_connection_costs_no_command(config, mosquitto, pg_database,
                                                                                 monkeypatch):
    """The server keeps its group-commit connection between busy batches. PostgreSQL restarts
    while it holds one: the next command is still answered (run again on a new connection),
    once; after a quiet spell the kept connection is checked before it is used."""
    import hallserver.store.repository as repository
    from tests.conftest import _fresh_pg
    url = _fresh_pg(pg_database)

    def cut() -> None:
        admin = Store(url)
        try:
            with admin.engine.connect() as conn:
                n = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                                      "WHERE datname = current_database() AND pid <> pg_backend_pid()")).scalar()
        finally:
            admin.close()
        assert n >= 1

    server = HallServer(config, broker_url=mosquitto.url, database_url=url).start()
    kiosk = DeviceLink("demo", "kiosk-1", mosquitto.url).connect()

    def issue() -> str:        # answered the first time it is sent: no device had to send it again
        reply = kiosk.request({"type": "ticket.issue", "category": "social"}, timeout=3.0, attempts=1)
        return reply["result"]["ticket"]["number"]

    try:
        numbers = [issue()]
        cut()                                            # at once: the kept connection is the dead one
        numbers.append(issue())
        monkeypatch.setattr(repository, "BATCH_CONNECTION_IDLE_S", 0.2)
        cut()
        time.sleep(0.5)                                  # a quiet spell: handed back, a checked one taken
        numbers.append(issue())
        assert numbers == ["A001", "A002", "A003"]
    finally:
        kiosk.close()
        server.stop()
    rows = tickets_in(url)
    assert [r.number for r in rows] == ["A001", "A002", "A003"]
    assert_numbered_once(rows)


# ---------------------------------------------------------------------------- time
def test_a_service_running_over_midnight_and_the_new_days_numbers(hall):
    """延时服务 runs late: a citizen called at 23:58 is served past midnight. The service ends
    normally, on the day it began; the first ticket of the new day is A001 again; a server
    restarted after midnight still knows who is being served."""
    proc, url = hall
    clock = proc.clock
    clock.set(datetime(2026, 11, 23, 23, 57, tzinfo=TZ))
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    for _ in range(2):
        send(proc, "kiosk-1", type="ticket.issue", category="social")
    clock.advance(60)
    first = send(proc, "counter-1", type="window.call_next", window="w1")["result"]["ticket"]
    assert first["number"] == "A001"
    clock.set(datetime(2026, 11, 24, 0, 2, tzinfo=TZ))           # past midnight
    fresh = send(proc, "kiosk-1", type="ticket.issue", category="social")["result"]["ticket"]
    assert fresh["number"] == "A001"                               # the new day's first number
    restarted = CommandProcessor(proc.config, proc.store, clock)   # and the server restarts now
    w1 = restarted.engine.windows["w1"]
    assert w1.status.value == "serving" and w1.ticket.number == "A001" and w1.ticket.day.day == 23
    done = send(restarted, "counter-1", type="window.complete", window="w1")
    assert done["ok"]
    rows = {(r.day.day, r.number): r for r in tickets_in(url)}
    assert rows[(23, "A001")].status == "completed"
    assert rows[(23, "A001")].finished_at > rows[(23, "A001")].called_at
    assert rows[(24, "A001")].status == "waiting"
    assert_numbered_once(list(rows.values()))


class WallClock:
    """The machine's clock, which an NTP correction can step back."""

    def __init__(self, start: datetime) -> None:
        self.t, self.tz = start, TZ

    def now(self) -> datetime:
        return self.t


def test_the_machines_clock_stepped_back_over_midnight_changes_no_days_or_durations(config, sqlite_url, caplog):
    """At 00:00:30 the machine's clock is stepped back to 23:59:40 (a wrong NTP step): the
    hall's time waits for it (SteadyClock), so the new day's numbering goes on, no service
    ends before it began, and the step is logged."""
    wall = WallClock(datetime(2026, 11, 24, 0, 0, 30, tzinfo=TZ))
    store = Store(sqlite_url)
    store.migrate()
    proc = CommandProcessor(config, store, SteadyClock(wall))
    try:
        send(proc, "counter-1", type="window.login", window="w1", staff="s001")
        assert send(proc, "kiosk-1", type="ticket.issue", category="social")["result"]["ticket"]["number"] == "A001"
        send(proc, "counter-1", type="window.call_next", window="w1")
        wall.t = datetime(2026, 11, 23, 23, 59, 40, tzinfo=TZ)
        with caplog.at_level("WARNING", logger="hallserver.clock"):
            second = send(proc, "kiosk-1", type="ticket.issue", category="social")["result"]["ticket"]
        assert second["number"] == "A002"                            # still the 24th
        assert "went back 50 s" in caplog.text
        done = send(proc, "counter-1", type="window.complete", window="w1")
        assert done["ok"]
        wall.t = datetime(2026, 11, 24, 0, 1, tzinfo=TZ)              # caught up: time moves again
        third = send(proc, "kiosk-1", type="ticket.issue", category="social")["result"]["ticket"]
        assert third["number"] == "A003"
        rows = tickets_in(sqlite_url)
        assert {r.day.day for r in rows} == {24}
        assert all(r.finished_at is None or r.finished_at >= r.called_at for r in rows)
        assert all(b.issued_at >= a.issued_at for a, b in zip(rows, rows[1:], strict=False))
    finally:
        store.close()


def test_the_steady_clock_follows_the_machine_when_it_moves_forward():
    wall = WallClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    steady = SteadyClock(wall)
    assert steady.now() == wall.t
    wall.t += timedelta(hours=2)                    # forward steps are taken at once
    assert steady.now() == wall.t
    wall.t -= timedelta(seconds=5)
    held = steady.now()
    assert held == wall.t + timedelta(seconds=5)
    wall.t += timedelta(seconds=6)
    assert steady.now() == wall.t > held
