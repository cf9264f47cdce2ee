"""`hall screen` (the hall screen, optionally speaking the calls) and `hall voice` (the calls
spoken on a machine of its own), and `hall screen --screenshots DIR`.

    hall screen --config hall.toml [--device screen-1] [--voice] [--fullscreen]
    hall voice --config hall.toml [--device screen-1]        speak every call, no window
    hall voice --build-clips DIR                              make the voice clips (install time)
"""
from __future__ import annotations

import logging
import signal
import threading
from collections import deque

from govhall import contract as c
from govhall.config import Config, device_credentials
from govhall.link import DeviceLink
from hardware.call_voice import Call, CallVoice, load_or_build_clips

log = logging.getLogger("kiosk.screen_app")
SIZE = (1920, 1080)


class CallAnnouncer:
    """Every ticket.called event, spoken once, in the order they come (a QoS 1 repeat is dropped)."""

    def __init__(self, link: DeviceLink, voice: CallVoice) -> None:
        self.link, self.voice = link, voice
        self._seen: deque[tuple] = deque(maxlen=256)

    def start(self) -> CallAnnouncer:
        self.link.subscribe(self.link.topics.event("ticket.called"), self._on_call)
        return self

    def _on_call(self, _topic: str, data: dict) -> None:
        try:
            called = c.TicketCalled.model_validate(data)
        except ValueError as exc:
            log.warning("ignored a bad call event: %s", str(exc)[:200])
            return
        key = (called.ticket.id, called.ticket.called_at, called.recall)
        if key in self._seen:
            return
        self._seen.append(key)
        self.voice.announce(Call(called.ticket.number, called.window_number, called.recall))


def _link(config: Config, device: str, broker_url: str) -> DeviceLink:
    return DeviceLink(config.hall.id, device, broker_url, **device_credentials(config, device)).connect()


def run_screen(config: Config, device: str, broker_url: str, *, voice: bool = False, clips: str | None = None,
               fullscreen: bool = False) -> int:
    from PySide6.QtWidgets import QApplication  # Qt: loaded by the device programs only

    from kiosk.qt_hall_screen import HallScreen  # loads Qt: only when used
    from kiosk.qtlink import QtLink  # loads Qt: only when used
    app = QApplication.instance() or QApplication([])
    link = _link(config, device, broker_url)
    speaker = None
    if voice:
        speaker = CallVoice(load_or_build_clips(clips or config.screen.clips or None))
        CallAnnouncer(link, speaker).start()
    screen = HallScreen(QtLink(link), config.hall.name, notice=config.screen.notice)
    if fullscreen:
        screen.showFullScreen()
    else:
        screen.resize(*SIZE)
        screen.show()
    try:
        return app.exec()
    finally:
        link.close()
        if speaker is not None:
            speaker.close()


def run_voice(config: Config, device: str, broker_url: str, clips: str | None = None) -> int:
    speaker = CallVoice(load_or_build_clips(clips or config.screen.clips or None))
    link = _link(config, device, broker_url)
    CallAnnouncer(link, speaker).start()
    stop = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: stop.set())
    stop.wait()
    link.close()
    speaker.close()
    return 0
