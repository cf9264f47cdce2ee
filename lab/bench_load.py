"""`hall bench load`: a big hall's devices at full speed against one hall server.

A real Mosquitto on a free port and the real `hall server` as its own process (dashboard
on, so the live view's cost is in), on SQLite or PostgreSQL. One load process plays the
devices over real MQTT with the real contract: 20 kiosks issue tickets, 100 counters log in
and then call (叫号) and complete (办结) one citizen after another, 100 rating tablets rate
each service (好差评), 100 LED window screens follow their window's retained state. Every
device waits for its reply before its next command, as the real ones do.

Two phases, each `seconds` long after a short warm-up:
  full speed  every device sends its next command the moment the last one is answered:
              the most the server sustains (`commands_per_s`). With 220 devices waiting
              in turn, each command's latency there is mostly its place in the line.
  at rate     the same devices, paced together to `rate` commands per second (default
              1,000): the latency a device sees at that load (`p50_ms`, `p99_ms` of
              ticket.issue and window.call_next), and the rate actually sustained.

Every answered command counts (`commands_per_s`): a counter told 当前没有等候的群众
(queue_empty) is a command the server handled in full (checked, logged, audited, answered)
and tries again 50 ms later; `ok_per_s` counts only the ones that changed the hall, and
`empty_replies` those queue_empty answers. Kiosks stop issuing while 500 wait (5 a window),
a long queue for a big hall.
"""
from __future__ import annotations

import heapq
import json
import os
import random
import selectors
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import paho.mqtt.client as mqtt
import tomlkit
from sqlalchemy import func, select

from govhall import contract as c
from govhall.config import parse_config
from govhall.link import new_client, parse_broker_url
from hallserver.broker import MosquittoProcess, free_port, wait_for_port
from hallserver.store import Store
from hallserver.store.tables import ratings, tickets
from lab.bench import machine, summarise
from lab.bench_reports import BenchDatabase
from lab.server_process import ServerProcess

HALL = "bench"
CATEGORIES = 10
RETRY_EMPTY_S = 0.05


