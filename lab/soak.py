"""`hall demo --headless --days 7 --faults`: the demo hall over a simulated week, with faults.

The same hall, devices and citizens as `hall demo`, day after day on simulated time as fast
as the machine goes: each working day (the hall's calendar) the windows open at 09:00,
citizens arrive through the day, the windows close at 17:30 (a service still running is
finished, everyone logs out). Weekends and holidays the hall stays shut.

As in a real hall, the hall server is its own OS process (lab/soak_server.py), on a
real Mosquitto; the simulated devices and citizens are this process. The server runs on the
soak's simulated time: this process moves a clock held in a small shared file
(lab/shared_clock.py) before it sends the commands of that moment, and the server
reads it at every `now()`. With `faults`, twice a day at a random moment something breaks:
the hall server is killed (SIGKILL, as a power cut would) and started again, the broker
restarts, or a device's network drops. Devices send a command again with the same id until
it is answered, as the real ones do; a phone booking a 预约 sends its request again with the
same Idempotency-Key.

Nothing is read from inside the server. At the end of each day the books are checked against
the database (a connection of this process's own):
    tickets issued = served + 过号 (no-show) + cancelled + still waiting,
with nobody left "called" once the windows have closed. The memory (RSS) of the server
process and of the devices' process is recorded each day, apart, with the sizes of the
server's per-day books (which the server writes to a status file when asked with SIGUSR1),
to show they do not grow without bound.
"""
from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import tempfile
import time
import urllib.error
import urllib.request
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, select

from hallserver.bootstrap import hall_hours
from hallserver.broker import MosquittoProcess, free_port, mosquitto_config
from hallserver.calendar_source import work_calendar
from hallserver.domain.clock import hall_day
from hallserver.store.tables import tickets, windows
from lab.demo import ARRIVALS_PER_HOUR, DEMO_START, HallDemo, demo_citizen
from lab.server_process import ServerProcess, rss_kb
from lab.shared_clock import SharedSimClock

log = logging.getLogger("lab.soak")

FAULTS = ("server_restart", "broker_restart", "device_drop")
FAULTS_PER_DAY = 2
CLOSE = timedelta(hours=8, minutes=30)            # 09:00 + 8.5 h = 17:30
SERVER_READY_S = 60                               # a (re)started server must be serving within this
RESEND_FOR_S = 120                                # a device or phone gives up resending after this


