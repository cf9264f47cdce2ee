"""The counter's 受理 panel marks a case 不见面 (delivered by mail or online) and 代办 (a staff
helper by 工号 or a volunteer by name), on a real broker and server, offscreen."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest

from counter.qt_counter import CounterWindow
from tests.test_qt import app, hall, settled, wait_until  # noqa: F401 - the Qt fixtures


def open_accept(hall, config):   # noqa: F811 - the fixture imported above
    _server, qlink, keep = hall
    counter = keep(CounterWindow(qlink("counter-1"), "w1", hall_name=config.hall.name,
                                 matters=[{"id": m.id, "name": m.name, "materials": m.materials}
                                          for m in config.matters]))
    counter.show()
    counter.staff_input.setText("s001")
    counter.login()
    wait_until(settled(counter, "idle"), what="login")
    QTest.keyClick(counter, Qt.Key.Key_F7)                        # 受理
    assert counter.panel == "accept"
    return counter


def test_the_accept_panel_sends_the_delivery_and_the_volunteer(hall, config):   # noqa: F811
    counter = open_accept(hall, config)
    counter.delivery_box.setCurrentIndex(counter.delivery_box.findData("mail"))
    counter.helper_box.setCurrentIndex(counter.helper_box.findData("volunteer"))
    counter.group_box.setCurrentIndex(counter.group_box.findData("残疾人"))
    QTest.keyClick(counter, Qt.Key.Key_Return)
    assert counter.panel == "accept" and "请填写代办人" in counter.message.text()    # no name: nothing sent
    counter.helper_input.setText("赵志愿")
    QTest.keyClick(counter, Qt.Key.Key_Return)
    wait_until(lambda: counter.last_case is not None, what="the case")
    case = counter.last_case
    assert case["delivery"] == "mail" and case["assisted"]["helper"] == "赵志愿"
    assert case["assisted"]["role"] == "志愿者" and case["assisted"]["group"] == "残疾人"
    QTest.keyClick(counter, Qt.Key.Key_F7)                        # the next case starts unmarked
    assert counter.delivery_box.currentData() == "window" and counter.helper_box.currentData() is None
    assert counter.helper_input.text() == ""


def test_an_unknown_staff_helper_is_told_by_the_server(hall, config):   # noqa: F811
    counter = open_accept(hall, config)
    counter.helper_box.setCurrentIndex(counter.helper_box.findData("staff"))
    counter.helper_input.setText("s999")
    QTest.keyClick(counter, Qt.Key.Key_Return)
    wait_until(lambda: not counter.in_flight, what="the refusal")
    assert counter.last_case is None and "工号不存在" in counter.message.text()
