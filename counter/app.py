"""`hall counter`: the counter terminal as a program, and `--screenshots DIR` for each state.

    hall counter --config hall.toml --window 3 [--device counter-3] [--broker mqtt://…] [--fullscreen]
    hall counter --screenshots DIR       logged out, idle, serving, accepting, transfer, paused, locked, disconnected
"""
from __future__ import annotations

from govhall.config import Config, ConfigError, device_credentials, find_window
from govhall.link import DeviceLink

SIZE = (1366, 768)            # the usual counter PC screen


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
    from counter.qt_counter import CounterWindow  # loads Qt: only when used
    return CounterWindow(qlink, window_id, windows=[(w.id, w.name) for w in config.windows],
                         categories=[(c.id, c.name) for c in config.categories],
                         lock_minutes=config.counter.lock_minutes,
                         matters=[{"id": m.id, "name": m.name, "materials": m.materials} for m in config.matters],
                         printer=printer, hall_name=config.hall.name)


def run_counter(config: Config, window: str, broker_url: str, *, device: str | None = None,
                fullscreen: bool = False) -> int:
    from PySide6.QtWidgets import QApplication  # Qt: loaded by the device programs only

    from kiosk.qtlink import QtLink  # loads Qt: only when used

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
