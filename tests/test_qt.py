"""The Qt screens on a real broker and server, offscreen: kiosk, counter terminal, hall screen."""
from __future__ import annotations

import json
import os
import time
from datetime import UTC, date, datetime

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
from PySide6.QtCore import Qt  # noqa: E402
from PySide6.QtTest import QTest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from counter.qt_counter import STATUS, CounterWindow  # noqa: E402
from govhall.link import DeviceLink  # noqa: E402
from hallserver.server import HallServer  # noqa: E402
from kiosk.qt_hall_screen import HallScreen  # noqa: E402
from kiosk.qt_kiosk import PRINTER_DOWN, KioskWindow, categories_from_config  # noqa: E402
from kiosk.qtlink import QtLink  # noqa: E402

SHOTS = os.environ.get("HALL_SCREENSHOTS")      # a folder to save screenshots into, to look at them


def settled(counter, status: str):
    """The counter shows `status` and its command's reply is in (the key it pressed is free again)."""
    return lambda: counter.status == status and not counter.in_flight


def wait_until(predicate, timeout: float = 5.0, what: str = "the screen") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what() if callable(what) else what}")


def shot(widget, name: str) -> None:
    if SHOTS:
        widget.grab().save(os.path.join(SHOTS, f"{name}.png"))


@pytest.fixture(scope="module")
def app():
    return QApplication.instance() or QApplication([])


@pytest.fixture
def hall(app, config, embedded_broker, sqlite_url):
    from hallserver.broker import free_port
    server = HallServer(config, broker_url=embedded_broker.url, database_url=sqlite_url,
                        http=("127.0.0.1", free_port())).start()      # the web gives tickets their QR page
    links: list[DeviceLink] = []
    qlinks: list[QtLink] = []

    def qlink(device_id: str) -> QtLink:
        link = DeviceLink(config.hall.id, device_id, embedded_broker.url).connect()
        links.append(link)
        qlinks.append(QtLink(link))
        return qlinks[-1]

    widgets: list = []

    def keep(widget):
        widgets.append(widget)
        return widget

    yield server, qlink, keep
    for link in links:            # network threads stop before any widget is deleted
        link.close()
    server.stop()
    QApplication.processEvents()
    widgets.clear()


def test_a_citizen_taps_once_and_sees_the_number_and_the_people_ahead(hall, config):
    server, qlink, keep = hall
    kiosk = keep(KioskWindow(qlink("kiosk-1"), [(c.id, c.name, c.prefix) for c in config.categories],
                             config.hall.name))
    kiosk.resize(900, 700)
    kiosk.show()
    wait_until(lambda: "等候 0 人" in kiosk.buttons["social"].text(), what="waiting counts on the buttons")
    kiosk.buttons["social"].click()
    wait_until(lambda: kiosk.t_number.text() == "A001", what="the ticket")
    assert kiosk.t_ahead.text() == "前面没有人等候，请留意叫号"
    shot(kiosk, "kiosk-ticket")
    kiosk.show_choices()
    kiosk.buttons["social"].click()
    wait_until(lambda: kiosk.t_number.text() == "A002")
    assert kiosk.t_ahead.text() == "前面还有 1 人等候"         # no window open: no time is promised
    kiosk.show_choices()
    wait_until(lambda: "等候 2 人" in kiosk.buttons["social"].text())
    shot(kiosk, "kiosk-choose")
    # the server goes away: the kiosk says so and takes no taps
    server.stop()
    wait_until(lambda: kiosk.banner.isVisible(), what="the offline banner")
    assert not kiosk.buttons["social"].isEnabled()
    shot(kiosk, "kiosk-offline")
    kiosk.close()


def counter_window(qlink, config, window="w1", device="counter-1", **options):
    return CounterWindow(qlink(device), window, windows=[(w.id, w.name) for w in config.windows],
                         categories=[(c.id, c.name) for c in config.categories], **options)


def test_staff_log_in_call_and_the_hall_screen_shows_the_call(hall, config):
    _server, qlink, keep = hall
    kiosk_link = qlink("kiosk-1")
    counter = keep(counter_window(qlink, config))
    screen = keep(HallScreen(qlink("screen-1"), config.hall.name))
    counter.resize(1366, 768)
    screen.resize(1280, 720)
    counter.show()
    screen.show()
    wait_until(lambda: counter.state is not None and counter.stack.currentIndex() == 0, what="the login page")

    counter.press("call")                           # not logged in: nothing is sent
    counter.staff_input.setText("s001")
    counter.login()
    wait_until(settled(counter, "idle"), what="login")
    assert "王丽" in counter.head.text()
    counter.press("call")
    wait_until(lambda: counter.message.text() == "当前没有等候的群众", what="the empty-queue message")

    kiosk_link.link.request({"type": "ticket.issue", "category": "residence"})
    wait_until(lambda: "户籍证件：1 人" in counter.queues.text(), what="the waiting count")
    QTest.keyClick(counter, Qt.Key.Key_F1)          # the keyboard alone
    wait_until(lambda: counter.ticket.text() == "C001", what="the called number on the counter")
    wait_until(lambda: screen.call_text == "请 C001 号 到 1 号窗口办理",
               what=lambda: f"the call on the hall screen, showing {screen.call_text!r} {screen.windows}")
    assert screen.window_numbers()["w1"] == "C001"
    assert counter.timer.text().startswith("已办理 00:0")
    shot(counter, "counter-serving")
    shot(screen, "hall-screen")
    QTest.keyClick(counter, Qt.Key.Key_F2)
    wait_until(lambda: screen.call_text.endswith("（重呼）"), what="the recall")
    QTest.keyClick(counter, Qt.Key.Key_F6)
    wait_until(lambda: counter.ticket.text() == "—" and counter.status == "idle")
    wait_until(lambda: screen.window_numbers()["w1"] == "")
    wait_until(lambda: "已办结 1 件" in counter.figures.text(), what="the staff member's own figures")
    counter.close()
    screen.close()


