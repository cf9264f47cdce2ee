"""The hall screen (综合屏): the latest call in large type and every window's current number.

It shows only retained state and call events from the server, so it is right again within
a second of any restart of either side.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QVBoxLayout, QWidget

from kiosk.qtlink import QtLink

STYLE = """
QWidget#screen { background: #101820; }
QLabel { color: #f5f7fa; font-size: 30px; }
QLabel#title { font-size: 34px; color: #9fb3c8; }
QLabel#call { font-size: 72px; font-weight: bold; color: #ffd23f; }
QLabel#head { color: #9fb3c8; font-size: 26px; }
QLabel#number { font-size: 40px; font-weight: bold; color: #ffd23f; }
QLabel#banner { background: #b42318; font-size: 30px; padding: 10px; }
"""
STATUS = {"closed": "暂停服务", "idle": "空闲", "serving": "办理中", "paused": "暂停服务"}


class HallScreen(QWidget):
    def __init__(self, qlink: QtLink, hall_name: str) -> None:
        super().__init__()
        self.setObjectName("screen")
        self.setWindowTitle(f"{hall_name} · 综合屏")
        self.setStyleSheet(STYLE)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.qlink = qlink
        self.windows: dict[str, dict] = {}

        layout = QVBoxLayout(self)
        title = QLabel(hall_name, objectName="title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner = QLabel("系统维护中", objectName="banner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.hide()
        self.call = QLabel("欢迎光临", objectName="call")
        self.call.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.grid_host = QWidget()
        self.grid = QGridLayout(self.grid_host)
        for layout_item in (title, self.banner, self.call, self.grid_host):
            layout.addWidget(layout_item)
        layout.addStretch(1)

        qlink.attach(self, self._on_message)
        qlink.subscribe(qlink.topics.all_window_states)
        qlink.subscribe(qlink.topics.server_state)
        qlink.subscribe(qlink.topics.event("ticket.called"))

    def _on_message(self, topic: str, data: dict) -> None:
        t = self.qlink.topics
        if topic == t.server_state:
            self.banner.setVisible(not data.get("online"))
        elif topic == t.event("ticket.called"):
            again = "（重呼）" if data.get("recall") else ""
            self.call.setText(f"请 {data['ticket']['number']} 号 到 {data['window_number']} 号窗口办理{again}")
        elif topic.startswith(t.window_state("")):
            self.windows[data["window"]] = data
            self._render_windows()

    def _render_windows(self) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget():
                item.widget().deleteLater()
        for col, head in enumerate(("窗口", "当前号", "状态")):
            self.grid.addWidget(QLabel(head, objectName="head"), 0, col)
        for row, w in enumerate(sorted(self.windows.values(), key=lambda w: w["number"]), start=1):
            self.grid.addWidget(QLabel(w["name"]), row, 0)
            self.grid.addWidget(QLabel(w["ticket"]["number"] if w.get("ticket") else "—", objectName="number"), row, 1)
            self.grid.addWidget(QLabel(STATUS.get(w["status"], w["status"])), row, 2)

    def window_numbers(self) -> dict[str, str]:
        """What the screen shows per window, for tests and the demo."""
        return {wid: (w["ticket"]["number"] if w.get("ticket") else "") for wid, w in self.windows.items()}
