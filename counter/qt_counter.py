"""The counter terminal (窗口叫号终端): what window staff use hundreds of times a day.

One row of six large keys with function-key shortcuts, so a staff member never needs the
mouse: F1 叫号 call next · F2 重呼 recall · F3 过号 skip · F4 转移 transfer · F5 暂停/恢复 ·
F6 办结 complete. The screen shows the citizen being served (number, category, class, how
long they waited, appointment, transferred from), the service time running, the waiting
counts of the window's categories and the staff member's own figures today.

Every key sends one command and the screen shows what the server says, nothing else. A key
is held while its command is on its way, so a double press sends one command (one id). When
the broker or the server is gone the counter says so at once, sends nothing and queues
nothing; it shows the truth again from the retained state when they are back.

F8 首问 records a citizen's question (首问负责制): answered on the spot or handed to another
window; inquiries handed to this window (or to the staff member here) are listed at the side,
and F9 records how one ended (docs/inquiries.md).

Login with 工号 and password; the counter locks itself after `lock_minutes` without a key
(not while serving) and unlocks with the password.
"""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import get_args

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from govhall import contract as c
from hardware.receipt import compose_notice, compose_receipt
from kiosk.qtlink import QtLink
from kiosk.widgets import plain_labels

STYLE = """
QWidget#counter { background: #eef2f7; }
QLabel { font-size: 20px; color: #1d2733; }
QLabel#head { font-size: 24px; font-weight: bold; color: white; }
QWidget#bar { background: #0b4f9c; }
QLabel#chip { font-size: 20px; color: white; background: #3a6fb0; border-radius: 6px; padding: 4px 12px; }
QLabel#banner { background: #b42318; color: white; font-size: 22px; padding: 10px; }
QLabel#ticket { font-size: 110px; font-weight: bold; color: #0b4f9c; }
QLabel#timer { font-size: 34px; font-weight: bold; color: #1a7f37; }
QLabel#message { color: #b42318; font-size: 22px; }
QLabel#big { font-size: 30px; font-weight: bold; }
QLabel#side { font-size: 26px; line-height: 140%; }
QWidget#card { background: white; border: 1px solid #d0d9e4; border-radius: 10px; }
QPushButton { font-size: 24px; font-weight: bold; padding: 10px; min-height: 84px; border-radius: 10px;
              background: white; color: #0b4f9c; border: 2px solid #0b4f9c; }
QPushButton:disabled { color: #9aa7b5; border-color: #c5ced8; background: #f4f6f9; }
QPushButton#call { background: #1a7f37; color: white; border-color: #1a7f37; }
QPushButton#call:disabled { background: #a7cdb3; border-color: #a7cdb3; color: white; }
QPushButton#small { font-size: 18px; min-height: 40px; padding: 4px 12px; }
QLineEdit, QComboBox { font-size: 26px; padding: 8px; min-height: 48px; }
QSpinBox { font-size: 22px; min-height: 40px; }
QCheckBox { font-size: 24px; }
QCheckBox::indicator { width: 28px; height: 28px; }
"""
log = logging.getLogger("counter")
CASE_COLOURS = get_args(c.CaseColour.model_fields["colour"].annotation)   # 红黄绿, as the contract names them

STATUS = {"closed": "未登录", "idle": "空闲", "serving": "办理中", "paused": "暂停服务"}
PAUSE_REASONS = [("away", "离开"), ("meeting", "会议"), ("meal", "用餐"), ("other", "其他")]
TRANSFER_REASONS = ["需到其他窗口办理", "需综合窗口办理", "业务类别不符", "其他"]
KEYS = [("call", "F1", "叫号"), ("recall", "F2", "重呼"), ("skip", "F3", "过号"), ("transfer", "F4", "转移"),
        ("pause", "F5", "暂停"), ("complete", "F6", "办结"), ("accept", "F7", "受理"), ("inquiry", "F8", "首问"),
        ("inquiry_close", "F9", "首问办结")]
FUNCTION_KEYS = {Qt.Key.Key_F1: "call", Qt.Key.Key_F2: "recall", Qt.Key.Key_F3: "skip", Qt.Key.Key_F4: "transfer",
                 Qt.Key.Key_F5: "pause", Qt.Key.Key_F6: "complete", Qt.Key.Key_F7: "accept",
                 Qt.Key.Key_F8: "inquiry", Qt.Key.Key_F9: "inquiry_close"}
INQUIRY_OUTCOMES = [("answered", "已答复"), ("ticket", "已取号办理"), ("referred", "已引导至大厅外部门")]
LOGIN, WORK, LOCKED = range(3)


