"""The one command path, driven directly (no broker): authorisation, idempotency, bad input."""
import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from govhall import contract as c
from hallserver.domain.clock import SimClock
from hallserver.domain.queue import DomainError
from hallserver.processor import CommandProcessor
from hallserver.store import Store

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def proc(config, db_url):
    store = Store(db_url)
    store.migrate()
    p = CommandProcessor(config, store, SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ)))
    yield p
    store.close()


def send(proc, device, **command):
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command).encode())
    replies = [json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device)]
    assert len(replies) == 1
    return replies[0], out


def test_replies_go_to_the_sender_and_state_is_retained(proc):
    reply, out = send(proc, "kiosk-1", type="ticket.issue", id="k-1", category="social")
    assert reply["ok"] and reply["id"] == "k-1" and reply["result"]["ticket"]["number"] == "A001"
    by_topic = {o.topic: o for o in out}
    assert by_topic[proc.topics.queue_state].retain
    assert not by_topic[proc.topics.event("ticket.issued")].retain
    assert by_topic[proc.topics.event("ticket.issued")].qos == 1


def test_a_repeated_command_id_returns_the_first_reply_and_changes_nothing(proc):
    first, _ = send(proc, "kiosk-1", type="ticket.issue", id="same", category="social")
    again, out = send(proc, "kiosk-1", type="ticket.issue", id="same", category="social")
    assert again == first
    assert len(out) == 1                                   # the reply only: nothing announced
    assert proc.engine.waiting_count("social") == 1
    other, _ = send(proc, "kiosk-1", type="ticket.issue", id="other", category="social")
    assert other["result"]["ticket"]["number"] == "A002"


def test_a_refusal_is_remembered_under_its_id_too(proc):
    first, _ = send(proc, "counter-1", type="window.call_next", id="n1", window="w1")
    assert first["error"]["code"] == "window_closed"
    send(proc, "counter-1", type="window.login", id="l1", window="w1", staff="s001")
    send(proc, "kiosk-1", type="ticket.issue", id="t1", category="social")
    again, _ = send(proc, "counter-1", type="window.call_next", id="n1", window="w1")
    assert again == first                                  # a retry never calls a different ticket


@pytest.mark.parametrize("device, command, code", [
    ("kiosk-1", {"type": "window.call_next", "window": "w1"}, "forbidden"),
    ("counter-3", {"type": "window.call_next", "window": "w4"}, "forbidden"),
    ("counter-3", {"type": "window.call_next", "window": "w1"}, "forbidden"),
    ("tablet-1", {"type": "rating.submit", "window": "w2", "level": 5}, "forbidden"),
    ("counter-1", {"type": "rating.submit", "window": "w1", "level": 5}, "forbidden"),
    ("screen-1", {"type": "ticket.issue", "category": "social"}, "forbidden"),
    ("stranger", {"type": "ticket.issue", "category": "social"}, "unknown_device"),
])
def test_a_device_may_only_do_what_its_role_and_window_allow(proc, device, command, code):
    reply, out = send(proc, device, **command)
    assert reply["error"]["code"] == code and len(out) == 1


def test_staff_cannot_rate_and_the_tablet_rates_only_its_own_windows_last_service(proc):
    send(proc, "kiosk-1", type="ticket.issue", category="social")
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    send(proc, "counter-1", type="window.call_next", window="w1")
    early, _ = send(proc, "tablet-1", type="rating.submit", window="w1", level=5)
    assert early["error"]["code"] == "nothing_to_rate"      # not completed yet
    send(proc, "counter-1", type="window.complete", window="w1")
    ok, out = send(proc, "tablet-1", type="rating.submit", window="w1", level=2, reasons=["效率"])
    assert ok["ok"] and ok["result"]["ticket"] == "A001"
    assert any(o.topic == proc.topics.event("rating.recorded") for o in out)
    twice, _ = send(proc, "tablet-1", type="rating.submit", window="w1", level=5)
    assert twice["error"]["code"] == "already_rated"


