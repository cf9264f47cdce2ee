"""`hall demo --headless --days 7 --faults`: the demo hall over a simulated week, with faults.

The same hall, devices and citizens as `hall demo`, day after day on simulated time as fast
as the machine goes: each working day (the hall's calendar) the windows open at 09:00,
citizens arrive through the day, the windows close at 17:30 (a service still running is
finished, everyone logs out). Weekends and holidays the hall stays shut. With `faults`,
twice a day at a random moment something breaks: the hall server restarts, the broker
(Mosquitto) restarts, or a device's network drops. Devices send a command again with the
same id until it is answered, as the real ones do.

At the end of each day the books are checked against the database:
    tickets issued = served + 过号 (no-show) + cancelled + still waiting,
with nobody left "called" once the windows have closed. The process's memory (RSS: the
server and every simulated device, they share it) is recorded each day, with the sizes of
the server's per-day books, to show they do not grow without bound.
"""
from __future__ import annotations

import logging
import os
import socket
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from hallserver.broker import MosquittoProcess, free_port, mosquitto_config
from hallserver.demo import ARRIVALS_PER_HOUR, DEMO_START, HallDemo
from hallserver.domain.clock import hall_day
from hallserver.server import HallServer
from hallserver.server_process import rss_kb
from hallserver.store.tables import tickets

log = logging.getLogger("hallserver.soak")

FAULTS = ("server_restart", "broker_restart", "device_drop")
FAULTS_PER_DAY = 2
CLOSE = timedelta(hours=8, minutes=30)            # 09:00 + 8.5 h = 17:30


