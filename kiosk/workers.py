"""The kiosk's slow hardware, off the GUI thread: the ticket printer and the ID card reader.

Each worker talks to its device on a thread of its own and answers the window with a Qt
signal carrying JSON text (never Python objects: see kiosk/qtlink.py).
"""
from __future__ import annotations

import json
import threading

from PySide6.QtCore import QObject, Signal

from hardware.idcard import IdCardReader, IdFrameError, NoCard
from hardware.printer import PrinterNotReady, PrinterStatus, TicketPrinter


def condition_of(status: PrinterStatus) -> str:
    """The printer's condition as the contract's device.report names it."""
    if not status.online:
        return "offline"
    if status.paper_out:
        return "paper_out"
    if status.cover_open:
        return "cover_open"
    return "paper_near_end" if status.paper_near_end else "ok"



class PrinterWorker(QObject):
    """Runs the printer's slow I/O off the GUI thread; answers with a signal (JSON text)."""
    done = Signal(str, str)           # what ("status" / "printed"), result as JSON

    def __init__(self, printer: TicketPrinter) -> None:
        super().__init__()
        self.printer = printer
        self._lock = threading.Lock()   # one conversation with the printer at a time

    def _emit(self, what: str, result: dict) -> None:
        try:
            self.done.emit(what, json.dumps(result, ensure_ascii=False))
        except RuntimeError:          # the kiosk window is gone
            pass

    def check(self, tag: str, command: dict | None) -> None:
        """Ask the printer; the answer carries the command to send if it can print."""
        def work() -> None:
            with self._lock:
                status = self.printer.status()
            self._emit("status", {"tag": tag, "command": command, "ready": status.ready,
                                  "problem": status.problem(), "condition": condition_of(status)})
        threading.Thread(target=work, name="printer-status", daemon=True).start()

    def print_ticket(self, data: bytes, number: str) -> None:
        def work() -> None:
            try:
                with self._lock:
                    status = self.printer.print_ticket(data)
                self._emit("printed", {"ok": True, "number": number, "condition": condition_of(status)})
            except PrinterNotReady as exc:
                self._emit("printed", {"ok": False, "number": number, "problem": str(exc),
                                       "condition": condition_of(exc.status)})
            except OSError as exc:
                self._emit("printed", {"ok": False, "number": number, "problem": f"打印机连接中断：{exc}",
                                       "condition": "offline"})
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
