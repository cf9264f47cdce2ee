"""`hall screen` (the hall screen, optionally speaking the calls) and `hall voice` (the calls
spoken on a machine of its own), and `hall screen --screenshots DIR`.

    hall screen --config hall.toml [--device screen-1] [--voice] [--fullscreen]
    hall voice --config hall.toml [--device screen-1]        speak every call, no window
    hall voice --build-clips DIR                              make the voice clips (install time)
"""
from __future__ import annotations

import logging
import os
import tempfile
import time
from collections import deque
from pathlib import Path

from govhall import contract as c
from govhall.config import Config
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
    return DeviceLink(config.hall.id, device, broker_url, username=config.broker.username,
                      password=config.broker.password).connect()


def run_screen(config: Config, device: str, broker_url: str, *, voice: bool = False, clips: str | None = None,
               fullscreen: bool = False) -> int:
    from PySide6.QtWidgets import QApplication

    from kiosk.qt_hall_screen import HallScreen
    from kiosk.qtlink import QtLink
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
    import signal
    import threading
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


def screenshots(out_dir: str | Path) -> list[Path]:
    """Run a small hall in this process and save the hall screen as PNGs."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from hallserver.broker import EmbeddedBroker
    from hallserver.demo import demo_config
    from hallserver.server import HallServer
    from kiosk.qt_hall_screen import HallScreen
    from kiosk.qtlink import QtLink

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    config = demo_config(with_hours=False)
    broker = EmbeddedBroker().start()
    tmp = tempfile.TemporaryDirectory(prefix="govhall-screen-shots-")
    server = HallServer(config, broker_url=broker.url, database_url=f"sqlite:///{tmp.name}/hall.db").start()
    links = {d: DeviceLink(config.hall.id, d, broker.url).connect()
             for d in ("kiosk-1", "counter-1", "counter-2", "counter-3", "screen-1")}
    saved: list[Path] = []

    def settle(seconds: float = 0.4) -> None:
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            app.processEvents()
            time.sleep(0.01)
    try:
        screen = HallScreen(QtLink(links["screen-1"]), config.hall.name,
                            notice="请携带身份证原件办理业务；过号请到取号机重新排队，30 分钟内有效。")
        screen.setFixedSize(*SIZE)
        screen.show()
        settle()
        saved.append(out / "screen-welcome.png")
        screen.grab().save(str(saved[-1]))
        for category in ("social", "social", "business", "residence", "social", "business", "social", "social"):
            links["kiosk-1"].request({"type": "ticket.issue", "category": category})
        for window, counter, staff in (("w1", "counter-1", "s001"), ("w2", "counter-2", "s002"),
                                       ("w3", "counter-3", "s003")):
            links[counter].request({"type": "window.login", "window": window, "staff": staff})
        for window, counter in (("w1", "counter-1"), ("w2", "counter-2"), ("w3", "counter-3"),
                                ("w1", "counter-1"), ("w3", "counter-3"), ("w2", "counter-2")):
            links[counter].request({"type": "window.call_next", "window": window})
        settle()
        saved.append(out / "screen-calls.png")
        screen.grab().save(str(saved[-1]))
        screen._on_message(screen.qlink.topics.server_state, {"online": False})
        settle(0.2)
        saved.append(out / "screen-offline.png")
        screen.grab().save(str(saved[-1]))
        screen.close()
    finally:
        for link in links.values():
            link.close()
        server.stop()
        broker.stop()
        tmp.cleanup()
    return saved