def test_accepting_a_case_prints_the_receipt_and_the_one_time_notice(hall, config):
    import serial

    from hardware.printer import TicketPrinter
    from tests.test_printer import PtyPrinter
    server, qlink, keep = hall
    pty = PtyPrinter()
    try:
        printer = TicketPrinter(serial.Serial(pty.name, baudrate=9600, timeout=0.5))
        counter = keep(CounterWindow(qlink("counter-1"), "w1", hall_name=config.hall.name, printer=printer,
                                     matters=[{"id": m.id, "name": m.name, "materials": m.materials}
                                              for m in config.matters]))
        counter.show()
        qlink("kiosk-1").link.request({"type": "ticket.issue", "category": "social"})
        counter.staff_input.setText("s001")
        counter.login()
        wait_until(settled(counter, "idle"), what="login")
        counter.press("call")
        wait_until(settled(counter, "serving"), what="the call")
        QTest.keyClick(counter, Qt.Key.Key_F7)                        # 受理
        assert counter.panel == "accept" and counter.matter_box.currentData() == "pension-transfer"
        name, tick, pages = counter.material_rows[0]
        pages.setValue(3)
        counter.material_rows[2][1].setChecked(False)                  # 参保缴费凭证 not brought
        QTest.keyClick(counter, Qt.Key.Key_Return)
        wait_until(lambda: counter.last_case is not None, what="the case")
        case = counter.last_case
        assert case["received"] == {"转移申请表": 3, "身份证复印件": 1} and case["missing"] == ["参保缴费凭证"]
        assert "缺 1 项材料" in counter.message.text()
        wait_until(lambda: len(pty.sim.tickets) == 2, what="the receipt and the notice")
        receipt, notice = (p.texts() for p in pty.sim.tickets)
        assert f"办件编号：{case['code']}" in receipt and "  转移申请表  3 页" in receipt
        assert "一次性告知单" in notice and "  1. 参保缴费凭证" in notice
        assert case["track_url"] and pty.sim.tickets[0].qr == [case["track_url"]]
        counter.reprint_button.click()                                  # the citizen lost it: once more
        wait_until(lambda: len(pty.sim.tickets) == 4, what="the reprint")
        shot(counter, "counter-accepted")
    finally:
        pty.close()


def test_a_double_press_sends_one_command_and_pause_takes_a_reason(hall, config):
    server, qlink, keep = hall
    kiosk_link = qlink("kiosk-1")
    counter = keep(counter_window(qlink, config))
    counter.show()
    counter.staff_input.setText("s001")
    counter.login()
    wait_until(settled(counter, "idle"), what="login")
    for category in ("social", "social"):
        kiosk_link.link.request({"type": "ticket.issue", "category": category})
    QTest.keyClick(counter, Qt.Key.Key_F1)
    QTest.keyClick(counter, Qt.Key.Key_F1)          # pressed twice before the reply: one call
    wait_until(lambda: counter.ticket.text() == "A001", what="the call")
    time.sleep(0.3)
    QApplication.processEvents()
    assert server.processor.engine.waiting_count("social") == 1 and counter.ticket.text() == "A001"
    QTest.keyClick(counter, Qt.Key.Key_F6)
    wait_until(settled(counter, "idle"), what="the completion")
    QTest.keyClick(counter, Qt.Key.Key_F5)          # pause: the reasons panel
    assert counter.panel == "pause" and counter.reason.currentText() == "离开"
    counter.reason.setCurrentIndex(2)
    QTest.keyClick(counter, Qt.Key.Key_Return)
    wait_until(settled(counter, "paused"), what="the pause")
    assert server.processor.engine.windows["w1"].pause_reason == "meal" and "用餐" in counter.status_chip.text()
    assert not counter.keys["call"].isEnabled()
    QTest.keyClick(counter, Qt.Key.Key_F5)          # and resume
    wait_until(settled(counter, "idle"), what="the resume")


def test_the_counter_locks_when_idle_and_unlocks_with_the_password(app, config, embedded_broker, sqlite_url):
    from hallserver.passwords import hash_password
    from tests.conftest import running_hall
    config.staff[0].password_hash = hash_password("correct-horse")
    with running_hall(config, embedded_broker.url, sqlite_url) as (server, device):
        counter = counter_window(lambda d: QtLink(device(d)), config, lock_minutes=0.01)
        counter.show()
        counter.staff_input.setText("s001")
        counter.password_input.setText("wrong-one")
        counter.login()
        wait_until(lambda: counter.login_message.text() == "工号或密码错误", what="the refusal")
        assert counter.status == "closed" and counter.password_input.text() == "wrong-one"
        counter.password_input.setText("correct-horse")
        counter.login()
        wait_until(settled(counter, "idle"), what="login")
        assert counter.password_input.text() == ""             # not kept on screen
        wait_until(lambda: counter.stack.currentIndex() == 2, timeout=5, what="the idle lock")
        shot(counter, "counter-locked")
        counter.press("call")                                  # locked: the keys do nothing
        counter.unlock_input.setText("nope-nope")
        counter.unlock()
        wait_until(lambda: counter.unlock_message.text() == "工号或密码错误", what="the wrong unlock")
        assert counter.stack.currentIndex() == 2
        counter.unlock_input.setText("correct-horse")
        counter.unlock()
        wait_until(lambda: counter.stack.currentIndex() == 1, what="the unlock")
        assert server.processor.engine.windows["w1"].status == "idle"
        counter.qlink.link.close()
        counter.close()


