"""The hall screen (综合屏): the latest calls, readable from ten metres.

1920×1080, very large type on a dark ground: the newest call highlighted (A001 → 3 号窗口),
the calls before it, people waiting per service, and an optional notice ticker along the
bottom. It shows only retained state and call events from the server, so it is right again
within a second of any restart of either side.
"""
from __future__ import annotations

import html
from collections import deque
from datetime import datetime, timedelta

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import QGridLayout, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from kiosk.qtlink import QtLink
from kiosk.widgets import plain_labels

RECENT_CALLS = 6
STYLE = """
QWidget#screen { background: #0d1620; }
QLabel { color: #e8eef5; font-size: 44px; }
QLabel#title { font-size: 52px; font-weight: bold; color: #ffffff; }
QLabel#clock { font-size: 52px; color: #9fb3c8; }
QLabel#call { font-size: 150px; font-weight: bold; color: #ffd23f; }
QLabel#callwhere { font-size: 84px; font-weight: bold; color: #ffffff; }
QLabel#head { color: #9fb3c8; font-size: 40px; }
QLabel#recent { font-size: 60px; color: #e8eef5; }
QLabel#waiting { font-size: 48px; }
QLabel#banner { background: #b42318; font-size: 44px; padding: 12px; color: white; }
QLabel#ticker { background: #16324f; font-size: 44px; padding: 10px; color: #ffffff; }
QWidget#panel { background: #13212f; border-radius: 18px; }
QWidget#newest { background: #1b3550; border: 4px solid #ffd23f; border-radius: 18px; }
"""


