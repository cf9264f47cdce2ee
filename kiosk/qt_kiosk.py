"""The ticket kiosk (取号机) screen: one big button per service, one tap for a number.

Made for first-time and elderly citizens: large type, high contrast, one decision per
screen, the waiting count on every button, and the number shown large after the tap. The
kiosk shows (and later prints) only what the server confirmed.
"""
from __future__ import annotations

import json
import re
import threading
from datetime import datetime

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QGridLayout, QLabel, QPushButton, QStackedWidget, QVBoxLayout, QWidget

from hardware.idcard import IdCardReader, IdFrameError, NoCard
from hardware.printer import PrinterNotReady, TicketPrint, TicketPrinter, TicketTemplate, compose_ticket
from kiosk.qtlink import QtLink

RETURN_AFTER_MS = 10_000
STYLE = """
QWidget#kiosk { background: #0b4f9c; }
QLabel { color: white; }
QLabel#title { font-size: 40px; font-weight: bold; }
QLabel#hint { font-size: 26px; }
QLabel#banner { background: #b42318; font-size: 28px; padding: 12px; }
QPushButton { background: white; color: #0b4f9c; border-radius: 16px; font-size: 34px; font-weight: bold;
              padding: 24px; min-height: 120px; }
QPushButton:disabled { background: #9db3cf; color: #4b5d73; }
QPushButton#back { font-size: 28px; min-height: 70px; }
QLabel#number { font-size: 120px; font-weight: bold; }
QLabel#ahead { font-size: 34px; }
QPushButton#small { font-size: 26px; min-height: 80px; padding: 8px; }
QPushButton#key { font-size: 40px; min-height: 90px; padding: 6px; }
"""
# 适老化: the same screens with type half as large again
LARGE_STYLE = re.sub(r"font-size: (\d+)px", lambda m: f"font-size: {int(m.group(1)) * 3 // 2}px", STYLE)


def refusal_text(error: dict) -> str:
    """What the kiosk says when there is no ticket: the reason, and when to come back."""
    text = error.get("message") or "取号失败，请重试"
    when = error.get("next_open")
    if when:
        at = datetime.fromisoformat(when)
        today = datetime.now(at.tzinfo).date()
        day = "今天" if at.date() == today else f"{at.month}月{at.day}日"
        text += f"，下次取号时间：{day} {at:%H:%M}"
    return text


class PrinterWorker(QObject):
    """Runs the printer's slow serial I/O off the GUI thread; answers with a signal (JSON text)."""
    done = Signal(str, str)           # what ("status" / "printed"), result as JSON

    def __init__(self, printer: TicketPrinter) -> None:
        super().__init__()
        self.printer = printer

    def _emit(self, what: str, result: dict) -> None:
        try:
            self.done.emit(what, json.dumps(result, ensure_ascii=False))
        except RuntimeError:          # the kiosk window is gone
            pass

    def check(self, tag: str, command: dict) -> None:
        """Ask the printer; the answer carries the command to send if it can print."""
        def work() -> None:
            status = self.printer.status()
            self._emit("status", {"tag": tag, "command": command, "ready": status.ready, "problem": status.problem()})
        threading.Thread(target=work, name="printer-status", daemon=True).start()

    def print_ticket(self, data: bytes) -> None:
        def work() -> None:
            try:
                status = self.printer.print_ticket(data)
                self._emit("printed", {"ok": True, "near_end": status.paper_near_end})
            except PrinterNotReady as exc:
                self._emit("printed", {"ok": False, "problem": str(exc)})
        threading.Thread(target=work, name="printer-print", daemon=True).start()


class IdCardWorker(QObject):
    """Polls the ID card reader off the GUI thread; a card on it is announced once."""
    card = Signal(str, str)           # courtesy greeting, birth date (ISO)

    def __init__(self, reader: IdCardReader, every_s: float = 0.5) -> None:
        super().__init__()
        self.reader, self.every_s = reader, every_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._poll, name="id-reader", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _poll(self) -> None:
        present = False
        while not self._stop.wait(self.every_s):
            try:
                found = self.reader.read_card()
            except NoCard:
                present = False
                continue
            except (IdFrameError, OSError):
                continue
            if present:
                continue                      # the same card still lying there: announced already
            present = True
            try:
                self.card.emit(found.courtesy, found.birth_date.isoformat())   # the ID number stays here
            except RuntimeError:
                return


