"""The ticket kiosk (取号机): big buttons, one decision per screen, the number shown large.

Made for first-time and elderly citizens: large type, high contrast, the waiting count and
the likely wait on every button, two levels where a department has several matters, 适老化
mode (extra-large type, four choices a page, spoken guidance), 中文/English. It shows and
prints only numbers the server confirmed; when the printer cannot print, it offers the
ticket's QR code on screen instead, and a number nobody kept is cancelled (作废).

The screen is laid out for its shape: portrait (1080×1920) or landscape (1920×1080).
"""
from __future__ import annotations

import json
import re
from datetime import datetime

from PySide6.QtCore import Qt, QTimer
from PySide6.QtWidgets import (
    QBoxLayout,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSizePolicy,
    QStackedWidget,
    QVBoxLayout,
    QWidget,
)

from govhall import contract as c
from hardware.idcard import IdCardReader
from hardware.printer import TicketPrint, TicketPrinter, TicketTemplate, compose_ticket
from hardware.voice import speakable_number
from kiosk.qtlink import QtLink
from kiosk.texts import EN, ZH, refusal_text, text
from kiosk.tiles import KioskCategory, Tile, grid_shape, group_tiles, home_tiles, paginate
from kiosk.widgets import TileButton, label, plain_labels, qr_pixmap
from kiosk.workers import IdCardWorker, PrinterWorker

PRINTER_POLL_MS = 30_000     # the printer is asked even when nobody is at the kiosk: the manager hears of paper early
HOME, GROUP, TICKET, CODE, PRINTER_DOWN = range(5)

STYLE = """
QWidget#kiosk { background: #0b4f9c; }
QLabel { color: white; }
QLabel#title { font-size: 44px; font-weight: bold; }
QLabel#hint { font-size: 28px; }
QLabel#banner { background: #b42318; font-size: 30px; padding: 16px; }
QLabel#paper { background: white; border-radius: 12px; padding: 12px; }
QPushButton { background: white; color: #0b4f9c; border-radius: 16px; font-size: 36px; font-weight: bold;
              padding: 20px; min-height: 120px; }
QPushButton:disabled { background: #9db3cf; color: #3a4a5e; }
QPushButton#back { font-size: 30px; min-height: 90px; }
QPushButton#tool { font-size: 28px; min-height: 90px; padding: 8px; background: #e8f0fa; }
QPushButton#warn { font-size: 30px; min-height: 100px; background: #fff4d6; color: #7a4b00; }
QLabel#tile { color: #0b4f9c; font-size: 36px; font-weight: bold; background: transparent; }
QLabel#tile:disabled { color: #3a4a5e; }
QLabel#number { font-size: 150px; font-weight: bold; }
QLabel#ahead { font-size: 36px; }
QPushButton#key { font-size: 44px; min-height: 100px; padding: 6px; }
"""
# 适老化: the same screens with type half as large again
LARGE_STYLE = re.sub(r"font-size: (\d+)px", lambda m: f"font-size: {int(m.group(1)) * 3 // 2}px", STYLE)


def categories_from_config(config) -> list[KioskCategory]:   # noqa: ANN001 - a govhall.config.Config
    return [KioskCategory(c.id, c.name, c.prefix, c.name_en, c.group, c.group_en) for c in config.categories]