def test_a_counter_sends_no_staff_password_over_an_unencrypted_link_to_another_machine(app, config):
    """mqtt:// to another machine would carry the password in clear: the counter does not send it
    (a device's own file from `hall device-config` has an mqtts:// URL)."""
    from govhall.link import DeviceLink
    sent = []
    for url, private in (("mqtt://192.0.2.10:1883", False), ("mqtts://192.0.2.10:8883", True),
                         ("mqtt://127.0.0.1:1883", True)):
        link = DeviceLink(config.hall.id, "counter-1", url)
        assert link.private is private
        counter = counter_window(lambda _d, link=link: QtLink(link), config)
        counter._send = lambda *args, **kw: sent.append(args)          # noqa: B023 - what would go on the wire
        counter.staff_input.setText("s001")
        counter.password_input.setText("correct-horse")
        counter.login()
        if private:
            assert sent and counter.login_message.text() == "正在登录…"
        else:
            assert sent == [] and "连接未加密" in counter.login_message.text()
        sent.clear()
        counter.close()


def test_a_broken_broker_connection_shows_at_once_sends_nothing_and_resyncs(app, config, sqlite_url, tmp_path,
                                                                            mosquitto):
    from hallserver.broker import MosquittoProcess, free_port
    from tests.conftest import running_hall
    port = free_port()                                      # a broker of its own, to stop and start again
    (tmp_path / "m1").mkdir()
    (tmp_path / "m2").mkdir()
    broker = MosquittoProcess(port=port, workdir=str(tmp_path / "m1")).start()
    try:
        with running_hall(config, broker.url, sqlite_url) as (server, device):
            counter = counter_window(lambda d: QtLink(device(d)), config)
            counter.show()
            counter.staff_input.setText("s001")
            counter.login()
            wait_until(settled(counter, "idle"), what="login")
            broker.stop()                                    # the broker is gone
            wait_until(lambda: counter.banner.isVisible(), timeout=5, what="the disconnection banner")
            assert counter.link_chip.text() == "连接中断" and not counter.keys["call"].isEnabled()
            shot(counter, "counter-disconnected")
            counter._send("call", "window.call_next")        # even if someone got a press through
            assert counter.message.text() == "连接中断：操作未发送"
            # meanwhile the hall changed: a ticket came in through the server directly
            server.processor.handle(server.processor.topics.command("kiosk-1"),
                                    b'{"id": "k-offline", "type": "ticket.issue", "category": "social"}')
            broker = MosquittoProcess(port=port, workdir=str(tmp_path / "m2")).start()
            wait_until(lambda: not counter.banner.isVisible(), timeout=15, what="the reconnection")
            wait_until(lambda: "社保医保：1 人" in counter.queues.text(), timeout=10, what="the state again")
            assert server.processor.engine.windows["w1"].ticket is None     # nothing was queued and sent later
            counter.qlink.link.close()
            counter.close()
    finally:
        broker.stop()


def test_hall_counter_screenshots_show_each_state(app, tmp_path):
    from PIL import Image

    from lab.shots.counter import screenshots
    saved = screenshots(tmp_path)
    assert [p.name for p in saved] == [f"counter-{s}.png" for s in (
        "logged-out", "idle", "serving", "accepting", "transfer", "inquiry", "inquiry-received", "paused", "locked",
        "disconnected")]
    for path in saved:
        img = Image.open(path).convert("RGB")
        assert img.size == (1366, 768)
        colours = img.resize((120, 120)).getcolors(120 * 120)
        assert colours is not None and len(colours) > 8, f"{path.name} looks blank"


def test_the_demo_windows_watch_the_morning_without_changing_it(app):
    from lab.demo import run_demo
    from lab.demo_gui import run_demo_gui
    seen = []
    with_windows = run_demo_gui(seen.append, minutes=30, seed=5, speed=None)
    assert len(seen) == 1 and seen[0].server is not None
    without = run_demo(minutes=30, seed=5)
    assert {k: v for k, v in with_windows.items() if k != "database"} == \
        {k: v for k, v in without.items() if k != "database"}


def test_the_counter_shows_a_transferred_green_citizen_and_where_they_come_from(hall, config):
    _server, qlink, keep = hall
    kiosk_link = qlink("kiosk-1")
    c1 = keep(counter_window(qlink, config))
    c3 = keep(counter_window(qlink, config, window="w3", device="counter-3"))
    kiosk_link.link.request({"type": "ticket.issue", "category": "social", "birth_date": "1948-03-08"})
    for counter, staff in ((c1, "s001"), (c3, "s003")):
        counter.show()
        counter.staff_input.setText(staff)
        counter.login()
    wait_until(lambda: c1.status == "idle" and c3.status == "idle", what="both logins")
    c1.press("call")
    wait_until(lambda: c1.ticket.text() == "A001", what="the call")
    assert c1.info.text() == "社保医保 · 绿色通道"
    c1.press("transfer")                                  # F4: choose the target and the reason
    c1.target.setCurrentIndex(next(i for i in range(c1.target.count()) if c1.target.itemData(i) == ("window", "w3")))
    c1.reason.setCurrentText("需综合窗口办理")
    QTest.keyClick(c1, Qt.Key.Key_Return)
    wait_until(lambda: c1.ticket.text() == "—", what="the transfer")
    c3.press("call")
    wait_until(lambda: c3.ticket.text() == "A001", what="the call at window 3")
    assert "转自 w1：需综合窗口办理" in c3.details.text() and "绿色通道" in c3.info.text()
    shot(c3, "counter-transferred")