class KioskWindow(QWidget):
    def __init__(self, qlink: QtLink, categories: list[tuple[str, str, str]], hall_name: str,
                 printer: TicketPrinter | None = None, template: TicketTemplate | None = None,
                 id_reader: IdCardReader | None = None) -> None:
        """`categories` are (id, name, prefix) in the order the buttons show them. With a
        `printer`, a number is asked for only when the printer can print it, and printed only
        after the server confirmed it."""
        super().__init__()
        self.hall_name, self.template = hall_name, template or TicketTemplate()
        self.printer = PrinterWorker(printer) if printer is not None else None
        self.paper_near_end = False
        self.birth_date: str | None = None          # from the ID card just read, for 绿色通道
        self.id_worker = IdCardWorker(id_reader) if id_reader is not None else None
        if self.id_worker is not None:
            self.id_worker.setParent(self)
            self.id_worker.card.connect(self._on_card)
        if self.printer is not None:
            self.printer.setParent(self)
            self.printer.done.connect(lambda what, text: self._on_printer(what, json.loads(text)))
        self.setObjectName("kiosk")
        self.setWindowTitle(f"{hall_name} · 取号")
        self.setStyleSheet(STYLE)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self.qlink = qlink
        self.names = {cid: name for cid, name, _ in categories}
        self.waiting: dict[str, int] = {}
        self.online = True
        self.busy = False
        self.large = False
        self.closed: dict[str, dict] = {}           # categories not issuing now, from the queue state

        self.stack = QStackedWidget()
        layout = QVBoxLayout(self)
        self.banner = QLabel("系统维护中，请稍候或咨询导办人员", objectName="banner")
        self.banner.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.banner.hide()
        layout.addWidget(self.banner)
        layout.addWidget(self.stack)

        choose = QWidget()
        grid = QGridLayout(choose)
        title = QLabel(f"{hall_name}\n请选择您要办理的业务", objectName="title")
        title.setAlignment(Qt.AlignmentFlag.AlignCenter)
        grid.addWidget(title, 0, 0, 1, 2)
        self.buttons: dict[str, QPushButton] = {}
        for i, (cid, name, prefix) in enumerate(categories):
            button = QPushButton(f"{name}\n{prefix}")
            button.clicked.connect(lambda _=False, c=cid: self.take(c))
            self.buttons[cid] = button
            grid.addWidget(button, 1 + i // 2, i % 2)
        row = 1 + (len(categories) + 1) // 2
        self.appointment_button = QPushButton("预约签到", objectName="small")
        self.appointment_button.clicked.connect(self.show_code_entry)
        self.large_button = QPushButton("大字模式", objectName="small")
        self.large_button.clicked.connect(self.toggle_large)
        grid.addWidget(self.appointment_button, row, 0)
        grid.addWidget(self.large_button, row, 1)
        self.status = QLabel("", objectName="hint")
        self.status.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.status.setWordWrap(True)
        grid.addWidget(self.status, row + 1, 0, 1, 2)
        self.stack.addWidget(choose)

        ticket = QWidget()
        tl = QVBoxLayout(ticket)
        self.t_category = QLabel("", objectName="title")
        self.t_number = QLabel("", objectName="number")
        self.t_ahead = QLabel("", objectName="ahead")
        hint = QLabel("请留意叫号屏和语音，叫到后到窗口办理", objectName="hint")
        self.t_printed = QLabel("", objectName="hint")
        for w in (self.t_category, self.t_number, self.t_ahead, self.t_printed, hint):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            tl.addWidget(w)
        back = QPushButton("返回", objectName="back")
        back.clicked.connect(self.show_choices)
        tl.addWidget(back)
        self.stack.addWidget(ticket)

        entry = QWidget()
        el = QVBoxLayout(entry)
        prompt = QLabel("请输入 6 位预约码", objectName="title")
        self.code = QLabel("", objectName="number")
        self.code_status = QLabel("", objectName="hint")
        self.code_status.setWordWrap(True)
        for w in (prompt, self.code, self.code_status):
            w.setAlignment(Qt.AlignmentFlag.AlignCenter)
            el.addWidget(w)
        pad = QGridLayout()
        for k, key in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", "删除", "0", "确定"]):
            b = QPushButton(key, objectName="key")
            b.clicked.connect(lambda _=False, key=key: self.press(key))
            pad.addWidget(b, k // 3, k % 3)
        el.addLayout(pad)
        back2 = QPushButton("返回", objectName="back")
        back2.clicked.connect(self.show_choices)
        el.addWidget(back2)
        self.stack.addWidget(entry)

        self._return = QTimer(self, singleShot=True, interval=RETURN_AFTER_MS)
        self._return.timeout.connect(self.show_choices)
        qlink.attach(self, self._on_message, self._on_reply)
        if self.id_worker is not None:
            self.id_worker.start()
        qlink.subscribe(qlink.topics.queue_state)
        qlink.subscribe(qlink.topics.server_state)
        self._refresh()

    def closeEvent(self, event) -> None:   # noqa: ANN001, N802 - Qt's name and event type
        if self.id_worker is not None:
            self.id_worker.stop()
        super().closeEvent(event)

    # ------------------------------------------------------------------ actions
    def take(self, category: str) -> None:
        if self.busy or not self.online:
            return
        self.busy = True
        self.status.setText("正在取号，请稍候…")
        self._refresh()
        command = {"type": "ticket.issue", "category": category}
        if self.birth_date:
            command["birth_date"] = self.birth_date  # the server decides the 绿色通道; no ID number is sent
            self.birth_date = None
        self._send_after_printer_check("issue", command)

    def _send_after_printer_check(self, tag: str, command: dict) -> None:
        """No number is asked for that cannot be printed."""
        if self.printer is not None:
            self.printer.check(tag, command)
        else:
            self.qlink.send(tag, command)

    def _on_card(self, courtesy: str, birth_date: str) -> None:
        self.birth_date = birth_date
        self.status.setText(f"{courtesy}，您好，请选择要办理的业务")

    def _on_printer(self, what: str, result: dict) -> None:
        if what == "status":
            if result["ready"]:
                self.qlink.send(result["tag"], result["command"])
                return
            self.busy = False                       # no ticket without paper: no number asked for
            message = f"取号暂停：{result['problem']}，请到服务台咨询"
            (self.code_status if result["tag"] == "check_in" else self.status).setText(message)
            self._refresh()
        elif what == "printed":
            if result["ok"]:
                self.paper_near_end = result["near_end"]
                self.t_printed.setText("请取走号票")
            else:                                   # the number exists: keep it on screen
                self.t_printed.setText(f"号票未能打印（{result['problem']}），请记下您的号码")

    def show_choices(self) -> None:
        self._return.stop()
        self.stack.setCurrentIndex(0)

    def show_code_entry(self) -> None:
        self.code.setText("")
        self.code_status.setText("")
        self.stack.setCurrentIndex(2)
        self._return.start()                        # nobody there: back home after a while

    def press(self, key: str) -> None:
        self._return.start()
        text = self.code.text()
        if key == "删除":
            self.code.setText(text[:-1])
        elif key == "确定":
            if len(text) != 6:
                self.code_status.setText("预约码是 6 位数字")
            elif not self.busy and self.online:
                self.busy = True
                self.code_status.setText("正在签到，请稍候…")
                self._send_after_printer_check("check_in", {"type": "appointment.check_in", "code": text})
        elif len(text) < 6:
            self.code.setText(text + key)

    def toggle_large(self) -> None:
        """适老化: one tap for extra-large type everywhere, one tap back."""
        self.large = not self.large
        self.setStyleSheet(LARGE_STYLE if self.large else STYLE)
        self.large_button.setText("标准模式" if self.large else "大字模式")

    # ------------------------------------------------------------------ from the server
    def _on_reply(self, tag: str, reply: dict) -> None:
        if tag not in ("issue", "check_in"):
            return
        self.busy = False
        self.status.setText("")
        if reply.get("ok"):
            self._show_ticket(reply["result"])
        elif tag == "check_in":
            self.code_status.setText(refusal_text(reply.get("error") or {}))
        else:
            self.status.setText(refusal_text(reply.get("error") or {}))
        self._refresh()

    def _show_ticket(self, result: dict) -> None:
        t, ahead, wait = result["ticket"], result["waiting_ahead"], result.get("estimated_wait_s")
        badge = {"green": "  绿色通道", "appointment": "  预约"}.get(t.get("priority", "normal"), "")
        self.t_category.setText(t["category_name"] + badge)
        self.t_number.setText(t["number"])
        text = "前面没有人等候，请留意叫号" if ahead == 0 else f"前面还有 {ahead} 人等候"
        if wait is not None and wait >= 60:
            text += f"\n预计等候约 {round(wait / 60)} 分钟"
        if result.get("late"):
            text = "预约时间已过，已为您取普通号\n" + text
        self.t_ahead.setText(text)
        self.t_printed.setText("正在打印号票…" if self.printer is not None else "")
        self.stack.setCurrentIndex(1)
        self._return.start()
        if self.printer is not None:
            self.printer.print_ticket(compose_ticket(TicketPrint(
                self.hall_name, t["number"], t["category_name"], ahead, wait,
                datetime.fromisoformat(t["issued_at"]), url=result.get("page_url"),
                priority=t.get("priority", "normal")), self.template))

    def _on_message(self, topic: str, data: dict) -> None:
        if topic == self.qlink.topics.queue_state:
            self.waiting = {q["category"]: q["waiting"] for q in data.get("categories", [])}
            self.closed = {q["category"]: q for q in data.get("categories", []) if not q.get("issuing", True)}
        elif topic == self.qlink.topics.server_state:
            self.online = bool(data.get("online"))
        self._refresh()

    def _refresh(self) -> None:
        self.banner.setVisible(not self.online)
        for cid, button in self.buttons.items():
            n = self.waiting.get(cid)
            first = self.names[cid]
            closed = self.closed.get(cid)
            if closed is not None:                  # greyed, with the reason and when it opens
                why = "号源已满" if closed.get("not_issuing_because") == "quota_full" else "暂停取号"
                when = closed.get("next_open")
                button.setText(f"{first}\n{why}" + (f" · {datetime.fromisoformat(when):%H:%M} 起" if when else ""))
            else:
                button.setText(first if n is None else f"{first}\n等候 {n} 人")
            button.setEnabled(self.online and not self.busy and closed is None)
