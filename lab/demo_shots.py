"""`hall demo --screenshots DIR`: every screen of the county hall at its real size, in the
middle of its morning (10:30 by default), for people to look at: the kiosk (portrait and
landscape), the counter of window 1 (1366×768), the rating tablet (1280×800), the hall
screen (1920×1080), three window LED screens, and the dashboard pages (看板, 大屏, 运行报表,
人员报表, 设置) in Chromium at 1920×1080 and 1366×768.
"""
from __future__ import annotations

import os
import threading
import time
from pathlib import Path

from counter.app import SIZE as COUNTER_SIZE
from counter.app import make_counter
from govhall.link import DeviceLink
from hallserver.broker import free_port
from kiosk.app import LANDSCAPE, PORTRAIT
from kiosk.screen_app import SIZE as SCREEN_SIZE
from kiosk.tablet_app import SIZE as TABLET_SIZE
from kiosk.tablet_app import make_tablet
from lab.demo import HallDemo

CHROMIUM = "/usr/bin/chromium"
BROWSER_SIZES = ((1920, 1080), (1366, 768))
PAGES = (("dashboard", "/"), ("wall", "/wall"), ("reports", "/reports"), ("reports-people", "/reports/people"),
         ("settings", "/settings"))
LED_WINDOWS = ("w1", "w23", "w31")          # a short name, a long one, the self-service desk


class CutOff(AssertionError):
    """A screen of the county hall does not show all it should at its real size."""


def _settle(app, seconds: float = 0.5) -> None:   # noqa: ANN001 - a QApplication
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        app.processEvents()
        time.sleep(0.01)


def county_screenshots(out_dir: str | Path, minutes: int = 90, seed: int = 7) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication  # Qt: loaded by the device programs only

    from kiosk.qt_hall_screen import HallScreen  # loads Qt: only when used
    from kiosk.qt_kiosk import KioskWindow, categories_from_config  # loads Qt: only when used
    from kiosk.qtlink import QtLink  # loads Qt: only when used

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    app = QApplication.instance() or QApplication([])
    demo = HallDemo(hall="county", minutes=minutes, seed=seed, http=("127.0.0.1", free_port()))
    saved: list[Path] = []
    links: list[DeviceLink] = []
    try:
        demo.start()
        config, hall = demo.config, demo.config.hall.id

        def link(device: str) -> QtLink:
            links.append(DeviceLink(hall, device, demo.broker_url).connect())
            return QtLink(links[-1])

        def grab(widget, name: str, size: tuple[int, int]) -> None:   # noqa: ANN001 - a QWidget
            widget.setFixedSize(*size)
            _settle(app, 0.8)
            saved.append(out / f"{name}.png")
            widget.grab().save(str(saved[-1]))

        kiosk = KioskWindow(link("kiosk-2"), categories_from_config(config), config.hall.name)
        counter = make_counter(config, link("desk-1"), "w1")
        tablet = make_tablet(config, link("screen-shots-tablet"), "w1")
        screen = HallScreen(link("screen-2"), config.hall.name, notice=config.screen.notice)
        for widget in (kiosk, counter, tablet, screen):
            widget.show()
        day = threading.Thread(target=demo.run, name="demo-day", daemon=True)   # the widgets watch it live
        day.start()
        while day.is_alive():
            _settle(app, 0.05)
        grab(kiosk, "county-kiosk-portrait", PORTRAIT)
        grab(kiosk, "county-kiosk-landscape", LANDSCAPE)
        grab(counter, "county-counter-w1", COUNTER_SIZE)
        grab(tablet, "county-tablet-w1", TABLET_SIZE)
        grab(screen, "county-hall-screen", SCREEN_SIZE)
        demo._wait_for_devices()
        for w in LED_WINDOWS:
            address = config.window(w).led_address
            saved.append(demo.led_sim.render_png(address, out / f"county-led-{w}.png"))
        saved += _browser_shots(demo.server.dashboard_url, out)
    finally:
        for one in links:
            one.close()
        demo.stop()
    return saved


def _browser_shots(base_url: str, out: Path) -> list[Path]:
    from playwright.sync_api import sync_playwright  # Playwright: only for browser screenshots
    saved = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            for width, height in BROWSER_SIZES:
                page = browser.new_page(viewport={"width": width, "height": height})
                for name, path in PAGES:
                    page.goto(base_url.rstrip("/") + path, wait_until="load")
                    page.wait_for_timeout(800)
                    saved.append(out / f"county-{name}-{width}x{height}.png")
                    page.screenshot(path=str(saved[-1]), full_page=True)
                    if name == "wall":            # a wall screen does not scroll: every window on it
                        cards = page.locator(".card").evaluate_all(
                            "cards => cards.map(c => c.getBoundingClientRect().bottom)")
                        if not cards or max(cards) > height:
                            raise CutOff(f"the 大屏 at {width}×{height} shows {sum(b <= height for b in cards)} "
                                         f"of {len(cards)} windows")
                page.close()
        finally:
            browser.close()
    return saved
