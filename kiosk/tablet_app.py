"""`hall tablet`: the rating tablet of a window, and `--screenshots DIR`.

    hall tablet --config hall.toml --window 3 [--device tablet-3] [--broker mqtt://…] [--fullscreen]
    hall tablet --screenshots DIR       idle, rating, reasons, thanks, not rated, offline
"""
from __future__ import annotations

from pathlib import Path

from govhall.config import Config, ConfigError, device_credentials

SIZE = (1280, 800)          # a 10-inch tablet, landscape


def make_tablet(config: Config, qlink, window_id: str):   # noqa: ANN001, ANN201
    from kiosk.qt_tablet import TabletWindow
    return TabletWindow(qlink, window_id,
                        staff={s.id: {"name": s.name, "post": s.post, "photo": s.photo} for s in config.staff},
                        category_names={c.id: c.name for c in config.categories}, reasons=config.ratings.reasons,
                        timeout_seconds=config.ratings.tablet_timeout_seconds,
                        complaint_phone=config.ratings.complaint_phone)


def run_tablet(config: Config, window: str, broker_url: str, *, device: str | None = None,
               fullscreen: bool = False) -> int:
    from PySide6.QtWidgets import QApplication

    from counter.app import find_window
    from govhall.link import DeviceLink
    from kiosk.qtlink import QtLink
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


def screenshots(out_dir: str | Path) -> list[Path]:
    """A small hall inside this process; the tablet of window 1 in each of its screens."""
    from hallserver.demo import demo_config
    from kiosk.qtlink import QtLink
    from kiosk.shots import settle, small_hall
    out = Path(out_dir)
    config = demo_config(with_hours=False)
    config.staff[0].post = "社保综合受理岗"
    saved: list[Path] = []
    with small_hall(config, out) as hall:
        tablet = make_tablet(config, QtLink(hall.device("tablet-1")), "w1")
        tablet.setFixedSize(*SIZE)
        tablet.show()

        def save(name: str) -> None:
            settle()
            saved.append(out / f"tablet-{name}.png")
            tablet.grab().save(str(saved[-1]))
        counter, kiosk = hall.device("counter-1"), hall.device("kiosk-1")
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        for _ in range(2):
            kiosk.request({"type": "ticket.issue", "category": "social"})
        counter.request({"type": "window.call_next", "window": "w1"})
        counter.request({"type": "window.complete", "window": "w1"})
        settle()
        tablet.choose(5)
        settle()
        tablet._back.stop()
        tablet.stack.setCurrentIndex(0)
        save("idle")
        counter.request({"type": "window.call_next", "window": "w1"})
        counter.request({"type": "window.complete", "window": "w1"})
        settle()
        save("rating")
        tablet.choose(2)
        tablet.reason_boxes[1].setChecked(True)
        save("reasons")
        tablet.submit()
        settle()
        save("thanks")
        tablet._not_rated()
        save("not-rated")
        tablet.stack.setCurrentIndex(0)
        tablet._on_message(tablet.qlink.topics.server_state, {"online": False})
        save("offline")
        tablet.qlink.link.close()
        tablet.close()
    return saved