class HallWeek(HallDemo):
    def __init__(self, *, days: int = 7, faults: bool = True, seed: int = 7,
                 database_url: str | None = None, plan: list[str] | None = None) -> None:
        """`plan`: the faults to inject, in order, two a day (instead of random ones)."""
        self.days, self.faults, self.plan = days, faults or bool(plan), list(plan or [])
        self._broker_dir = tempfile.TemporaryDirectory(prefix="govhall-soak-broker-")
        self.mosquitto: MosquittoProcess | None = None
        broker_url = None
        try:                              # our own Mosquitto, so that it can be restarted
            port = free_port()
            conf = Path(self._broker_dir.name) / "mosquitto.conf"
            (Path(self._broker_dir.name) / "data").mkdir()
            conf.write_text(mosquitto_config(port, persistence_dir=str(Path(self._broker_dir.name) / "data")))
            self.mosquitto = MosquittoProcess(port=port, workdir=self._broker_dir.name, conf_file=str(conf)).start()
            broker_url = self.mosquitto.url
        except FileNotFoundError:
            log.warning("no mosquitto binary: the embedded broker is used and never restarted")
        super().__init__(minutes=int(CLOSE.total_seconds() // 60), seed=seed, speed=None, broker_url=broker_url,
                         database_url=database_url)
        self.faults_done: list[dict] = []

    def stop(self) -> None:
        super().stop()
        if self.mosquitto is not None:
            self.mosquitto.stop()
        self._broker_dir.cleanup()

    # ------------------------------------------------------------------ faults
    def _on_fault(self, kind: str) -> None:
        at = self.clock.now().isoformat(timespec="minutes")
        if kind == "broker_restart" and self.mosquitto is not None:
            self.mosquitto.stop()
            time.sleep(0.5)
            self.mosquitto.start()
        elif kind == "server_restart":
            self.server.stop()
            self.server = HallServer(self.config, broker_url=self.broker_url, clock=self.clock,
                                     database_url=self.database_url).start()
        else:
            kind = "device_drop"
            links = [self.kiosk, *self.counters.values(), *self.tablets.values(), self.screen_link, self.led_link]
            link = self.random.choice(links)
            sock = link.client.socket()
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)        # the cable is out: paho reconnects by itself
                except OSError:
                    pass
            kind = f"device_drop:{link.device_id}"
        self.faults_done.append({"at": at, "fault": kind})

    # ------------------------------------------------------------------ the week
    def _working(self, day_start: datetime) -> bool:
        hours = self.server.processor.engine.hours
        return hours is None or bool(hours.open_spans(next(iter(ARRIVALS_PER_HOUR)), day_start.date()))

    def _close_windows(self) -> None:
        """17:30: finish the service still running, end a break, log out (read on the writer thread)."""
        states = self.server.bus.query(lambda p: {w: (x.status.value, x.staff) for w, x in p.engine.windows.items()})
        for w, link in self.counters.items():
            status, staff = states[w]
            if status == "serving":
                self._cmd(link, type="window.complete", window=w)
            if status == "paused":
                self._cmd(link, type="window.resume", window=w)
            if staff:
                self._cmd(link, type="window.logout", window=w)

    def _books(self, day) -> dict[str, int]:   # noqa: ANN001 - a date
        with self.server.store.engine.connect() as conn:
            counts = dict(conn.execute(select(tickets.c.status, func.count()).where(tickets.c.day == day)
                                       .group_by(tickets.c.status)).all())
        return {s: int(counts.get(s, 0)) for s in ("waiting", "called", "completed", "skipped", "cancelled")}

    def run_week(self) -> dict[str, Any]:
        started = time.perf_counter()
        days = []
        for d in range(self.days):
            self.day_start = DEMO_START + timedelta(days=d)
            self.clock.set(self.day_start)
            rss_before = rss_kb(os.getpid())
            if not self._working(self.day_start):
                days.append({"day": self.day_start.date().isoformat(), "open": False, "rss_kb": rss_before})
                continue
            self._events, self._breaks, self.serving = [], set(), {}
            end = self.day_start + CLOSE
            for cat in ARRIVALS_PER_HOUR:
                self._next_arrival(cat, self.day_start)
            for w, late in {"w1": 0, "w2": 2, "w3": 20}.items():
                self._at(self.day_start + timedelta(minutes=late), "login", w)
            self._at(self.day_start + timedelta(minutes=50), "break", "w2")
            self._book_appointments(end - timedelta(minutes=30))
            if self.faults:
                for _ in range(FAULTS_PER_DAY):
                    when = self.day_start + timedelta(minutes=self.random.uniform(30, 450))
                    self._at(when, "fault", self.plan.pop(0) if self.plan else self.random.choice(FAULTS))
            self._run_until(end)
            self._close_windows()
            day = hall_day(self.clock)
            books = self._books(day)
            issued = sum(books.values())
            processor = self.server.processor
            days.append({
                "day": day.isoformat(), "open": True, "tickets_issued": issued, **books,
                "balanced": books["called"] == 0
                and issued == books["completed"] + books["skipped"] + books["cancelled"] + books["waiting"],
                "rss_kb": rss_kb(os.getpid()),
                "server_books": {"numbering_days": len({k[0] for k in processor.engine.counters}),
                                 "known_command_ids": processor.store.known_command_count},
            })
            log.info("soak: %s done, %d tickets, RSS %s kB", day, issued, days[-1]["rss_kb"])
        open_days = [x for x in days if x["open"]]
        return {
            "days": days, "faults": self.faults_done, "retries": self.retries,
            "tickets_issued": sum(x["tickets_issued"] for x in open_days),
            "books_balance": all(x["balanced"] for x in open_days),
            "rss_kb_first_day": open_days[0]["rss_kb"] if open_days else None,
            "rss_kb_last_day": open_days[-1]["rss_kb"] if open_days else None,
            "real_seconds": round(time.perf_counter() - started, 1),
            "broker": "mosquitto" if self.mosquitto is not None else "embedded",
        }


def run_week(days: int = 7, faults: bool = True, seed: int = 7, database_url: str | None = None,
             plan: list[str] | None = None) -> dict[str, Any]:
    week = HallWeek(days=days, faults=faults, seed=seed, database_url=database_url, plan=plan)
    week.start()
    try:
        return week.run_week()
    finally:
        week.stop()