class KioskWindow(QWidget):
    def __init__(self, qlink: QtLink, categories: list[KioskCategory] | list[tuple[str, str, str]], hall_name: str,
                 printer: TicketPrinter | None = None, template: TicketTemplate | None = None,
                 id_reader: IdCardReader | None = None, *, voice=None,   # noqa: ANN001 - hardware.voice.EspeakVoice
                 idle_seconds: int = 20, keep_unprinted_seconds: int = 60) -> None:
        """`categories` in the order the buttons show them. With a `printer`, a number is asked
        for only when the printer can print it (or the citizen chose the on-screen QR), and
        printed only after the server confirmed it. `voice` speaks in 适老化 mode."""
        super().__init__()
        self.categories = [c if isinstance(c, KioskCategory) else KioskCategory(*c) for c in categories]
        self.by_id = {c.id: c for c in self.categories}
        self.hall_name, self.template = hall_name, template or TicketTemplate()
        self.voice = voice
        self.idle_ms, self.keep_ms = idle_seconds * 1000, keep_unprinted_seconds * 1000
        self.printer = PrinterWorker(printer) if printer is not None else None
        self.printer_condition: str | None = None   # last reported to the server
        self.birth_date: str | None = None          # from the ID card just read, for 绿色通道
        self.greeting: str | None = None
        self.id_worker = IdCardWorker(id_reader) if id_reader is not None else None
        self.qlink = qlink
        self.queue: dict[str, dict] = {}            # queue.state per category
        self.online = True
        self.busy = False
        self.large = False
        self.lang = ZH
        self.portrait: bool | None = None           # set from the screen's shape on the first resize
        self.page = 0
        self.group: str | None = None               # the group page shown, if any
        self.no_print = False                       # the citizen chose the on-screen QR instead of paper
        self.unprinted: str | None = None           # a number on screen that did not print, not yet kept
        self.pending_category: str | None = None    # asked for while the printer is down
        self.buttons: dict[str, QPushButton] = {}   # the tiles on screen, by category id or group:<name>
        self._scanned = ""                          # what a code scanner typed so far

        self.setObjectName("kiosk")
        self.setWindowTitle(f"{hall_name} · 取号")
        self.setStyleSheet(STYLE)
        self.setAttribute(Qt.WidgetAttribute.WA_StyledBackground, True)
        self._build()

        if self.id_worker is not None:
            self.id_worker.setParent(self)
            self.id_worker.card.connect(self._on_card)
        if self.printer is not None:
            self.printer.setParent(self)
            self.printer.done.connect(lambda what, result: self._on_printer(what, json.loads(result)))
            self._poll_printer = QTimer(self, interval=PRINTER_POLL_MS)
            self._poll_printer.timeout.connect(lambda: self.printer.check("poll", None))
            self._poll_printer.start()
        self._idle = QTimer(self, singleShot=True, interval=self.idle_ms)
        self._idle.timeout.connect(self._on_idle)
        self._keep = QTimer(self, singleShot=True, interval=self.keep_ms)
        self._keep.timeout.connect(self._on_keep_timeout)
        plain_labels(self)
        qlink.attach(self, self._on_message, self._on_reply)
        if self.id_worker is not None:
            self.id_worker.start()
        qlink.subscribe(qlink.topics.queue_state)
        qlink.subscribe(qlink.topics.server_state)
        if self.printer is not None:
            self.printer.check("poll", None)
        self._retext()

    # ------------------------------------------------------------------ building
    def _build(self) -> None:
        layout = QVBoxLayout(self)
        layout.setContentsMargins(32, 24, 32, 24)
        layout.setSpacing(16)
        self.title = label("title", "title")
        self.title.setObjectName("title")
        self.subtitle = label("subtitle", "hint")
        self.banner = label("banner", "banner")
        self.banner.hide()
        layout.addWidget(self.title)
        layout.addWidget(self.subtitle)
        layout.addWidget(self.banner)
        self.stack = QStackedWidget()
        layout.addWidget(self.stack, 1)
        for _ in (HOME, GROUP):              # HOME and GROUP: a tile grid each, re-filled for each page shown
            self.stack.addWidget(self._build_tile_page())
        group_back = QPushButton(objectName="back")
        group_back.clicked.connect(self.show_choices)
        self.stack.widget(GROUP).layout().addWidget(group_back)
        self.group_back = group_back
        for page in (self._build_ticket_page(), self._build_code_page(), self._build_printer_down_page()):
            self.stack.addWidget(page)       # TICKET, CODE, DOWN
        layout.addWidget(self._build_tools())
        self.stack.currentChanged.connect(self._page_changed)
        self._page_changed(HOME)
        self.status = label("status", "hint")
        layout.addWidget(self.status)

    def _build_tile_page(self) -> QWidget:
        """A page of category tiles with its pager (上一页 / 下一页)."""
        page = QWidget()
        v = QVBoxLayout(page)
        v.setSpacing(16)
        grid = QGridLayout()
        grid.setSpacing(20)
        v.addStretch(0)                       # above and below: the unused rows' share, so the
        v.addLayout(grid, 1)                  # tiles keep their size and sit in the middle
        v.addStretch(0)
        pager = QHBoxLayout()
        prev_button, next_button = QPushButton(objectName="tool"), QPushButton(objectName="tool")
        page_label = label("page", "hint")
        for turn in (prev_button, next_button):
            turn.setMinimumWidth(260)         # a wide target, and "Previous" fits in English too
        prev_button.clicked.connect(lambda: self._turn(-1))
        next_button.clicked.connect(lambda: self._turn(+1))
        pager.addWidget(prev_button)
        pager.addWidget(page_label, 1)
        pager.addWidget(next_button)
        v.addLayout(pager)
        page.setProperty("parts", None)
        page.grid, page.prev, page.next, page.page_label = grid, prev_button, next_button, page_label
        return page

    def _build_ticket_page(self) -> QWidget:
        """The number just taken: category, number, how many ahead, printed or the QR; keep or discard."""
        ticket = QWidget()
        tl = QVBoxLayout(ticket)
        self.ticket_box = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        info, side = QVBoxLayout(), QVBoxLayout()
        self.t_category = label("category", "title")
        self.t_number = label("number", "number", wrap=False)
        self.t_ahead = label("ahead", "ahead")
        self.t_printed = label("printed", "hint")
        self.t_hint = label("watch", "hint")
        info.addStretch(1)
        for w in (self.t_category, self.t_number, self.t_ahead, self.t_printed, self.t_hint):
            info.addWidget(w)
        info.addStretch(1)
        self.t_qr = QLabel(objectName="paper")
        self.t_qr.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.t_qr.setSizePolicy(QSizePolicy.Policy.Fixed, QSizePolicy.Policy.Fixed)
        side.addStretch(1)
        side.addWidget(self.t_qr, 0, Qt.AlignmentFlag.AlignHCenter)
        self.keep_button, self.discard_button = QPushButton(objectName="warn"), QPushButton(objectName="tool")
        self.keep_button.clicked.connect(self.keep_number)
        self.discard_button.clicked.connect(self.discard_number)
        side.addWidget(self.keep_button)
        side.addWidget(self.discard_button)
        side.addStretch(1)
        self.ticket_box.addLayout(info, 3)
        self.ticket_box.addLayout(side, 2)
        tl.addLayout(self.ticket_box, 1)
        self.ticket_back = QPushButton(objectName="back")
        self.ticket_back.clicked.connect(self.show_choices)
        tl.addWidget(self.ticket_back)
        return ticket

    def _build_code_page(self) -> QWidget:
        """预约签到: the appointment code entered on the keypad."""
        entry = QWidget()
        el = QVBoxLayout(entry)
        self.code_box = QBoxLayout(QBoxLayout.Direction.TopToBottom)
        shown = QVBoxLayout()
        self.code_prompt = label("code_prompt", "title")
        self.code = label("code", "number", wrap=False)
        self.code_status = label("code_status", "hint")
        shown.addStretch(1)
        for w in (self.code_prompt, self.code, self.code_status):
            shown.addWidget(w)
        shown.addStretch(1)
        pad = QGridLayout()
        self.keys: dict[str, QPushButton] = {}
        for k, key in enumerate(["1", "2", "3", "4", "5", "6", "7", "8", "9", "删除", "0", "确定"]):
            b = QPushButton(key, objectName="key")
            b.clicked.connect(lambda _=False, key=key: self.press(key))
            self.keys[key] = b
            pad.addWidget(b, k // 3, k % 3)
        self.code_box.addLayout(shown, 1)
        self.code_box.addLayout(pad, 1)
        el.addLayout(self.code_box, 1)
        self.code_back = QPushButton(objectName="back")
        self.code_back.clicked.connect(self.show_choices)
        el.addWidget(self.code_back)
        return entry

    def _build_printer_down_page(self) -> QWidget:
        """The printer cannot print: the reason, and the number on the phone by QR instead."""
        down = QWidget()
        dl = QVBoxLayout(down)
        self.down_reason = label("printer_down", "title")
        self.down_offer = label("qr_offer", "hint")
        self.by_qr_button = QPushButton(objectName="warn")
        self.by_qr_button.clicked.connect(self.take_by_qr)
        self.down_back = QPushButton(objectName="back")
        self.down_back.clicked.connect(self.show_choices)
        dl.addStretch(1)
        for w in (self.down_reason, self.down_offer, self.by_qr_button):
            dl.addWidget(w)
        dl.addStretch(1)
        dl.addWidget(self.down_back)
        return down

    def _build_tools(self) -> QWidget:
        """预约签到, 大字模式, English."""
        self.tools = QWidget()
        tools = QHBoxLayout(self.tools)
        tools.setContentsMargins(0, 0, 0, 0)
        self.appointment_button = QPushButton(objectName="tool")
        self.appointment_button.clicked.connect(self.show_code_entry)
        self.large_button = QPushButton(objectName="tool")
        self.large_button.clicked.connect(self.toggle_large)
        self.lang_button = QPushButton(objectName="tool")
        self.lang_button.clicked.connect(self.toggle_language)
        for b in (self.appointment_button, self.large_button, self.lang_button):
            tools.addWidget(b)
        return self.tools

    def t(self, key: str, **values: object) -> str:
        return text(key, self.lang, **values)

    def say(self, phrase: str) -> None:
        """Spoken guidance, in 适老化 mode only (a calm kiosk otherwise)."""
        if self.voice is not None and self.large:
            self.voice.say(phrase)

    # ------------------------------------------------------------------ layout
    def _page_changed(self, index: int) -> None:
        """Only the page on screen counts for the window's size (hidden pages must not make a
        fixed-size kiosk screen overflow); the mode buttons belong to the choosing pages."""
        for i in range(self.stack.count()):
            policy = QSizePolicy.Policy.Preferred if i == index else QSizePolicy.Policy.Ignored
            self.stack.widget(i).setSizePolicy(policy, policy)
        self.tools.setVisible(index in (HOME, GROUP))
        self.subtitle.setVisible(index in (HOME, GROUP))

    def resizeEvent(self, event) -> None:   # noqa: ANN001, N802 - Qt's name and event type
        portrait = self.height() > self.width()
        if portrait != self.portrait:
            self.portrait = portrait
            self.page = 0
            direction = QBoxLayout.Direction.TopToBottom if portrait else QBoxLayout.Direction.LeftToRight
            self.ticket_box.setDirection(direction)
            self.code_box.setDirection(direction)
            self._fill_tiles()
        super().resizeEvent(event)

    def _tiles(self) -> list[Tile]:
        if self.group is not None:
            return group_tiles(self.categories, self.group, self.queue, self.lang, self.online and not self.busy)
        return home_tiles(self.categories, self.queue, self.lang, self.online and not self.busy)

    def _fill_tiles(self) -> None:
        page_widget = self.stack.widget(GROUP if self.group is not None else HOME)
        grid: QGridLayout = page_widget.grid
        while grid.count():
            item = grid.takeAt(0)
            if item.widget() is not None:
                item.widget().hide()                 # gone from the screen now, freed later
                item.widget().deleteLater()
        columns, rows = grid_shape(self.portrait, self.large)
        shown, self.page, pages = paginate(self._tiles(), self.page, columns * rows)
        self.buttons = {}
        for i, tile in enumerate(shown):
            button = TileButton(tile.label)
            button.setEnabled(tile.enabled)
            button.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
            button.clicked.connect(lambda _=False, tile=tile: self._tap(tile))
            self.buttons[tile.category or tile.key] = button
            grid.addWidget(button, i // columns, i % columns)
        used = max(1, -(-len(shown) // columns))
        for r in range(6):
            grid.setRowStretch(r, 1 if r < used else 0)
        box: QVBoxLayout = page_widget.layout()
        box.setStretch(0, rows - used)
        box.setStretch(1, 2 * used)
        box.setStretch(2, rows - used)
        for col in range(4):
            grid.setColumnStretch(col, 1 if col < columns else 0)
        page_widget.prev.setVisible(pages > 1)
        page_widget.next.setVisible(pages > 1)
        page_widget.prev.setEnabled(self.page > 0)
        page_widget.next.setEnabled(self.page < pages - 1)
        page_widget.prev.setText(self.t("prev"))
        page_widget.next.setText(self.t("next"))
        page_widget.page_label.setText(self.t("page", n=self.page + 1, total=pages) if pages > 1 else "")

    def grid_columns(self) -> int:
        return grid_shape(bool(self.portrait), self.large)[0]

    def _turn(self, step: int) -> None:
        self._touch()
        self.page += step
        self._fill_tiles()

    def _retext(self) -> None:
        """Every fixed word on every screen, in the current language."""
        self.title.setText(self.hall_name)
        self.subtitle.setText(self.t("choose_in_group") if self.group is not None else self.t("choose"))
        self.banner.setText(self.t("offline"))
        self.appointment_button.setText(self.t("appointment"))
        self.large_button.setText(self.t("large_off") if self.large else self.t("large_on"))
        self.lang_button.setText(self.t("lang"))
        for b in (self.group_back, self.ticket_back, self.code_back, self.down_back):
            b.setText(self.t("back"))
        self.keep_button.setText(self.t("keep"))
        self.discard_button.setText(self.t("discard"))
        self.by_qr_button.setText(self.t("take_by_qr"))
        self.down_offer.setText(self.t("qr_offer"))
        self.code_prompt.setText(self.t("code_prompt"))
        self.keys["删除"].setText(self.t("delete"))
        self.keys["确定"].setText(self.t("ok"))
        self.t_hint.setText(self.t("watch"))
        self._refresh()

    def _refresh(self) -> None:
        self.banner.setVisible(not self.online)
        self._fill_tiles()
        tools_on = self.stack.currentIndex() in (HOME, GROUP)
        self.appointment_button.setEnabled(self.online and tools_on)

    # ------------------------------------------------------------------ idle and modes
    def _touch(self) -> None:
        """Someone is using the kiosk: the idle clock starts again."""
        self._idle.start()

    def _on_idle(self) -> None:
        """Nobody touched the kiosk for a while: home, in Chinese, standard type, for the next person."""
        if self.unprinted is not None:
            return                                    # the keep/cancel clock decides for that number
        self.birth_date = self.greeting = None
        self.status.setText("")
        changed = self.large or self.lang != ZH
        if self.large:
            self.large = False
            self.setStyleSheet(STYLE)
        self.lang = ZH
        self.show_choices()
        if changed:
            self._retext()

    def toggle_large(self) -> None:
        """适老化: one tap for extra-large type, four choices a page and spoken guidance; one tap back."""
        self._touch()
        self.large = not self.large
        self.setStyleSheet(LARGE_STYLE if self.large else STYLE)
        self.page = 0
        self._retext()
        self.say("已切换到大字模式。请点击您要办理的业务，或者刷身份证。")

    def toggle_language(self) -> None:
        self._touch()
        self.lang = EN if self.lang == ZH else ZH
        self._retext()

    # ------------------------------------------------------------------ actions
    def _tap(self, tile: Tile) -> None:
        self._touch()
        if tile.group is not None:
            self.group, self.page = tile.group, 0
            self.stack.setCurrentIndex(GROUP)
            self._retext()
            self.say(f"{tile.title}。请选择具体事项。")
            return
        self.take(tile.category)

    def take(self, category: str) -> None:
        if self.busy or not self.online:
            return
        self._touch()
        self.busy, self.no_print = True, False
        self.status.setText(self.t("taking"))
        self._refresh()
        self._send_after_printer_check("issue", self._issue_command(category))

    def _issue_command(self, category: str) -> dict:
        birth = {"birth_date": self.birth_date} if self.birth_date else {}   # the server decides 绿色通道
        return c.command("ticket.issue", category=category, **birth)           # no ID number is sent

    def take_by_qr(self) -> None:
        """The printer cannot print: the citizen takes the number as the QR code on screen."""
        if self.pending_category is None or self.busy or not self.online:
            return
        self._touch()
        self.busy, self.no_print = True, True
        self.qlink.send("issue", self._issue_command(self.pending_category))

    def _send_after_printer_check(self, tag: str, command: dict) -> None:
        """No number is asked for that cannot be printed (unless the citizen chose the QR)."""
        if self.printer is not None:
            self.printer.check(tag, command)
        else:
            self.qlink.send(tag, command)

    def _on_card(self, courtesy: str, birth_date: str) -> None:
        self._touch()
        self.birth_date, self.greeting = birth_date, courtesy
        self.status.setText(self.t("greet", who=courtesy))
        self.say(f"{courtesy}，您好，请选择要办理的业务。")

    def _report_printer(self, condition: str, detail: str = "") -> None:
        """Tell the manager when the printer's condition changes (paper near end, out, offline)."""
        if condition != self.printer_condition and self.online:
            self.printer_condition = condition
            self.qlink.send("report", c.command("device.report", component="printer", condition=condition,
                                                         detail=detail[:200]))

    def _on_printer(self, what: str, result: dict) -> None:
        self._report_printer(result["condition"], result.get("problem") or "")
        if what == "status":
            if result["tag"] == "poll":
                return
            if result["ready"]:
                self.qlink.send(result["tag"], result["command"])
                return
            self.busy = False                       # no ticket without paper: no number asked for yet
            if result["tag"] == "check_in":
                self.code_status.setText(f"{self.t('printer_down', why=result['problem'])}")
            else:
                self.status.setText("")
                self.pending_category = result["command"]["category"]
                self.down_reason.setText(self.t("printer_down", why=result["problem"]))
                self.stack.setCurrentIndex(PRINTER_DOWN)
                self.say("打印机暂时不能出票。您可以用手机扫码保存号码，或者到服务台咨询。")
            self._refresh()
        elif what == "printed":
            if result["number"] != self.t_number.text():
                return                              # an older ticket's news; its screen is gone
            if result["ok"]:
                self.t_printed.setText(self.t("take_ticket"))
            else:                                   # the number exists: offer its QR, or cancel it
                self._offer_to_keep(result["problem"])

    def _offer_to_keep(self, problem: str) -> None:
        self.unprinted = self.t_number.text()
        self.t_printed.setText(self.t("unprinted", why=problem) + "\n"
                               + self.t("keep_hint", s=self.keep_ms // 1000))
        if not self._show_qr(True):
            self.t_printed.setText(self.t("unprinted", why=problem) + "\n" + self.t("note_number") + "\n"
                                   + self.t("keep_hint", s=self.keep_ms // 1000))
        self.keep_button.show()
        self.discard_button.show()
        self._idle.stop()
        self._keep.start()
        self.say("号票没有打印出来。请用手机扫码，或者记下号码，然后点保留此号。")

    def keep_number(self) -> None:
        """The citizen scanned or wrote down the number that did not print: it stands."""
        self._keep.stop()
        self.unprinted = None
        self.keep_button.hide()
        self.discard_button.hide()
        self.t_printed.setText(self.t("kept"))
        self._touch()

    def discard_number(self) -> None:
        self._cancel_unprinted("abandoned")

    def _on_keep_timeout(self) -> None:
        self._cancel_unprinted("print_failed")

    def _cancel_unprinted(self, reason: str) -> None:
        """Nobody took the number away: it is cancelled (作废), never called to an empty window."""
        self._keep.stop()
        number, self.unprinted = self.unprinted, None
        if number is not None:
            self.qlink.send("cancel", c.command("ticket.cancel", number=number, reason=reason))
        self.keep_button.hide()
        self.discard_button.hide()
        self.status.setText(self.t("cancelled") + f"（{number}）")
        self.show_choices()

    def show_choices(self) -> None:
        if self.unprinted is not None:
            self._cancel_unprinted("abandoned")
            return
        self.group, self.page = None, 0
        self.stack.setCurrentIndex(HOME)
        self._retext()

    def show_code_entry(self) -> None:
        self._touch()
        self.code.setText("")
        self.code_status.setText("")
        self.stack.setCurrentIndex(CODE)
        self._refresh()
        self.say("请输入六位预约码，然后点确定。")

    def press(self, key: str) -> None:
        self._touch()
        value = self.code.text()
        if key == "删除":
            self.code.setText(value[:-1])
        elif key == "确定":
            if len(value) != 6:
                self.code_status.setText(self.t("code_len"))
            elif not self.busy and self.online:
                self.busy, self.no_print = True, False
                self.code_status.setText(self.t("checking_in"))
                self._send_after_printer_check("check_in", c.command("appointment.check_in", code=value))
        elif len(value) < 6:
            self.code.setText(value + key)

    # ------------------------------------------------------------------ from the server
    def _on_reply(self, tag: str, reply: dict) -> None:
        if tag not in ("issue", "check_in"):
            return
        self.busy = False
        self.status.setText("")
        if reply.get("ok"):
            self._show_ticket(reply["result"])
        else:
            message = refusal_text(reply.get("error") or {}, self.lang)
            if tag == "check_in":
                self.code_status.setText(message)
            else:
                self.status.setText(message)
                if self.stack.currentIndex() == PRINTER_DOWN:
                    self.show_choices()
            self.say(refusal_text(reply.get("error") or {}, ZH))
        self._refresh()

    def _show_qr(self, visible: bool) -> bool:
        """The ticket's phone page as a QR code on screen; False when the server gave no page."""
        url = getattr(self, "_page_url", None)
        if visible and url:
            self.t_qr.setPixmap(qr_pixmap(url, 360 if self.large else 300))
            self.t_qr.show()
            return True
        self.t_qr.hide()
        return False

    def _show_ticket(self, result: dict) -> None:
        t, ahead, wait = result["ticket"], result["waiting_ahead"], result.get("estimated_wait_s")
        self._page_url = result.get("page_url")
        badge = {"green": self.t("green"), "appointment": self.t("appt")}.get(t.get("priority", "normal"))
        cat = self.by_id.get(t["category"])
        name = cat.label(self.lang) if cat else t["category_name"]
        self.t_category.setText(name + (f" · {badge}" if badge else ""))
        self.t_number.setText(t["number"])
        lines = [self.t("nobody_ahead") if ahead == 0 else self.t("ahead", n=ahead)]
        if wait is not None and wait >= 60:
            lines.append(self.t("wait", m=round(wait / 60)))
        if result.get("late"):
            lines.insert(0, self.t("late"))
        self.t_ahead.setText("\n".join(lines))
        self.keep_button.hide()
        self.discard_button.hide()
        printing = self.printer is not None and not self.no_print
        if printing:
            self.t_printed.setText(self.t("printing"))
        elif self.no_print:
            self.t_printed.setText(self.t("scan_to_keep"))
        else:
            self.t_printed.setText("")
        if not self._show_qr(not printing) and self.no_print:    # the QR is the ticket when there is no paper
            self.t_printed.setText(self.t("note_number"))
        self.birth_date = self.greeting = None
        self.stack.setCurrentIndex(TICKET)
        self._refresh()
        self._touch()
        spoken = f"您的号码是 {speakable_number(t['number'])}。" + (
            "前面没有人等候。" if ahead == 0 else f"前面还有 {ahead} 人等候。")
        self.say(spoken + ("请取走号票，留意叫号。" if printing else "请用手机扫码保存号码，留意叫号。"))
        if printing:
            self.printer.print_ticket(compose_ticket(TicketPrint(
                self.hall_name, t["number"], t["category_name"], ahead, wait,
                datetime.fromisoformat(t["issued_at"]), url=self._page_url,
                priority=t.get("priority", "normal")), self.template), t["number"])

    def _on_message(self, topic: str, data: dict) -> None:
        if topic == self.qlink.topics.queue_state:
            self.queue = {q["category"]: q for q in data.get("categories", [])}
        elif topic == self.qlink.topics.server_state:
            self.online = bool(data.get("online"))
        self._refresh()

    def keyPressEvent(self, event) -> None:   # noqa: ANN001, N802 - Qt's name and event type
        """A code scanner (扫码枪, a USB keyboard to the computer) types the appointment code and
        Enter: check in from any screen. The last 6 digits count, so "YY123456" works too."""
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            typed, self._scanned = self._scanned, ""
            found = re.search(r"(\d{6})$", typed)
            if found and not self.busy and self.online and self.unprinted is None:
                self.show_code_entry()
                self.code.setText(found.group(1))
                self.press("确定")
            return
        if event.text() and event.text().isprintable():
            self._scanned = (self._scanned + event.text())[-64:]
            return
        super().keyPressEvent(event)

    def closeEvent(self, event) -> None:   # noqa: ANN001, N802 - Qt's name and event type
        if self.id_worker is not None:
            self.id_worker.stop()
        super().closeEvent(event)
