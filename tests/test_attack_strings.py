"""Script and SQL injection strings in the text people and devices can enter — names from the
settings, leave and correction reasons, ranking reasons, case notes — are stored exactly as
given and shown as text: in the browser (no script runs, no element is made of them) and on
the Qt screens (no label draws them as rich text)."""
from __future__ import annotations

import os
import uuid

import httpx
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from govhall.config import ManagerConfig  # noqa: E402
from hallserver.broker import free_port  # noqa: E402
from hallserver.passwords import hash_password  # noqa: E402
from tests.conftest import running_hall  # noqa: E402
from tests.test_dashboard_browser import browser  # noqa: E402, F401 - the browser fixture

SCRIPT = "<script>window.__pwned=1</script>"
IMG = '<img src=x onerror="window.__pwned=2">'
BOLD = "<b>粗体</b>"
SQL = "'; DROP TABLE tickets; --"
QUOTES = "\" OR 1=1 -- 引号'"
TEMPLATE = "{{ 7*7 }}${7*7}"
ATTACKS = [SCRIPT, IMG, BOLD, SQL, QUOTES, TEMPLATE]


@pytest.fixture
def hostile_config(config):
    """A hall whose names came in through the settings page with attack strings in them."""
    config.categories[0].name = f"社保{SCRIPT}"
    config.categories[1].name = f"企业{IMG}"
    config.windows[0].name = f"1号{BOLD}"
    config.staff[0].name = f"王丽{IMG}"
    config.staff[1].name = f"李强{SQL}"
    config.hall.name = f"示范中心{TEMPLATE}"
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=hash_password("manager-pass-2026"))]
    return config


def test_attack_strings_are_stored_as_given_and_shown_as_text_in_the_browser(browser, hostile_config,  # noqa: F811
                                                                             embedded_broker, sqlite_url):
    config = hostile_config
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        kiosk, counter = device("kiosk-1"), device("counter-1")
        ticket = kiosk.request({"type": "ticket.issue", "category": "social"})["result"]
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        counter.request({"type": "window.call_next", "window": "w1"})
        case = counter.request({"type": "case.accept", "window": "w1", "matter": "pension-transfer",
                                "received": {"转移申请表": 1, "身份证复印件": 1, "参保缴费凭证": 1}})["result"]["case"]
        assert counter.request({"type": "case.advance", "window": "w1", "case": case["code"], "step": "审核",
                                "note": SCRIPT + SQL})["ok"]
        web = httpx.Client(base_url=server.dashboard_url, timeout=10)
        web.post("/login", data={"manager": "m001", "password": "manager-pass-2026"})
        csrf = {"X-CSRF-Token": web.cookies["govhall_csrf"]}
        for reason in ATTACKS:
            assert web.post("/api/ranking/adjustments", json={"window": "w1", "points": 1, "reason": reason,
                                                               "by": "m001"}, headers=csrf).status_code == 201
        leave = web.post("/api/leaves", json={"staff": "s002", "kind": "事假", "reason": IMG + QUOTES,
                                              "start": "2026-12-01T09:00:00+08:00",
                                              "end": "2026-12-01T17:00:00+08:00"}, headers=csrf)
        assert leave.status_code == 201
        fixed = web.post("/api/attendance/corrections", json={"staff": "s001", "kind": "in", "by": "m001",
                                                              "at": "2025-11-17T09:00:00+08:00",
                                                              "reason": SQL + TEMPLATE}, headers=csrf)
        assert fixed.status_code == 201
        # stored exactly as given; the tables are all still there
        assert [a["reason"] for a in server.store.score_adjustments()] == ATTACKS
        assert server.store.all_leaves()[0].reason == (IMG + QUOTES)[:200]
        steps = server.store.case_row_by(code=case["code"])["steps"]
        assert (SCRIPT + SQL).replace('"', '\\"') in steps or SCRIPT in steps
        assert kiosk.request({"type": "ticket.issue", "category": "social"})["ok"]      # tickets table intact

        page = browser.new_page(viewport={"width": 1366, "height": 900}, locale="zh-CN")
        dialogs: list[str] = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.context.add_cookies([{"name": c.name, "value": c.value, "url": server.dashboard_url}
                                  for c in web.cookies.jar])
        base = server.dashboard_url
        for url in (base, base + "wall", base + "reports", base + "settings", ticket["page_url"], case["track_url"]):
            path = url.removeprefix(base)
            page.goto(url)
            page.wait_for_load_state("networkidle")
            assert page.evaluate("window.__pwned") is None, path                 # no attack string ran
            assert page.locator("img[src=x]").count() == 0, path                 # nor became an element
            assert page.locator("script").evaluate_all(                          # (pygal's chart config
                "els => els.filter(e => e.textContent.trim().startsWith('window.__pwned')).length") == 0, path
            # carries the names escaped inside a JSON string: that is text, not a script)
        page.goto(server.dashboard_url)
        page.locator("[data-window=w1]").wait_for(timeout=5000)
        body = page.inner_text("body")
        assert f"王丽{IMG}" in body and f"社保{SCRIPT}" in body                   # shown, as text
        assert not dialogs
        page.close()


