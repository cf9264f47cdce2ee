"""A whole hall on one machine: broker, server, and simulated devices on simulated time.

Every simulated device talks to the real server through the real broker with the real
contract; only the people are simulated. Each command waits for its reply before the
simulated clock moves on, so two runs with the same seed give the same figures.
"""
from __future__ import annotations

import heapq
import json
import logging
import math
import random
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import serial

from govhall import contract as c
from govhall.config import Config, parse_config
from govhall.link import DeviceLink, RequestTimeout
from hallserver.broker import EmbeddedBroker
from hallserver.domain.clock import SimClock, hall_day
from hallserver.domain.identity import check_char, id_hash
from hallserver.reports.hall import satisfaction_of
from hallserver.server import HallServer
from hallserver.store import redact_url
from hardware.led import LedScreenSimulator
from hardware.led_bridge import LedBridge, window_text
from lab.demo_halls import COUNTY_HALL, DEMO_START, HALLS, SMALL_CONFIG, SMALL_HALL, DemoHall, arrival_rate

log = logging.getLogger("lab.demo")

DEMO_CONFIG: dict[str, Any] = SMALL_CONFIG
ARRIVALS_PER_HOUR = SMALL_HALL.arrivals_per_hour     # the small hall's categories (the soak's hall)
NO_SHOW = 0.06           # called three times, never came: 过号
COMES_BACK = 0.5         # of those, share who come back within 5-20 minutes: 过号重排
ELDERLY = 0.15           # share of citizens 65 or older: 绿色通道 from the ID card
TRANSFER = 0.05          # share of services handed to another category: 转移
APPOINTMENT_NO_SHOW = 0.1   # 预约 never checked in
APPOINTMENT_LATE = 0.15     # 预约 checked in after the window: a normal ticket
RATES = 0.85             # share of citizens who rate on the tablet
MISSING_MATERIAL = 0.1   # of the cases accepted at a window, share with one material still to come (补正)
IDLE_LOOK_S = 180        # an idle window with nobody to call looks again this often (halls that wake it)
SERVER_LOOK_MIN = 1      # the demo asks the server for its periodic look this often (simulated minutes)
LATE_AFTER_MIN = 5       # a login this long after 09:00 is shown as a late start (the default grace)
NOTABLE_EVENTS = ("post.coverage", "coverage.alert", "rating.recorded", "case.colour")


def hall_config(hall: DemoHall, *, with_hours: bool = True) -> Config:
    """A demo hall's config. Without hours it issues tickets at any time of the real clock (tests)."""
    raw = dict(hall.raw)
    if not with_hours:
        raw.pop("hours")
    return parse_config(raw, f"<demo config: {hall.key} hall>")


def demo_citizen(n: int) -> dict[str, str]:
    """A made-up citizen for the demo's bookings: a name, an ID number with a valid check digit
    (GB 11643) and a mobile number, different for each n."""
    first17 = f"110105{19500101 + (n // 28) % 50 * 10000 + (n % 12) * 100 + n % 28:08d}{n % 1000:03d}"
    return {"name": "演示群众", "id_number": first17 + check_char(first17), "phone": f"139{n % 10**8:08d}"}


def demo_config(*, with_hours: bool = True) -> Config:
    """The small demo hall (three windows), the one tests and screenshot makers use."""
    return hall_config(SMALL_HALL, with_hours=with_hours)


def county_hall_config(*, with_hours: bool = True) -> Config:
    """The county 政务服务中心 of `hall demo`: 31 windows, 12 categories."""
    return hall_config(COUNTY_HALL, with_hours=with_hours)


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    subject: str = field(compare=False)


