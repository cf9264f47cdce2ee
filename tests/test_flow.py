"""The minimum flow of the hall, end to end on real parts.

A real broker (Mosquitto and the embedded amqtt), a real database (SQLite and PostgreSQL),
the hall server, and devices speaking the wire contract: kiosk -> ticket, counter -> call,
LED bridge -> a real serial frame through pyserial, counter -> complete, tablet -> rating.
"""
from __future__ import annotations

import json
import threading
import time

import paho.mqtt.client as mqtt
import pytest
import serial
from sqlalchemy import select

from govhall import contract as c
from govhall.link import new_client, parse_broker_url
from hallserver.store.tables import ratings, tickets
from hardware.led import LedScreenSimulator
from hardware.led_bridge import LedBridge
from tests.conftest import running_hall


def wait_for(predicate, timeout: float = 5.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def hall(config, broker_url, db_url):
    with running_hall(config, broker_url, db_url) as hall:
        yield hall


class Recorder:
    def __init__(self) -> None:
        self.messages: list[tuple[str, dict]] = []
        self.lock = threading.Lock()

    def __call__(self, topic: str, data: dict) -> None:
        with self.lock:
            self.messages.append((topic, data))

    def last(self, topic: str) -> dict | None:
        with self.lock:
            found = [d for t, d in self.messages if t == topic]
        return found[-1] if found else None


def test_a_citizen_is_called_served_and_rates_the_service(hall, config):
    server, device = hall
    topics = c.Topics(config.hall.id)

    port = serial.serial_for_url("loop://", timeout=0)
    led_link = device("led-bridge-1")
    bridge = LedBridge(config, led_link, port).start()
    led = LedScreenSimulator()
    screen = Recorder()
    device("screen-1").subscribe(topics.event("+"), screen)
    watcher = Recorder()
    state_link = device("tablet-1")
    state_link.subscribe(topics.all_window_states, watcher)

    try:
        kiosk = device("kiosk-1")
        reply = kiosk.request({"type": "ticket.issue", "category": "social"})
        assert reply["ok"], reply
        assert reply["result"]["ticket"]["number"] == "A001"
        assert reply["result"]["waiting_ahead"] == 0
        assert reply["result"]["estimated_wait_s"] is None          # no window is open yet: no promise
        second = kiosk.request({"type": "ticket.issue", "category": "residence"})
        assert second["result"]["ticket"]["number"] == "C001"     # each category has its own prefix and counter

        counter = device("counter-1")
        assert counter.request({"type": "window.login", "window": "w1", "staff": "s001"})["ok"]
        called = counter.request({"type": "window.call_next", "window": "w1"})
        assert called["ok"] and called["result"]["ticket"]["number"] == "A001"

        # the window's LED screen shows the call, from a real frame on the serial port
        def led_shows() -> str | None:
            led.feed(port.read(65536))
            return led.text(config.window("w1").led_address)
        wait_for(lambda: led_shows() == "请 A001 号 / 到 1 号窗口办理", what="the LED frame")

        # the retained window state and the hall screen's event say the same
        state = wait_for(lambda: (s := watcher.last(topics.window_state("w1"))) and s["status"] == "serving" and s,
                         what="the window state")
        assert state["ticket"]["number"] == "A001" and state["staff"]["name"] == "王丽"
        wait_for(lambda: any(t == topics.event("ticket.called") and d["ticket"]["number"] == "A001"
                             for t, d in screen.messages), what="the ticket.called event")

        assert counter.request({"type": "window.complete", "window": "w1"})["ok"]
        rated = state_link.request({"type": "rating.submit", "window": "w1", "level": 5})
        assert rated["ok"] and rated["result"]["ticket"] == "A001"
        again = state_link.request({"type": "rating.submit", "window": "w1", "level": 1})
        assert not again["ok"] and again["error"]["code"] == "already_rated"

        # every step is in the database
        with server.store.engine.connect() as conn:
            rows = {r.number: r for r in conn.execute(select(tickets))}
            assert rows["A001"].status == "completed" and rows["A001"].window == "w1"
            assert rows["A001"].called_at is not None and rows["A001"].finished_at is not None
            assert rows["C001"].status == "waiting"
            (rating,) = conn.execute(select(ratings)).all()
            assert rating.level == 5 and rating.staff == "s001" and rating.ticket_id == rows["A001"].id
    finally:
        bridge.stop()


def test_a_repeated_command_id_returns_the_first_reply_and_changes_nothing(hall, config):
    _server, device = hall
    kiosk = device("kiosk-1")
    command = {"id": "kiosk-1-0001", "type": "ticket.issue", "category": "business"}
    first = kiosk.request(command)
    again = kiosk.request(command)
    assert first == again and first["result"]["ticket"]["number"] == "B001"
    assert kiosk.request({"type": "ticket.issue", "category": "business"})["result"]["ticket"]["number"] == "B002"


class RawDevice:
    """A misbehaving device: publishes raw bytes and collects what comes back."""

    def __init__(self, hall: str, device_id: str, broker_url: str) -> None:
        self.topics = c.Topics(hall)
        self.device_id = device_id
        self.replies: list[dict] = []
        self.got = threading.Condition()
        host, port = parse_broker_url(broker_url)
        self.client = new_client(f"raw-{device_id}")
        self.client.on_message = self._on_message
        ready = threading.Event()
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.connect(host, port)
        self.client.loop_start()
        self.client.subscribe(self.topics.reply(device_id), qos=1)
        assert ready.wait(5)

    def _on_message(self, _c, _u, msg: mqtt.MQTTMessage) -> None:
        with self.got:
            self.replies.append(json.loads(msg.payload))
            self.got.notify_all()

    def send(self, payload: bytes) -> dict:
        with self.got:
            n = len(self.replies)
            self.client.publish(self.topics.command(self.device_id), payload, qos=1)
            assert self.got.wait_for(lambda: len(self.replies) > n, timeout=5), f"no reply to {payload[:60]!r}"
            return self.replies[n]

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()


BAD_INPUTS = [
    (b"not json at all", "bad_json", None),
    (b"\xff\xfe\x00garbage", "bad_json", None),
    (b"[1, 2, 3]", "bad_json", None),
    (b"", "bad_json", None),
    (json.dumps({"id": "x1", "type": "ticket.teleport"}).encode(), "unknown_type", "x1"),
    (json.dumps({"id": "x2", "type": "ticket.issue"}).encode(), "invalid", "x2"),
    (json.dumps({"id": "x3", "type": "ticket.issue", "category": "social", "extra": 1}).encode(), "invalid", "x3"),
    (json.dumps({"id": "x4", "type": "ticket.issue", "category": "nope"}).encode(), "unknown_category", "x4"),
    (json.dumps({"id": "x5", "type": "window.call_next", "window": "w1"}).encode(), "forbidden", "x5"),
    (b'{"id": "x6", "type": "ticket.issue", "category": "' + b"a" * 20000 + b'"}', "too_large", None),
]


def test_malformed_messages_get_error_replies_and_the_server_carries_on(hall, config, broker_url, caplog):
    server, device = hall
    raw = RawDevice(config.hall.id, "kiosk-1", broker_url)
    try:
        for payload, code, reply_id in BAD_INPUTS:
            reply = raw.send(payload)
            assert reply["ok"] is False and reply["error"]["code"] == code, (payload[:60], reply)
            assert reply["id"] == reply_id
            assert reply["error"]["message"]           # a Chinese message a device can show
        # nothing of that changed the hall, and it still serves
        assert server.processor.engine.waiting_count("social") == 0
        assert device("kiosk-1").request({"type": "ticket.issue", "category": "social"})["ok"]
    finally:
        raw.close()
    assert "sent a bad command" in caplog.text


def test_an_unregistered_device_is_refused(hall, config, broker_url):
    _server, _device = hall
    raw = RawDevice(config.hall.id, "intruder-9", broker_url)
    try:
        reply = raw.send(json.dumps({"id": "y1", "type": "ticket.issue", "category": "social"}).encode())
        assert reply["error"]["code"] == "unknown_device"
    finally:
        raw.close()


def test_a_device_sees_the_true_state_from_retained_topics_on_connect(hall, config):
    _server, device = hall
    topics = c.Topics(config.hall.id)
    counter = device("counter-2")
    counter.request({"type": "window.login", "window": "w2", "staff": "s002"})
    counter.request({"type": "window.pause", "window": "w2", "reason": "meal"})
    late = Recorder()
    device("screen-1").subscribe(topics.all_state, late)       # a screen switched on later
    wait_for(lambda: (s := late.last(topics.window_state("w2"))) and s["status"] == "paused", what="retained state")
    wait_for(lambda: late.last(topics.server_state) and late.last(topics.queue_state),
             what="the other retained states (each topic's own message, in no set order)")
    assert late.last(topics.server_state)["online"] is True
    queue = late.last(topics.queue_state)
    assert {q["category"] for q in queue["categories"]} == {"social", "business", "residence"}


def test_the_queue_summary_follows_a_rush_without_flooding_every_kiosk(hall, config):
    """The queue summary (every kiosk and hall screen follows it) goes out at once after a
    quiet spell, at most once per interval in a rush, and always ends on the truth."""
    server, device = hall
    topics = c.Topics(config.hall.id)
    server.processor.summary_every_s = 2.0                     # long, so that timing on a slow machine cannot blur it
    kiosk, screen = device("kiosk-1"), Recorder()
    device("screen-1").subscribe(topics.queue_state, screen)
    wait_for(lambda: screen.last(topics.queue_state) is not None, what="the retained summary")
    before = -1
    while len(screen.messages) != before:                # quiet for a whole interval: the next change goes out at once
        before = len(screen.messages)
        time.sleep(2.1)
    sent = time.monotonic()
    kiosk.request({"type": "ticket.issue", "category": "social"})
    wait_for(lambda: len(screen.messages) > before, what="the summary after the first ticket")
    assert time.monotonic() - sent < 1.5
    assert sum(q["waiting"] for q in screen.last(topics.queue_state)["categories"]) == 1

    start = time.monotonic()
    for i in range(29):                                  # a rush: 29 more tickets as fast as the kiosk goes
        kiosk.request({"type": "ticket.issue", "category": ("social", "business", "residence")[i % 3]})
    rush = time.monotonic() - start

    def waiting() -> int:
        return sum(q["waiting"] for q in screen.last(topics.queue_state)["categories"])
    wait_for(lambda: waiting() == 30, timeout=5, what="the summary to catch up with the rush")
    during = len(screen.messages) - before - 1
    assert 1 <= during <= rush / 2.0 + 2                # not 29 messages to every kiosk: one per interval


def test_a_summary_that_fails_to_build_does_not_stop_the_hall(hall, config):
    """The held queue summary is built on the writer's own turn: if building it fails (a bug),
    that is logged and the hall goes on answering commands."""
    server, device = hall
    kiosk = device("kiosk-1")
    proc = server.processor
    proc.summary_every_s = 0.5
    failures = []
    real = proc.queue_state

    def broken():
        failures.append(1)
        raise RuntimeError("a bug while building the summary")
    kiosk.request({"type": "ticket.issue", "category": "social"})
    kiosk.request({"type": "ticket.issue", "category": "social"})       # its summary is held
    proc.queue_state = broken
    wait_for(lambda: failures, what="the held summary to be built")
    proc.queue_state = real
    reply = kiosk.request({"type": "ticket.issue", "category": "social"}, timeout=5)
    assert reply["ok"] and reply["result"]["ticket"]["number"] == "A003"
