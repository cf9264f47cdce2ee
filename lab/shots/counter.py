"""The counter's `--screenshots DIR`: every screen of the counter terminal."""
from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from counter.app import SIZE, make_counter
from govhall.link import DeviceLink
from hallserver.broker import EmbeddedBroker
from hallserver.server import HallServer


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
    from PySide6.QtWidgets import QApplication  # Qt: loaded by the device programs only

    from kiosk.qtlink import QtLink  # loads Qt: only when used
    from lab.demo import demo_config  # loads pyserial: only when used

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
        counter.press("inquiry")                      # 首问登记: a question, handed on to window 2
        counter.question.setText("社保卡丢了，在哪里补办？")
        counter.target.setCurrentIndex(1)
        save("inquiry")
        counter._close_panel()
        other = DeviceLink(config.hall.id, "counter-2", broker.url).connect()
        try:                                          # window 2 hands one to window 1: it shows at the side
            other.request({"type": "window.login", "window": "w2", "staff": "s002"})
            other.request({"type": "inquiry.record", "window": "w2", "question": "营业执照变更要带什么材料？",
                           "to_window": "w1"})
            _wait(app, lambda: bool(counter.inquiries))
            save("inquiry-received")
        finally:
            other.close()
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