def test_messages_on_foreign_topics_are_dropped_without_a_reply(proc):
    assert proc.handle("govhall/v1/other-hall/device/kiosk-1/cmd", b"{}") == []
    assert proc.handle("govhall/v1/demo/device/a+b/cmd", b"{}") == []


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(device=st.sampled_from(["kiosk-1", "counter-1", "tablet-1", "led-bridge-1", "ghost"]),
       payload=st.one_of(
           st.binary(max_size=300),
           st.fixed_dictionaries(
               {"type": st.sampled_from(sorted(c.COMMAND_NAMES)), "id": st.text(min_size=1, max_size=8)},
               optional={"window": st.sampled_from(["w1", "w2", "w9", "", "../x"]),
                         "category": st.sampled_from(["social", "nope", "'; DROP TABLE tickets;--"]),
                         "staff": st.sampled_from(["s001", "s002", "<script>"]),
                         "level": st.integers(-3, 9), "reason": st.sampled_from(["meal", "nap"]),
                         "reasons": st.lists(st.text(max_size=40), max_size=12),
                         "comment": st.text(max_size=600)}).map(lambda d: json.dumps(d).encode())))
def test_any_input_gets_one_reply_and_the_books_stay_straight(proc, device, payload):
    out = proc.handle(proc.topics.command(device), payload)
    replies = [o for o in out if o.topic == proc.topics.reply(device)]
    assert len(replies) == 1
    body = json.loads(replies[0].payload)
    assert body["type"] == "reply" and isinstance(body["ok"], bool)
    if not body["ok"]:
        assert body["error"]["code"] in set(c.ErrorCode)
    # the books: every ticket in memory is waiting or at exactly one window
    at_windows = [w.ticket.id for w in proc.engine.windows.values() if w.ticket]
    assert len(at_windows) == len(set(at_windows))


def test_a_closed_category_is_refused_with_the_time_it_opens(sqlite_url):
    import copy

    from govhall.config import parse_config
    from lab.demo import DEMO_CONFIG
    raw = copy.deepcopy(DEMO_CONFIG)
    raw["hours"] = {"sessions": [["09:00", "12:00"], ["13:30", "17:00"]], "last_ticket_minutes": 30}
    store = Store(sqlite_url)
    store.migrate()
    clock = SimClock(datetime(2026, 11, 23, 11, 45, tzinfo=TZ))       # 停止取号 at 11:30
    proc = CommandProcessor(parse_config(raw, "<test>"), store, clock)
    reply, out = send(proc, "kiosk-1", type="ticket.issue", category="social")
    assert reply["error"]["code"] == "category_closed" and reply["error"]["message"] == "本业务现在不取号"
    assert reply["error"]["next_open"] == "2026-11-23T13:30:00+08:00"
    assert [o.topic for o in out] == [proc.topics.reply("kiosk-1")]     # nothing else changed
    store.close()


def test_green_channel_transfer_and_requeue_on_the_wire(proc):
    reply, _ = send(proc, "kiosk-1", type="ticket.issue", category="social", birth_date="1950-05-01")
    assert reply["result"]["ticket"]["priority"] == "green"
    assert reply["result"]["ticket"]["green_reason"] == "elderly"
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    send(proc, "counter-1", type="window.call_next", window="w1")
    reply, out = send(proc, "counter-1", type="window.transfer", window="w1", to_window="w2", reason="需企业窗口")
    assert reply["ok"] and reply["result"]["ticket"]["transferred_from"] == "w1"
    event = next(json.loads(o.payload) for o in out if o.topic == proc.topics.event("ticket.transferred"))
    assert event["to_window"] == "w2" and event["reason"] == "需企业窗口"
    bad, _ = send(proc, "counter-1", type="window.transfer", window="w1", to_window="w2", to_category="social",
                  reason="x")
    assert bad["error"]["code"] == "invalid"                          # exactly one target
    missing, _ = send(proc, "kiosk-1", type="ticket.requeue", number="A777")
    assert missing["error"]["code"] == "ticket_not_found"
    forbidden, _ = send(proc, "tablet-1", type="ticket.requeue", number="A001")
    assert forbidden["error"]["code"] == "forbidden"


def test_an_unexpected_failure_answers_internal_and_saves_nothing_of_it(proc, monkeypatch, caplog):
    engine = proc.engine
    real_issue = engine.issue

    def issue_then_fail(*args, **kwargs):
        real_issue(*args, **kwargs)                          # the state moved on in memory...
        raise RuntimeError("a bug")                          # ...then something unforeseen happened
    monkeypatch.setattr(engine, "issue", issue_then_fail)
    reply, out = send(proc, "kiosk-1", type="ticket.issue", category="social")
    assert reply["error"]["code"] == "internal" and len(out) == 1          # the reply only: nothing announced
    assert "failed unexpectedly" in caplog.text
    assert proc.engine is not engine and proc.engine.waiting_count("social") == 0   # rebuilt from the database
    reply, _ = send(proc, "kiosk-1", type="ticket.issue", category="social")
    assert reply["result"]["ticket"]["number"] == "A001"                  # the half-done ticket left no trace