class _ScreenCounter:
    """The hall screen (综合屏), headless: remembers the calls it was shown."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []
        self.lock = threading.Lock()

    def on_called(self, _topic: str, data: dict) -> None:
        with self.lock:
            self.calls.append((data["ticket"]["number"], data["window_number"]))


class HallDemo:
    """`hall`: "small" (three windows, the tests' hall) or "county" (`hall demo`'s); `on_event(kind,
    data)` is told the notable moments as they happen (NOTABLE_EVENTS from the server, and
    "late_start" from the simulated staff), on the broker's thread or the simulation's."""

    def __init__(self, *, hall: str | DemoHall = "small", minutes: int | None = None, seed: int = 7,
                 speed: float | None = None, broker_url: str | None = None, database_url: str | None = None,
                 http: tuple[str, int] | None = None,
                 on_event: Callable[[str, dict], None] | None = None) -> None:
        self.hall = HALLS[hall] if isinstance(hall, str) else hall
        self.minutes = self.hall.default_minutes if minutes is None else minutes
        self.seed, self.speed = seed, speed
        self.http = http
        self.on_event = on_event
        self.config = hall_config(self.hall)
        first_seed = max((c.days_ago for c in self.hall.seeded_cases), default=0)
        self.clock = SimClock(DEMO_START - timedelta(days=first_seed, hours=1) if first_seed else DEMO_START)
        self.day_start = DEMO_START              # the simulated day's 09:00 (the week's soak moves it)
        self.random = random.Random(seed)
        self.broker_url_arg = broker_url
        self._tmp = None
        if database_url is None:
            self._tmp = tempfile.TemporaryDirectory(prefix="govhall-demo-")
            database_url = f"sqlite:///{Path(self._tmp.name) / 'demo.db'}"
        self.database_url = database_url
        self._events: list[_Event] = []
        self._seq = 0
        self._citizens = 0                 # the made-up citizens who booked (demo_citizen)
        self.calls_made = 0
        self.broker: EmbeddedBroker | None = None
        self.stop_requested = threading.Event()
        self.estimates: dict[int, int] = {}      # ticket id -> the wait the kiosk promised (s)
        self.estimate_errors: list[float] = []   # |promised - real| for each called ticket
        self.serving: dict[str, str] = {}        # window -> the number it called last
        self._someone_came_back = False
        self._breaks: dict[str, tuple[str, datetime | None, int]] = {}   # window -> (reason, resume at, minutes)
        self.idle: set[str] = set()              # windows that found nobody to call (halls that wake them)
        self.waking: set[str] = set()            # idle windows about to call the number just taken
        self.started_real: float | None = None
        self.retries = 0                         # commands sent again while a link or the server was down
        self.rules_seen = {"green_tickets": 0, "transfers": 0, "requeues": 0, "pauses": 0,
                           "refused_closed": 0, "refused_quota_full": 0, "appointments_booked": 0,
                           "appointments_on_time": 0, "appointments_late": 0}
        self.cases_accepted = 0                  # at the windows, today
        self.cases_seeded = 0                    # 网上申报 of earlier days

    # ------------------------------------------------------------------ set-up
    def start(self) -> None:
        if self.broker_url_arg is None:
            self.broker = EmbeddedBroker().start()
            self.broker_url = self.broker.url
        else:
            self.broker_url = self.broker_url_arg
        self.server = self._start_server()
        hall = self.config.hall.id
        self.kiosk = DeviceLink(hall, "kiosk-1", self.broker_url).connect()
        self.counters = {w.id: DeviceLink(hall, f"counter-{w.number}", self.broker_url).connect()
                         for w in self.config.windows}
        self.tablets = {w.id: DeviceLink(hall, f"tablet-{w.number}", self.broker_url).connect()
                        for w in self.config.windows}
        self.led_port = serial.serial_for_url("loop://", timeout=0)
        self.led_sim = LedScreenSimulator()
        self.led_link = DeviceLink(hall, "led-bridge-1", self.broker_url).connect()
        self.led = LedBridge(self.config, self.led_link, self.led_port).start()
        self.screen = _ScreenCounter()
        self.screen_link = DeviceLink(hall, "screen-1", self.broker_url).connect()
        self.screen_link.subscribe(self.screen_link.topics.event("ticket.called"), self.screen.on_called)
        if self.on_event is not None:
            for kind in NOTABLE_EVENTS:
                self.screen_link.subscribe(self.screen_link.topics.event(kind), self._notable(kind))
        self._seed_cases()

    def _notable(self, kind: str) -> Callable[[str, dict], None]:
        def tell(_topic: str, data: dict) -> None:
            try:
                self.on_event(kind, data)
            except Exception:               # a broken narrator must not stop the hall
                log.exception("telling a %s event", kind)
        return tell

    def _seed_cases(self) -> None:
        """The hall's open cases from earlier working days: 网上申报 through the HTTP command path,
        each on its own day at 10:00, before the clock moves on to this morning."""
        for n, seeded in enumerate(sorted(self.hall.seeded_cases, key=lambda x: -x.days_ago)):
            at = DEMO_START - timedelta(days=seeded.days_ago) + timedelta(hours=1, minutes=n)
            self.clock.set(max(at, self.clock.now()))
            matter = next(m for m in self.config.matters if m.id == seeded.matter)
            reply = self.server.bus.submit(json.dumps({
                "id": f"demo-online-{n}", "type": "case.apply_online", "matter": matter.id,
                "received": {name: 1 + (i + n) % 3 for i, name in enumerate(matter.materials)}}).encode())
            if reply["ok"]:
                self.cases_seeded += 1
            else:
                log.warning("seeding case %s: %s", matter.id, reply["error"])
        if self.clock.now() < DEMO_START:
            self.clock.set(DEMO_START)

    def _start_server(self) -> HallServer:
        """The hall server, here in this process on the demo's clock (the soak runs its own process)."""
        return HallServer(self.config, broker_url=self.broker_url, clock=self.clock,
                          database_url=self.database_url, http=self.http).start()

    def _check_server(self) -> None:
        """While a command goes unanswered: raise if the server is gone for good (the soak's is a process)."""

    def _book(self, booking_id: str, category: str, slot: datetime) -> dict:
        """A 预约 booked as the citizen's phone does (command type appointment.book): the reply.
        Here through the in-process server's HTTP command path, with the ID number's keyed hash
        as the web sends it; the soak books over HTTP."""
        self._citizens += 1
        who = demo_citizen(self._citizens)
        return self.server.bus.submit(json.dumps({
            "id": booking_id, "type": "appointment.book", "category": category, "slot_start": slot.isoformat(),
            "name": who["name"], "phone": who["phone"],
            "id_hash": id_hash(who["id_number"], self.server.store.rating_secret or "demo")}).encode())

    def stop(self) -> None:
        """Everything started, stopped; also after a start that failed half-way."""
        links = [getattr(self, name, None) for name in ("kiosk", "screen_link", "led_link")]
        links += [*getattr(self, "counters", {}).values(), *getattr(self, "tablets", {}).values()]
        for link in links:
            if link is not None:
                link.close()
        for part in (getattr(self, "led", None), getattr(self, "server", None)):
            if part is not None:
                part.stop()
        if self.broker is not None:
            self.broker.stop()
        if self._tmp is not None:
            self._tmp.cleanup()

    # ------------------------------------------------------------------ the simulation
    def _at(self, when: datetime, kind: str, subject: str) -> None:
        self._seq += 1
        heapq.heappush(self._events, _Event(when, self._seq, kind, subject))

    def _rate_now(self, category: str, when: datetime) -> float:
        """Arrivals per hour at this time of the day (the hall's profile: a morning peak at 10:00)."""
        return arrival_rate(self.hall, category, (when - self.day_start).total_seconds() / 3600)

    def _next_arrival(self, category: str, after: datetime) -> None:
        gap_h = self.random.expovariate(self._rate_now(category, after))
        self._at(after + timedelta(hours=gap_h), "arrive", category)

    def _service_time(self, category: str) -> timedelta:
        mean = self.hall.service_minutes[category]
        return timedelta(minutes=max(1.0, self.random.lognormvariate(math.log(mean) - 0.08, 0.4)))

    def _cmd(self, link: DeviceLink, **command: Any) -> dict:
        """Send as a real device does: while the link or the server is down, send the same
        command (same id) again until it is answered."""
        command = {**c.command(command.pop("type"), **command), "id": link.new_id()}   # checked on this side too
        deadline = time.monotonic() + 120
        while True:
            try:
                reply = link.request(command)
                break
            except RequestTimeout:
                self.retries += 1
                self._check_server()
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        quiet = ("queue_empty", "recall_limit", "category_closed", "quota_full", "requeue_expired")
        if not reply["ok"] and reply["error"]["code"] not in quiet:
            log.warning("%s %s -> %s", link.device_id, command["type"], reply["error"])
        return reply

    def run(self) -> dict[str, Any]:
        end = self.day_start + timedelta(minutes=self.minutes)
        self._plan_day(end)
        self.started_real = time.perf_counter()
        self._run_until(end)
        return self.summary()

    def _plan_day(self, end: datetime, book_until: datetime | None = None) -> None:
        """The day's first arrivals, the staff's logins and scripted pauses, the lunch break, the 预约."""
        for cat in self.hall.arrivals_per_hour:
            self._next_arrival(cat, self.day_start)
        for w, (_staff, late) in self.hall.logins.items():
            self._at(self.day_start + timedelta(minutes=late), "login", w)
        for i, pause in enumerate(self.hall.pauses):
            self._at(self.day_start + timedelta(minutes=pause.at_minute), "break", str(i))
        for minute in range(0, self.minutes + 1, SERVER_LOOK_MIN):
            self._at(self.day_start + timedelta(minutes=minute), "tick", "")
        if self.hall.lunch is not None:
            for w in self.hall.logins:
                self._at(self.day_start + timedelta(minutes=self.hall.lunch[0]), "lunch", w)
        self._book_appointments(book_until or end)

    def _run_until(self, end: datetime) -> None:
        while self._events and self._events[0].at <= end and not self.stop_requested.is_set():
            ev = heapq.heappop(self._events)
            if self.speed:
                lag = (ev.at - self.clock.now()).total_seconds() / self.speed
                if lag > 0 and self.stop_requested.wait(lag):
                    break
            self.clock.set(ev.at)
            getattr(self, f"_on_{ev.kind}")(ev.subject)
        if not self.stop_requested.is_set():
            self.clock.set(end)

    def _book_appointments(self, end: datetime) -> None:
        """预约 booked on the phone for this morning's slots, through the server's HTTP command path."""
        slot = self.day_start + timedelta(minutes=30)
        while slot + timedelta(minutes=30) <= end:
            for _ in range(self.random.randint(0, max(2, len(self.hall.arrivals_per_hour) // 3))):
                category = self.random.choice(list(self.hall.arrivals_per_hour))
                reply = self._book(f"demo-booking-{self._seq}-{self.random.randrange(10**9)}", category, slot)
                if not reply["ok"]:
                    continue
                self.rules_seen["appointments_booked"] += 1
                code = reply["result"]["appointment"]["code"]
                roll = self.random.random()
                # scripted like window 3's late start: the second booking of the morning comes late
                scripted_late = self.rules_seen["appointments_booked"] == 2
                if roll < APPOINTMENT_NO_SHOW and not scripted_late:
                    continue
                late = roll > 1 - APPOINTMENT_LATE or scripted_late
                minutes = self.random.uniform(20, 40) if late else self.random.uniform(-14, 10)
                self._at(slot + timedelta(minutes=minutes), "check_in", code)
            slot += timedelta(minutes=30)

    def _on_check_in(self, code: str) -> None:
        reply = self._cmd(self.kiosk, type="appointment.check_in", code=code)
        if reply["ok"]:
            self.rules_seen["appointments_late" if reply["result"]["late"] else "appointments_on_time"] += 1
            self._wake_for(reply["result"]["ticket"]["category"])

    def _on_arrive(self, category: str) -> None:
        years = self.random.randint(66, 88) if self.random.random() < ELDERLY else self.random.randint(19, 60)
        born = DEMO_START.date().replace(year=DEMO_START.year - years, day=1)
        reply = self._cmd(self.kiosk, type="ticket.issue", category=category, birth_date=born.isoformat())
        if not reply["ok"] and reply["error"]["code"] in ("category_closed", "quota_full"):
            self.rules_seen["refused_" + reply["error"]["code"].replace("category_", "")] += 1
        if reply["ok"] and reply["result"]["ticket"]["priority"] == "green":
            self.rules_seen["green_tickets"] += 1
        if reply["ok"] and reply["result"]["estimated_wait_s"] is not None:
            self.estimates[reply["result"]["ticket"]["id"]] = reply["result"]["estimated_wait_s"]
        if reply["ok"]:
            self._wake_for(category)
        self._next_arrival(category, self.clock.now())

    def _on_tick(self, _subject: str) -> None:
        """The server's periodic look (AB岗, 前台断档, 红黄绿, hours) on simulated time: its own look
        comes every few real seconds, hours of the demo's day when it runs fast."""
        self.server.bus.apply(lambda processor: processor.tick())

    def _wake_for(self, category: str) -> None:
        """A number was taken: an idle window that calls this category sees it and calls (halls
        whose staff wait to be woken; the others look every thirty seconds)."""
        if not self.hall.wake_idle:
            return
        for w in sorted(self.idle - self.waking, key=lambda x: self.config.window(x).number):
            if category in self.config.window(w).categories:
                self.waking.add(w)
                self._at(self.clock.now() + timedelta(seconds=self.random.uniform(5, 20)), "wake", w)
                return

    def _on_wake(self, w: str) -> None:
        self.waking.discard(w)
        if w in self.idle:
            self.idle.discard(w)
            self._on_free(w)

    def _on_login(self, w: str) -> None:
        staff, late = self.hall.logins[w]
        self._cmd(self.counters[w], type="window.login", window=w, staff=staff)
        if late > LATE_AFTER_MIN and self.on_event is not None:
            self.on_event("late_start", {"window": w, "staff": staff, "minutes": late, "at": self.clock.now()})
        self._on_free(w)

    def _on_break(self, index: str) -> None:
        pause = self.hall.pauses[int(index)]
        self._breaks[pause.window] = (pause.reason, None, pause.minutes)
        self._pause_if_idle(pause.window)

    def _on_lunch(self, w: str) -> None:
        assert self.hall.lunch is not None
        self._breaks[w] = ("meal", self.day_start + timedelta(minutes=self.hall.lunch[1]), 0)
        self._pause_if_idle(w)

    def _pause_if_idle(self, w: str) -> None:
        if w in self.idle:                       # nobody at the window: the pause starts now
            self.idle.discard(w)
            self._on_free(w)

    def _on_free(self, w: str) -> None:
        now = self.clock.now()
        if w in self._breaks:
            reason, resume_at, minutes = self._breaks.pop(w)
            self.rules_seen["pauses"] += self._cmd(self.counters[w], type="window.pause", window=w, reason=reason)["ok"]
            back = max(resume_at, now + timedelta(minutes=1)) if resume_at else now + timedelta(minutes=minutes)
            self._at(back, "resume", w)
            return
        reply = self._cmd(self.counters[w], type="window.call_next", window=w)
        if not reply["ok"]:
            if self.hall.wake_idle:
                self.idle.add(w)
                self._at(now + timedelta(seconds=IDLE_LOOK_S), "wake", w)
            else:
                self._at(now + timedelta(seconds=30), "free", w)
            return
        self.calls_made += 1
        ticket = reply["result"]["ticket"]
        category = ticket["category"]
        promised = self.estimates.pop(ticket["id"], None)
        if promised is not None:
            waited = (datetime.fromisoformat(ticket["called_at"]) - datetime.fromisoformat(ticket["issued_at"]))
            self.estimate_errors.append(abs(waited.total_seconds() - promised))
        self.serving[w] = ticket["number"]
        roll = self.random.random()
        if roll < NO_SHOW:
            self._at(now + timedelta(seconds=45), "recall", w)
        elif roll < NO_SHOW + TRANSFER and not ticket["transferred_from"]:
            self._at(now + timedelta(minutes=self.random.uniform(2, 4)), "transfer", w)
        else:
            self._at(now + self._service_time(category), "complete", w)

    def _on_transfer(self, w: str) -> None:
        here = self.config.window(w).categories
        others = [c.id for c in self.config.categories if c.id not in here] or [c.id for c in self.config.categories]
        to = self.random.choice(others)
        reply = self._cmd(self.counters[w], type="window.transfer", window=w, to_category=to,
                          reason="材料需到其他业务窗口办理")
        self.rules_seen["transfers"] += reply["ok"]
        if reply["ok"]:
            self._wake_for(to)
        self._at(self.clock.now() + timedelta(seconds=30), "free", w)

    def _on_return(self, number: str) -> None:
        reply = self._cmd(self.kiosk, type="ticket.requeue", number=number)
        self.rules_seen["requeues"] += reply["ok"]
        if reply["ok"]:
            self._wake_for(reply["result"]["ticket"]["category"])

    def _on_resume(self, w: str) -> None:
        self._cmd(self.counters[w], type="window.resume", window=w)
        self._on_free(w)

    def _on_recall(self, w: str) -> None:
        reply = self._cmd(self.counters[w], type="window.recall", window=w)
        if reply["ok"]:
            self.calls_made += 1
            self._at(self.clock.now() + timedelta(seconds=45), "recall", w)
        else:                                   # recalled enough: 过号
            self._cmd(self.counters[w], type="window.skip", window=w)
            first_skip = not self._someone_came_back       # scripted: the first no-show of the day returns
            if self.random.random() < COMES_BACK or first_skip:
                self._someone_came_back = True
                self._at(self.clock.now() + timedelta(minutes=self.random.uniform(5, 20)), "return", self.serving[w])
            self._at(self.clock.now() + timedelta(seconds=10), "free", w)

    def _on_complete(self, w: str) -> None:
        self._accept_case(w)
        self._cmd(self.counters[w], type="window.complete", window=w)
        if self.random.random() < RATES:
            self._at(self.clock.now() + timedelta(seconds=15), "rate", w)
        self._at(self.clock.now() + timedelta(seconds=30), "free", w)

    def _accept_case(self, w: str) -> None:
        """受理: some services end in a case (限时办结), with the materials received and their pages."""
        number = self.serving.get(w, "")
        category = next((c.id for c in self.config.categories if number.startswith(c.prefix)
                         and number[len(c.prefix):].isdigit()), None)
        matter_id = self.hall.case_matters.get(category or "")
        if matter_id is None or self.random.random() >= self.hall.case_share:
            return
        matter = next(m for m in self.config.matters if m.id == matter_id)
        materials = list(matter.materials)
        missing = [materials.pop()] if materials and self.random.random() < MISSING_MATERIAL else []
        reply = self._cmd(self.counters[w], type="case.accept", window=w, matter=matter.id,
                          received={name: self.random.randint(1, 6) for name in materials}, missing=missing)
        self.cases_accepted += reply["ok"]

    def _on_rate(self, w: str) -> None:
        levels, weights = zip(*self.hall.level_weights, strict=True)
        level = self.random.choices(levels, weights)[0]
        self._cmd(self.tablets[w], type="rating.submit", window=w, level=level)

    # ------------------------------------------------------------------ results
    def _wait_for_devices(self, timeout: float = 5.0) -> None:
        """Let the screen and the LED bridge catch up with the last state (QoS 1, async)."""
        proc = self.server.processor
        expected = {self.config.window(w).led_address: " / ".join(
            window_text(proc.window_state(win), self.led.category_names).lines)
            for w, win in proc.engine.windows.items()}
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            self.led_sim.feed(self.led_port.read(65536))
            shown = {a: self.led_sim.text(a) for a in expected}
            with self.screen.lock:
                screen_done = len(self.screen.calls) >= self.calls_made
            if shown == expected and screen_done:
                return
            time.sleep(0.02)
        log.warning("devices had not caught up after %.1f s", timeout)

    def live_figures(self) -> dict[str, Any]:
        """Today's figures so far, as the dashboard's: issued, served, waiting, average wait."""
        s = self.server.store.summary(self.clock.now(), hall_day(self.clock))
        return {"tickets_issued": s.tickets_issued, "tickets_served": s.tickets_served,
                "tickets_waiting": s.tickets_waiting, "avg_wait_s": s.avg_wait_s}

    def summary(self) -> dict[str, Any]:
        self._wait_for_devices()
        s = self.server.store.summary(self.clock.now(), hall_day(self.clock))
        satisfied = sum(n for level, n in s.ratings_by_level.items() if level >= 3)
        return {
            "hall": self.config.hall.name,
            "minutes": self.minutes,
            "seed": self.seed,
            "tickets_issued": s.tickets_issued,
            "tickets_served": s.tickets_served,
            "tickets_skipped": s.tickets_skipped,
            "tickets_waiting": s.tickets_waiting,
            "tickets_cancelled": s.tickets_cancelled,
            "avg_wait_s": s.avg_wait_s,
            "max_wait_s": s.max_wait_s,
            "ratings": s.ratings,
            "ratings_by_level": {str(k): v for k, v in s.ratings_by_level.items()},
            "satisfaction": round(satisfied / s.ratings, 3) if s.ratings else None,
            "satisfaction_percent": satisfaction_of(s.ratings_by_level),   # as the dashboard shows it
            "cases_accepted": self.cases_accepted,
            "cases_seeded": self.cases_seeded,
            "cases_by_colour": dict(sorted(Counter(self.server.processor.cases.colours.values()).items())),
            "estimate_mae_s": round(sum(self.estimate_errors) / len(self.estimate_errors), 1)
            if self.estimate_errors else None,
            "estimates_checked": len(self.estimate_errors),
            "avg_wait_s_by_class": s.avg_wait_s_by_class,
            "front_desk_alerts": [
                {"category": r["category"], "minutes": round((r["ended_at"] - r["started_at"]).total_seconds() / 60)
                 if r["ended_at"] else None}
                for r in self.server.store.coverage_history(DEMO_START.replace(hour=0))],
            "post_minutes": {post: {k: round(v) for k, v in m.items()}
                             for (_, post), m in sorted(self.server.processor.attendance.watch.minutes.items())},
            "pause_minutes": self.server.store.pause_minutes(
                self.clock.now(), DEMO_START.replace(hour=0), DEMO_START.replace(hour=0) + timedelta(days=1)),
            **self.rules_seen,
            "calls_announced": len(self.screen.calls),
            "led_screens": {str(a): self.led_sim.text(a) for a in sorted(self.led_sim.screens)},
            "broker": "embedded" if self.broker is not None else self.broker_url,
            "database": redact_url(self.database_url),
        }


def run_demo(on_started: Any = None, **kwargs: Any) -> dict[str, Any]:
    """Run the demo; `on_started(demo)` is called once everything is up (to print the URL)."""
    demo = HallDemo(**kwargs)
    try:
        demo.start()                 # a start that fails half-way is stopped too
        if on_started is not None:
            on_started(demo)
        return demo.run()
    finally:
        demo.stop()
