"""The LED bridge: retained window state in, serial frames out.

It subscribes to every window's retained state, so after a restart or a broker reconnect
each screen is rewritten from the truth at once. Each serial port (one RS-485 bus, several
screens on it) has a writer thread of its own that sends the newest text for each address,
so a slow or dead bus never holds up MQTT or another bus. A port that fails (adapter
unplugged) is closed and opened again with back-off, and reported as a device alert
(`led_port`) until it works again; the screens then get the latest text.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

import serial

from govhall import contract as c
from govhall.config import Config
from govhall.link import DeviceLink
from hardware.led import MODE_SCROLL, MODE_STATIC, PROTOCOLS, LedProtocol, ShowText

log = logging.getLogger("hardware.led_bridge")

PAUSE_TEXT = {"away": "暂时离开", "meeting": "会议", "meal": "用餐", "other": "暂停服务"}


def window_text(state: c.WindowState, category_names: dict[str, str], brightness: int = 16,
                idle_scroll: bool = True) -> ShowText:
    """What a window's LED screen shows for a window state."""
    if state.status == c.WindowStatus.SERVING and state.ticket is not None:
        return ShowText((f"请 {state.ticket.number} 号", f"到 {state.number} 号窗口办理"), MODE_STATIC, brightness)
    if state.status == c.WindowStatus.PAUSED:
        reason = PAUSE_TEXT.get(state.pause_reason or "other", "暂停服务")
        return ShowText((state.name, "暂停服务" if reason == "暂停服务" else f"暂停服务（{reason}）"),
                        MODE_STATIC, brightness)
    if state.status == c.WindowStatus.CLOSED:
        return ShowText((state.name, "暂停服务"), MODE_STATIC, brightness)
    served = " ".join(category_names.get(x, x) for x in state.categories)
    first = f"{state.name} {state.staff.name}" if state.staff else state.name      # who is on duty
    return ShowText((first, served), MODE_SCROLL if idle_scroll else MODE_STATIC, brightness)


class LedBus:
    """One serial port with its screens: the newest text per address, written by one thread."""

    def __init__(self, url: str, open_port: Callable[[], serial.SerialBase], protocol: LedProtocol,
                 on_health: Callable[[str, bool, str], None]) -> None:
        self.url, self.open_port, self.protocol, self.on_health = url, open_port, protocol, on_health
        self.port: serial.SerialBase | None = None
        self.frames_written = 0
        self.last_write_done = 0.0
        self.healthy = True
        self.on_written: Callable[[int, ShowText, float], None] | None = None   # the benchmark's probe
        self._pending: dict[int, ShowText] = {}
        self._cond = threading.Condition()
        self._stop = False
        self._thread = threading.Thread(target=self._write_loop, name=f"led-writer-{url}", daemon=True)

    def start(self) -> LedBus:
        self._thread.start()
        return self

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def show(self, address: int, text: ShowText) -> None:
        with self._cond:
            self._pending[address] = text
            self._cond.notify()

    def _health(self, ok: bool, detail: str = "") -> None:
        if ok != self.healthy:
            self.healthy = ok
            self.on_health(self.url, ok, detail)

    def _write_loop(self) -> None:
        backoff = 0.5
        while True:
            with self._cond:
                while not self._pending and not self._stop:
                    self._cond.wait()
                if self._stop:
                    return
                address, text = next(iter(self._pending.items()))
                del self._pending[address]
            try:
                if self.port is None:
                    self.port = self.open_port()
                self.port.write(self.protocol.show(address, text))
                self.port.flush()
                self.frames_written += 1
                self.last_write_done = time.perf_counter()
                if self.on_written is not None:
                    self.on_written(address, text, self.last_write_done)
                backoff = 0.5
                self._health(True)
            except (serial.SerialException, OSError) as exc:
                log.error("LED port %s failed (%s); opening it again in %.1f s", self.url, exc, backoff)
                self._health(False, str(exc)[:120])
                with self._cond:
                    self._pending.setdefault(address, text)      # unless a newer text came meanwhile
                if self.port is not None:
                    try:
                        self.port.close()
                    except (serial.SerialException, OSError):
                        pass
                    self.port = None
                with self._cond:
                    self._cond.wait_for(lambda: self._stop, timeout=backoff)
                backoff = min(backoff * 2, 30.0)


class LedBridge:
    def __init__(self, config: Config, link: DeviceLink, port: serial.SerialBase | None = None,
                 protocol: LedProtocol | None = None) -> None:
        """`port`: an open port for the default bus (`led.port`), as the demo's `loop://`; without
        it every bus is opened by its URL (and opened again after a failure)."""
        self.config, self.link = config, link
        if protocol is None and config.led.protocol not in PROTOCOLS:
            raise ValueError(f"led.protocol: unknown LED protocol {config.led.protocol!r}; "
                             f"known: {', '.join(sorted(PROTOCOLS))}")
        self.protocol = protocol or PROTOCOLS[config.led.protocol]()
        self.category_names = {x.id: x.name for x in config.categories}
        self.where: dict[str, tuple[str, int]] = {}       # window -> (port url, address)
        for w in config.windows:
            if w.led_address is not None:
                self.where[w.id] = (w.led_port or config.led.port, w.led_address)
        self.buses: dict[str, LedBus] = {}
        self._down: dict[str, str] = {}
        self._lock = threading.Lock()
        for url in sorted({url for url, _ in self.where.values()}):
            given = port if port is not None and url == config.led.port else None
            self.buses[url] = LedBus(url, self._opener(url, given), self.protocol, self._on_health)

    def _opener(self, url: str, given: serial.SerialBase | None) -> Callable[[], serial.SerialBase]:
        def open_port() -> serial.SerialBase:
            if given is not None:
                return given
            return serial.serial_for_url(url, baudrate=self.config.led.baudrate, timeout=0)
        return open_port

    # the demo and older tests read these of the one bus
    @property
    def frames_written(self) -> int:
        return sum(b.frames_written for b in self.buses.values())

    @property
    def last_write_done(self) -> float:
        return max((b.last_write_done for b in self.buses.values()), default=0.0)

    def start(self) -> LedBridge:
        for bus in self.buses.values():
            bus.start()
        self.link.subscribe(self.link.topics.all_window_states, self._on_state)
        return self

    def stop(self) -> None:
        for bus in self.buses.values():
            bus.stop()

    def _on_state(self, _topic: str, data: dict) -> None:
        try:
            state = c.WindowState.model_validate(data)
        except ValueError as exc:
            log.warning("ignored a bad window state: %s", str(exc)[:200])
            return
        found = self.where.get(state.window)
        if found is None:
            return
        url, address = found
        self.buses[url].show(address, window_text(state, self.category_names, self.config.led.brightness,
                                                  self.config.led.idle_scroll))

    def _on_health(self, url: str, ok: bool, detail: str) -> None:
        """A bus failed or came back: the manager's device alert (component led_port)."""
        with self._lock:
            if ok:
                self._down.pop(url, None)
            else:
                self._down[url] = detail
            down = dict(self._down)
        condition = "ok" if not down else "offline"
        text = "；".join(f"{u}：{why}" for u, why in sorted(down.items()))
        self.link.report_soon("led_port", condition, text)
