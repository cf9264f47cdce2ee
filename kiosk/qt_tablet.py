"""The rating tablet at a window (平板电脑评价器), 好差评.

Idle, it shows who serves at this window (photo, name, staff number, post, their stars),
what the window does and the complaint phone. When the service at this window is completed
it asks for the rating: five large faces 非常满意 … 非常不满意. 不满意 and 非常不满意 ask why
(the hall's reasons), with optional words and an optional phone number for 回访. Nobody
answering within the configured time is 未评价: nothing is recorded and the tablet goes back.
It can only rate the service just completed at its own window; the server checks that too.
我要投诉 on the idle screen takes a complaint about this window (投诉, docs/complaints.md): the
text and an optional phone number, registered by the server with its number (TS-…).
"""
from __future__ import annotations

import logging
import re

from PySide6.QtCore import QPointF, QRectF, Qt, QTimer
from PySide6.QtGui import QColor, QPainter, QPainterPath, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from govhall import contract as c
from kiosk.qtlink import QtLink
from kiosk.widgets import plain_labels

LEVELS = [(5, "非常满意", "#1a7f37"), (4, "满意", "#2e9e4f"), (3, "基本满意", "#9a6700"), (2, "不满意", "#c2410c"),
          (1, "非常不满意", "#b42318")]
IDLE, RATE, WHY, THANKS, COMPLAIN = range(5)
THANKS_MS = 4000
COMPLAIN_IDLE_MS = 120_000      # a complaint form left alone goes back to the idle screen
COMPLAINT_MAX = 1000
STYLE = """
QWidget#tablet { background: #f3f6fa; }
QLabel { color: #1d2733; font-size: 30px; }
QLabel#name { font-size: 56px; font-weight: bold; }
QLabel#big { font-size: 44px; font-weight: bold; color: #0b4f9c; }
QLabel#stars { font-size: 48px; color: #e0a100; }
QLabel#code { font-size: 30px; color: #1d2733; background: #e8eef6; border-radius: 12px; padding: 10px; }
QLabel#banner { background: #b42318; color: white; font-size: 30px; padding: 10px; }
QPushButton { font-size: 32px; font-weight: bold; border-radius: 16px; padding: 16px; min-height: 90px;
              background: white; color: #0b4f9c; border: 2px solid #0b4f9c; }
QPushButton#submit { background: #0b4f9c; color: white; }
QCheckBox { font-size: 32px; min-height: 70px; }
QCheckBox::indicator { width: 40px; height: 40px; }
QLineEdit { font-size: 30px; min-height: 64px; padding: 6px; }
QPlainTextEdit { font-size: 30px; padding: 6px; background: white; }
QPushButton#complain { font-size: 26px; min-height: 60px; padding: 8px 24px; }
"""


log = logging.getLogger("kiosk.tablet")


class FaceButton(QPushButton):
    """A big rating button: a drawn face (no emoji font needed) above the words."""

    def __init__(self, level: int, words: str, colour: str) -> None:
        super().__init__()
        self.level, self.words, self.colour = level, words, QColor(colour)
        self.setMinimumSize(180, 260)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setStyleSheet(f"QPushButton {{ border: 4px solid {colour}; background: white; }}")

    def text(self) -> str:   # what the button says (tests, accessibility)
        return self.words

    def paintEvent(self, event) -> None:   # noqa: ANN001, N802 - Qt's name and event type
        super().paintEvent(event)
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        size = min(self.width() - 40, self.height() - 110)
        box = QRectF((self.width() - size) / 2, (self.height() - size - 70) / 2, size, size)   # face and words centred
        p.setPen(QPen(self.colour, 6))
        p.setBrush(QColor(self.colour.red(), self.colour.green(), self.colour.blue(), 40))
        p.drawEllipse(box)
        p.setBrush(self.colour)
        for dx in (-0.18, 0.18):
            p.drawEllipse(QPointF(box.center().x() + dx * size, box.top() + 0.38 * size), size * 0.05, size * 0.05)
        smile = (self.level - 3) / 2          # 1 a big smile … -1 a frown
        mouth = QPainterPath(QPointF(box.left() + 0.28 * size, box.top() + 0.66 * size))
        mouth.quadTo(QPointF(box.center().x(), box.top() + (0.66 + 0.2 * smile) * size),
                     QPointF(box.right() - 0.28 * size, box.top() + 0.66 * size))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawPath(mouth)
        p.setPen(QColor("#1d2733"))
        font = p.font()
        font.setPointSize(22)
        font.setBold(True)
        p.setFont(font)
        p.drawText(QRectF(0, box.bottom() + 10, self.width(), 60), Qt.AlignmentFlag.AlignCenter, self.words)
        p.end()


