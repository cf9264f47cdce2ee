"""The devices' MQTT link (govhall/link.py) on a real Mosquitto."""
from __future__ import annotations

import threading
import time

from govhall.link import DeviceLink, new_client, parse_broker_url


def test_an_event_sent_right_after_a_subscription_returns_is_not_missed(mosquitto):
    """A screen or tablet that subscribes on a link already up (every app does, building its
    widgets after connecting) gets the very next event on that topic: subscribe() returns
    only once the broker has confirmed it. Sent at once, forty times over, none is lost."""
    screen = DeviceLink("demo", "screen-1", mosquitto.url).connect()
    publisher = new_client("test-publisher", clean_session=True)
    host, port = parse_broker_url(mosquitto.url)
    publisher.connect(host, port)
    publisher.loop_start()
    got: set[str] = set()
    lock = threading.Lock()

    def seen(topic: str, _data: dict) -> None:
        with lock:
            got.add(topic)

    try:
        topics = [screen.topics.event(f"test.subscribed-{i}") for i in range(40)]
        for topic in topics:
            screen.subscribe(topic, seen)
            publisher.publish(topic, b'{"type": "test"}', qos=1)      # not retained: now or never
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline and len(got) < len(topics):
            time.sleep(0.02)
        assert sorted(set(topics) - got) == []
    finally:
        publisher.loop_stop()
        publisher.disconnect()
        screen.close()
