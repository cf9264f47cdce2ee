"""The soak's hall server, as its own process:

    python -m lab.soak_server --clock-file F --broker URL --database URL --http-port N --status-file S

The hall server of `hall server` (the same HallServer: store, command processor, MQTT bus,
dashboard and HTTP API, the heap frozen once started) for the demo hall (`demo_config()`),
with two things only the soak needs:

- the hall's time is the soak's simulated time, read from the clock file on every `now()`
  (lab/shared_clock.py), not the system clock;
- it writes a small JSON status file — when it is ready to serve, and again each time it is
  sent SIGUSR1 — with its pid, the hall time it sees and the sizes of its per-day books
  (the numbering days it keeps, the command ids it remembers). The soak reads them there.

SIGTERM or SIGINT stops it cleanly. A clock file that is not one exits at once with code 2
and says why. The production `hall server` (hall/cli.py) is not changed by any of this.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import time
from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from govhall.link import parse_broker_url
from hallserver.heap import freeze_heap
from hallserver.server import HallServer
from lab.shared_clock import ClockFileError, SharedClock

log = logging.getLogger("lab.soak_server")


LOOK_EVERY_S = 0.1   # how often the main thread looks at what the signals asked for


class _Signals:
    """What the signals asked for; the main thread does it. A handler only sets a flag (no lock
    is taken inside a handler: one taken where the signal interrupted would never be given back)."""

    def __init__(self) -> None:
        self.stop = False
        self.status_wanted = False

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_stop)
        signal.signal(signal.SIGUSR1, self._on_status)

    def _on_stop(self, *_: object) -> None:
        self.stop = True

    def _on_status(self, *_: object) -> None:
        self.status_wanted = True


def write_status(path: Path, status: dict) -> None:
    """Whole or not at all: the soak never reads half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(status), encoding="utf-8")
    os.replace(tmp, path)


def server_status(server) -> dict:   # noqa: ANN001 - a started HallServer
    """The server's pid, its time and its per-day books, read on the writer thread."""
    books = server.bus.query(lambda p: {"numbering_days": len({k[0] for k in p.engine.counters}),
                                        "known_command_ids": p.store.known_command_count})
    return {"pid": os.getpid(), "hall_time": server.clock.now().isoformat(), **books}


def check_args(args: argparse.Namespace) -> str | None:
    """What is wrong with the arguments, in words (None: nothing), before anything starts."""

    if not 0 < args.http_port < 65536:
        return f"--http-port {args.http_port} is not a TCP port"
    try:
        parse_broker_url(args.broker)
    except ValueError as exc:
        return f"--broker {args.broker!r}: {exc}"
    try:
        backend = make_url(args.database).get_backend_name()
    except ArgumentError:
        return f"--database {args.database!r} is not a database URL"
    if backend not in ("sqlite", "postgresql"):
        return f"--database: govhall keeps its hall in SQLite or PostgreSQL, not {backend}"
    if not args.status_file.parent.is_dir():
        return f"--status-file {args.status_file}: no folder {args.status_file.parent}"
    return None


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m lab.soak_server", description=__doc__.split("\n\n")[0])
    p.add_argument("--clock-file", required=True, type=Path, help="the soak's shared clock (shared_clock.py)")
    p.add_argument("--broker", required=True, help="mqtt://host:port")
    p.add_argument("--database", required=True, help="SQLAlchemy URL of the hall's database")
    p.add_argument("--http-port", required=True, type=int, help="the dashboard and HTTP API, on 127.0.0.1")
    p.add_argument("--status-file", required=True, type=Path, help="where the JSON status is written")
    return p


def main(argv: list[str] | None = None) -> int:
    signals = _Signals()
    signals.install()              # first of all: SIGUSR1's default action would kill the process
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("amqtt", "transitions", "alembic.runtime.plugins"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    refusal = check_args(args)
    if refusal is not None:
        print(f"error: {refusal}", file=sys.stderr)
        return 2

    from lab.demo import demo_config  # loads pyserial: only when used
    config = demo_config()
    config.appointments.per_address_per_hour = 100000     # every citizen of the soak books from this machine
    try:
        clock = SharedClock(args.clock_file, config.hall.timezone)
    except ClockFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = HallServer(config, broker_url=args.broker, clock=clock, database_url=args.database,
                        http=("127.0.0.1", args.http_port)).start()
    freeze_heap()                  # as `hall server` does
    parent = os.getppid()
    try:
        write_status(args.status_file, status_now(server))
        log.info("soak server %d ready at hall time %s", os.getpid(), clock.now().isoformat())
        while not signals.stop:
            time.sleep(LOOK_EVERY_S)
            if os.getppid() != parent:   # the soak is gone (killed): so is its hall
                log.warning("the soak (pid %d) is gone; stopping", parent)
                break
            if signals.status_wanted:
                signals.status_wanted = False
                write_status(args.status_file, status_now(server))
    finally:
        server.stop()
    return 0


def status_now(server) -> dict:   # noqa: ANN001 - a started HallServer
    """The status to write; when the writer does not answer in time, that, said (it keeps serving)."""
    try:
        return {"ready": True, **server_status(server)}
    except Exception as exc:
        log.exception("the status could not be read")
        return {"ready": True, "pid": os.getpid(), "error": repr(exc)}


if __name__ == "__main__":
    sys.exit(main())
