"""The LED bridge: retained window state in, serial frames out.

It subscribes to every window's retained state, so after a restart or a broker reconnect
each screen is rewritten from the truth at once. A writer thread owns the serial port and
sends the newest text for each address, so a slow bus never holds up MQTT.
"""
from __future__ import annotations

import logging
import threading
import time

import serial

from govhall import contract as c
from govhall.config import Config
from govhall.link import DeviceLink
from hardware.led import GovhallLedProtocol, LedProtocol, ShowText

log = logging.getLogger("hardware.led_bridge")

PAUSE_TEXT = {"away": "暂时离开", "meeting": "会议", "meal": "用餐", "other": "暂停服务"}


def window_text(state: c.WindowState, category_names: dict[str, str]) -> ShowText:
    """What a window's LED screen shows for a window state."""
    if state.status == c.WindowStatus.SERVING and state.ticket is not None:
        return ShowText((f"请 {state.ticket.number} 号", f"到 {state.number} 号窗口办理"))
    if state.status == c.WindowStatus.PAUSED:
        reason = PAUSE_TEXT.get(state.pause_reason or "other", "暂停服务")
        return ShowText((state.name, "暂停服务" if reason == "暂停服务" else f"暂停服务（{reason}）"))
    if state.status == c.WindowStatus.CLOSED:
        return ShowText((state.name, "暂停服务"))
    served = " ".join(category_names.get(x, x) for x in state.categories)
    return ShowText((state.name, served), mode=1)


class LedBridge:
    def __init__(self, config: Config, link: DeviceLink, port: serial.SerialBase,
                 protocol: LedProtocol | None = None) -> None:
        self.config = config
        self.link = link
        self.port = port
        self.protocol = protocol or GovhallLedProtocol()
        self.addresses = {w.id: w.led_address for w in config.windows if w.led_address is not None}
        self.category_names = {x.id: x.name for x in config.categories}
        self._pending: dict[int, ShowText] = {}
        self._cond = threading.Condition()
        self._stop = False
        self.frames_written = 0
        self.last_write_done: float = 0.0
        self._thread = threading.Thread(target=self._write_loop, name="led-writer", daemon=True)

    def start(self) -> LedBridge:
        self._thread.start()
        self.link.subscribe(self.link.topics.all_window_states, self._on_state)
        return self

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify()
        self._thread.join(timeout=5)

    def _on_state(self, _topic: str, data: dict) -> None:
        try:
            state = c.WindowState.model_validate(data)
        except ValueError as exc:
            log.warning("ignored a bad window state: %s", str(exc)[:200])
            return
        address = self.addresses.get(state.window)
        if address is None:
            return
        with self._cond:
            self._pending[address] = window_text(state, self.category_names)
            self._cond.notify()

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
                self.port.write(self.protocol.show(address, text))
                self.port.flush()
                self.frames_written += 1
                self.last_write_done = time.perf_counter()
                backoff = 0.5
            except (serial.SerialException, OSError) as exc:
                log.error("LED port %s failed (%s); retrying in %.1f s", self.port.name, exc, backoff)
                with self._cond:
                    self._pending.setdefault(address, text)
                time.sleep(backoff)
                backoff = min(backoff * 2, 30.0)