class HallScreen(QWidget):
    def __init__(self, qlink: QtLink, hall_name: str, notice: str = "") -> None:
        super().__init__()
        self.setObjectName("screen")
        self.setWindowTitle(f"{hall_name} · 综合屏")
        self.setStyleSheet(STYLE)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.qlink = qlink
        self.windows: dict[str, dict] = {}
        self.calls: deque[dict] = deque(maxlen=RECENT_CALLS + 1)
        self._seen: deque[tuple] = deque(maxlen=64)      # QoS 1 may deliver a call twice
        self.notice = notice

        layout = QVBoxLayout(self)
        layout.setContentsMargins(36, 24, 36, 24)
        top = QHBoxLayout()
        title = QLabel(hall_name, objectName="title")
        self.clock = QLabel("", objectName="clock")
        top.addWidget(title)
        top.addStretch(1)
        top.addWidget(self.clock)
        layout.addLayout(top)
        self.banner = QLabel("系统维护中，请留意工作人员指引", objectName="banner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.hide()
        layout.addWidget(self.banner)

        body = QHBoxLayout()
        body.setSpacing(28)
        left = QVBoxLayout()
        left.addWidget(self._build_newest(), 3)
        left.addWidget(self._build_recent(), 2)
        body.addLayout(left, 5)
        body.addWidget(self._build_waiting(), 2)
        layout.addLayout(body, 1)

        self.ticker = QLabel(notice, objectName="ticker")
        self.ticker.setVisible(bool(notice))
        layout.addWidget(self.ticker)
        self._ticker_offset = 0
        self.server_offset, self.hall_tz = timedelta(0), None    # this PC's clock minus the server's
        self._timer = QTimer(self, interval=250)
        self._timer.timeout.connect(self._tick)
        self._timer.start()
        self._tick()

        plain_labels(self, self.waiting)

        qlink.attach(self, self._on_message)
        qlink.subscribe(qlink.topics.all_window_states)
        qlink.subscribe(qlink.topics.server_state)
        qlink.subscribe(qlink.topics.queue_state)
        qlink.subscribe(qlink.topics.event("ticket.called"))

    @staticmethod
    def _panel(name: str) -> QWidget:
        """A panel of the screen, styled by its name (newest, panel)."""
        panel = QWidget(objectName=name)
        panel.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        return panel

    def _build_newest(self) -> QWidget:
        """The newest call, large: the number and the window."""
        newest = self._panel("newest")
        nl = QVBoxLayout(newest)
        self.call = QLabel("欢迎光临", objectName="call")
        self.call.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.call_where = QLabel("请取号后留意叫号", objectName="callwhere")
        self.call_where.setAlignment(Qt.AlignmentFlag.AlignCenter)
        nl.addWidget(self.call)
        nl.addWidget(self.call_where)
        return newest

    def _build_recent(self) -> QWidget:
        """The calls before it, two to a row."""
        recent = self._panel("panel")
        self.recent_grid = QGridLayout(recent)
        self.recent_labels: list[tuple[QLabel, QLabel]] = []
        for i in range(RECENT_CALLS):
            number, where = QLabel("", objectName="recent"), QLabel("", objectName="recent")
            number.setAlignment(Qt.AlignmentFlag.AlignCenter)
            where.setAlignment(Qt.AlignmentFlag.AlignCenter)
            self.recent_grid.addWidget(number, i // 2, (i % 2) * 2)
            self.recent_grid.addWidget(where, i // 2, (i % 2) * 2 + 1)
            self.recent_labels.append((number, where))
        return recent

    def _build_waiting(self) -> QWidget:
        """等候人数 per category."""
        side = self._panel("panel")
        sl = QVBoxLayout(side)
        sl.addWidget(QLabel("等候人数", objectName="head"))
        self.waiting = QLabel("", objectName="waiting")
        self.waiting.setWordWrap(True)
        self.waiting.setAlignment(Qt.AlignmentFlag.AlignTop | Qt.AlignmentFlag.AlignLeft)
        sl.addWidget(self.waiting, 1)
        return side

    def _hall_now(self) -> datetime:
        now = datetime.now().astimezone() - self.server_offset
        return now.astimezone(self.hall_tz) if self.hall_tz is not None else now

    def _learn_server_clock(self, called: dict) -> None:
        """A first call arrives a moment after the server stamped it: the clock shows the hall's
        time (the demo's simulated day, or a screen PC whose clock is off)."""
        stamp = called["ticket"].get("called_at")
        if called.get("recall") or not isinstance(stamp, str):
            return
        try:
            at = datetime.fromisoformat(stamp)
        except ValueError:
            return
        if at.tzinfo is not None:
            self.server_offset, self.hall_tz = datetime.now(at.tzinfo) - at, at.tzinfo

    def _tick(self) -> None:
        self.clock.setText(self._hall_now().strftime("%H:%M"))
        if self.notice:                    # the notice moves one character a beat, round and round
            text = self.notice + "　　　　"
            self._ticker_offset = (self._ticker_offset + 1) % len(text)
            self.ticker.setText(text[self._ticker_offset:] + text[:self._ticker_offset])

    def _on_message(self, topic: str, data: dict) -> None:
        t = self.qlink.topics
        if topic == t.server_state:
            self.banner.setVisible(not data.get("online"))
        elif topic == t.queue_state:
            lines = [f"{html.escape(str(q['name']))}　<b>{int(q['waiting'])}</b> 人"     # the names escaped
                     for q in data.get("categories", [])]
            self.waiting.setText("<br>".join(lines))
        elif topic == t.event("ticket.called"):
            key = (data["ticket"]["id"], data["ticket"].get("called_at"), data.get("recall", 0))
            if key in self._seen:
                return
            self._seen.append(key)
            self._learn_server_clock(data)
            self.calls.appendleft(data)
            self._render_calls()
        elif topic.startswith(t.window_state("")):
            self.windows[data["window"]] = data

    def _render_calls(self) -> None:
        newest = self.calls[0]
        again = "（重呼）" if newest.get("recall") else ""
        self.call.setText(newest["ticket"]["number"])
        self.call_where.setText(f"请到 {newest['window_number']} 号窗口办理{again}")
        earlier = [c for c in list(self.calls)[1:] if c["ticket"]["id"] != newest["ticket"]["id"]]
        for i, (number, where) in enumerate(self.recent_labels):
            if i < len(earlier):
                number.setText(earlier[i]["ticket"]["number"])
                where.setText(f"→ {earlier[i]['window_number']} 号窗口")
            else:
                number.setText("")
                where.setText("")

    @property
    def call_text(self) -> str:
        """The newest call as one sentence (tests, the demo)."""
        where = self.call_where.text()
        if not self.calls:
            return ""
        number = self.call.text()
        return f"请 {number} 号 到 {where.removeprefix('请到 ')}"

    def window_numbers(self) -> dict[str, str]:
        """What each window is serving now, from the retained states (tests and the demo)."""
        return {wid: (w["ticket"]["number"] if w.get("ticket") else "") for wid, w in self.windows.items()}

    def recent_numbers(self) -> list[str]:
        return [n.text() for n, _ in self.recent_labels if n.text()]
