"""`hall kiosk`: the ticket kiosk as a program, and `--screenshots DIR` for every screen.

    hall kiosk --config hall.toml --device kiosk-1 [--printer /dev/ttyUSB0] [--id-reader /dev/ttyUSB1]
    hall kiosk --screenshots DIR      every screen, portrait and landscape, standard and 适老化
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from govhall.config import Config

PORTRAIT, LANDSCAPE = (1080, 1920), (1920, 1080)


def _categories(config: Config) -> list[tuple[str, str, str]]:
    return [(c.id, c.name, c.prefix) for c in config.categories]


def run_kiosk(config: Config, device: str, broker_url: str, *, printer_url: str | None = None,
              id_reader_url: str | None = None, fullscreen: bool = False) -> int:
    import serial
    from PySide6.QtWidgets import QApplication

    from govhall.link import DeviceLink
    from hardware.idcard import IdCardReader
    from hardware.printer import TicketPrinter
    from kiosk.qt_kiosk import KioskWindow
    from kiosk.qtlink import QtLink

    app = QApplication.instance() or QApplication([])
    link = DeviceLink(config.hall.id, device, broker_url, username=config.broker.username,
                      password=config.broker.password).connect()
    printer = TicketPrinter(serial.serial_for_url(printer_url, baudrate=9600)) if printer_url else None
    reader = IdCardReader(serial.serial_for_url(id_reader_url, baudrate=115200)) if id_reader_url else None
    window = KioskWindow(QtLink(link), _categories(config), config.hall.name, printer=printer, id_reader=reader)
    if fullscreen:
        window.showFullScreen()
    else:
        window.resize(*LANDSCAPE)
        window.show()
    try:
        return app.exec()
    finally:
        link.close()


def _settle(app, seconds: float = 0.3) -> None:   # noqa: ANN001 - a QApplication
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def _wait(app, predicate, timeout: float = 5.0) -> None:   # noqa: ANN001
    end = time.monotonic() + timeout
    while time.monotonic() < end and not predicate():
        app.processEvents()
        time.sleep(0.01)


def screenshots(out_dir: str | Path) -> list[Path]:
    """Run a small hall in this process and save every kiosk screen as a PNG."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from govhall.link import DeviceLink
    from hallserver.broker import EmbeddedBroker
    from hallserver.demo import demo_config
    from hallserver.server import HallServer
    from kiosk.qt_kiosk import KioskWindow
    from kiosk.qtlink import QtLink

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    config = demo_config(with_hours=False)
    broker = EmbeddedBroker().start()
    tmp = tempfile.TemporaryDirectory(prefix="govhall-shots-")
    server = HallServer(config, broker_url=broker.url, database_url=f"sqlite:///{tmp.name}/hall.db").start()
    links = [DeviceLink(config.hall.id, d, broker.url).connect() for d in ("kiosk-1", "counter-1")]
    saved: list[Path] = []
    try:
        for _ in range(3):
            links[0].request({"type": "ticket.issue", "category": "social"})
        links[1].request({"type": "window.login", "window": "w1", "staff": "s001"})
        for size_name, size in (("portrait", PORTRAIT), ("landscape", LANDSCAPE)):
            for large in (False, True):
                kiosk = KioskWindow(QtLink(DeviceLink(config.hall.id, "kiosk-2", broker.url).connect()),
                                    _categories(config), config.hall.name)
                kiosk.resize(*size)
                kiosk.show()
                if large:
                    kiosk.toggle_large()
                mode = "large" if large else "standard"
                _wait(app, lambda k=kiosk: "等候" in k.buttons["social"].text())

                def save(screen: str, k=kiosk, s=size_name, m=mode) -> None:
                    _settle(app)
                    path = out / f"kiosk-{screen}-{s}-{m}.png"
                    k.grab().save(str(path))
                    saved.append(path)
                save("home")
                kiosk.buttons["social"].click()
                _wait(app, lambda k=kiosk: k.stack.currentIndex() == 1)
                save("ticket")
                kiosk.show_code_entry()
                for key in "12345":
                    kiosk.press(key)
                save("appointment-code")
                kiosk.show_choices()
                kiosk._on_message(kiosk.qlink.topics.server_state, {"online": False})
                save("offline")
                kiosk.qlink.link.close()
                kiosk.close()
                kiosk.deleteLater()
                _settle(app, 0.1)
    finally:
        for link in links:
            link.close()
        server.stop()
        broker.stop()
        tmp.cleanup()
    return saved