def mm_ss(seconds: float) -> str:
    seconds = max(0, int(seconds))
    if seconds < 3600:
        return f"{seconds // 60:02d}:{seconds % 60:02d}"
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def minutes_text(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    return "不到 1 分钟" if seconds < 60 else f"{round(seconds / 60)} 分钟"


def _window_state_problem(data: object, window_id: str) -> str | None:
    """What keeps a window.state from being shown (None: nothing). Fields the counter does not
    read are left alone (a newer server may add some)."""
    if not isinstance(data, dict):
        return "not an object"
    if data.get("window") != window_id:
        return "another window's"
    if not isinstance(data.get("status"), str) or data["status"] not in STATUS:
        return "unknown status"
    for key in ("staff", "ticket"):
        if data.get(key) is not None and not isinstance(data[key], dict):
            return f"{key} is not an object"
    staff, ticket = data.get("staff") or {}, data.get("ticket") or {}
    if staff and not (isinstance(staff.get("id"), str) and isinstance(staff.get("name"), str)):
        return "staff without id and name"
    if ticket and not isinstance(ticket.get("number"), str):
        return "ticket without a number"
    categories = data.get("categories")
    if categories is not None and not (isinstance(categories, list) and all(isinstance(x, str) for x in categories)):
        return "categories is not a list of names"
    texts = [("name", data), ("pause_reason", data), ("priority", ticket), ("category_name", ticket),
             ("transferred_from", ticket), ("transfer_reason", ticket)]
    for key, where in texts:
        if where.get(key) is not None and not isinstance(where[key], str):
            return f"{key} is not text"
    if ticket.get("recalls") is not None and not _is_count(ticket["recalls"]):
        return "recalls is not a count"
    for when in (data.get("since"), ticket.get("called_at"), ticket.get("issued_at")):
        if when is not None and not _is_time(when):
            return f"not a time with its zone: {when!r:.40}"
    figures = data.get("staff_today")
    if figures is not None:
        if not (isinstance(figures, dict) and _is_count(figures.get("served")) and _is_count(figures.get("ratings"))
                and all(isinstance(figures.get(k), int | float | None) for k in ("satisfaction", "avg_service_s"))):
            return "staff_today without its figures"
    return None


def _is_count(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _queue_lines(data: object) -> dict | None:
    """The queue summary's lines by category, or None when it is not one the counter can show."""
    lines = data.get("categories") if isinstance(data, dict) else None
    if not isinstance(lines, list) or not all(
            isinstance(q, dict) and isinstance(q.get("category"), str) and isinstance(q.get("name"), str)
            and _is_count(q.get("waiting")) for q in lines):
        return None
    return {q["category"]: q for q in lines}


def _is_time(value: object) -> bool:
    """An ISO 8601 time with its zone, as the server sends every time."""
    try:
        return datetime.fromisoformat(value).tzinfo is not None
    except (TypeError, ValueError):
        return False


def _case_receipt(case: object) -> dict | None:
    """The accepted case as the receipt needs it, or None when the reply lacks it."""
    if not isinstance(case, dict):
        return None
    texts = ("code", "matter_name", "kind", "department", "handler", "window", "accepted_at")
    if not all(isinstance(case.get(k), str) for k in texts):
        return None
    pending = case.get("due") is None and isinstance(case.get("due_pending"), str)   # next year's holidays not loaded
    if not ((pending or _is_time(case.get("due"))) and _is_time(case["accepted_at"])):
        return None
    if not isinstance(case.get("missing"), list) or not isinstance(case.get("received"), dict):
        return None
    if case.get("track_url") is not None and not isinstance(case["track_url"], str):
        return None
    assisted = case.get("assisted")
    if assisted is not None and not (isinstance(assisted, dict) and all(
            isinstance(assisted.get(k), str) for k in ("role", "helper", "group"))):
        return None
    return case


DELIVERIES = [("window", "窗口取件"), ("mail", "邮寄送达（不见面）"), ("online", "网上送达（不见面）")]
HELPERS = [(None, "无代办"), ("staff", "帮办员代办（工号）"), ("volunteer", "志愿者代办（姓名）")]
ASSIST_GROUPS = get_args(c.AssistedBy.model_fields["group"].annotation)   # 老年人, 残疾人, 孕妇, 其他


PLAIN_LINK_MESSAGE = "连接未加密，不能发送密码：请管理员为本机配置加密连接（mqtts）"
TIMER_LIMIT = timedelta(hours=12)     # a longer "since" is a clock that is off: no timer rather than nonsense


def _inquiry_items(data: object, window_id: str) -> list[dict] | None:
    """The 首问 inquiries of this window's `inquiry.list`, or None when it is not one the screen can show."""
    if not isinstance(data, dict) or data.get("window") != window_id or not isinstance(data.get("items"), list):
        return None
    items = data["items"]
    if not all(isinstance(x, dict) and isinstance(x.get("inquiry"), int) and isinstance(x.get("question"), str)
               and isinstance(x.get("asked_by"), str) for x in items):
        return None
    return items


def _elapsed(words: str, spent: timedelta) -> str:
    return words + mm_ss(spent.total_seconds()) if timedelta(0) <= spent <= TIMER_LIMIT else ""


class CounterWindow(QWidget):
    def __init__(self, qlink: QtLink, window_id: str, *, windows: list[tuple[str, str]] | None = None,
                 categories: list[tuple[str, str]] | None = None, lock_minutes: float = 10,
                 staff: list[tuple[str, str]] | None = None, matters: list[dict] | None = None,
                 printer=None, hall_name: str = "") -> None:   # noqa: ANN001 - a hardware.printer.TicketPrinter
        """`windows` and `categories` are (id, name) offered as transfer targets; `staff`
        (id, name) only fills the login's 工号 for a first staff member in demos; `matters`
        is the catalogue (id, name, materials) for 受理; `printer` prints the 收件回执."""
        super().__init__()
        self.setObjectName("counter")
        self.setStyleSheet(STYLE)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.qlink, self.window_id = qlink, window_id
        self.windows = [w for w in (windows or []) if w[0] != window_id]
        self.categories = categories or []
        self.state: dict | None = None
        self.server_offset = timedelta(0)        # this PC's clock minus the hall server's (learnt from states)
        self.queue: dict[str, dict] = {}
        self.server_online = True
        self.link_up = qlink.link.connected.is_set()
        self.in_flight: set[str] = set()            # keys whose command is on its way
        self.locked = False
        self.panel: str | None = None               # "transfer", "pause", "accept", "inquiry" or "inquiry_close"
        self.inquiries: list[dict] = []             # 首问 handed to this window or its staff member
        self.matters = matters or []
        self.hall_name = hall_name
        self.slipping: dict[str, dict] = {}         # this window's yellow and red cases (case.colour)
        self.last_case: dict | None = None
        self.printer = None
        if printer is not None:
            from kiosk.workers import PrinterWorker  # loads Qt: only when used
            self.printer = PrinterWorker(printer)
        self.setWindowTitle(f"叫号终端 · {window_id}")
        self._build(staff or [])

        self._tick = QTimer(self, interval=1000)
        self._tick.timeout.connect(self._update_timer)
        self._tick.start()
        self._idle = QTimer(self, singleShot=True, interval=int(lock_minutes * 60_000))
        self._idle.timeout.connect(self._lock)
        if self.printer is not None:
            import json as _json
            self.printer.setParent(self)
            self.printer.done.connect(lambda what, result: self._on_printed(what, _json.loads(result)))
        qlink.connection.connect(self._on_connection)
        plain_labels(self)
        qlink.attach(self, self._on_message, self._on_reply)
        qlink.subscribe(qlink.topics.window_state(window_id))
        qlink.subscribe(qlink.topics.queue_state)
        qlink.subscribe(qlink.topics.server_state)
        qlink.subscribe(qlink.topics.event("case.colour"))
        qlink.subscribe(qlink.topics.event("post.coverage"))
        qlink.subscribe(qlink.topics.window_inquiries(window_id))
        self.covering: dict[str, str] = {}          # AB岗: posts this window covers now, id → name
        self._refresh()

    # ------------------------------------------------------------------ building
    def _build(self, staff: list[tuple[str, str]]) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(self._build_bar())
        self.banner = QLabel("与大厅服务器的连接已中断：操作暂停，不会发送也不会排队；恢复后自动同步",
                             objectName="banner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.setWordWrap(True)
        outer.addWidget(self.banner)
        self.stack = QStackedWidget()
        outer.addWidget(self.stack, 1)
        for page in (self._build_login(staff), self._build_work(), self._build_locked()):   # LOGIN, WORK, LOCKED
            self.stack.addWidget(page)

    @staticmethod
    def _card() -> QWidget:
        """A white card (the stylesheet's #card)."""
        card = QWidget(objectName="card")
        card.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        return card

    @staticmethod
    def _centred_form(widgets: tuple[QWidget, ...]) -> QWidget:
        """A page with its widgets one below the other in the middle third (login, unlock)."""
        page = QWidget()
        column = QVBoxLayout(page)
        column.addStretch(1)
        for w in widgets:
            row = QHBoxLayout()
            row.addStretch(1)
            row.addWidget(w, 2)
            row.addStretch(1)
            column.addLayout(row)
        column.addStretch(2)
        return page

    def _build_bar(self) -> QWidget:
        """The top bar: window and staff, status, 顶岗, link, clock, 退出登录."""
        bar = QWidget(objectName="bar")
        bar.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        top = QHBoxLayout(bar)
        self.head = QLabel(self.window_id, objectName="head")
        self.status_chip = QLabel("", objectName="chip")
        self.link_chip = QLabel("", objectName="chip")
        self.clock = QLabel("", objectName="head")
        self.logout_button = QPushButton("退出登录", objectName="small")
        self.logout_button.clicked.connect(self.logout)
        top.addWidget(self.head)
        top.addWidget(self.status_chip)
        top.addStretch(1)
        self.cover_chip = QLabel("", objectName="chip")
        self.cover_chip.setStyleSheet("background: #9a6700;")
        self.cover_chip.hide()
        for w in (self.cover_chip, self.link_chip, self.clock, self.logout_button):
            top.addWidget(w)
        return bar

    def _build_login(self, staff: list[tuple[str, str]]) -> QWidget:
        title = QLabel("窗口登录", objectName="big")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.staff_input = QLineEdit(placeholderText="工号")
        if staff:
            self.staff_input.setText(staff[0][0])
        self.password_input = QLineEdit(placeholderText="密码")
        self.password_input.setEchoMode(QLineEdit.EchoMode.Password)
        self.login_button = QPushButton("登录 (Enter)", objectName="call")
        self.login_button.clicked.connect(self.login)
        self.staff_input.returnPressed.connect(self.password_input.setFocus)
        self.password_input.returnPressed.connect(self.login)
        self.login_message = QLabel("", objectName="message")
        self.login_message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return self._centred_form((title, self.staff_input, self.password_input, self.login_button,
                                   self.login_message))

    def _build_work(self) -> QWidget:
        """The working page: the ticket card and the side cards, the F4/F5 panel, the 受理 form,
        the message line and the keys."""
        work = QWidget()
        wl = QVBoxLayout(work)
        wl.setContentsMargins(16, 12, 16, 12)
        middle = QHBoxLayout()
        middle.addWidget(self._build_ticket_card(), 3)
        middle.addWidget(self._build_side(), 2)
        wl.addLayout(middle, 1)
        wl.addWidget(self._build_panel())
        wl.addWidget(self._build_accept())
        wl.addLayout(self._build_message_row())
        wl.addLayout(self._build_keys())
        return work

    def _build_ticket_card(self) -> QWidget:
        card = self._card()
        cl = QVBoxLayout(card)
        self.ticket = QLabel("—", objectName="ticket")
        self.ticket.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.info = QLabel("", objectName="big")
        self.info.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.info.setWordWrap(True)
        self.details = QLabel("")
        self.details.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.details.setWordWrap(True)
        self.timer = QLabel("", objectName="timer")
        self.timer.setAlignment(Qt.AlignmentFlag.AlignCenter)
        for w in (self.ticket, self.info, self.details, self.timer):
            cl.addWidget(w)
        return card

    def _build_side(self) -> QWidget:
        self.side = QWidget()
        side = QVBoxLayout(self.side)
        side.setContentsMargins(0, 0, 0, 0)
        self.queues = QLabel("", objectName="side")
        self.queues.setWordWrap(True)
        self.figures = QLabel("", objectName="side")
        self.figures.setWordWrap(True)
        self.inquiry_lines = QLabel("", objectName="side")
        self.inquiry_lines.setWordWrap(True)
        for heading, body in (("本窗口业务等候", self.queues), ("我的今日数据", self.figures),
                              ("转交来的首问（F9 办结）", self.inquiry_lines)):
            box = self._card()
            bl = QVBoxLayout(box)
            bl.addWidget(QLabel(heading, objectName="big"))
            bl.addWidget(body)
            bl.addStretch(1)
            side.addWidget(box)
        self.inquiry_box = box                        # shown while there is one to answer
        self.inquiry_box.hide()
        return self.side

    def _build_panel(self) -> QWidget:
        """The choosing panel for F4 转移 and F5 暂停 (keyboard: Tab, Enter, Esc)."""
        self.panel_box = self._card()
        pl = QGridLayout(self.panel_box)
        self.panel_title = QLabel("", objectName="big")
        self.target = QComboBox()
        self.reason = QComboBox()
        self.reason.setEditable(True)
        self.question = QLineEdit(placeholderText="群众的问题（不要写身份证号码）")
        self.question.setMaxLength(200)
        self.question.hide()
        self.panel_ok = QPushButton("确定 (Enter)", objectName="call")
        self.panel_ok.clicked.connect(self._panel_confirm)
        self.panel_cancel = QPushButton("取消 (Esc)")
        self.panel_cancel.clicked.connect(self._close_panel)
        pl.addWidget(self.panel_title, 0, 0, 1, 4)
        pl.addWidget(self.target, 1, 0, 1, 2)
        pl.addWidget(self.reason, 1, 2, 1, 2)
        pl.addWidget(self.question, 1, 2, 1, 2)
        pl.addWidget(self.panel_ok, 2, 2)
        pl.addWidget(self.panel_cancel, 2, 3)
        self.panel_box.hide()
        return self.panel_box

    def _build_accept(self) -> QWidget:
        """受理: the matter, and each material received with its pages (unticked = missing)."""
        self.accept_box = self._card()
        al = QVBoxLayout(self.accept_box)
        self.accept_title = QLabel("受理：选择事项，勾选已收材料并填写页数（未勾选的列入一次性告知单）",
                                   objectName="big")
        self.accept_title.setWordWrap(True)
        self.matter_box = QComboBox()
        for m in self.matters:
            self.matter_box.addItem(m["name"], m["id"])
        self.matter_box.currentIndexChanged.connect(self._fill_materials)
        self.materials_grid = QGridLayout()
        self.material_rows: list[tuple[str, QCheckBox, QSpinBox]] = []
        marks = QHBoxLayout()                          # 不见面 and 代办 (docs/deadlines.md, matter classes)
        self.delivery_box, self.helper_box, self.group_box = QComboBox(), QComboBox(), QComboBox()
        for value, label in DELIVERIES:
            self.delivery_box.addItem(label, value)
        for value, label in HELPERS:
            self.helper_box.addItem(label, value)
        for group in ASSIST_GROUPS:
            self.group_box.addItem(group, group)
        self.helper_input = QLineEdit(placeholderText="代办人：帮办员工号或志愿者姓名")
        for widget in (self.delivery_box, self.helper_box, self.group_box, self.helper_input):
            marks.addWidget(widget)
        buttons = QHBoxLayout()
        self.accept_ok = QPushButton("受理并打印回执 (Enter)", objectName="call")
        self.accept_ok.clicked.connect(self._panel_confirm)
        self.accept_cancel = QPushButton("取消 (Esc)")
        self.accept_cancel.clicked.connect(self._close_panel)
        for b in (self.accept_ok, self.accept_cancel):
            b.setStyleSheet("min-height: 56px;")
            buttons.addWidget(b)
        al.addWidget(self.accept_title)
        al.addWidget(self.matter_box)
        al.addLayout(self.materials_grid)
        al.addLayout(marks)
        al.addLayout(buttons)
        self.accept_box.hide()
        return self.accept_box

    def _build_message_row(self) -> QHBoxLayout:
        self.message = QLabel("", objectName="message")
        self.message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.message.setWordWrap(True)
        message_row = QHBoxLayout()
        message_row.addWidget(self.message, 1)
        self.reprint_button = QPushButton("重打回执", objectName="small")
        self.reprint_button.clicked.connect(self.reprint)
        self.reprint_button.hide()
        message_row.addWidget(self.reprint_button)
        return message_row

    def _build_keys(self) -> QHBoxLayout:
        keys = QHBoxLayout()
        self.keys: dict[str, QPushButton] = {}
        for kind, key, label in KEYS:
            button = QPushButton(f"{label}\n{key}", objectName="call" if kind == "call" else "")
            button.clicked.connect(lambda _=False, k=kind: self.press(k))
            button.setFocusPolicy(Qt.FocusPolicy.NoFocus)      # F-keys and Enter go to the panel, not a button
            self.keys[kind] = button
            keys.addWidget(button)
        return keys

    def _build_locked(self) -> QWidget:
        self.locked_label = QLabel("", objectName="big")
        self.locked_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.unlock_input = QLineEdit(placeholderText="输入密码解锁")
        self.unlock_input.setEchoMode(QLineEdit.EchoMode.Password)
        self.unlock_input.returnPressed.connect(self.unlock)
        self.unlock_message = QLabel("", objectName="message")
        self.unlock_message.setAlignment(Qt.AlignmentFlag.AlignCenter)
        return self._centred_form((self.locked_label, self.unlock_input, self.unlock_message))

    # ------------------------------------------------------------------ state
    @property
    def status(self) -> str:
        return self.state["status"] if self.state else "closed"

    @property
    def online(self) -> bool:
        return self.link_up and self.server_online

    def _window_snapshot(self, data: object, what: str) -> dict | None:
        """`data` if it is this window's state in a shape the screen can show, else None (logged):
        a message from outside is checked before it replaces what the staff member sees."""
        problem = _window_state_problem(data, self.window_id)
        if problem is None:
            return data
        log.warning("window %s: ignored %s (%s): %.200r", self.window_id, what, problem, data)
        return None

    def _staff_id(self) -> str | None:
        s = self.state or {}
        return (s.get("staff") or {}).get("id")

    # ------------------------------------------------------------------ actions
    def login(self) -> None:
        staff = self.staff_input.text().strip()
        if not staff:
            self.login_message.setText("请输入工号")
            return
        command = {"staff": staff}
        if self.password_input.text():
            if not self._may_send_password():
                self.login_message.setText(PLAIN_LINK_MESSAGE)
                return
            command["password"] = self.password_input.text()
        self.login_message.setText("正在登录…")
        self._send("login", "window.login", **command)

    def logout(self) -> None:
        self._send("logout", "window.logout")

    def unlock(self) -> None:
        staff = self._staff_id()
        if staff is None:
            self.locked = False
            self._refresh()
            return
        if not self._may_send_password():
            self.unlock_message.setText(PLAIN_LINK_MESSAGE)
            return
        self.unlock_message.setText("正在验证…")
        self._send("unlock", "window.login", staff=staff, password=self.unlock_input.text())

    def _may_send_password(self) -> bool:
        """A staff password crosses only an encrypted link (mqtts://) or one within this machine."""
        return self.qlink.link.private

    def press(self, kind: str) -> None:
        """A key (or its F-key): ignored while its command is on its way or the key is off."""
        if self.stack.currentIndex() != WORK or not self.keys[kind].isEnabled():
            return
        self._idle.start()
        if kind == "transfer":
            self._open_panel("transfer")
        elif kind == "accept":
            self._open_accept()
        elif kind in ("inquiry", "inquiry_close"):
            self._open_panel(kind)
        elif kind == "pause":
            if self.status == "paused":
                self._send("pause", "window.resume")
            else:
                self._open_panel("pause")
        else:
            command = {"call": "window.call_next", "recall": "window.recall", "skip": "window.skip",
                       "complete": "window.complete"}[kind]
            self._send(kind, command)

    def _open_panel(self, which: str) -> None:
        self.panel = which
        self.target.clear()
        self.reason.clear()
        self.question.clear()
        self.question.setVisible(which == "inquiry")
        self.reason.setVisible(which != "inquiry")
        self.target.show()
        if which == "inquiry":
            self.panel_title.setText("首问登记：写下群众的问题，当场答复或转交（Enter 确认）")
            self.target.addItem("已当场答复", None)
            for wid, name in self.windows:
                self.target.addItem(f"转交：{name}", wid)
            self.question.setFocus()
        elif which == "inquiry_close":
            self.panel_title.setText("首问办结：选择转交来的问题和结果")
            for x in self.inquiries:
                self.target.addItem(f"{x['question'][:30]}（{x.get('asked_by_name') or x['asked_by']}）", x["inquiry"])
            for code, label in INQUIRY_OUTCOMES:
                self.reason.addItem(label, code)
            self.reason.setEditable(False)
        elif which == "transfer":
            self.panel_title.setText("转移到（选择窗口或业务，写明原因）")
            for wid, name in self.windows:
                self.target.addItem(f"窗口：{name}", ("window", wid))
            for cid, name in self.categories:
                self.target.addItem(f"业务：{name}", ("category", cid))
            self.reason.addItems(TRANSFER_REASONS)
            self.target.show()
        else:
            self.panel_title.setText("暂停服务的原因")
            self.target.hide()
            for code, label in PAUSE_REASONS:
                self.reason.addItem(label, code)
        self.panel_box.show()
        if which != "inquiry":
            (self.target if which in ("transfer", "inquiry_close") else self.reason).setFocus()
        self._refresh()

    def _open_accept(self) -> None:
        if not self.matters:
            self.message.setText("事项目录为空：请在 hall.toml 中配置 [[matters]]")
            return
        self.panel = "accept"
        self._fill_materials()
        for box in (self.delivery_box, self.helper_box, self.group_box):
            box.setCurrentIndex(0)
        self.helper_input.clear()
        self.side.hide()                              # room for the materials; back when the panel closes
        self.accept_box.show()
        self.matter_box.setFocus()
        self._refresh()

    def _fill_materials(self) -> None:
        while self.materials_grid.count():
            item = self.materials_grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()
                item.widget().deleteLater()
        self.material_rows = []
        matter = next((m for m in self.matters if m["id"] == self.matter_box.currentData()), None)
        for i, name in enumerate(matter["materials"] if matter else []):
            tick, pages = QCheckBox(name), QSpinBox()
            tick.setStyleSheet("font-size: 24px;")
            pages.setRange(1, 999)
            pages.setSuffix(" 页")
            tick.setChecked(True)
            self.materials_grid.addWidget(tick, i // 2, (i % 2) * 2)
            self.materials_grid.addWidget(pages, i // 2, (i % 2) * 2 + 1)
            self.material_rows.append((name, tick, pages))

    def _case_marks(self) -> dict | None:
        """受理's 不见面 delivery and 代办 helper as command fields; None when a helper is chosen but not named."""
        marks: dict = {}
        if self.delivery_box.currentData() != "window":
            marks["delivery"] = self.delivery_box.currentData()
        helper = self.helper_box.currentData()
        if helper is not None:
            name = self.helper_input.text().strip()
            if not name:
                return None
            marks["assisted_by"] = {"group": self.group_box.currentData(), helper: name}
        return marks

    def _close_panel(self) -> None:
        self.panel = None
        self.reason.setEditable(True)
        self.question.hide()
        self.reason.show()
        self.panel_box.hide()
        self.accept_box.hide()
        self.side.show()
        self._refresh()

    def keyPressEvent(self, event) -> None:   # noqa: ANN001, N802 - Qt's name and event type
        """F1–F6 from anywhere in the window (a focused field passes them on), Enter and Esc
        for the choosing panel."""
        kind = FUNCTION_KEYS.get(event.key())
        if kind is not None:
            self.press(kind)
            return
        if self.panel is not None and event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            self._panel_confirm()
            return
        if self.panel is not None and event.key() == Qt.Key.Key_Escape:
            self._close_panel()
            return
        super().keyPressEvent(event)

    def _panel_confirm(self) -> None:
        which = self.panel
        if which == "transfer":
            target = self.target.currentData()
            reason = self.reason.currentText().strip()
            if target is None or not reason:
                self.message.setText("请选择转移目标并写明原因")
                return
            field = "to_window" if target[0] == "window" else "to_category"
            self._send("transfer", "window.transfer", **{field: target[1]}, reason=reason[:100])
        elif which == "pause":
            self._send("pause", "window.pause", reason=self.reason.currentData() or "other")
        elif which == "inquiry":
            question, target = self.question.text().strip(), self.target.currentData()
            if len(question) < 2:
                self.message.setText("请写下群众的问题（至少 2 个字）")
                return
            if target is None:
                self._send("inquiry", "inquiry.record", question=question, answered=True)
            else:
                self._send("inquiry", "inquiry.record", question=question, to_window=target)
        elif which == "inquiry_close":
            if self.target.currentData() is None:
                self.message.setText("没有转交来的首问")
                return
            self._send("inquiry_close", "inquiry.close", inquiry=self.target.currentData(),
                       outcome=self.reason.currentData() or "answered")
        elif which == "accept":
            received = {name: pages.value() for name, tick, pages in self.material_rows if tick.isChecked()}
            marks = self._case_marks()
            if marks is None:
                self.message.setText("请填写代办人：帮办员的工号或志愿者的姓名")
                return
            self._send("accept", "case.accept", matter=self.matter_box.currentData(), received=received, **marks)
        self._close_panel()

    def _send(self, tag: str, kind: str, **fields: str) -> None:
        if tag in self.in_flight:
            return                                   # pressed twice: the first command is on its way
        if not self.online and tag not in ("login", "unlock"):
            self.message.setText("连接中断：操作未发送")
            return
        try:
            command = c.command(kind, window=self.window_id, **fields)
        except c.ContractError as exc:                # what was entered does not make a command
            log.warning("window %s: %s not sent: %s", self.window_id, kind, exc.detail)
            shown_on = {"login": self.login_message, "unlock": self.unlock_message}.get(tag, self.message)
            shown_on.setText("工号或密码格式不对，请检查后重试" if tag in ("login", "unlock")
                             else "输入有误，未发送：请检查后重试")     # on the page the person is looking at
            return
        self.in_flight.add(tag)
        self.message.setText("")
        self.qlink.send(tag, command)
        self._refresh()

    def _lock(self) -> None:
        """Idle for a while: lock (not while serving someone; the window stays open)."""
        if self.status in ("idle", "paused") and self.stack.currentIndex() == WORK:
            self.locked = True
            self.unlock_input.clear()
            self.unlock_message.setText("")
            self._refresh()
        elif self.status == "serving":
            self._idle.start()

    # ------------------------------------------------------------------ from the server
    def _on_connection(self, up: int) -> None:
        self.link_up = bool(up)
        self._refresh()

    def _on_reply(self, tag: str, reply: dict) -> None:
        self.in_flight.discard(tag)
        error = (reply.get("error") or {}).get("message") or "操作失败"
        if tag == "login":
            if reply.get("ok"):
                self.password_input.clear()
                self.login_message.setText("")
                snapshot = self._window_snapshot((reply.get("result") or {}).get("window"), "the login reply")
                if snapshot is not None and (self.status == "closed"
                                             or self._staff_id() != (snapshot.get("staff") or {}).get("id")):
                    self.state = snapshot            # not over a newer state of this login (a call)
                self._idle.start()                   # no usable snapshot: the retained state tells
            else:
                self.login_message.setText(error)
        elif tag == "unlock":
            if reply.get("ok"):
                self.locked = False
                self._idle.start()
            else:
                self.unlock_message.setText(error)
            self.unlock_input.clear()
        elif tag == "accept" and reply.get("ok"):
            case = _case_receipt((reply.get("result") or {}).get("case"))
            if case is None:
                log.warning("window %s: the server's reply to case.accept had no usable case: %.200r",
                            self.window_id, reply.get("result"))
                self.message.setText("已受理，但回执信息不完整，暂不能打印回执，请联系大厅管理员")
                self._refresh()
                return
            self.last_case = case
            text = f"已受理 {case['matter_name']}，办件编号 {case['code']}，"
            if case["missing"]:
                text += f"缺 {len(case['missing'])} 项材料（一次性告知）"
            elif case.get("due") is None:
                text += f"办结时限{case['due_pending']}"
            else:
                text += f"承诺 {datetime.fromisoformat(case['due']):%m-%d %H:%M} 前办结"
            self.message.setText(text)
            self._print_case(case)
            self.reprint_button.setVisible(self.printer is not None)
        elif tag == "inquiry" and reply.get("ok"):
            x = (reply.get("result") or {}).get("inquiry") or {}
            where = dict(self.windows).get(x.get("to_window") or "", x.get("to_window") or "")
            self.message.setText(f"首问已登记（第 {x.get('id')} 号）" + (f"，已转交 {where}" if where else "，已答复"))
        elif tag == "inquiry_close" and reply.get("ok"):
            x = (reply.get("result") or {}).get("inquiry") or {}
            self.message.setText(f"首问第 {x.get('id')} 号已办结：{x.get('outcome_name') or ''}")
        elif not reply.get("ok"):
            self.message.setText(error)
        self._refresh()

    def _print_case(self, case: dict) -> None:
        """The 收件回执, and the 一次性告知单 when materials are missing, on the window's printer."""
        if self.printer is None:
            self.message.setText(self.message.text() + "（未连接回执打印机）")
            return
        data = compose_receipt(case, self.hall_name)
        if case["missing"]:
            data += compose_notice(case, self.hall_name)
        self.printer.print_ticket(data, case["code"])

    def _on_printed(self, what: str, result: dict) -> None:
        if what == "printed" and not result["ok"]:
            self.message.setText(f"回执未能打印（{result['problem']}），请检查回执打印机后重打")

    def reprint(self) -> None:
        if self.last_case is not None:
            self._print_case(self.last_case)

    def _on_message(self, topic: str, data: dict) -> None:
        if topic == self.qlink.topics.event("post.coverage"):
            post, name = data.get("post"), data.get("name")
            if not isinstance(post, str) or not isinstance(name, str):
                log.warning("window %s: ignored a post.coverage without post and name: %.200r", self.window_id, data)
                return
            if data.get("state") == "b" and data.get("window") == self.window_id:
                self.covering[post] = name
            else:
                self.covering.pop(post, None)
            self.cover_chip.setText("顶岗：" + "、".join(self.covering.values()))
            self.cover_chip.setVisible(bool(self.covering))
            return
        if topic == self.qlink.topics.event("case.colour"):
            if not isinstance(data.get("case"), str) or data.get("colour") not in CASE_COLOURS:
                log.warning("window %s: ignored a case.colour without case and colour: %.200r", self.window_id, data)
                return
            if data.get("window") == self.window_id and data.get("colour") != "green" and not data.get("finished"):
                self.slipping[data["case"]] = data
            else:
                self.slipping.pop(data.get("case"), None)
            self._refresh()
            return
        if topic == self.qlink.topics.window_state(self.window_id):
            if self._window_snapshot(data, "the window state") is None:
                return                               # the last good state stays on screen
            self._learn_server_clock(self.state, data)
            self.state = data
            if data.get("status") == "closed":
                self.locked = False
            else:                                    # open: the password is never left on screen,
                self.password_input.clear()          # whether this or the login reply comes first
        elif topic == self.qlink.topics.queue_state:
            lines = _queue_lines(data)
            if lines is None:
                log.warning("window %s: ignored a queue summary it cannot show: %.200r", self.window_id, data)
                return
            self.queue = lines
        elif topic == self.qlink.topics.server_state:
            self.server_online = bool(data.get("online"))
        elif topic == self.qlink.topics.window_inquiries(self.window_id):
            items = _inquiry_items(data, self.window_id)
            if items is None:
                log.warning("window %s: ignored an inquiry list it cannot show: %.200r", self.window_id, data)
                return
            self.inquiries = items
        self._refresh()

    # ------------------------------------------------------------------ showing
    def _learn_server_clock(self, old: dict | None, new: dict) -> None:
        """A state whose status has just changed was stamped (`since`) by the server a moment
        ago: how far this PC's clock is from the hall's (a counter PC's clock is often off, and
        the demo's hall runs on simulated time). The timers and the clock count on the hall's."""
        since = new.get("since")
        if old is None or old.get("status") == new.get("status") or not isinstance(since, str):
            return
        stamped = datetime.fromisoformat(since)
        self.server_offset = datetime.now(stamped.tzinfo) - stamped

    def _hall_now(self) -> datetime:
        return datetime.now().astimezone() - self.server_offset

    def _update_timer(self) -> None:
        now = self._hall_now()
        since = (self.state or {}).get("since")
        self.clock.setText((now.astimezone(datetime.fromisoformat(since).tzinfo) if since else now).strftime("%H:%M"))
        ticket = (self.state or {}).get("ticket")
        if ticket and ticket.get("called_at") and self.status == "serving":
            self.timer.setText(_elapsed("已办理 ", now - datetime.fromisoformat(ticket["called_at"])))
        elif self.status == "paused" and since:
            self.timer.setText(_elapsed("已暂停 ", now - datetime.fromisoformat(since)))
        else:
            self.timer.setText("")

    def _inquiry_line(self, x: dict) -> str:
        """One 首问 handed here: the question, who asked first and at which window (or the 导办台)."""
        where = dict(self.windows).get(x.get("from_window") or "", "导办台" if not x.get("from_window") else "")
        return f"{x['question'][:40]}（{x.get('asked_by_name') or x['asked_by']}" + (f"，{where}）" if where else "）")

    def _refresh(self) -> None:
        s, status = self.state or {}, self.status
        staff = s.get("staff") or {}
        who = f" · {staff['name']}（{staff['id']}）" if staff else ""
        self.head.setText(f"{s.get('name') or self.window_id}{who}")
        pause = dict(PAUSE_REASONS).get(s.get("pause_reason") or "", "")
        self.status_chip.setText(STATUS[status] + (f"：{pause}" if status == "paused" and pause else ""))
        self.link_chip.setText("在线" if self.online else "连接中断")
        self.banner.setVisible(not self.online)
        self.logout_button.setVisible(status != "closed" and not self.locked)
        page = LOGIN if status == "closed" else (LOCKED if self.locked else WORK)
        self.stack.setCurrentIndex(page)
        if page == LOCKED:
            self.locked_label.setText(f"终端已锁定 · {staff.get('name') or ''}（{staff.get('id') or ''}）")
        self.login_button.setEnabled(self.online and "login" not in self.in_flight)

        ticket = s.get("ticket")
        self.ticket.setText(ticket["number"] if ticket else "—")
        if ticket:
            badge = {"green": "绿色通道", "appointment": "预约"}.get(ticket.get("priority"), "")
            self.info.setText((ticket.get("category_name") or "") + (f" · {badge}" if badge else ""))
            notes = []
            if ticket.get("called_at") and ticket.get("issued_at"):
                waited = datetime.fromisoformat(ticket["called_at"]) - datetime.fromisoformat(ticket["issued_at"])
                notes.append(f"等候 {minutes_text(waited.total_seconds())}")
            if ticket.get("transferred_from"):
                notes.append(f"转自 {ticket['transferred_from']}：{ticket.get('transfer_reason') or ''}")
            if ticket.get("requeued"):
                notes.append("过号重排")
            if ticket.get("recalls"):
                notes.append(f"已重呼 {ticket['recalls']} 次")
            self.details.setText(" · ".join(notes))
        else:
            self.info.setText({"idle": "按 F1 叫号", "paused": "暂停服务中，按 F5 恢复"}.get(status, ""))
            self.details.setText("")
        self._update_timer()

        mine = s.get("categories") or []
        lines = []
        for cid in mine:
            q = self.queue.get(cid)
            if q is not None:
                lines.append(f"{q['name']}：{q['waiting']} 人")
        self.queues.setText("\n".join(lines) or "—")
        f = s.get("staff_today")
        if f:
            rating = f"{f['ratings']} 次"
            if f.get("satisfaction") is not None:
                rating += f"，满意率 {f['satisfaction']:.0f}%"
            slipping = ""
            if self.slipping:
                red = sum(1 for x in self.slipping.values() if x["colour"] == "red")
                slipping = f"\n临期办件 {len(self.slipping)} 件" + (f"（超期 {red}）" if red else "")
            self.figures.setText(f"已办结 {f['served']} 件\n平均办理 {minutes_text(f.get('avg_service_s'))}\n"
                                 f"评价 {rating}{slipping}")
        else:
            self.figures.setText("—")

        ok = self.online and self.panel is None
        serving = status == "serving"
        self.keys["call"].setEnabled(ok and status in ("idle", "serving"))
        for k in ("recall", "skip", "complete", "transfer"):
            self.keys[k].setEnabled(ok and serving)
        self.keys["accept"].setEnabled(ok and status in ("idle", "serving") and bool(self.matters))
        self.keys["pause"].setEnabled(ok and status in ("idle", "paused"))
        self.keys["inquiry"].setEnabled(ok and status in ("idle", "serving", "paused"))
        self.keys["inquiry_close"].setEnabled(ok and status in ("idle", "serving", "paused") and bool(self.inquiries))
        self.inquiry_lines.setText("\n".join(self._inquiry_line(x) for x in self.inquiries[:5])
                                   + (f"\n……共 {len(self.inquiries)} 条" if len(self.inquiries) > 5 else ""))
        self.inquiry_box.setVisible(bool(self.inquiries))
        self.keys["pause"].setText("恢复\nF5" if status == "paused" else "暂停\nF5")
        for tag in self.in_flight:
            if tag in self.keys:
                self.keys[tag].setEnabled(False)