def load_hall(kiosks: int = 20, windows: int = 100) -> dict[str, Any]:
    """The benchmark hall: `windows` windows over 10 categories (two each), their staff, posts
    with A and B (AB岗) for the front desk, and one counter, tablet and LED screen per window."""
    letters = "ABCDEFGHJK"
    cats = [{"id": f"c{i}", "name": f"业务{i}", "prefix": letters[i]} for i in range(CATEGORIES)]
    wins = [{"id": f"w{i}", "number": i, "categories": [f"c{i % CATEGORIES}", f"c{(i + 1) % CATEGORIES}"],
             "led_address": (i - 1) % 254 + 1} for i in range(1, windows + 1)]
    staff = [{"id": f"s{i}", "name": f"员工{i}"} for i in range(1, windows + 1)]
    posts = [{"id": f"p{i}", "name": f"受理岗{i}", "a": f"s{i + 1}", "b": f"s{(i + windows // 2) % windows + 1}",
              "categories": [f"c{(i + 1) % CATEGORIES}"], "front_desk": True}
             for i in range(min(CATEGORIES, windows // 2))]
    devices = ([{"id": f"kiosk-{i}", "role": "kiosk"} for i in range(1, kiosks + 1)]
               + [{"id": f"counter-{i}", "role": "counter", "window": f"w{i}"} for i in range(1, windows + 1)]
               + [{"id": f"tablet-{i}", "role": "tablet", "window": f"w{i}"} for i in range(1, windows + 1)]
               + [{"id": f"led-{i}", "role": "led-bridge"} for i in range(1, windows + 1)])
    return {"hall": {"id": HALL, "name": "压力测试大厅"}, "categories": cats, "windows": wins, "staff": staff,
            "posts": posts, "devices": devices,
            "counter": {"badge_login_posts": ["*"]}}     # a bench hall: nobody has a password


def write_hall_toml(path: Path, raw: dict[str, Any], http_port: int) -> None:

    parse_config(raw, str(path))                  # the bench hall is a valid hall
    doc = dict(raw)
    doc["http"] = {"host": "127.0.0.1", "port": http_port}
    path.write_text(tomlkit.dumps(doc), encoding="utf-8")


class SimDevice:
    """One device's MQTT connection, driven by the load loop (no thread of its own)."""

    def __init__(self, load: LoadLoop, device_id: str) -> None:
        self.load, self.device_id = load, device_id
        self.topics = c.Topics(HALL)
        self.client = new_client(f"{HALL}-{device_id}")
        self.client.on_message = self._on_message
        self.client.on_connect = self._on_connect
        self.ready = False
        self.subscriptions: list[str] = []
        self.received = 0

    def _on_connect(self, client, _userdata, _flags, reason_code, _props) -> None:
        if reason_code.is_failure:
            raise RuntimeError(f"{self.device_id}: broker refused: {reason_code}")
        client.subscribe(self.topics.reply(self.device_id), qos=1)
        for topic in self.subscriptions:
            client.subscribe(topic, qos=1)
        self.ready = True

    def _on_message(self, _client, _userdata, msg: mqtt.MQTTMessage) -> None:
        if msg.topic == self.topics.reply(self.device_id):
            self.load.on_reply(json.loads(msg.payload))
        else:
            self.received += 1
            self.load.on_state(self, msg.topic, msg.payload)

    def send(self, command: dict[str, Any]) -> None:
        self.client.publish(self.topics.command(self.device_id), json.dumps(command), qos=1)


class LoadLoop:
    """All the devices in one thread: a selector over their sockets and a timer heap."""

    def __init__(self, broker_url: str, kiosks: int, windows: int, seed: int = 1) -> None:
        self.host, self.port = parse_broker_url(broker_url)
        self.random = random.Random(seed)
        self.sel = selectors.DefaultSelector()
        self.devices: dict[str, SimDevice] = {}
        self.timers: list[tuple[float, int, Any]] = []
        self._seq = 0
        self.pending: dict[str, tuple[float, str, Any]] = {}   # command id -> (sent, type, on_reply)
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.ok = 0
        self.total_ok: dict[str, int] = defaultdict(int)     # every ok reply, warm-up included (the books)
        self.errors: dict[str, int] = defaultdict(int)
        self.empty = 0
        self.recording = False
        self.rate: float | None = None          # commands per second when paced
        self._next_slot = 0.0
        self._waiting_for_slot: list = []
        self.led_lag: list[float] = []
        self.called_at: dict[str, float] = {}     # window -> when its call_next was sent
        self.waiting_cap = 500                    # kiosks stop when this many are waiting (5 a window)
        self.waiting = 0
        self.kiosk_ids = [f"kiosk-{i}" for i in range(1, kiosks + 1)]
        self.windows = [f"w{i}" for i in range(1, windows + 1)]
        for d in self.kiosk_ids:
            self._add(d, [c.Topics(HALL).queue_state])
        for i in range(1, windows + 1):
            self._add(f"counter-{i}", [c.Topics(HALL).window_state(f"w{i}")])
            self._add(f"tablet-{i}", [c.Topics(HALL).window_state(f"w{i}")])
            self._add(f"led-{i}", [c.Topics(HALL).window_state(f"w{i}")])

    def _add(self, device_id: str, subscriptions: list[str]) -> None:
        d = SimDevice(self, device_id)
        d.subscriptions = subscriptions
        self.devices[device_id] = d

    # ------------------------------------------------------------------ the loop
    def connect_all(self, timeout: float = 30.0) -> None:
        for d in self.devices.values():
            d.client.connect(self.host, self.port, keepalive=60)
            sock = d.client.socket()
            self.sel.register(sock, selectors.EVENT_READ, d)
        deadline = time.monotonic() + timeout
        while not all(d.ready for d in self.devices.values()):
            if time.monotonic() > deadline:
                raise TimeoutError("not every simulated device connected")
            self.poll(0.05)
        settle = time.monotonic() + 1.0           # the retained state arrives
        while time.monotonic() < settle:
            self.poll(0.05)

    def poll(self, timeout: float) -> None:
        for key, _ in self.sel.select(timeout):
            key.data.client.loop_read()
        for d in self.devices.values():
            if d.client.want_write():
                d.client.loop_write()

    def misc(self) -> None:
        for d in self.devices.values():
            d.client.loop_misc()

    def at(self, when: float, fn) -> None:
        self._seq += 1
        heapq.heappush(self.timers, (when, self._seq, fn))

    def run_until(self, end: float) -> None:
        last_misc = time.monotonic()
        while True:
            now = time.monotonic()
            if now >= end:
                return
            while self.timers and self.timers[0][0] <= now:
                _, _, fn = heapq.heappop(self.timers)
                fn()
            wait = min(end, self.timers[0][0] if self.timers else end) - time.monotonic()
            self.poll(max(0.0, min(wait, 0.01)))
            if now - last_misc > 1.0:
                self.misc()
                last_misc = now

    # ------------------------------------------------------------------ commands
    def command(self, device_id: str, command: dict[str, Any], on_reply) -> None:
        """Send now, or at the next free slot when paced."""
        if self.rate is None:
            self._send(device_id, command, on_reply)
            return
        now = time.monotonic()
        self._next_slot = max(self._next_slot + 1.0 / self.rate, now)
        if self._next_slot <= now:
            self._send(device_id, command, on_reply)
        else:
            self.at(self._next_slot, lambda: self._send(device_id, command, on_reply))

    def _send(self, device_id: str, command: dict[str, Any], on_reply) -> None:
        command = dict(command, id=os.urandom(8).hex())
        self.pending[command["id"]] = (time.perf_counter(), command["type"], on_reply)
        if command["type"] == "window.call_next":
            self.called_at[command["window"]] = time.perf_counter()
        self.devices[device_id].send(command)

    def on_reply(self, reply: dict[str, Any]) -> None:
        sent = self.pending.pop(reply.get("id", ""), None)
        if sent is None:
            return
        at, kind, on_reply = sent
        if reply.get("ok"):
            self.total_ok[kind] += 1
        if self.recording:
            if reply.get("ok"):
                self.ok += 1
                self.latency[kind].append(time.perf_counter() - at)
            elif (reply.get("error") or {}).get("code") == "queue_empty":
                self.empty += 1
            else:
                self.errors[f"{kind}:{(reply.get('error') or {}).get('code')}"] += 1
        on_reply(reply)

    def on_state(self, device: SimDevice, topic: str, payload: bytes) -> None:
        if device.device_id.startswith("led-"):
            window = topic.rsplit("/", 1)[-1]
            if window in self.called_at and b'"serving"' in payload:     # the screen shows the new call
                sent = self.called_at.pop(window)
                if self.recording:
                    self.led_lag.append(time.perf_counter() - sent)
        elif device.device_id == self.kiosk_ids[0]:
            try:
                self.waiting = sum(int(x.get("waiting", 0)) for x in json.loads(payload).get("categories", []))
            except (ValueError, AttributeError, TypeError):
                pass

    # ------------------------------------------------------------------ the devices' behaviour
    def start_devices(self) -> None:
        for kiosk in self.kiosk_ids:
            self._kiosk(kiosk)
        for i, window in enumerate(self.windows, start=1):
            self.command(f"counter-{i}", {"type": "window.login", "window": window, "staff": f"s{i}"},
                         lambda _r, i=i: self._call(i))

    def _kiosk(self, kiosk: str) -> None:
        if self.waiting >= self.waiting_cap:
            self.at(time.monotonic() + 0.05, lambda: self._kiosk(kiosk))
            return
        category = f"c{self.random.randrange(CATEGORIES)}"
        self.command(kiosk, {"type": "ticket.issue", "category": category}, lambda _r: self._kiosk(kiosk))

    def _call(self, i: int) -> None:
        def called(reply: dict) -> None:
            if reply.get("ok"):
                self.command(f"counter-{i}", {"type": "window.complete", "window": f"w{i}"},
                             lambda _r: self._rate(i))
            else:
                self.called_at.pop(f"w{i}", None)          # nobody called: no LED change to wait for
                self.at(time.monotonic() + RETRY_EMPTY_S, lambda: self._call(i))
        self.command(f"counter-{i}", {"type": "window.call_next", "window": f"w{i}"}, called)

    def _rate(self, i: int) -> None:
        level = self.random.choice((5, 5, 5, 5, 4, 4, 3, 2))
        self.command(f"tablet-{i}", {"type": "rating.submit", "window": f"w{i}", "level": level},
                     lambda _r: self._call(i))

    # ------------------------------------------------------------------ phases
    def measure(self, seconds: float, rate: float | None, server_cpu=None) -> dict[str, Any]:   # noqa: ANN001
        self.rate = rate
        self._next_slot = time.monotonic()
        self.run_until(time.monotonic() + min(3.0, seconds / 3))      # warm-up at this pace
        self.ok, self.empty = 0, 0
        self.errors.clear()
        self.latency.clear()
        self.led_lag.clear()
        self.recording = True
        start, cpu_start = time.monotonic(), server_cpu() if server_cpu else None
        self.run_until(start + seconds)
        elapsed = time.monotonic() - start
        cpu = server_cpu() - cpu_start if server_cpu and cpu_start is not None else None
        self.recording = False
        issue_call = self.latency["ticket.issue"] + self.latency["window.call_next"]
        answered = self.ok + self.empty + sum(self.errors.values())
        return {
            "offered_per_s": rate, "commands_per_s": round(answered / elapsed, 1), "commands": answered,
            "ok_per_s": round(self.ok / elapsed, 1),
            **({k: v for k, v in summarise(issue_call).items() if k != "n"} if issue_call else {}),
            "by_type": {k: summarise(v) for k, v in sorted(self.latency.items()) if v},
            "call_to_led": summarise(self.led_lag) if self.led_lag else None,
            "empty_replies": self.empty, "errors": dict(self.errors),
            # the server process's CPU (all its threads) per answered command: steadier than the
            # rate on a shared machine, and what a change of the command path moves
            "server_cpu_ms_per_command": round(1000 * cpu / answered, 3) if cpu is not None and answered else None,
            "server_cpu_share": round(cpu / elapsed, 2) if cpu is not None else None,
        }

    def close(self) -> None:
        for d in self.devices.values():
            try:
                d.client.disconnect()
            except Exception:
                pass
        self.devices = {}


def check_books(database_url: str, ok: dict[str, int], in_flight: dict[str, int]) -> dict[str, Any]:
    """What the devices were told against what the database holds: every ticket, service and
    rating a device got an ok for is there once, and nothing else is (a command still on its
    way at the end may or may not have been applied)."""

    store = Store(database_url)
    try:
        with store.engine.connect() as conn:
            held = {"tickets": conn.execute(select(func.count()).select_from(tickets)).scalar(),
                    "completed": conn.execute(select(func.count()).select_from(tickets)
                                              .where(tickets.c.status == "completed")).scalar(),
                    "ratings": conn.execute(select(func.count()).select_from(ratings)).scalar()}
    finally:
        store.close()
    told = {"tickets": ok["ticket.issue"], "completed": ok["window.complete"], "ratings": ok["rating.submit"]}
    maybe = {"tickets": in_flight["ticket.issue"], "completed": in_flight["window.complete"],
             "ratings": in_flight["rating.submit"]}
    balanced = all(told[k] <= held[k] <= told[k] + maybe[k] for k in held)
    return {"told_ok": told, "in_database": held, "in_flight_at_end": maybe, "balanced": balanced}


def bench_load(seconds: float = 20.0, rate: float = 1000.0, database_url: str | None = None,
               kiosks: int = 20, windows: int = 100) -> dict[str, Any]:
    tmp = tempfile.TemporaryDirectory(prefix="govhall-load-")
    folder = Path(tmp.name)
    db = BenchDatabase(database_url)          # a fresh database: a temporary file, or a new PG database
    database_url = db.url
    http_port = free_port()
    write_hall_toml(folder / "hall.toml", load_hall(kiosks, windows), http_port)
    broker = MosquittoProcess(workdir=str(folder)).start()
    server = ServerProcess(folder / "hall.toml", broker.url, database_url, folder / "server.log").start()
    load = None
    try:
        wait_for_port("127.0.0.1", http_port, timeout=60)
        load = LoadLoop(broker.url, kiosks, windows)
        load.connect_all()
        load.start_devices()
        full = load.measure(seconds, None, server.cpu_s)
        paced = load.measure(seconds, rate, server.cpu_s)
        rss = server.rss_kb()
        in_flight: dict[str, int] = defaultdict(int)
        for _, kind, _ in load.pending.values():
            in_flight[kind] += 1
        load.close()
        server.stop()
        books = check_books(database_url, load.total_ok, in_flight)
    finally:
        if load is not None:
            load.close()
        server.stop()
        broker.stop()
        errors_logged = server.errors_logged()
        db.close()
        tmp.cleanup()
    return {
        "machine": machine(), "broker": "mosquitto",
        "database": "postgresql" if database_url.startswith("postgresql") else "sqlite",
        "devices": {"kiosks": kiosks, "counters": windows, "tablets": windows, "led_screens": windows},
        "seconds": seconds,
        "commands_per_s": full["commands_per_s"],
        "p50_ms": paced.get("p50_ms"), "p99_ms": paced.get("p99_ms"), "rate": rate,
        "rate_commands_per_s": paced["commands_per_s"],
        "full_speed": full, "at_rate": paced, "server_rss_kb": rss, "books": books,
        "server_errors_logged": errors_logged,
    }