def test_no_qt_screen_draws_a_name_as_rich_text(hostile_config, embedded_broker, sqlite_url):
    from PySide6.QtCore import Qt
    from PySide6.QtWidgets import QApplication, QLabel

    from counter.qt_counter import CounterWindow
    from govhall.link import DeviceLink
    from kiosk.qt_hall_screen import HallScreen
    from kiosk.qt_kiosk import KioskWindow
    from kiosk.qt_tablet import TabletWindow
    from kiosk.qtlink import QtLink
    from tests.test_qt import shot, wait_until
    QApplication.instance() or QApplication([])
    config = hostile_config
    links = []

    def qlink(device_id):
        links.append(DeviceLink(config.hall.id, device_id, embedded_broker.url).connect())
        return QtLink(links[-1])
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        kiosk = KioskWindow(qlink("kiosk-1"), [(c.id, c.name, c.prefix) for c in config.categories], config.hall.name)
        counter = CounterWindow(qlink("counter-1"), "w1", windows=[(w.id, w.name) for w in config.windows],
                                categories=[(c.id, c.name) for c in config.categories], hall_name=config.hall.name)
        tablet = TabletWindow(qlink("tablet-1"), "w1", staff={s.id: {"name": s.name, "post": SCRIPT, "photo": None}
                                                              for s in config.staff},
                              category_names={c.id: c.name for c in config.categories}, reasons=[BOLD, "其他"])
        screen = HallScreen(qlink("screen-1"), config.hall.name, notice=IMG)
        for w in (kiosk, counter, tablet, screen):
            w.resize(1080, 1200)
            w.show()
        kiosk.buttons["social"].click()
        wait_until(lambda: kiosk.t_number.text() == "A001", what="the ticket")
        link = device("counter-1")
        link.request({"type": "window.login", "window": "w1", "staff": "s001"})
        link.request({"type": "window.call_next", "window": "w1", "id": uuid.uuid4().hex})
        wait_until(lambda: "A001" in screen.call.text(), what="the call on the hall screen")
        wait_until(lambda: "王丽" in tablet.name.text(), what="the tablet showing who serves")
        for name, window in (("kiosk", kiosk), ("counter", counter), ("tablet", tablet), ("screen", screen)):
            for label in window.findChildren(QLabel):
                if label is screen.waiting:                 # rich on purpose: checked for escaping below
                    continue
                text = label.text()
                if any(marker in text for marker in ("<script", "<img", "<b>")):
                    assert label.textFormat() == Qt.TextFormat.PlainText, (name, label.objectName(), text)
            shot(window, f"attack-{name}")
        waiting = screen.waiting.text()                     # the one rich label: the names in it are escaped
        assert "&lt;script&gt;" in waiting and "<script" not in waiting
        for link in links:
            link.close()
        for w in (kiosk, counter, tablet, screen):
            w.close()
