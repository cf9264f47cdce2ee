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
