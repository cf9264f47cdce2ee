"""`hall screen` (the hall screen, optionally speaking the calls) and `hall voice` (the calls
spoken on a machine of its own), and `hall screen --screenshots DIR`.

    hall screen --config hall.toml [--device screen-1] [--voice] [--fullscreen]
    hall voice --config hall.toml [--device screen-1]        speak every call, no window
    hall voice --build-clips DIR                              make the voice clips (install time)
"""
from __future__ import annotations

import logging
from collections import deque
from pathlib import Path

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
    """A small hall inside this process; the hall screen welcoming, with calls, and offline."""
    from hallserver.demo import demo_config
    from kiosk.qt_hall_screen import HallScreen
    from kiosk.qtlink import QtLink
    from kiosk.shots import settle, small_hall
    out = Path(out_dir)
    config = demo_config(with_hours=False)
    saved: list[Path] = []
    with small_hall(config, out) as hall:
        screen = HallScreen(QtLink(hall.device("screen-1")), config.hall.name,
                            notice="请携带身份证原件办理业务；过号请到取号机重新排队，30 分钟内有效。")
        screen.setFixedSize(*SIZE)
        screen.show()

        def save(name: str, seconds: float = 0.4) -> None:
            settle(seconds)
            saved.append(out / f"screen-{name}.png")
            screen.grab().save(str(saved[-1]))
        save("welcome")
        for category in ("social", "social", "business", "residence", "social", "business", "social", "social"):
            hall.device("kiosk-1").request({"type": "ticket.issue", "category": category})
        for window, staff in (("w1", "s001"), ("w2", "s002"), ("w3", "s003")):
            hall.device(f"counter-{window[1]}").request({"type": "window.login", "window": window, "staff": staff})
        for window in ("w1", "w2", "w3", "w1", "w3", "w2"):
            hall.device(f"counter-{window[1]}").request({"type": "window.call_next", "window": window})
        save("calls")
        screen._on_message(screen.qlink.topics.server_state, {"online": False})
        save("offline", 0.2)
        screen.qlink.link.close()
        screen.close()
    return saved
