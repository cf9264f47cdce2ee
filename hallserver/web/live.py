"""What the dashboard shows, kept current from the command path.

The processor calls `LiveView.on_outgoing` on its writer thread with every message it
publishes; the web reads the view from its own threads. Nothing here touches the engine.
"""
from __future__ import annotations

import json
import threading
from collections import deque
from typing import Any

from govhall import contract as c

RECENT_CALLS = 12
BAD_RATINGS = 50


class LiveView:
    def __init__(self, topics: c.Topics, clock=None) -> None:   # noqa: ANN001 - a domain Clock
        self.topics, self.clock = topics, clock
        self._lock = threading.Lock()
        self._retained: dict[str, bytes] = {}              # retained topic → its payload as published
        self._state_prefix = topics.all_state[:-1]          # state/…: never a tablet's own rating code
        self._parsed: dict[str, tuple[bytes, Any]] = {}    # retained topic → (payload, its JSON) last read
        self._calls: deque[dict[str, Any]] = deque(maxlen=RECENT_CALLS)
        self._device_alerts: dict[tuple[str, str], dict[str, Any]] = {}   # open ones, by (device, component)
        self._cases: dict[str, dict[str, Any]] = {}     # yellow and red open cases, by code
        self._digest: dict[str, Any] | None = None       # the latest 每日通报
        self._coverage: dict[str, dict[str, Any]] = {}   # front-desk categories with nobody at a window
        self._posts: dict[str, dict[str, Any]] = {}      # AB岗: posts whose A is away
        self._offline: dict[str, str] = {}               # devices whose presence says offline → since
        self._bad_ratings: deque[dict[str, Any]] = deque(maxlen=BAD_RATINGS)   # 差评 as they come
        self._complaints: dict[str, dict[str, Any]] = {}  # 投诉 overdue (red), by number
        self.version = 0

    def touch(self) -> None:
        """Something the view does not hold changed (an alert acknowledged): redraw the boards."""
        with self._lock:
            self.version += 1

    def on_presence(self, device: str, online: bool, at: str) -> None:
        """A device's retained presence (online, or its last will): offline devices are shown."""
        with self._lock:
            if online:
                changed = self._offline.pop(device, None) is not None
            else:
                changed = device not in self._offline
                self._offline.setdefault(device, at)
            if changed:
                self.version += 1

    def seed_device_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """The alerts open in the store when the server starts."""
        with self._lock:
            for a in alerts:
                self._device_alerts[(a["device"], a["component"])] = a
            self.version += 1

    def on_outgoing(self, out: list) -> None:
        changed = False
        alert_topic, case_topic = self.topics.event("device.alert"), self.topics.event("case.colour")
        digest_topic, coverage_topic = self.topics.event("case.digest"), self.topics.event("coverage.alert")
        post_topic, rating_topic = self.topics.event("post.coverage"), self.topics.event("rating.recorded")
        complaint_topic = self.topics.event("complaint.colour")
        watched = (self.topics.event("ticket.called"), alert_topic, case_topic, digest_topic, coverage_topic,
                   post_topic, rating_topic, complaint_topic)
        for o in out:
            if o.retain and o.topic.startswith(self._state_prefix):   # kept as sent; read when a page asks
                with self._lock:
                    self._retained[o.topic] = o.payload
                changed = True
                continue
            if o.topic not in watched:
                continue
            try:
                data = json.loads(o.payload)
            except ValueError:
                continue
            if self.clock is not None:
                data.setdefault("seen", self.clock.now().astimezone(self.clock.tz).isoformat(timespec="seconds"))
            with self._lock:
                if o.topic == rating_topic:
                    if data["level"] <= 2:                 # 不满意 / 非常不满意: a 差评
                        self._bad_ratings.appendleft(data)
                    else:
                        continue
                elif o.topic == complaint_topic:
                    if data["colour"] == "red" and not data.get("closed"):
                        self._complaints[data["complaint"]] = data
                    else:
                        self._complaints.pop(data["complaint"], None)
                elif o.topic == post_topic:
                    if data["state"] == "a":
                        self._posts.pop(data["post"], None)
                    else:
                        known = self._posts.get(data["post"])
                        if known is not None and known["state"] == data["state"]:
                            data["seen"] = known.get("seen")          # the same condition: since when it began
                        self._posts[data["post"]] = data
                elif o.topic == coverage_topic:
                    if data["open"]:
                        self._coverage[data["category"]] = data
                    else:
                        self._coverage.pop(data["category"], None)
                elif o.topic == digest_topic:
                    self._digest = data
                elif o.topic == case_topic:
                    if data["colour"] == "green" or data.get("finished"):
                        self._cases.pop(data["case"], None)
                    else:
                        known = self._cases.get(data["case"])
                        if known is not None and known["colour"] == data["colour"]:
                            data["seen"] = known.get("seen")
                        self._cases[data["case"]] = data
                elif o.topic == alert_topic:
                    key = (data["device"], data["component"])
                    if data["open"]:
                        self._device_alerts[key] = data
                    else:
                        self._device_alerts.pop(key, None)
                else:
                    self._calls.appendleft(data)
            changed = True
        if changed:
            with self._lock:
                self.version += 1

    def _read(self, topic: str, payload: bytes) -> Any:   # noqa: ANN401 - a retained state's JSON
        """A retained payload as JSON, parsed once per payload (the writer only keeps the bytes)."""
        known = self._parsed.get(topic)
        if known is not None and known[0] is payload:
            return known[1]
        try:
            data = json.loads(payload)
        except ValueError:
            data = {}
        self._parsed[topic] = (payload, data)
        return data

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            retained = {topic: self._read(topic, payload) for topic, payload in self._retained.items()}
            calls = list(self._calls)
            alerts = sorted(self._device_alerts.values(), key=lambda a: a["since"], reverse=True)
            slipping = sorted(self._cases.values(), key=lambda x: (x["colour"] != "red", x["due"]))
            uncovered = sorted(self._coverage.values(), key=lambda x: x["since"])
            posts = sorted(self._posts.values(), key=lambda x: (x["state"] != "uncovered", x["post"]))
            offline, bad_ratings = dict(self._offline), list(self._bad_ratings)
            complaints = sorted(self._complaints.values(), key=lambda x: x["due"])
            version = self.version
        prefix = self.topics.window_state("")
        windows = sorted((d for t, d in retained.items() if t.startswith(prefix)), key=lambda w: w["number"])
        queue = retained.get(self.topics.queue_state, {"categories": []})
        server = retained.get(self.topics.server_state, {"online": False})
        return {"version": version, "server": server, "windows": windows,
                "queue": queue["categories"], "recent_calls": calls, "device_alerts": alerts,
                "cases_slipping": slipping, "case_digest": self._digest, "front_desk_uncovered": uncovered,
                "posts_away": posts, "devices_offline": offline, "bad_ratings": bad_ratings,
                "complaints_overdue": complaints}
