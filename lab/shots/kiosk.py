"""The kiosk's `--screenshots DIR`: every kiosk screen, in a small hall run in this process."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from govhall.config import Config, parse_config
from govhall.link import DeviceLink
from hallserver.broker import EmbeddedBroker, free_port
from hallserver.server import HallServer
from kiosk.app import LANDSCAPE, PORTRAIT


def showcase_config() -> Config:
    """The demo hall plus a department with several matters (two levels on the kiosk) and
    English names: what the screenshots show."""
    from lab.demo import demo_config  # loads pyserial: only when used
    data = demo_config(with_hours=False).model_dump(mode="json")
    english = {"social": "Social & medical insurance", "business": "Business start-up", "residence": "Household & ID"}
    for cat in data["categories"]:
        cat["name_en"] = english.get(cat["id"], "")
    estate = [("estate_transfer", "转移登记", "Transfer registration", "D"),
              ("estate_mortgage", "抵押登记", "Mortgage registration", "E"),
              ("estate_query", "查询与证明", "Records and certificates", "F")]
    for cid, name, name_en, prefix in estate:
        data["categories"].append({"id": cid, "name": name, "name_en": name_en, "prefix": prefix,
                                   "group": "不动产登记", "group_en": "Real estate"})
    data["windows"].append({"id": "w4", "number": 4, "categories": [c[0] for c in estate], "led_address": 4})
    data["devices"].append({"id": "counter-4", "role": "counter", "window": "w4"})
    return parse_config(data, "<showcase>")


def _settle(app, seconds: float = 0.25) -> None:   # noqa: ANN001 - a QApplication
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
    from PySide6.QtWidgets import QApplication  # Qt: loaded by the device programs only

    from kiosk.qt_kiosk import KioskWindow, categories_from_config  # loads Qt: only when used
    from kiosk.qtlink import QtLink  # loads Qt: only when used

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    config = showcase_config()
    broker = EmbeddedBroker().start()
    tmp = tempfile.TemporaryDirectory(prefix="govhall-shots-")
    server = HallServer(config, broker_url=broker.url, database_url=f"sqlite:///{tmp.name}/hall.db",
                        http=("127.0.0.1", free_port())).start()
    links = [DeviceLink(config.hall.id, d, broker.url).connect() for d in ("kiosk-1", "counter-1", "counter-4")]
    saved: list[Path] = []
    overflow: list[str] = []         # screens whose content does not fit the screen
    try:
        for category in ("social", "social", "social", "estate_transfer"):
            links[0].request({"type": "ticket.issue", "category": category})
        links[1].request({"type": "window.login", "window": "w1", "staff": "s001"})
        links[2].request({"type": "window.login", "window": "w4", "staff": "s003"})
        runs = [(s, m, "zh") for s in ("portrait", "landscape") for m in ("standard", "large")]
        runs += [("portrait", "standard", "en"), ("landscape", "standard", "en")]
        for size_name, mode, lang in runs:
            size = PORTRAIT if size_name == "portrait" else LANDSCAPE
            kiosk = KioskWindow(QtLink(DeviceLink(config.hall.id, "kiosk-2", broker.url).connect()),
                                categories_from_config(config), config.hall.name)
            kiosk.setFixedSize(*size)                 # a kiosk screen does not grow: what does not fit is cut
            kiosk.show()
            if mode == "large":
                kiosk.toggle_large()
            if lang == "en":
                kiosk.toggle_language()
            _wait(app, lambda k=kiosk: "social" in k.queue and "social" in k.buttons)
            suffix = f"{size_name}-{mode}" + ("-en" if lang == "en" else "")

            def save(screen: str, k=kiosk, suffix=suffix) -> None:
                _settle(app)
                path = out / f"kiosk-{screen}-{suffix}.png"
                need = k.layout().totalMinimumSize()
                if need.width() > k.width() or need.height() > k.height():
                    overflow.append(f"{path.name}: needs {need.width()}×{need.height()}")
                k.grab().save(str(path))
                saved.append(path)
            save("home")
            kiosk.buttons["group:不动产登记"].click()
            save("group")
            kiosk.buttons["estate_query"].click()
            _wait(app, lambda k=kiosk: k.stack.currentIndex() == 2)
            save("ticket")
            if lang == "zh":
                kiosk._offer_to_keep("号票纸已用完")           # what the citizen sees when the print failed
                save("ticket-unprinted")
                kiosk.keep_number()
                kiosk.show_choices()
                kiosk._on_printer("status", {"tag": "issue", "command": {"type": "ticket.issue", "category": "social"},
                                             "ready": False, "problem": "号票纸已用完", "condition": "paper_out"})
                save("printer-down")
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
    if overflow:
        raise ScreenOverflow("; ".join(overflow))
    return saved


class ScreenOverflow(AssertionError):
    """A kiosk screen's content is larger than the screen: part of it would be cut off."""
