"""`make demo` on a display: the simulated morning runs in the background while the real Qt
windows show it — the hall screen, a kiosk you can tap for a ticket, and the counter terminal
of window 1 (its keys work, alongside the simulated staff member).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Callable
from typing import Any

from govhall.link import DeviceLink


def display_available() -> bool:
    """A screen to open windows on, and Qt to open them with."""
    if os.environ.get("QT_QPA_PLATFORM") == "offscreen":
        return False
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        return False
    # Qt aborts the whole process when its platform plugin cannot load (on X11 it needs the
    # Debian package libxcb-cursor0), so try it in a child process first.
    probe = "from PySide6.QtWidgets import QApplication; QApplication([])"
    try:
        run = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.TimeoutExpired):
        return False
    if run.returncode != 0:
        reason = next((line for line in run.stderr.splitlines() if "needed" in line or "Error" in line), "")
        print(f"(Qt cannot open windows here{': ' + reason.strip() if reason else ''})", flush=True)
        return False
    return True


def run_demo_gui(on_started: Callable[[Any], None], *, demo: Any = None, keep_open: bool = False,
                 stop: threading.Event | None = None, on_finished: Callable[[dict], None] | None = None,
                 **kwargs: Any) -> dict[str, Any]:
    """The demo with its Qt windows. `demo`: a HallDemo not yet started (else one is made from
    kwargs, and stopped here); `keep_open`: the windows stay after the simulated day, until they
    are closed or `stop` is set (Ctrl-C); `on_finished(result)` when the day is over."""
    from PySide6.QtCore import QObject, QTimer, Signal  # Qt: loaded by the device programs only
    from PySide6.QtWidgets import QApplication  # Qt: loaded by the device programs only

    from counter.qt_counter import CounterWindow  # loads Qt: only when used
    from kiosk.qt_hall_screen import HallScreen  # loads Qt: only when used
    from kiosk.qt_kiosk import KioskWindow  # loads Qt: only when used
    from kiosk.qtlink import QtLink  # loads Qt: only when used
    from lab.demo import HallDemo  # loads pyserial: only when used

    class Finished(QObject):
        done = Signal()

    app = QApplication.instance() or QApplication([])
    own_demo = demo is None
    demo = demo if demo is not None else HallDemo(**kwargs)
    links: list = []
    try:
        demo.start()
        config, hall = demo.config, demo.config.hall.id
        links = [DeviceLink(hall, d, demo.broker_url).connect() for d in ("screen-2", "kiosk-2", "desk-1")]
        screen = HallScreen(QtLink(links[0]), config.hall.name)
        kiosk = KioskWindow(QtLink(links[1]), [(c.id, c.name, c.prefix) for c in config.categories],
                            config.hall.name)
        desk = CounterWindow(QtLink(links[2]), "w1", windows=[(w.id, w.name) for w in config.windows],
                             categories=[(c.id, c.name) for c in config.categories],
                             staff=[(s.id, s.name) for s in config.staff])
        for widget, size, pos in ((screen, (1100, 520), (0, 0)), (kiosk, (700, 620), (1110, 0)),
                                  (desk, (1100, 640), (0, 560))):
            widget.resize(*size)
            widget.move(*pos)
            widget.show()
        on_started(demo)

        result: dict[str, Any] = {}
        finished = Finished()
        finished.done.connect(app.quit)

        def simulate() -> None:
            ended = False
            try:
                result.update(demo.run())
                if on_finished is not None:
                    on_finished(result)
                ended = True
            finally:                         # the day failed, was stopped, or is over and not kept open
                if not ended or not keep_open or demo.stop_requested.is_set():
                    finished.done.emit()

        sim = threading.Thread(target=simulate, name="demo-sim", daemon=True)
        sim.start()
        watch = QTimer()                        # Ctrl-C reaches the Qt loop through the stop event
        watch.timeout.connect(lambda: app.quit() if stop is not None and stop.is_set() else None)
        watch.start(200)
        app.setQuitOnLastWindowClosed(True)
        app.exec()                              # until the day is over (or, kept open, Ctrl-C / the windows closed)
        watch.stop()
        demo.stop_requested.set()
        sim.join(timeout=30)
        return result
    finally:
        for link in links:
            link.close()
        if own_demo:
            demo.stop()
