"""The hall screen's `--screenshots DIR`."""
from __future__ import annotations

from pathlib import Path

from kiosk.screen_app import SIZE
from lab.shots.hall import settle, small_hall


def screenshots(out_dir: str | Path) -> list[Path]:
    """A small hall inside this process; the hall screen welcoming, with calls, and offline."""
    from kiosk.qt_hall_screen import HallScreen  # loads Qt: only when used
    from kiosk.qtlink import QtLink  # loads Qt: only when used
    from lab.demo import demo_config  # loads pyserial: only when used
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