def test_first_asked_at_window_1_hands_an_inquiry_to_window_3_which_closes_it(hall, config):
    server, qlink, keep = hall
    c1 = keep(counter_window(qlink, config))
    c3 = keep(counter_window(qlink, config, window="w3", device="counter-3"))
    for counter, staff in ((c1, "s001"), (c3, "s003")):
        counter.show()
        counter.staff_input.setText(staff)
        counter.login()
    wait_until(lambda: settled(c1, "idle")() and settled(c3, "idle")(), what="both logins")
    assert not c3.keys["inquiry_close"].isEnabled() and not c3.inquiry_box.isVisibleTo(c3)   # nothing handed yet
    QTest.keyClick(c1, Qt.Key.Key_F8)                     # 首问: the question and where it goes
    assert c1.panel == "inquiry" and c1.question.isVisibleTo(c1)
    QTest.keyClick(c1, Qt.Key.Key_Return)
    assert c1.message.text().startswith("请写下群众的问题") and not c1.in_flight   # nothing sent without one
    c1.question.setText("户口迁移需要什么材料")
    c1.target.setCurrentIndex(next(i for i in range(c1.target.count()) if c1.target.itemData(i) == "w3"))
    QTest.keyClick(c1, Qt.Key.Key_Return)
    wait_until(lambda: "已转交 3号综合窗口" in c1.message.text(), what=lambda: f"the hand-off, {c1.message.text()!r}")
    wait_until(lambda: "户口迁移需要什么材料（王丽，1号窗口）" in c3.inquiry_lines.text(), what="the list at window 3")
    assert c3.inquiry_box.isVisibleTo(c3) and c3.keys["inquiry_close"].isEnabled()
    shot(c3, "counter-inquiry-received")
    QTest.keyClick(c3, Qt.Key.Key_F9)                     # the receiver records how it ended
    c3.reason.setCurrentIndex(1)                          # 已取号办理
    QTest.keyClick(c3, Qt.Key.Key_Return)
    wait_until(lambda: "已办结：已取号办理" in c3.message.text(), what=lambda: f"the outcome, {c3.message.text()!r}")
    wait_until(lambda: not c3.inquiries and not c3.inquiry_box.isVisibleTo(c3), what="the list emptied")
    (row,) = server.store.inquiries_between(datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    assert (row.asked_by, row.to_window, row.closed_by, row.outcome) == ("s001", "w3", "s003", "ticket")
    QTest.keyClick(c1, Qt.Key.Key_F8)                     # answered on the spot
    c1.question.setText("几点下班")
    QTest.keyClick(c1, Qt.Key.Key_Return)
    wait_until(lambda: c1.message.text().endswith("已答复"), what=lambda: f"answered, {c1.message.text()!r}")


def test_the_kiosk_prints_only_what_the_server_confirmed_and_asks_for_nothing_without_paper(hall, config):
    import serial

    from hardware.printer import TicketPrinter
    from tests.test_printer import PtyPrinter
    server, qlink, keep = hall
    pty = PtyPrinter()
    try:
        printer = TicketPrinter(serial.Serial(pty.name, baudrate=9600, timeout=0.5))
        kiosk = keep(KioskWindow(qlink("kiosk-1"), [(c.id, c.name, c.prefix) for c in config.categories],
                                 config.hall.name, printer=printer))
        kiosk.resize(900, 700)
        kiosk.show()
        kiosk.buttons["business"].click()
        wait_until(lambda: kiosk.t_printed.text() == "请取走号票", what="the printed ticket")
        wait_until(lambda: pty.sim.tickets, what="the printer to read the cut")   # its own thread
        (ticket,) = pty.sim.tickets
        assert kiosk.t_number.text() == "B001" and "B001" in ticket.texts() and "企业开办" in ticket.texts()
        shot(kiosk, "kiosk-printed")

        pty.sim.paper = "out"
        kiosk.show_choices()
        kiosk.buttons["business"].click()
        wait_until(lambda: kiosk.stack.currentIndex() == PRINTER_DOWN, what="the printer-down page")
        assert kiosk.down_reason.text() == "号票打印机暂时不能出票（号票纸已用完）"
        assert server.processor.engine.waiting_count("business") == 1      # no second number was issued
        assert len(pty.sim.tickets) == 1
        # the manager hears of it: the kiosk reported the printer's condition
        wait_until(lambda: [a.condition for a in server.processor.devices.open_alerts()
                            if a.component != "calendar"] == ["paper_out"],       # next year's holidays: their own
                   what="the paper-out device alert")
        shot(kiosk, "kiosk-paper-out")
        # the citizen takes the number as the QR code on screen instead: it counts, nothing printed
        kiosk.by_qr_button.click()
        wait_until(lambda: kiosk.t_number.text() == "B002", what="the number by QR")
        assert kiosk.t_qr.isVisible() and kiosk.t_printed.text() == "请用手机扫描二维码保存您的号码"
        assert server.processor.engine.waiting_count("business") == 2 and len(pty.sim.tickets) == 1
        pty.sim.paper = "ok"
    finally:
        pty.close()


def test_a_number_that_did_not_print_is_kept_by_the_citizen_or_cancelled(hall, config):
    server, qlink, keep = hall
    kiosk = keep(KioskWindow(qlink("kiosk-1"), categories_from_config(config), config.hall.name,
                             keep_unprinted_seconds=1))
    kiosk.setFixedSize(1080, 1920)
    kiosk.show()
    wait_until(lambda: "social" in kiosk.buttons, what="the buttons")
    kiosk.buttons["social"].click()
    wait_until(lambda: kiosk.t_number.text() == "A001", what="the ticket")
    kiosk._offer_to_keep("号票纸已用完")                    # what the printer worker says when the print fails
    assert kiosk.keep_button.isVisible() and kiosk.t_qr.isVisible()
    kiosk.keep_number()                                    # scanned it: the number stands
    time.sleep(1.2)
    QApplication.processEvents()
    assert server.processor.engine.waiting_count("social") == 1

    kiosk.show_choices()
    kiosk.buttons["social"].click()
    wait_until(lambda: kiosk.t_number.text() == "A002", what="the second ticket")
    kiosk._offer_to_keep("号票纸已用完")
    # nobody keeps it: after the grace time the number is cancelled, never called to an empty window
    wait_until(lambda: server.processor.engine.waiting_count("social") == 1, timeout=5, what="the cancel")
    assert kiosk.stack.currentIndex() == 0 and "此号已作废" in kiosk.status.text()
    assert [t.number for t in server.processor.engine.all_waiting()] == ["A001"]


def test_english_two_levels_and_idle_return_to_chinese(hall, config):
    from lab.shots.kiosk import showcase_config
    server, qlink, keep = hall
    show = showcase_config()
    kiosk = keep(KioskWindow(qlink("kiosk-1"), categories_from_config(show), show.hall.name, idle_seconds=1))
    kiosk.setFixedSize(1920, 1080)
    kiosk.show()
    wait_until(lambda: "group:不动产登记" in kiosk.buttons, what="the department tile")
    kiosk.toggle_language()
    assert kiosk.subtitle.text() == "Please choose a service" and kiosk.lang_button.text() == "中文"
    wait_until(lambda: kiosk.buttons["social"].text().startswith("Social & medical insurance"))
    kiosk.buttons["group:不动产登记"].click()
    assert set(kiosk.buttons) == {"estate_transfer", "estate_mortgage", "estate_query"}
    assert kiosk.subtitle.text() == "Please choose the matter"
    # nobody touches it: back home, in Chinese, for the next citizen
    wait_until(lambda: kiosk.lang == "zh" and kiosk.stack.currentIndex() == 0, timeout=4, what="the idle reset")
    assert kiosk.subtitle.text() == "请选择您要办理的业务" and "group:不动产登记" in kiosk.buttons


def test_large_type_mode_speaks_and_reads_the_number_digit_by_digit(hall, config, tmp_path):
    import shutil
    import wave

    from hardware.voice import EspeakVoice
    assert shutil.which("espeak-ng"), "espeak-ng is needed for voice guidance: apt-get install espeak-ng"
    server, qlink, keep = hall
    voice = EspeakVoice(out_dir=tmp_path)
    try:
        kiosk = keep(KioskWindow(qlink("kiosk-1"), categories_from_config(config), config.hall.name, voice=voice))
        kiosk.setFixedSize(1080, 1920)
        kiosk.show()
        wait_until(lambda: "social" in kiosk.buttons, what="the buttons")
        kiosk.buttons["social"].click()                    # standard mode: a quiet kiosk
        wait_until(lambda: kiosk.t_number.text() == "A001", what="the ticket")
        assert voice.idle() and voice.spoken == []
        kiosk.show_choices()
        kiosk.toggle_large()
        wait_until(lambda: "social" in kiosk.buttons and kiosk.buttons["social"].isEnabled())
        assert kiosk.grid_columns() == 1                   # 适老化: one big choice per row
        kiosk.buttons["social"].click()
        wait_until(lambda: kiosk.t_number.text() == "A002", what="the ticket")
        assert voice.idle(20)
        assert voice.spoken[0].startswith("已切换到大字模式")
        assert "您的号码是 A零零二" in voice.spoken[-1] and "前面还有 1 人等候" in voice.spoken[-1]
        with wave.open(str(voice.files[-1])) as w:
            assert w.getnframes() / w.getframerate() > 2.0       # a real spoken phrase, not an empty file
    finally:
        voice.close()


def test_an_id_card_on_the_reader_greets_politely_and_gives_the_elderly_the_green_channel(hall, config):
    import serial

    from hardware.idcard import IdCardReader, IdCardReaderSimulator, encode_text
    from tests.conftest import PtyDevice
    server, qlink, keep = hall
    sim = IdCardReaderSimulator()
    pty = PtyDevice(sim.feed)
    port = serial.Serial(pty.name, baudrate=115200, timeout=1)
    try:
        kiosk = keep(KioskWindow(qlink("kiosk-1"), [(c.id, c.name, c.prefix) for c in config.categories],
                                 config.hall.name, id_reader=IdCardReader(port)))
        kiosk.resize(900, 700)
        kiosk.show()
        sim.put(encode_text("王䶮", "2", date(1950, 6, 1), "11010519500601002X"))
        wait_until(lambda: kiosk.status.text() == "王女士，您好，请选择要办理的业务", what="the greeting")
        sim.put(None)                                       # the card is taken away
        shot(kiosk, "kiosk-id-card")
        kiosk.buttons["social"].click()
        wait_until(lambda: kiosk.t_number.text() == "A001", what="the ticket")
        assert "绿色通道" in kiosk.t_category.text()
        (ticket,) = server.processor.engine.all_waiting()
        assert ticket.green_reason == "elderly"
        kiosk.close()
    finally:
        port.close()
        pty.close()


def test_appointment_check_in_on_the_keypad_and_the_large_type_mode(hall, config):
    from datetime import datetime, timedelta
    from zoneinfo import ZoneInfo
    server, qlink, keep = hall
    now = server.clock.now().astimezone(ZoneInfo("Asia/Shanghai"))
    slot = (now + timedelta(minutes=30)).replace(second=0, microsecond=0)
    slot -= timedelta(minutes=slot.minute % 30)                       # a slot starting within the check-in window
    booked = server.bus.submit(json.dumps({"id": "b-1", "type": "appointment.book", "category": "residence",
                                           "slot_start": slot.isoformat(), "name": "王丽", "phone": "13800138001",
                                           "id_hash": "a" * 64}).encode())
    assert booked["ok"], booked
    code = booked["result"]["appointment"]["code"]
    kiosk = keep(KioskWindow(qlink("kiosk-1"), [(c.id, c.name, c.prefix) for c in config.categories],
                             config.hall.name))
    kiosk.resize(1080, 1920)
    kiosk.show()
    kiosk.toggle_large()
    assert "font-size: 54px" in kiosk.styleSheet() and kiosk.large_button.text() == "标准模式"
    kiosk.show_code_entry()
    for key in code + "9":                                           # a seventh digit is ignored ...
        kiosk.press(key)
    assert kiosk.code.text() == code
    kiosk.press("删除")                                               # ... a wrong last digit taken back
    kiosk.press(code[-1])
    kiosk.press("确定")
    if slot.date() != now.date():                                   # 23:45–24:00: the slot is tomorrow's
        wait_until(lambda: "预约已过期" in kiosk.code_status.text(), what="the other-day answer")
    elif slot - timedelta(minutes=15) <= now:
        wait_until(lambda: kiosk.t_number.text() == "C001", what="the appointment ticket")
        assert "预约" in kiosk.t_category.text()
    else:
        wait_until(lambda: kiosk.code_status.text().startswith("还没到签到时间"), what="the too-early answer")
    assert datetime.fromisoformat(booked["result"]["appointment"]["slot_start"]) == slot


def test_a_scanned_appointment_code_checks_in_from_the_home_screen(hall, config):
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from PySide6.QtCore import Qt
    from PySide6.QtTest import QTest
    server, qlink, keep = hall
    now = server.clock.now().astimezone(ZoneInfo("Asia/Shanghai"))
    slot = (now + timedelta(minutes=60)).replace(second=0, microsecond=0)
    slot -= timedelta(minutes=slot.minute % 30)                     # a slot too far ahead to check in
    booked = server.bus.submit(json.dumps({"id": "b-2", "type": "appointment.book", "category": "residence",
                                           "slot_start": slot.isoformat(), "name": "王丽", "phone": "13800138002",
                                           "id_hash": "b" * 64}).encode())
    code = booked["result"]["appointment"]["code"]
    kiosk = keep(KioskWindow(qlink("kiosk-1"), categories_from_config(config), config.hall.name))
    kiosk.setFixedSize(1920, 1080)
    kiosk.show()
    QTest.keyClicks(kiosk, "YY" + code)                              # the scanner types the code …
    QTest.keyClick(kiosk, Qt.Key.Key_Return)                         # … and Enter
    assert kiosk.stack.currentIndex() == 3 and kiosk.code.text() == code
    wait_until(lambda: kiosk.code_status.text().startswith("还没到签到时间"), what="the server's answer")


def test_hall_kiosk_screenshots_renders_every_screen_with_chinese_glyphs(app, tmp_path):
    from PIL import Image
    from PySide6.QtGui import QFont, QFontMetrics

    from lab.shots.kiosk import screenshots
    assert QFontMetrics(QFont()).inFont("取"), "no CJK font: install fonts-wqy-microhei"
    saved = screenshots(tmp_path)          # raises ScreenOverflow when a screen's content does not fit
    names = {p.name for p in saved}
    assert len(saved) == 34
    for screen in ("home", "group", "ticket", "ticket-unprinted", "printer-down", "appointment-code", "offline"):
        for variant in ("portrait-standard", "portrait-large", "landscape-standard", "landscape-large"):
            assert f"kiosk-{screen}-{variant}.png" in names
    assert "kiosk-home-portrait-standard-en.png" in names
    for path in saved:
        img = Image.open(path).convert("RGB")
        assert img.size in ((1080, 1920), (1920, 1080))
        colours = img.resize((120, 120)).getcolors(120 * 120)
        assert colours is not None and len(colours) > 8, f"{path.name} looks blank"


def test_a_closed_category_is_greyed_on_the_kiosk_with_the_time_it_opens(app, embedded_broker, sqlite_url):
    import copy
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from govhall.config import parse_config
    from hallserver.domain.clock import SimClock
    from lab.demo import DEMO_CONFIG
    from tests.conftest import running_hall
    raw = copy.deepcopy(DEMO_CONFIG)
    raw["categories"][1]["session_quota"] = 1
    config = parse_config(raw, "<test>")
    clock = SimClock(datetime(2026, 11, 23, 11, 0, tzinfo=ZoneInfo("Asia/Shanghai")))
    with running_hall(config, embedded_broker.url, sqlite_url, clock=clock) as (server, device):
        link = device("kiosk-2")
        kiosk = KioskWindow(QtLink(link), [(c.id, c.name, c.prefix) for c in config.categories], config.hall.name)
        kiosk.show()
        kiosk.buttons["business"].click()
        wait_until(lambda: kiosk.t_number.text() == "B001", what="the last ticket of the half-day")
        wait_until(lambda: not kiosk.buttons["business"].isEnabled(), what="the greyed button")
        assert kiosk.buttons["business"].text() == "企业开办\n号源已满 · 13:30 起"
        clock.set(datetime(2026, 11, 23, 11, 40, tzinfo=ZoneInfo("Asia/Shanghai")))    # 停止取号 at 11:30
        wait_until(lambda: not kiosk.buttons["social"].isEnabled(), timeout=15, what="停止取号 by the clock alone")
        assert kiosk.buttons["social"].text() == "社保医保\n暂停取号 · 13:30 起"
        shot(kiosk, "kiosk-closed")
        link.close()
        kiosk.close()


def test_the_hall_screen_highlights_the_newest_call_and_lists_the_ones_before(hall, config):
    _server, qlink, keep = hall
    kiosk = qlink("kiosk-1")
    screen = keep(HallScreen(qlink("screen-1"), config.hall.name, notice="请携带身份证原件"))
    screen.setFixedSize(1920, 1080)
    screen.show()
    counters = {w: qlink(f"counter-{w[1]}") for w in ("w1", "w2")}
    for category in ("social", "business", "social"):
        kiosk.link.request({"type": "ticket.issue", "category": category})
    for window, staff in (("w1", "s001"), ("w2", "s002")):
        counters[window].link.request({"type": "window.login", "window": window, "staff": staff})
    for window in ("w1", "w2", "w1"):
        counters[window].link.request({"type": "window.call_next", "window": window})
    wait_until(lambda: screen.call_text == "请 A002 号 到 1 号窗口办理", what="the newest call")
    assert screen.recent_numbers() == ["B001", "A001"]
    wait_until(lambda: "社保医保　<b>0</b> 人" in screen.waiting.text(), what="the waiting counts")
    assert screen.ticker.isVisible() and "身份证" in screen.ticker.text()


def test_hall_screen_screenshots(app, tmp_path):
    from PIL import Image

    from lab.shots.screen import screenshots
    saved = screenshots(tmp_path)
    assert [p.name for p in saved] == ["screen-welcome.png", "screen-calls.png", "screen-offline.png"]
    for path in saved:
        img = Image.open(path).convert("RGB")
        assert img.size == (1920, 1080)
        colours = img.resize((120, 120)).getcolors(120 * 120)
        assert colours is not None and len(colours) > 8, f"{path.name} looks blank"


def test_the_counter_of_b_shows_the_post_it_covers(hall, config):
    _server, qlink, keep = hall
    counter = keep(counter_window(qlink, config))
    topic = counter.qlink.topics.event("post.coverage")
    cover = {"type": "post.coverage", "post": "biz", "name": "企业开办岗", "a": "s002", "b": "s001", "state": "b",
             "window": "w1"}
    counter._on_message(topic, cover)
    assert counter.cover_chip.isVisibleTo(counter) and counter.cover_chip.text() == "顶岗：企业开办岗"
    counter._on_message(topic, {**cover, "state": "a", "window": None})
    assert not counter.cover_chip.isVisibleTo(counter)


def test_the_password_leaves_the_screen_when_the_window_opens_before_the_login_reply(hall, config):
    # the server publishes the window's retained state and replies to the login: either may arrive first
    _server, qlink, keep = hall
    counter = keep(counter_window(qlink, config))
    counter.staff_input.setText("s001")
    counter.password_input.setText("correct-horse")
    topic = counter.qlink.topics.window_state("w1")
    counter._on_message(topic, {"window": "w1", "status": "closed"})
    assert counter.password_input.text() == "correct-horse"          # still closed: kept for the login
    counter._on_message(topic, {"window": "w1", "status": "idle", "staff": {"id": "s001", "name": "张敏"}})
    assert counter.status == "idle" and counter.password_input.text() == ""


def test_a_late_login_reply_does_not_undo_a_newer_window_state(hall, config):
    # the login's reply carries the window as it was at the login; a call may have been shown since
    _server, qlink, keep = hall
    counter = keep(counter_window(qlink, config))
    topic = counter.qlink.topics.window_state("w1")
    staff = {"id": "s001", "name": "张敏"}
    counter._on_message(topic, {"window": "w1", "status": "serving", "staff": staff,
                                "ticket": {"id": 1, "number": "A001", "category": "social"}})
    counter._on_reply("login", {"ok": True, "result": {"window": {"window": "w1", "status": "idle", "staff": staff}}})
    assert counter.status == "serving"
    other = {"id": "s002", "name": "李强"}                # another's login: its own snapshot is the truth
    counter._on_reply("login", {"ok": True, "result": {"window": {"window": "w1", "status": "idle", "staff": other}}})
    assert counter.status == "idle" and counter._staff_id() == "s002"


SERVING = {"window": "w1", "status": "serving", "staff": {"id": "s001", "name": "张敏"},
           "since": "2026-12-03T09:00:00+08:00",
           "ticket": {"id": 1, "number": "A001", "category": "social", "issued_at": "2026-12-03T08:50:00+08:00",
                      "called_at": "2026-12-03T09:00:00+08:00"}}
BROKEN_STATES = [
    "serving", None, [], {"window": "w2", "status": "idle"}, {"window": "w1", "status": "asleep"},
    {**SERVING, "staff": "s001"}, {**SERVING, "staff": {"id": "s001"}}, {**SERVING, "ticket": "A001"},
    {**SERVING, "ticket": {"id": 2}}, {**SERVING, "since": "yesterday"},
    {**SERVING, "ticket": {**SERVING["ticket"], "called_at": 12}},
    {**SERVING, "staff_today": {"served": "3", "ratings": 1}}, {**SERVING, "staff_today": [1, 2]},
    {**SERVING, "categories": 5}, {**SERVING, "categories": [[1]]}, {**SERVING, "pause_reason": [1]},
    {**SERVING, "ticket": {**SERVING["ticket"], "priority": [1]}},
    {**SERVING, "ticket": {**SERVING["ticket"], "category_name": 7}},
    {**SERVING, "ticket": {**SERVING["ticket"], "called_at": "2026-12-03T09:00:00"}},     # no zone
]


def test_a_window_state_the_counter_cannot_show_leaves_the_last_good_one_on_screen(hall, config):
    _server, qlink, keep = hall
    counter = keep(counter_window(qlink, config))
    topic = counter.qlink.topics.window_state("w1")
    wait_until(lambda: counter.state is not None, what="the retained window state")
    counter._on_message(topic, SERVING)
    assert counter.status == "serving" and counter.ticket.text() == "A001"
    for broken in BROKEN_STATES:
        counter._on_message(topic, broken)
        assert counter.status == "serving" and counter.ticket.text() == "A001", broken
    counter._on_message(counter.qlink.topics.queue_state, {"categories": [{"category": "social", "waiting": "many"}]})
    counter._on_message(topic, {**SERVING, "status": "idle", "ticket": None, "extra": "a newer server's field"})
    assert counter.status == "idle" and counter.ticket.text() == "—"


SERVER_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(
        st.sampled_from(["window", "status", "staff", "ticket", "since", "staff_today", "id", "name", "number",
                         "called_at", "issued_at", "served", "ratings", "categories", "code", "due", "post",
                         "state", "case", "colour", "finished"]),
        inner, max_size=6),
    max_leaves=12)


