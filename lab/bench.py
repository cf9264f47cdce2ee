"""`hall bench call`: how long a call takes to reach the citizen, measured end to end.

A real Mosquitto on a free port, the hall server, the LED bridge writing to a real pty, the
real Qt hall screen (offscreen) and the call voice. For each call the time runs from the
counter's `window.call_next` publish to
  led     the last byte of the window's LED frame written to the serial port,
  screen  the hall screen showing the new number (its widgets updated),
  voice   the call voice starting the sentence for that number.
Printed as p50, p99 and max per path; `--json` gives one object with `led`, `screen`,
`voice`, each with `p50_ms`, `p99_ms`, `max_ms` (and `n`), plus the machine.
"""
from __future__ import annotations

import os
import platform
import select
import statistics
import tempfile
import threading
import time
from contextlib import ExitStack
from pathlib import Path

from govhall.link import DeviceLink
from hallserver.broker import MosquittoProcess
from hallserver.server import HallServer
from hardware.call_voice import CallVoice, Clips, load_or_build_clips
from kiosk.screen_app import CallAnnouncer


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def summarise(samples: list[float]) -> dict:
    ms = [s * 1000 for s in samples]
    return {"n": len(ms), "p50_ms": round(statistics.median(ms), 2), "p99_ms": round(_percentile(ms, 99), 2),
            "max_ms": round(max(ms), 2)}


def machine() -> str:
    cpu = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return f"{os.cpu_count()} cores, {cpu or platform.processor()}, Python {platform.python_version()}"


def bench_call(calls: int = 1000, database_url: str | None = None) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    import serial  # pyserial: only with a serial line
    from PySide6.QtWidgets import QApplication  # Qt: loaded by the device programs only

    from hardware.led_bridge import LedBridge  # loads pyserial: only when used
    from kiosk.qt_hall_screen import HallScreen  # loads Qt: only when used
    from kiosk.qtlink import QtLink  # loads Qt: only when used
    from lab.demo import demo_config  # loads pyserial: only when used

    app = QApplication.instance() or QApplication([])
    config = demo_config(with_hours=False)
    config.rules.max_recalls = 2
    with ExitStack() as running:                 # whatever was started is stopped, on any failure or Ctrl-C
        tmp = running.enter_context(tempfile.TemporaryDirectory(prefix="govhall-bench-"))
        clips: Clips = load_or_build_clips(Path(tmp) / "clips")      # first: espeak-ng missing starts nothing
        broker = MosquittoProcess(workdir=tmp).start()
        running.callback(broker.stop)
        server = HallServer(config, broker_url=broker.url,
                            database_url=database_url or f"sqlite:///{tmp}/hall.db").start()
        running.callback(server.stop)
        master, slave = os.openpty()
        running.callback(os.close, slave)
        running.callback(os.close, master)
        drain_stop = threading.Event()
        running.callback(drain_stop.set)

        def drain() -> None:                       # the screens' side of the line: read everything
            while not drain_stop.is_set():
                if select.select([master], [], [], 0.05)[0]:
                    try:
                        os.read(master, 65536)
                    except OSError:
                        return
        threading.Thread(target=drain, daemon=True).start()
        port = serial.Serial(os.ttyname(slave), baudrate=9600, timeout=0)
        running.callback(port.close)
        links = {}
        for device in ("kiosk-1", "counter-1", "led-bridge-1", "screen-1"):
            links[device] = DeviceLink(config.hall.id, device, broker.url).connect()
            running.callback(links[device].close)
        led = LedBridge(config, links["led-bridge-1"], port)
        led_seen: dict[str, float] = {}
        bus = next(iter(led.buses.values()))
        bus.on_written = lambda _address, text, at: led_seen.setdefault(text.lines[0], at)
        led.start()
        running.callback(led.stop)

        screen = HallScreen(QtLink(links["screen-1"]), config.hall.name)
        running.callback(screen.close)
        screen.resize(1920, 1080)
        screen.show()
        screen_seen: dict[str, float] = {}
        original_render = screen._render_calls

        def traced_render() -> None:
            original_render()
            screen_seen[screen.call.text()] = time.perf_counter()
        screen._render_calls = traced_render

        voice_seen: dict[str, float] = {}
        voice = CallVoice(clips, player=[])           # no sound card needed: the start is what is timed
        running.callback(voice.close)
        voice.on_start = lambda call: voice_seen.setdefault(call.number, time.perf_counter())
        CallAnnouncer(links["screen-1"], voice).start()
        return _time_calls(app, links, led_seen, screen_seen, voice_seen, calls, database_url)


def _time_calls(app, links: dict, led_seen: dict, screen_seen: dict, voice_seen: dict,   # noqa: ANN001
                calls: int, database_url: str | None) -> dict:
    """Issue `calls` tickets, then call them one by one and time each call on every path."""
    kiosk, counter = links["kiosk-1"], links["counter-1"]
    counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
    numbers = []
    for _ in range(calls):
        numbers.append(kiosk.request({"type": "ticket.issue", "category": "social"})["result"]["ticket"]["number"])
    led_ms, screen_ms, voice_ms = [], [], []
    for number in numbers:
        start = time.perf_counter()
        counter.client.publish(counter.topics.command(counter.device_id),
                               f'{{"id": "bench-{number}", "type": "window.call_next", "window": "w1"}}', qos=1)
        deadline = start + 5
        led_at = screen_at = voice_at = None
        while time.perf_counter() < deadline and None in (led_at, screen_at, voice_at):
            app.processEvents()
            if led_at is None:
                led_at = led_seen.get(f"请 {number} 号")
            if screen_at is None and number in screen_seen:
                screen_at = screen_seen[number]
            if voice_at is None and number in voice_seen:
                voice_at = voice_seen[number]
            time.sleep(0.0002)
        if None in (led_at, screen_at, voice_at):
            raise RuntimeError(f"call {number} did not arrive everywhere within 5 s")
        led_ms.append(led_at - start)
        screen_ms.append(screen_at - start)
        voice_ms.append(voice_at - start)
    return {"calls": calls, "machine": machine(), "broker": "mosquitto",
            "database": "postgresql" if database_url and database_url.startswith("postgresql") else "sqlite",
            "led": summarise(led_ms), "screen": summarise(screen_ms), "voice": summarise(voice_ms)}
