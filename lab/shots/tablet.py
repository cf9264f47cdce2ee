"""The rating tablet's `--screenshots DIR`."""
from __future__ import annotations

from pathlib import Path

from kiosk.tablet_app import SIZE, make_tablet
from lab.shots.hall import settle, small_hall


def screenshots(out_dir: str | Path) -> list[Path]:
    """A small hall inside this process; the tablet of window 1 in each of its screens."""
    from kiosk.qtlink import QtLink  # loads Qt: only when used
    from lab.demo import demo_config  # loads pyserial: only when used
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
        for _ in range(3):
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
        counter.request({"type": "window.call_next", "window": "w1"})     # a third service nobody rates
        counter.request({"type": "window.complete", "window": "w1"})
        settle()
        tablet._not_rated()                       # 未评价: the number and the 评价码 once more, for the phone
        save("not-rated")
        tablet.stack.setCurrentIndex(0)
        tablet._back.stop()
        tablet.open_complaint()                   # 我要投诉: the form about this window
        tablet.complaint_text.setPlainText("办理社保卡时工作人员一直在看手机，问了两遍才回答。")
        tablet.complaint_phone_box.setText("13800138000")
        save("complaint")
        tablet.stack.setCurrentIndex(0)
        tablet._on_message(tablet.qlink.topics.server_state, {"online": False})
        save("offline")
        tablet.qlink.link.close()
        tablet.close()
    return saved
