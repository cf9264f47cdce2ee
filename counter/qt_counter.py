"""The counter terminal (窗口叫号终端): the window's current number and the keys staff use
hundreds of times a day — 叫号 call next, 重呼 recall, 过号 skip, 办结 complete, 暂停/恢复.

Every key sends one command and the screen shows what the server says, nothing else.
"""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QGridLayout, QHBoxLayout, QLabel, QPushButton, QVBoxLayout, QWidget

from kiosk.qtlink import QtLink

STYLE = """
QWidget#counter { background: #f3f6fa; }
QLabel { font-size: 18px; color: #1d2733; }
QLabel#window { font-size: 22px; font-weight: bold; }
QLabel#ticket { font-size: 64px; font-weight: bold; color: #0b4f9c; }
QLabel#message { color: #b42318; }
QPushButton { font-size: 22px; padding: 14px; min-width: 110px; }
QPushButton#call { background: #1a7f37; color: white; font-weight: bold; }
"""
STATUS = {"closed": "未登录", "idle": "空闲", "serving": "办理中", "paused": "暂停服务"}


class CounterWindow(QWidget):
    def __init__(self, qlink: QtLink, window_id: str, staff: list[tuple[str, str]]) -> None:
        """`staff` are (id, name) offered at login."""
        super().__init__()
        self.setObjectName("counter")
        self.setStyleSheet(STYLE)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.qlink, self.window_id = qlink, window_id
        self.state: dict | None = None
        self.waiting_total = 0
        self.setWindowTitle(f"叫号终端 · {window_id}")

        layout = QVBoxLayout(self)
        self.title = QLabel(window_id, objectName="window")
        self.ticket = QLabel("—", objectName="ticket")
        self.ticket.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.info = QLabel("")
        self.message = QLabel("", objectName="message")
        for w in (self.title, self.ticket, self.info, self.message):
            layout.addWidget(w)

        login_row = QHBoxLayout()
        self.staff_box = QComboBox()
        for sid, name in staff:
            self.staff_box.addItem(f"{name}（{sid}）", sid)
        self.login_button = QPushButton("登录")
        self.login_button.clicked.connect(self.login)
        self.logout_button = QPushButton("退出")
        self.logout_button.clicked.connect(lambda: self._send("window.logout"))
        for w in (self.staff_box, self.login_button, self.logout_button):
            login_row.addWidget(w)
        layout.addLayout(login_row)

        keys = QGridLayout()
        self.keys: dict[str, QPushButton] = {}
        for i, (kind, label) in enumerate((("window.call_next", "叫号"), ("window.recall", "重呼"),
                                           ("window.skip", "过号"), ("window.complete", "办结"),
                                           ("window.pause", "暂停"), ("window.resume", "恢复"))):
            button = QPushButton(label, objectName="call" if kind == "window.call_next" else "")
            button.clicked.connect(lambda _=False, k=kind: self._send(k))
            self.keys[kind] = button
            keys.addWidget(button, i // 3, i % 3)
        layout.addLayout(keys)

        qlink.attach(self, self._on_message, self._on_reply)
        qlink.subscribe(qlink.topics.window_state(window_id))
        qlink.subscribe(qlink.topics.queue_state)
        self._refresh()

    def login(self) -> None:
        self._send("window.login", staff=self.staff_box.currentData())

    def _send(self, kind: str, **fields: str) -> None:
        command = {"type": kind, "window": self.window_id, **fields}
        if kind == "window.pause":
            command["reason"] = "away"
        self.message.setText("")
        self.qlink.send(kind, command)

    def _on_reply(self, tag: str, reply: dict) -> None:
        if not reply.get("ok"):
            self.message.setText(reply.get("error", {}).get("message", "操作失败"))

    def _on_message(self, topic: str, data: dict) -> None:
        if topic == self.qlink.topics.window_state(self.window_id):
            self.state = data
        elif topic == self.qlink.topics.queue_state and self.state:
            mine = set(self.state["categories"])
            self.waiting_total = sum(q["waiting"] for q in data.get("categories", []) if q["category"] in mine)
        self._refresh()

    def _refresh(self) -> None:
        s = self.state
        status = s["status"] if s else "closed"
        if s:
            who = f" · {s['staff']['name']}" if s.get("staff") else ""
            self.title.setText(f"{s['name']} · {STATUS[status]}{who}")
        ticket = s.get("ticket") if s else None
        self.ticket.setText(ticket["number"] if ticket else "—")
        notes = [f"本窗口业务等候 {self.waiting_total} 人"]
        if ticket:
            notes.insert(0, {"green": "绿色通道", "appointment": "预约"}.get(ticket.get("priority"), ""))
            if ticket.get("transferred_from"):
                notes.insert(1, f"转自 {ticket['transferred_from']}：{ticket.get('transfer_reason') or ''}")
            if ticket.get("requeued"):
                notes.insert(1, "过号重排")
        self.info.setText("  ".join(n for n in notes if n))
        open_ = status in ("idle", "serving", "paused")
        self.staff_box.setVisible(not open_)
        self.login_button.setVisible(not open_)
        self.logout_button.setVisible(open_)
        serving = status == "serving"
        self.keys["window.call_next"].setEnabled(status in ("idle", "serving"))
        for k in ("window.recall", "window.skip", "window.complete"):
            self.keys[k].setEnabled(serving)
        self.keys["window.pause"].setEnabled(status == "idle")
        self.keys["window.resume"].setEnabled(status == "paused")