def test_whatever_the_server_sends_the_counter_keeps_working(hall, config):
    _server, qlink, keep = hall
    counter = keep(counter_window(qlink, config))
    wait_until(lambda: counter.state is not None, what="the retained window state")

    fields = ["status", "staff", "ticket", "since", "staff_today", "categories", "pause_reason", "name"]
    ticket_fields = ["number", "priority", "category_name", "called_at", "issued_at", "recalls", "transferred_from"]

    @settings(max_examples=200, deadline=None)
    @example(None, "window", {}, {"category_name": None}, "serving")       # found by hypothesis once
    @example(None, "window", {"staff": {"id": None, "name": None}}, {}, "serving")
    @given(SERVER_JSON, st.sampled_from(["window", "queue", "post.coverage", "case.colour", "login", "accept"]),
           st.dictionaries(st.sampled_from(fields), SERVER_JSON, max_size=2),
           st.dictionaries(st.sampled_from(ticket_fields), SERVER_JSON, max_size=2), st.sampled_from(list(STATUS)))
    def feed(data, where, spoiled, spoiled_ticket, status):
        if where == "window" and not isinstance(data, dict):      # a good state with a field or two spoiled
            data = {**SERVING, "status": status, **spoiled,
                    "ticket": {**SERVING["ticket"], **spoiled_ticket} if spoiled_ticket else SERVING["ticket"]}
        if isinstance(data, dict) and where == "window":
            data = {"window": "w1", **data}
        before = counter.state
        if where == "window":
            counter._on_message(counter.qlink.topics.window_state("w1"), data)
        elif where == "queue":
            counter._on_message(counter.qlink.topics.queue_state, data)
        elif where in ("post.coverage", "case.colour"):
            counter._on_message(counter.qlink.topics.event(where), data if isinstance(data, dict) else {})
        elif where == "login":
            counter._on_reply("login", {"ok": True, "result": {"window": data}})
        else:
            counter._on_reply("accept", {"ok": True, "result": {"case": data}})
        assert counter.state is before or counter.state == data     # shown whole, or not at all
        counter._refresh()                                           # and what is shown can be drawn again
        counter._update_timer()

    feed()


