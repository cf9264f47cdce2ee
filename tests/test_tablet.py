"""The rating tablet (评价器) on a real broker and server: it lights up when the service at its
window completes, records one rating, asks why for a 差评, and times out to 未评价."""
from __future__ import annotations

import os
import time

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
import pytest  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from govhall.link import DeviceLink  # noqa: E402
from kiosk.qtlink import QtLink  # noqa: E402
from kiosk.tablet_app import make_tablet  # noqa: E402
from tests.conftest import running_hall  # noqa: E402


def wait_until(predicate, timeout=5.0, what="the tablet"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        QApplication.processEvents()
        if predicate():
            return
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def hall(config, embedded_broker, sqlite_url):
    app = QApplication.instance() or QApplication([])
    config.ratings.tablet_timeout_seconds = 10
    with running_hall(config, embedded_broker.url, sqlite_url) as (server, device):
        tablet = make_tablet(config, QtLink(DeviceLink(config.hall.id, "tablet-1", embedded_broker.url).connect()),
                             "w1")
        tablet.show()
        kiosk, counter = device("kiosk-1"), device("counter-1")
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})

        def serve_one():
            kiosk.request({"type": "ticket.issue", "category": "social"})
            counter.request({"type": "window.call_next", "window": "w1"})
            counter.request({"type": "window.complete", "window": "w1"})
        yield server, tablet, serve_one
        tablet.qlink.link.close()
        tablet.close()
        app.processEvents()


def test_idle_shows_who_serves_and_a_completed_service_asks_for_the_rating(hall):
    server, tablet, serve_one = hall
    wait_until(lambda: tablet.name.text() == "王丽", what="the staff on duty")
    assert "投诉电话：12345" in tablet.phone_note.text() and "社保医保" in tablet.services.text()
    serve_one()
    wait_until(lambda: tablet.stack.currentIndex() == 1, what="the rating screen")
    assert [f.text() for f in tablet.faces.values()] == ["非常满意", "满意", "基本满意", "不满意", "非常不满意"]
    wait_until(lambda: "评价码" in tablet.code_hint.text(), what="the rating code")
    number = tablet.serving["ticket"]["number"]
    assert tablet.code_hint.text() == f"手机评价：扫窗口二维码，输入号码 {number} 和评价码 {tablet.rating_code['code']}"
    tablet.faces[4].click()
    wait_until(lambda: tablet.last_result == "rated", what="the recorded rating")
    (record,) = server.store.rating_records()
    assert record["level"] == 4 and record["channel"] == 4 and record["window"] == "w1"
    tablet.faces[5].click()                                    # the screen moved on: no second rating
    time.sleep(0.2)
    QApplication.processEvents()
    assert len(server.store.rating_records()) == 1


def test_a_bad_rating_asks_why_with_an_optional_phone_for_the_follow_up(hall):
    server, tablet, serve_one = hall
    serve_one()
    wait_until(lambda: tablet.stack.currentIndex() == 1, what="the rating screen")
    tablet.faces[1].click()                                    # 非常不满意
    assert tablet.stack.currentIndex() == 2
    tablet.reason_boxes[1].setChecked(True)                    # 效率
    tablet.comment.setText("等了一个小时")
    for wrong in ("1380013", "1３８００１３８０００"):                 # too short; full-width digits
        tablet.phone.setText(wrong)
        tablet.submit()
        assert tablet.why_message.text() == "手机号应为 11 位数字，可不填"    # checked before anything is sent
    assert server.store.rating_records() == []
    tablet.phone.setText("13800138000")
    tablet.submit()
    wait_until(lambda: tablet.last_result == "rated", what="the recorded 差评")
    (record,) = server.store.rating_records()
    assert (record["level"], record["reasons"], record["comment"]) == (1, '["效率"]', "等了一个小时")
    assert server.store.rating_phone(record["id"]) == "13800138000"       # beside the signed record


def test_nobody_answering_is_not_rated_and_nothing_is_recorded(hall):
    server, tablet, serve_one = hall
    tablet._timeout.setInterval(300)
    serve_one()
    wait_until(lambda: tablet.stack.currentIndex() == 1, what="the rating screen")
    wait_until(lambda: tablet.last_result == "未评价", timeout=3, what="the timeout")
    assert server.store.rating_records() == []
    # the phone may still rate it from the window's static QR: the number and the code, shown here only
    code = tablet.rating_code["code"]
    hint = f"手机评价：扫窗口二维码，输入号码 A001 和评价码 {code}（15 分钟内有效）"
    assert tablet.thanks.text() == f"本次服务未评价\n{hint}"


def test_hall_tablet_screenshots(tmp_path):
    from PIL import Image

    from lab.shots.tablet import screenshots
    QApplication.instance() or QApplication([])
    saved = screenshots(tmp_path)
    assert [p.name for p in saved] == [f"tablet-{n}.png" for n in
                                       ("idle", "rating", "reasons", "thanks", "not-rated", "complaint", "offline")]
    for path in saved:
        img = Image.open(path).convert("RGB")
        assert img.size == (1280, 800)
        assert len(img.resize((120, 120)).getcolors(120 * 120) or []) > 8, f"{path.name} looks blank"


def test_a_complaint_about_the_window_from_the_idle_screen(hall):
    server, tablet, serve_one = hall
    wait_until(lambda: tablet.name.text() == "王丽", what="the staff on duty")
    tablet.complain_button.click()
    assert tablet.stack.currentIndex() == 4
    tablet.submit_complaint()
    assert tablet.complaint_message.text() == "请写下投诉内容"                   # checked before anything is sent
    tablet.complaint_text.setPlainText("<b>工作人员</b>办事时一直玩手机")
    tablet.complaint_phone_box.setText("1380013")
    tablet.submit_complaint()
    assert "手机号" in tablet.complaint_message.text() and not server.store.complaint_items()
    tablet.complaint_phone_box.setText("13800138000")
    tablet.submit_complaint()
    wait_until(lambda: tablet.last_result.startswith("TS-"), what="the complaint's number")
    assert tablet.stack.currentIndex() == 3 and tablet.last_result in tablet.thanks.text()
    (x,) = server.store.complaint_items()
    assert (x.channel, x.text, x.phone, x.registered_by) == ("tablet", "<b>工作人员</b>办事时一直玩手机", "13800138000",
                                                             "tablet-1")
    assert x.assignment.window == "w1" and x.status == "已分派"
    tablet.stack.setCurrentIndex(0)
    tablet.complain_button.click()
    serve_one()                                                     # a service completes: the rating comes first
    wait_until(lambda: tablet.stack.currentIndex() == 1, what="the rating screen")