class SoakServer(ServerProcess):
    """The soak's hall server process (`python -m lab.soak_server`): started, killed and
    started again, asked for its status. One log file across its restarts."""

    def __init__(self, folder: Path, *, clock_file: Path, broker_url: str, database_url: str,
                 http_port: int) -> None:
        self.status_file = folder / "server-status.json"
        self.http_port = http_port
        super().__init__("<demo config>", broker_url, database_url, folder / "server.log", command=[
            sys.executable, "-m", "lab.soak_server", "--clock-file", str(clock_file),
            "--broker", broker_url, "--database", database_url, "--http-port", str(http_port),
            "--status-file", str(self.status_file)])
        self.pids: list[int] = []                # every process it has been, in order

    def start(self) -> SoakServer:
        self.status_file.unlink(missing_ok=True)   # the new process writes it when it is ready
        super().start()
        self.pids.append(self.proc.pid)
        return self

    @property
    def pid(self) -> int:
        return self.proc.pid

    def _read_status(self) -> dict | None:
        """The status file if the current process wrote it, else None."""
        try:
            status = json.loads(self.status_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return status if isinstance(status, dict) and status.get("pid") == self.pid else None

    def wait_ready(self, timeout: float = SERVER_READY_S) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            status = self._read_status()
            if status is not None:
                return status
            if self.proc.poll() is not None:
                raise RuntimeError(f"the soak's hall server exited with code {self.proc.returncode}; "
                                   f"the end of its log:\n{self.log_tail()}")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the soak's hall server was not ready after {timeout} s; "
                                   f"the end of its log:\n{self.log_tail()}")
            time.sleep(0.05)

    def status(self) -> dict:
        """Ask the server (SIGUSR1) for its pid, its hall time and the sizes of its per-day books."""
        self.wait_ready()                        # before it is ready, SIGUSR1 could still kill it
        self.status_file.unlink(missing_ok=True)
        os.kill(self.pid, signal.SIGUSR1)
        return self.wait_ready(timeout=10)


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
            log.warning("no mosquitto binary: the embedded broker is used (in this process) and never restarted")
        try:
            super().__init__(minutes=int(CLOSE.total_seconds() // 60), seed=seed, speed=None,
                             broker_url=broker_url, database_url=database_url)
            self._server_dir = tempfile.TemporaryDirectory(prefix="govhall-soak-server-")
            self.folder = Path(self._server_dir.name)
            self.clock = SharedSimClock(self.folder / "hall-clock", DEMO_START)   # the server process reads it
            self.http_port = free_port()
            self.hours = hall_hours(self.config, work_calendar(self.config.calendar.file))    # the server's days
        except BaseException:
            if self.mosquitto is not None:
                self.mosquitto.stop()
            self._broker_dir.cleanup()
            raise
        self.books_db = None              # this process's own connection to the hall's database
        self.faults_done: list[dict] = []

    def _start_server(self) -> SoakServer:
        server = SoakServer(self.folder, clock_file=self.clock.path, broker_url=self.broker_url,
                            database_url=self.database_url, http_port=self.http_port).start()
        try:
            server.wait_ready()
        except BaseException:
            server.kill9()                # not left running when the soak gives up on it
            raise
        return server

    def _on_tick(self, _subject: str) -> None:
        """The soak's server is a process of its own: it looks by itself, on its clock file."""

    def _check_server(self) -> None:
        if self.server.proc.poll() is not None:
            raise RuntimeError(f"the soak's hall server (pid {self.server.pid}) exited with code "
                               f"{self.server.proc.returncode}; the end of its log:\n{self.server.log_tail()}")

    def stop(self) -> None:
        if self.books_db is not None:
            self.books_db.dispose()
        super().stop()                    # the devices, then the server process (SIGTERM)
        if self.mosquitto is not None:
            self.mosquitto.stop()
        self.clock.close()
        self._broker_dir.cleanup()
        self._server_dir.cleanup()

    # ------------------------------------------------------------------ what the citizens do over HTTP
    def _next_citizen(self) -> dict[str, str]:
        """The next made-up citizen to book (real-name: a name, an ID number, a mobile number)."""
        self._citizens += 1
        return demo_citizen(self._citizens)

    def _book(self, booking_id: str, category: str, slot: datetime) -> dict:
        """POST /api/appointments, as the citizen's phone: while the server is down or busy, the same
        request again with the same Idempotency-Key (the server books it once). The reply in the
        shape of a command's ({"ok", "result"} or {"ok", "error"})."""
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.http_port}/api/appointments", method="POST",
            data=json.dumps({"category": category, "slot_start": slot.isoformat(), **self._next_citizen()}).encode(),
            headers={"Content-Type": "application/json", "Idempotency-Key": booking_id})
        deadline = time.monotonic() + RESEND_FOR_S
        while True:
            try:
                with urllib.request.urlopen(request, timeout=5) as response:
                    return {"ok": True, "result": json.loads(response.read())}
            except urllib.error.HTTPError as exc:
                if exc.code not in (429, 503):   # refused for good (a full slot, a closed day)
                    return {"ok": False, "error": json.loads(exc.read() or b"{}").get("error")}
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass                              # the server is restarting
            self.retries += 1
            self._check_server()
            if time.monotonic() > deadline:
                raise TimeoutError(f"booking {booking_id}: no answer after {RESEND_FOR_S} s")
            time.sleep(0.2)

    # ------------------------------------------------------------------ faults
    def _on_fault(self, kind: str) -> None:
        at = self.clock.now().isoformat(timespec="minutes")
        fault: dict[str, Any] = {"at": at}
        if kind == "broker_restart" and self.mosquitto is not None:
            self.mosquitto.stop()
            time.sleep(0.5)
            self.mosquitto.start()
        elif kind == "server_restart":
            fault["killed_pid"] = self.server.pid
            self.server.kill9()           # a power cut: no goodbye, no last commit
            fault["exit_code"] = self.server.proc.returncode       # -9: killed by SIGKILL
            self.server.start()           # not waited for: the devices send again until it answers
            fault["new_pid"] = self.server.pid
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
        self.faults_done.append({**fault, "fault": kind})

    # ------------------------------------------------------------------ the week
    def _working(self, day_start: datetime) -> bool:
        return self.hours is None or bool(self.hours.open_spans(next(iter(ARRIVALS_PER_HOUR)), day_start.date()))

    def _db(self):   # noqa: ANN202 - a SQLAlchemy engine
        if self.books_db is None:
            self.books_db = create_engine(self.database_url)
        return self.books_db

    def _close_windows(self) -> None:
        """17:30: finish the service still running, end a break, log out. The windows' states are
        read from the database: the server replies to a command only once its changes are committed."""
        with self._db().connect() as conn:
            states = {r.id: (r.status, r.staff) for r in conn.execute(select(windows.c.id, windows.c.status,
                                                                             windows.c.staff))}
        for w, link in self.counters.items():
            status, staff = states.get(w, ("closed", None))
            if status == "serving":
                self._cmd(link, type="window.complete", window=w)
            if status == "paused":
                self._cmd(link, type="window.resume", window=w)
            if staff:
                self._cmd(link, type="window.logout", window=w)

    def _books(self, day) -> dict[str, int]:   # noqa: ANN001 - a date
        with self._db().connect() as conn:
            counts = dict(conn.execute(select(tickets.c.status, func.count()).where(tickets.c.day == day)
                                       .group_by(tickets.c.status)).all())
        return {s: int(counts.get(s, 0)) for s in ("waiting", "called", "completed", "skipped", "cancelled")}

    def _memory(self) -> dict[str, int | None]:
        return {"rss_kb_server": self.server.rss_kb(), "rss_kb_devices": rss_kb(os.getpid())}

    def run_week(self) -> dict[str, Any]:
        started = time.perf_counter()
        days = []
        for d in range(self.days):
            self.day_start = DEMO_START + timedelta(days=d)
            self.clock.set(self.day_start)
            if not self._working(self.day_start):
                days.append({"day": self.day_start.date().isoformat(), "open": False, **self._memory()})
                continue
            self._events, self._breaks, self.serving, self.idle, self.waking = [], {}, {}, set(), set()
            end = self.day_start + CLOSE
            self._plan_day(end, book_until=end - timedelta(minutes=30))
            if self.faults:
                for _ in range(FAULTS_PER_DAY):
                    when = self.day_start + timedelta(minutes=self.random.uniform(30, 450))
                    self._at(when, "fault", self.plan.pop(0) if self.plan else self.random.choice(FAULTS))
            self._run_until(end)
            self._close_windows()
            day = hall_day(self.clock)
            books = self._books(day)
            issued = sum(books.values())
            status = self.server.status()
            days.append({
                "day": day.isoformat(), "open": True, "tickets_issued": issued, **books,
                "balanced": books["called"] == 0
                and issued == books["completed"] + books["skipped"] + books["cancelled"] + books["waiting"],
                **self._memory(),
                "server_pid": self.server.pid,
                "server_books": {k: status.get(k) for k in ("numbering_days", "known_command_ids")},
            })
            log.info("soak: %s done, %d tickets, RSS server %s kB, devices %s kB", day, issued,
                     days[-1]["rss_kb_server"], days[-1]["rss_kb_devices"])
        open_days = [x for x in days if x["open"]]
        first, last = (open_days[0], open_days[-1]) if open_days else ({}, {})
        return {
            "days": days, "faults": self.faults_done, "retries": self.retries,
            "tickets_issued": sum(x["tickets_issued"] for x in open_days),
            "books_balance": all(x["balanced"] for x in open_days),
            "rss_kb_server_first_day": first.get("rss_kb_server"),
            "rss_kb_server_last_day": last.get("rss_kb_server"),
            "rss_kb_devices_first_day": first.get("rss_kb_devices"),
            "rss_kb_devices_last_day": last.get("rss_kb_devices"),
            "server_pids": list(self.server.pids),
            "server_kills": self.server.kills,
            "server_errors_logged": self.server.errors_logged(),
            "devices_pid": os.getpid(),
            "real_seconds": round(time.perf_counter() - started, 1),
            "broker": "mosquitto" if self.mosquitto is not None else "embedded",
        }


def run_week(days: int = 7, faults: bool = True, seed: int = 7, database_url: str | None = None,
             plan: list[str] | None = None) -> dict[str, Any]:
    week = HallWeek(days=days, faults=faults, seed=seed, database_url=database_url, plan=plan)
    try:
        week.start()
        return week.run_week()
    finally:
        week.stop()
