"""`hall counter`: the counter terminal as a program, and `--screenshots DIR` for each state.

    hall counter --config hall.toml --window 3 [--device counter-3] [--broker mqtt://…] [--fullscreen]
    hall counter --screenshots DIR       logged out, idle, serving, accepting, transfer, paused, locked, disconnected
"""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from govhall.config import Config, ConfigError, device_credentials

SIZE = (1366, 768)            # the usual counter PC screen


def find_window(config: Config, window: str):   # noqa: ANN201 - a WindowConfig
    """`--window` by id (w3) or by the number on the sign (3)."""
    found = config.window(window) or next((w for w in config.windows if str(w.number) == window), None)
    if found is None:
        raise ConfigError(f"no window {window!r} (give its id or its number)")
    return found


def counter_for(config: Config, window_id: str, device: str | None) -> str:
    if device is not None:
        d = config.device(device)
        if d is None or d.role.value != "counter" or d.window != window_id:
            raise ConfigError(f"devices: {device!r} is not the counter of window {window_id}")
        return device
    found = next((d.id for d in config.devices if d.role.value == "counter" and d.window == window_id), None)
    if found is None:
        raise ConfigError(f"devices: no counter for window {window_id}; add one with role = \"counter\"")
    return found


def make_counter(config: Config, qlink, window_id: str, printer=None):   # noqa: ANN001, ANN201
    from counter.qt_counter import CounterWindow
    return CounterWindow(qlink, window_id, windows=[(w.id, w.name) for w in config.windows],
                         categories=[(c.id, c.name) for c in config.categories],
                         lock_minutes=config.counter.lock_minutes,
                         matters=[{"id": m.id, "name": m.name, "materials": m.materials} for m in config.matters],
                         printer=printer, hall_name=config.hall.name)


def run_counter(config: Config, window: str, broker_url: str, *, device: str | None = None,
                fullscreen: bool = False) -> int:
    from PySide6.QtWidgets import QApplication

    from govhall.link import DeviceLink
    from kiosk.qtlink import QtLink

    w = find_window(config, window)
    device_id = counter_for(config, w.id, device)
    app = QApplication.instance() or QApplication([])
    link = DeviceLink(config.hall.id, device_id, broker_url, **device_credentials(config, device_id)).connect()
    printer = None
    url = config.device(device_id).printer
    if url:
        from hardware.printer import open_printer
        printer = open_printer(url)          # the window's receipt printer (收件回执)
    counter = make_counter(config, QtLink(link), w.id, printer)
    if fullscreen:
        counter.showFullScreen()
    else:
        counter.resize(*SIZE)
        counter.show()
    try:
        return app.exec()
    finally:
        link.close()


def _wait(app, predicate, timeout: float = 5.0) -> None:   # noqa: ANN001
    end = time.monotonic() + timeout
    while time.monotonic() < end and not predicate():
        app.processEvents()
        time.sleep(0.01)
    if not predicate():
        raise TimeoutError("the counter screen did not reach the state to photograph")


def screenshots(out_dir: str | Path) -> list[Path]:
    """Run a small hall in this process and save the counter in each state as a PNG."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    from govhall.link import DeviceLink
    from hallserver.broker import EmbeddedBroker
    from hallserver.demo import demo_config
    from hallserver.server import HallServer
    from kiosk.qtlink import QtLink

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    config = demo_config(with_hours=False)
    broker = EmbeddedBroker().start()
    tmp = tempfile.TemporaryDirectory(prefix="govhall-counter-shots-")
    server = HallServer(config, broker_url=broker.url, database_url=f"sqlite:///{tmp.name}/hall.db").start()
    kiosk = DeviceLink(config.hall.id, "kiosk-1", broker.url).connect()
    link = DeviceLink(config.hall.id, "counter-1", broker.url).connect()
    saved: list[Path] = []
    try:
        for category, extra in (("social", {"birth_date": "1950-05-01"}), ("residence", {}), ("social", {})):
            kiosk.request({"type": "ticket.issue", "category": category, **extra})
        counter = make_counter(config, QtLink(link), "w1")
        counter.setFixedSize(*SIZE)
        counter.show()

        def save(name: str) -> None:
            for _ in range(20):
                app.processEvents()
                time.sleep(0.01)
            path = out / f"counter-{name}.png"
            counter.grab().save(str(path))
            saved.append(path)
        _wait(app, lambda: counter.state is not None)
        counter.staff_input.setText("s001")
        save("logged-out")
        counter.login()
        _wait(app, lambda: counter.status == "idle" and counter.queues.text() != "—")
        save("idle")
        counter.press("call")
        _wait(app, lambda: counter.status == "serving")
        save("serving")
        counter.press("accept")
        counter.matter_box.setCurrentIndex(0)
        counter.material_rows[-1][1].setChecked(False)
        save("accepting")
        counter._close_panel()
        counter.press("transfer")
        save("transfer")
        counter._close_panel()
        counter.press("complete")
        _wait(app, lambda: counter.status == "idle")
        counter.press("pause")
        counter._panel_confirm()
        _wait(app, lambda: counter.status == "paused")
        save("paused")
        counter._lock()
        save("locked")
        counter.locked = False
        counter._on_connection(False)
        save("disconnected")
        link.close()
        counter.close()
    finally:
        kiosk.close()
        server.stop()
        broker.stop()
        tmp.cleanup()
    return saved
