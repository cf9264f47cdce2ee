"""`hall tablet`: the rating tablet of a window, and `--screenshots DIR`.

    hall tablet --config hall.toml --window 3 [--device tablet-3] [--broker mqtt://…] [--fullscreen]
    hall tablet --screenshots DIR       idle, rating, reasons, thanks, not rated, offline
"""
from __future__ import annotations

from govhall.config import Config, ConfigError, device_credentials, find_window
from govhall.link import DeviceLink

SIZE = (1280, 800)          # a 10-inch tablet, landscape


def make_tablet(config: Config, qlink, window_id: str):   # noqa: ANN001, ANN201
    from kiosk.qt_tablet import TabletWindow  # loads Qt: only when used
    return TabletWindow(qlink, window_id,
                        staff={s.id: {"name": s.name, "post": s.post, "photo": s.photo} for s in config.staff},
                        category_names={c.id: c.name for c in config.categories}, reasons=config.ratings.reasons,
                        timeout_seconds=config.ratings.tablet_timeout_seconds,
                        complaint_phone=config.ratings.complaint_phone, complaint_days=config.complaints.days)


def run_tablet(config: Config, window: str, broker_url: str, *, device: str | None = None,
               fullscreen: bool = False) -> int:
    from PySide6.QtWidgets import QApplication  # Qt: loaded by the device programs only

    from kiosk.qtlink import QtLink  # loads Qt: only when used
    w = find_window(config, window)
    device = device or next((d.id for d in config.devices if d.role.value == "tablet" and d.window == w.id), None)
    if device is None:
        raise ConfigError(f"devices: no tablet for window {w.id}; add one with role = \"tablet\"")
    app = QApplication.instance() or QApplication([])
    link = DeviceLink(config.hall.id, device, broker_url, **device_credentials(config, device)).connect()
    tablet = make_tablet(config, QtLink(link), w.id)
    if fullscreen:
        tablet.showFullScreen()
    else:
        tablet.resize(*SIZE)
        tablet.show()
    try:
        return app.exec()
    finally:
        link.close()