def test_the_counter_times_the_service_on_the_halls_clock_not_its_own(hall, config):
    """A counter PC three hours off (or the demo's simulated day): the timer counts from the
    server's stamps, and a clock that is far off shows no timer rather than nonsense."""
    from datetime import datetime, timedelta
    _server, qlink, keep = hall
    counter = keep(counter_window(qlink, config))
    wait_until(lambda: counter.state is not None, what="the retained window state")
    hall_now = datetime.now().astimezone() - timedelta(hours=3)
    first = {**SERVING, "ticket": {**SERVING["ticket"], "called_at": (hall_now - timedelta(days=9)).isoformat()},
             "since": (hall_now - timedelta(days=9)).isoformat()}
    counter.state = None                                     # as a counter just started: the retained state
    counter._on_message(counter.qlink.topics.window_state("w1"), first)
    counter._update_timer()
    assert counter.timer.text() == ""                       # nine days "serving": not a timer to show
    idle = {"window": "w1", "status": "idle", "staff": SERVING["staff"], "since": hall_now.isoformat()}
    counter._on_message(counter.qlink.topics.window_state("w1"), idle)
    called = hall_now - timedelta(seconds=65)
    serving = {**SERVING, "since": hall_now.isoformat(),
               "ticket": {**SERVING["ticket"], "called_at": called.isoformat()}}
    counter._on_message(counter.qlink.topics.window_state("w1"), serving)
    counter._update_timer()
    assert counter.timer.text() in ("已办理 01:05", "已办理 01:06")
    assert counter.clock.text() == hall_now.strftime("%H:%M") or counter.clock.text() == \
        (hall_now + timedelta(minutes=1)).strftime("%H:%M")