def test_a_new_hall_day_starts_with_an_empty_queue(proc):
    """The server runs through the night: citizens still waiting at yesterday's closing went
    home; this morning's first call is this morning's first ticket, not a ghost from yesterday."""
    proc.clock.set(datetime(2026, 11, 23, 16, 50, tzinfo=TZ))
    for _ in range(3):
        send(proc, "kiosk-1", type="ticket.issue", category="social")
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    assert send(proc, "counter-1", type="window.call_next", window="w1")[0]["result"]["ticket"]["number"] == "A001"
    proc.tick()                                                     # the same day: nothing is voided
    assert proc.engine.waiting_count("social") == 2
    proc.clock.set(datetime(2026, 11, 24, 8, 30, tzinfo=TZ))        # the next morning
    out = proc.tick()
    voided = [json.loads(o.payload) for o in out if o.topic == proc.topics.event("ticket.cancelled")]
    assert sorted((v["ticket"]["number"], v["reason"]) for v in voided) == [("A002", "day_closed"),
                                                                          ("A003", "day_closed")]
    assert proc.engine.waiting_count("social") == 0
    from sqlalchemy import text
    with proc.store.engine.connect() as conn:
        statuses = dict(conn.execute(text("select number, status from tickets")).all())
    assert statuses == {"A001": "called", "A002": "cancelled", "A003": "cancelled"}   # A001: still at window 1
    assert send(proc, "kiosk-1", type="ticket.issue", category="social")[0]["result"]["ticket"]["number"] == "A001"
    send(proc, "counter-1", type="window.complete", window="w1")
    called = send(proc, "counter-1", type="window.call_next", window="w1")[0]["result"]["ticket"]
    assert (called["number"], called["issued_at"][:10]) == ("A001", "2026-11-24")
    assert not [o for o in proc.tick() if o.topic == proc.topics.event("ticket.cancelled")]   # once a day


def test_tickets_a_restart_left_waiting_from_an_earlier_day_are_voided(proc, config):
    send(proc, "kiosk-1", type="ticket.issue", category="social")
    proc.clock.set(datetime(2026, 11, 25, 9, 0, tzinfo=TZ))          # the server was off for a day
    restarted = CommandProcessor(config, proc.store, proc.clock)
    restarted.tick()
    from sqlalchemy import text
    with proc.store.engine.connect() as conn:
        assert conn.execute(text("select status from tickets")).scalar() == "cancelled"


@pytest.mark.parametrize("failure", [DomainError(c.ErrorCode.QUEUE_EMPTY, "refused after writing"),
                                     RuntimeError("a bug after writing")])
def test_a_refused_command_leaves_nothing_in_any_book_for_the_next_one(proc, monkeypatch, failure):
    """Whatever a command wrote in the books (a device alert, a rectification, a clock event)
    before it was refused, or failed unexpectedly, is gone: the next command saves and
    announces only its own."""
    now = proc.clock.now()

    def half_done_then_refused(*args, **kwargs):
        proc._alert_changes = proc.devices.report("kiosk-1", "printer", "paper_out", "", now)
        proc.rectifications.open(99, "w1", "s001", "人社局", 1, "", now)
        proc.attendance.on_login("s001", now, True)
        raise failure
    monkeypatch.setattr(proc.engine, "issue", half_done_then_refused)
    reply, _ = send(proc, "kiosk-1", type="ticket.issue", category="social")
    assert reply["error"]["code"] == ("queue_empty" if isinstance(failure, DomainError) else "internal")
    monkeypatch.undo()
    books = [(name, take()) for name, take in proc._books()]
    assert {"device_alerts", "cases", "rectifications", "attendance", "leaves", "complaints",
            "inquiries"} <= {name for name, _ in books}
    assert all(changed == [] for _, changed in books), books
    _reply, out = send(proc, "kiosk-1", type="ticket.issue", category="social")
    assert not any("device.alert" in o.topic for o in out)             # the refused alert is not announced