def portrait(name: str, photo: str | None, size: int = 220) -> QPixmap:
    """The staff member's photo, or a calm circle with their surname."""
    if photo:
        pixmap = QPixmap(photo)
        if not pixmap.isNull():
            return pixmap.scaled(size, size, Qt.AspectRatioMode.KeepAspectRatio,
                                 Qt.TransformationMode.SmoothTransformation)
    pixmap = QPixmap(size, size)
    pixmap.fill(Qt.GlobalColor.transparent)
    p = QPainter(pixmap)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.setBrush(QColor("#0b4f9c"))
    p.setPen(Qt.PenStyle.NoPen)
    p.drawEllipse(0, 0, size, size)
    p.setPen(QColor("white"))
    font = p.font()
    font.setPixelSize(size // 2)
    p.setFont(font)
    p.drawText(QRectF(0, 0, size, size), Qt.AlignmentFlag.AlignCenter, name[:1])
    p.end()
    return pixmap


class TabletWindow(QWidget):
    def __init__(self, qlink: QtLink, window_id: str, *, staff: dict[str, dict] | None = None,
                 category_names: dict[str, str] | None = None, reasons: list[str] | None = None,
                 timeout_seconds: int = 60, complaint_phone: str = "12345", complaint_days: int = 5) -> None:
        """`staff` maps staff id to {"name", "post", "photo"}."""
        super().__init__()
        self.setObjectName("tablet")
        self.setStyleSheet(STYLE)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.qlink, self.window_id = qlink, window_id
        self.staff = staff or {}
        self.category_names = category_names or {}
        self.reasons = reasons or ["态度", "效率", "一次性告知", "材料要求", "环境", "其他"]
        self.complaint_phone, self.complaint_days = complaint_phone, complaint_days
        self.state: dict | None = None
        self.serving: dict | None = None        # the completed service waiting for its rating
        self.rating_code: dict | None = None    # the newest 评价码 of this window (its own topic)
        self.level: int | None = None
        self.last_result = ""                    # "rated" / "未评价" / an error, for tests and the screen
        self.setWindowTitle(f"评价器 · {window_id}")
        self._build()
        self._timeout = QTimer(self, singleShot=True, interval=timeout_seconds * 1000)
        self._timeout.timeout.connect(self._not_rated)
        self._back = QTimer(self, singleShot=True, interval=THANKS_MS)
        self._back.timeout.connect(lambda: self.stack.setCurrentIndex(IDLE))
        self._complain_idle = QTimer(self, singleShot=True, interval=COMPLAIN_IDLE_MS)
        self._complain_idle.timeout.connect(self._leave_complaint)
        plain_labels(self)
        qlink.attach(self, self._on_message, self._on_reply)
        qlink.subscribe(qlink.topics.window_state(window_id))
        qlink.subscribe(qlink.topics.server_state)
        qlink.subscribe(qlink.topics.event("service.completed"))
        qlink.subscribe(qlink.topics.tablet_rating(window_id))
        self._render_idle()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        self.banner = QLabel("评价系统维护中", objectName="banner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.hide()
        outer.addWidget(self.banner)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)

        idle = QWidget()
        il = QHBoxLayout(idle)
        self.photo = QLabel()
        self.photo.setAlignment(Qt.AlignmentFlag.AlignCenter)
        il.addWidget(self.photo, 1)
        info = QVBoxLayout()
        info.addStretch(1)
        self.name = QLabel("", objectName="name")
        self.who = QLabel("")
        self.stars = QLabel("", objectName="stars")
        self.services = QLabel("")
        self.services.setWordWrap(True)
        self.phone_note = QLabel("")
        for w in (self.name, self.who, self.stars, self.services, self.phone_note):
            info.addWidget(w)
        self.complain_button = QPushButton("我要投诉", objectName="complain")
        self.complain_button.clicked.connect(self.open_complaint)
        info.addWidget(self.complain_button, 0, Qt.AlignmentFlag.AlignLeft)
        info.addStretch(1)
        il.addLayout(info, 2)
        self.stack.addWidget(idle)

        rate = QWidget()
        rl = QVBoxLayout(rate)
        self.rate_title = QLabel("", objectName="big")
        self.rate_title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        rl.addWidget(self.rate_title)
        self.code_hint = QLabel("", objectName="code")
        self.code_hint.setAlignment(Qt.AlignmentFlag.AlignCenter)
        rl.addWidget(self.code_hint)
        faces = QHBoxLayout()
        self.faces: dict[int, FaceButton] = {}
        for level, words, colour in LEVELS:
            face = FaceButton(level, words, colour)
            face.clicked.connect(lambda _=False, lv=level: self.choose(lv))
            self.faces[level] = face
            faces.addWidget(face)
        rl.addLayout(faces, 1)
        self.stack.addWidget(rate)

        why = QWidget()
        wl = QVBoxLayout(why)
        wl.addWidget(QLabel("很抱歉让您不满意，请告诉我们原因（可多选）", objectName="big"))
        grid = QGridLayout()
        self.reason_boxes = []
        for i, reason in enumerate(self.reasons):
            box = QCheckBox(reason)
            self.reason_boxes.append(box)
            grid.addWidget(box, i // 3, i % 3)
        wl.addLayout(grid)
        self.comment = QLineEdit(placeholderText="您的意见（可选）")
        self.comment.setMaxLength(500)
        self.phone = QLineEdit(placeholderText="手机号（可选，用于回访）")
        self.phone.setMaxLength(11)
        wl.addWidget(self.comment)
        wl.addWidget(self.phone)
        self.why_message = QLabel("")
        wl.addWidget(self.why_message)
        self.submit_button = QPushButton("提交评价", objectName="submit")
        self.submit_button.clicked.connect(self.submit)
        wl.addWidget(self.submit_button)
        self.stack.addWidget(why)

        thanks = QWidget()
        tl = QVBoxLayout(thanks)
        self.thanks = QLabel("", objectName="big")
        self.thanks.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.thanks.setWordWrap(True)
        tl.addWidget(self.thanks)
        self.stack.addWidget(thanks)
        self.stack.addWidget(self._complaint_page())

    def _complaint_page(self) -> QWidget:
        page = QWidget()
        cl = QVBoxLayout(page)
        cl.addWidget(QLabel(f"投诉与建议：登记编号后转承办部门，一般 {self.complaint_days} 个工作日内办结",
                            objectName="big"))
        self.complaint_text = QPlainTextEdit(placeholderText="请写下您的投诉或建议（必填，最多 1000 字）")
        cl.addWidget(self.complaint_text, 1)
        self.complaint_phone_box = QLineEdit(placeholderText="手机号（可选，用于告知处理结果）")
        self.complaint_phone_box.setMaxLength(11)
        cl.addWidget(self.complaint_phone_box)
        self.complaint_message = QLabel("")
        cl.addWidget(self.complaint_message)
        buttons = QHBoxLayout()
        back = QPushButton("返回")
        back.clicked.connect(self._leave_complaint)
        self.complaint_submit = QPushButton("提交投诉", objectName="submit")
        self.complaint_submit.clicked.connect(self.submit_complaint)
        buttons.addWidget(back, 1)
        buttons.addWidget(self.complaint_submit, 2)
        cl.addLayout(buttons)
        return page

    # ------------------------------------------------------------------ a complaint (投诉)
    def open_complaint(self) -> None:
        """我要投诉: the form, empty; not while a service waits for its rating."""
        if self.serving is not None:
            return
        self.complaint_text.clear()
        self.complaint_phone_box.clear()
        self.complaint_message.setText("")
        self._back.stop()
        self.stack.setCurrentIndex(COMPLAIN)
        self._complain_idle.start()

    def _leave_complaint(self) -> None:
        self._complain_idle.stop()
        if self.stack.currentIndex() == COMPLAIN:
            self.stack.setCurrentIndex(IDLE)

    def submit_complaint(self) -> None:
        """The complaint about this window, checked here first (the server checks it again)."""
        text, phone = self.complaint_text.toPlainText().strip(), self.complaint_phone_box.text().strip()
        self._complain_idle.start()
        if not text:
            self.complaint_message.setText("请写下投诉内容")
            return
        if len(text) > COMPLAINT_MAX:
            self.complaint_message.setText(f"投诉内容最多 {COMPLAINT_MAX} 字")
            return
        if phone and not re.fullmatch(r"1[3-9][0-9]{9}", phone):
            self.complaint_message.setText("手机号应为 11 位数字，以 13–19 开头，可不填")
            return
        try:
            command = c.command("complaint.register", channel="tablet", text=text, phone=phone, window=self.window_id)
        except c.ContractError as exc:
            log.warning("window %s: complaint not sent: %s", self.window_id, exc.detail)
            self.complaint_message.setText("填写的内容有误，请修改后再提交")
            return
        self.complaint_message.setText("提交中…")
        self.qlink.send("complain", command)

    def _complaint_answer(self, reply: dict) -> None:
        self._complain_idle.stop()
        if reply.get("ok"):
            number = reply["result"]["complaint"]["number"]
            self.last_result = number
            self.thanks.setText(f"已登记，投诉编号 {number}\n我们会尽快处理并告知结果")
        else:
            error = reply.get("error") or {}
            detail = error.get("detail") or ""          # the server's own Chinese sentence, when it has one
            chinese = any("\u4e00" <= ch <= "\u9fff" for ch in detail)
            self.last_result = (detail if chinese else error.get("message")) or "投诉未成功"
            self.thanks.setText(f"{self.last_result}\n也可拨打投诉电话 {self.complaint_phone}")
        self.stack.setCurrentIndex(THANKS)
        self._back.start()

    # ------------------------------------------------------------------ the rating
    def choose(self, level: int) -> None:
        if self.serving is None:
            return
        self._timeout.start()
        self.level = level
        if level <= 2:
            for box in self.reason_boxes:
                box.setChecked(False)
            self.comment.clear()
            self.phone.clear()
            self.why_message.setText("")
            self.stack.setCurrentIndex(WHY)
        else:
            self.submit()

    def submit(self) -> None:
        if self.serving is None or self.level is None:
            return
        phone = self.phone.text().strip()
        if phone and not re.fullmatch(r"1[0-9]{10}", phone):          # ASCII digits: "１３８…" is not a number here
            self.why_message.setText("手机号应为 11 位数字，可不填")
            return
        bad = self.level <= 2            # reasons, a comment and a phone number for 回访 only with a 差评
        try:
            command = c.command("rating.submit", window=self.window_id, level=self.level,
                                reasons=[b.text() for b in self.reason_boxes if b.isChecked()] if bad else [],
                                comment=self.comment.text().strip() if bad else "", phone=phone if bad else "")
        except c.ContractError as exc:   # anything else the form let through: said here, not a crash
            log.warning("window %s: rating not sent: %s", self.window_id, exc.detail)
            self.why_message.setText("填写的内容有误，请修改后再提交")
            return
        self._timeout.stop()
        self.qlink.send("rate", command)

    def code_text(self) -> str:
        """The phone-rating hint with this service's 评价码, or "" (no code for it yet)."""
        code, serving = self.rating_code or {}, self.serving or {}
        if not code or code.get("ticket") != (serving.get("ticket") or {}).get("number"):
            return ""
        return f"手机评价：扫窗口二维码，输入号码 {code['ticket']} 和评价码 {code['code']}"

    def _not_rated(self) -> None:
        """Nobody answered: 未评价, nothing is recorded (the phone can still rate, with the code)."""
        hint = self.code_text()
        self.serving, self.level = None, None
        self.last_result = "未评价"
        self.thanks.setText("本次服务未评价" + (f"\n{hint}（15 分钟内有效）" if hint else ""))
        self.stack.setCurrentIndex(THANKS)
        self._back.start()

    # ------------------------------------------------------------------ from the server
    def _on_reply(self, tag: str, reply: dict) -> None:
        if tag == "complain":
            self._complaint_answer(reply)
            return
        if tag != "rate":
            return
        self.serving, self.level = None, None
        if reply.get("ok"):
            self.last_result = "rated"
            self.thanks.setText("感谢您的评价！\n您的意见是我们改进工作的动力")
        else:
            self.last_result = (reply.get("error") or {}).get("message") or "评价未成功"
            self.thanks.setText(self.last_result)
        self.stack.setCurrentIndex(THANKS)
        self._back.start()

    def _on_message(self, topic: str, data: dict) -> None:
        t = self.qlink.topics
        if topic == t.server_state:
            self.banner.setVisible(not data.get("online"))
        elif topic == t.window_state(self.window_id):
            self.state = data
            self._render_idle()
        elif topic == t.tablet_rating(self.window_id) and data.get("window") == self.window_id:
            self.rating_code = data
            self.code_hint.setText(self.code_text())
        elif topic == t.event("service.completed") and data.get("window") == self.window_id:
            self.serving = data
            self.level = None
            staff = data.get("staff", {}).get("name") or ""
            self.rate_title.setText(f"请您对 {staff} 本次的服务（{data['ticket']['number']}）作出评价")
            self.code_hint.setText(self.code_text())
            self._back.stop()
            self._complain_idle.stop()          # the rating comes first; a complaint form is left
            self.stack.setCurrentIndex(RATE)
            self._timeout.start()

    def _render_idle(self) -> None:
        s = self.state or {}
        staff = s.get("staff")
        if staff:
            extra = self.staff.get(staff["id"], {})
            self.photo.setPixmap(portrait(staff["name"], extra.get("photo")))
            self.name.setText(staff["name"])
            self.who.setText(f"工号 {staff['id']}" + (f" · {extra['post']}" if extra.get("post") else ""))
            today = s.get("staff_today") or {}
            avg = today.get("avg_level")
            self.stars.setText("★" * round(avg) + "☆" * (5 - round(avg)) if avg else "☆☆☆☆☆")
        else:
            self.photo.setPixmap(portrait("—", None))
            self.name.setText(s.get("name") or self.window_id)
            self.who.setText("暂停服务" if s else "")
            self.stars.setText("")
        names = [self.category_names.get(c, c) for c in s.get("categories", [])]
        self.services.setText(f"{s.get('name') or ''} 办理：" + "、".join(names) if names else "")
        self.phone_note.setText(f"投诉电话：{self.complaint_phone}")
