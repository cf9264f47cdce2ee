"""The soak's hall server, as its own process:

    python -m hallserver.soak_server --clock-file F --broker URL --database URL --http-port N --status-file S

The hall server of `hall server` (the same HallServer: store, command processor, MQTT bus,
dashboard and HTTP API, the heap frozen once started) for the demo hall (`demo_config()`),
with two things only the soak needs:

- the hall's time is the soak's simulated time, read from the clock file on every `now()`
  (hallserver/shared_clock.py), not the system clock;
- it writes a small JSON status file — when it is ready to serve, and again each time it is
  sent SIGUSR1 — with its pid, the hall time it sees and the sizes of its per-day books
  (the numbering days it keeps, the command ids it remembers). The soak reads them there.

SIGTERM or SIGINT stops it cleanly. A clock file that is not one exits at once with code 2
and says why. The production `hall server` (hallserver/cli.py) is not changed by any of this.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sys
import threading
from pathlib import Path

log = logging.getLogger("hallserver.soak_server")


class _Signals:
    """What the signals asked for; the main thread does it (a handler only sets flags)."""

    def __init__(self) -> None:
        self.wake = threading.Event()
        self.stop = False
        self.status_wanted = False

    def install(self) -> None:
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self._on_stop)
        signal.signal(signal.SIGUSR1, self._on_status)

    def _on_stop(self, *_: object) -> None:
        self.stop = True
        self.wake.set()

    def _on_status(self, *_: object) -> None:
        self.status_wanted = True
        self.wake.set()


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


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m hallserver.soak_server", description=__doc__.split("\n\n")[0])
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
    if not 0 < args.http_port < 65536:
        print(f"error: --http-port {args.http_port} is not a TCP port", file=sys.stderr)
        return 2

    from hallserver.demo import demo_config
    from hallserver.heap import freeze_heap
    from hallserver.server import HallServer
    from hallserver.shared_clock import ClockFileError, SharedClock
    config = demo_config()
    try:
        clock = SharedClock(args.clock_file, config.hall.timezone)
    except ClockFileError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    server = HallServer(config, broker_url=args.broker, clock=clock, database_url=args.database,
                        http=("127.0.0.1", args.http_port)).start()
    freeze_heap()                  # as `hall server` does
    try:
        write_status(args.status_file, {"ready": True, **server_status(server)})
        log.info("soak server %d ready at hall time %s", os.getpid(), clock.now().isoformat())
        while True:
            signals.wake.wait()
            signals.wake.clear()
            if signals.stop:
                break
            if signals.status_wanted:
                signals.status_wanted = False
                try:
                    status = {"ready": True, **server_status(server)}
                except Exception as exc:     # the writer did not answer in time: say so, keep serving
                    log.exception("the status could not be read")
                    status = {"ready": True, "pid": os.getpid(), "error": repr(exc)}
                write_status(args.status_file, status)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