def test_a_staff_id_the_contract_refuses_is_told_on_the_login_page_not_left_hanging(hall, config):
    _server, qlink, keep = hall
    counter = keep(counter_window(qlink, config))
    wait_until(lambda: counter.state is not None and counter.stack.currentIndex() == 0, what="the login page")
    for wrong in ("张 三", "x" * 70):                  # a space; longer than an id may be
        counter.staff_input.setText(wrong)
        counter.login()
        assert counter.login_message.text() == "工号或密码格式不对，请检查后重试"
        assert "login" not in counter.in_flight         # nothing on its way: the next try is not refused
    counter.staff_input.setText("s001")
    counter.login()
    wait_until(lambda: counter.status == "idle", what="the login that follows")


def test_a_ticket_whose_category_name_is_null_is_shown_without_it(hall, config):
    _server, qlink, keep = hall
    counter = keep(counter_window(qlink, config))
    wait_until(lambda: counter.state is not None, what="the retained window state")
    state = {**SERVING, "ticket": {**SERVING["ticket"], "category_name": None, "priority": "green"}}
    counter._on_message(counter.qlink.topics.window_state("w1"), state)
    counter._refresh()
    assert counter.ticket.text() == SERVING["ticket"]["number"]
    assert counter.info.text() == " · 绿色通道"


def test_a_login_or_accept_reply_without_its_result_is_told_not_crashed_on(hall, config):
    _server, qlink, keep = hall
    counter = keep(counter_window(qlink, config))
    wait_until(lambda: counter.state is not None, what="the retained window state")
    counter.password_input.setText("secret")
    counter.in_flight.add("login")
    counter._on_reply("login", {"ok": True, "result": {"window": "w1"}})
    assert counter.status == "closed" and counter.password_input.text() == "" and not counter.in_flight
    counter._on_message(counter.qlink.topics.window_state("w1"), SERVING)
    counter.in_flight.add("accept")
    counter._on_reply("accept", {"ok": True, "result": {"case": {"code": "GH-1"}}})
    assert "回执信息不完整" in counter.message.text() and counter.last_case is None and not counter.in_flight
    counter.resize(1366, 768)
    shot(counter, "counter-receipt-incomplete")
