"""The ticket (号票) on an ESC/POS thermal printer, and the decoder that reads it back.

`compose_ticket` builds the bytes with python-escpos: Chinese as GB18030 inside the printer's
Chinese mode (FS & … FS .), never as a picture; the number in double size; a native QR code
(GS ( k) to the phone page; a cut. `decode` turns ESC/POS bytes back into lines, QR payloads
and cuts, refusing what it does not know, so tests check the real byte stream and the
manager can preview a template (`preview_png`).
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from escpos.printer import Dummy

FS_CHINESE_ON, FS_CHINESE_OFF = b"\x1c\x26", b"\x1c\x2e"
PAPER_WIDTH_PX = 384               # 58 mm paper at 203 dpi
CLASS_LABELS = {"green": "绿色通道", "appointment": "预约"}


@dataclass(frozen=True)
class TicketTemplate:
    """What a hall prints besides the number; configurable per hall (`[ticket]` in hall.toml)."""
    notice: str = "过号请到取号机或窗口重新排队，30分钟内有效"
    footer: str = "请留意叫号屏和语音提示"
    qr_caption: str = "扫码查看排队进度"
    show_estimate: bool = True
    show_qr: bool = True


@dataclass(frozen=True)
class TicketPrint:
    hall_name: str
    number: str
    category_name: str
    waiting_ahead: int
    estimated_wait_s: int | None
    issued_at: datetime
    url: str | None = None          # the phone page for this ticket (QR)
    priority: str = "normal"


def compose_ticket(t: TicketPrint, template: TicketTemplate | None = None) -> bytes:
    template = template or TicketTemplate()
    p = Dummy()
    p.hw("INIT")

    def chinese(text: str, *, align: str = "center", double: bool = False, bold: bool = False) -> None:
        p.set_with_default(align=align, double_height=double, double_width=double, bold=bold)
        p._raw(FS_CHINESE_ON + text.encode("gb18030") + FS_CHINESE_OFF + b"\n")

    chinese(t.hall_name, bold=True)
    chinese(t.category_name + (f"（{CLASS_LABELS[t.priority]}）" if t.priority in CLASS_LABELS else ""))
    p.set_with_default(align="center", double_height=True, double_width=True, bold=True)
    p.text(f"{t.number}\n")
    chinese("前面没有人等候" if t.waiting_ahead == 0 else f"前面还有 {t.waiting_ahead} 人等候")
    if template.show_estimate and t.estimated_wait_s is not None and t.estimated_wait_s >= 60:
        chinese(f"预计等候约 {round(t.estimated_wait_s / 60)} 分钟")
    chinese(f"取号时间 {t.issued_at:%Y-%m-%d %H:%M}")
    if t.url and template.show_qr:
        p.set_with_default(align="center")
        p.qr(t.url, native=True, size=6)
        if template.qr_caption:
            chinese(template.qr_caption)
    if template.notice:
        chinese(template.notice, align="left")
    if template.footer:
        chinese(template.footer, align="left")
    p.cut()
    return p.output


# --------------------------------------------------------------------------- decoding
class EscPosError(ValueError):
    pass


@dataclass
class Line:
    text: str
    align: int = 0                 # 0 left, 1 centre, 2 right
    double: bool = False
    bold: bool = False
    qr: str | None = None          # a QR code printed here


@dataclass
class Printout:
    lines: list[Line] = field(default_factory=list)
    qr: list[str] = field(default_factory=list)
    cuts: int = 0

    def texts(self) -> list[str]:
        return [line.text for line in self.lines if line.text]

    def wraps_needed(self, chars_per_line: int = 16) -> list[str]:
        """Chinese lines longer than the paper is wide (16 full-width characters on 58 mm)."""
        return [t for t in self.texts() if sum(2 if ord(ch) > 0x7F else 1 for ch in t) > chars_per_line * 2]


def decode(data: bytes) -> Printout:
    """Read ESC/POS bytes as a printer would: text with its attributes, QR codes, cuts."""
    return _Decoder(data).run()


class _Decoder:
    """The printer's side of the line: its mode (Chinese, alignment, double size, bold), the
    text of the line being built, and what has been printed."""

    def __init__(self, data: bytes) -> None:
        self.data, self.i = data, 0
        self.chinese, self.align, self.double, self.bold = False, 0, False, False
        self.buf = bytearray()
        self.out = Printout()

    def run(self) -> Printout:
        data = self.data
        while self.i < len(data):
            b = data[self.i]
            if b == 0x0A:                                         # LF
                self.flush()
                self.i += 1
            elif b == 0x1B:                                       # ESC
                self.esc(self.need(2)[1])
            elif b == 0x1C:                                       # FS: Chinese mode on/off
                self.fs(self.need(2)[1])
            elif b == 0x1D:                                       # GS
                self.gs(self.need(2)[1])
            elif b < 0x20:
                raise EscPosError(f"unknown control byte {b:#04x} at byte {self.i}")
            else:
                self.buf.append(b)
                self.i += 1
        if self.buf:
            self.flush()
        return self.out

    def flush(self) -> None:
        try:
            text = self.buf.decode("gb18030" if self.chinese or any(b >= 0x80 for b in self.buf) else "ascii")
        except UnicodeDecodeError as exc:
            raise EscPosError(f"text before byte {self.i} is not GB18030: {exc}") from None
        self.out.lines.append(Line(text, self.align, self.double, self.bold))
        self.buf.clear()

    def need(self, n: int) -> bytes:
        if self.i + n > len(self.data):
            raise EscPosError(f"truncated command at byte {self.i}")
        return self.data[self.i:self.i + n]

    def esc(self, cmd: int) -> None:
        if cmd == 0x40:                                       # ESC @ init
            self.chinese, self.align, self.double, self.bold = False, 0, False, False
            self.i += 2
        elif cmd == 0x21:                                     # ESC ! n: print mode
            n = self.need(3)[2]
            self.double, self.bold = bool(n & 0x30), bool(n & 0x08)
            self.i += 3
        elif cmd == 0x61:                                     # ESC a n: align
            n = self.need(3)[2]
            self.align = n - 48 if n >= 48 else n
            self.i += 3
        elif cmd == 0x45:                                     # ESC E n: bold
            self.bold = bool(self.need(3)[2])
            self.i += 3
        elif cmd in (0x74, 0x4D, 0x2D, 0x47, 0x20, 0x64, 0x7B):  # code page, font, underline, double-strike,
            self.i += 3                                            # spacing, feed, upside-down
        else:
            raise EscPosError(f"unknown ESC {cmd:#04x} at byte {self.i}")

    def fs(self, cmd: int) -> None:
        if cmd == 0x26:
            self.chinese = True
        elif cmd == 0x2E:
            self.chinese = False
        else:
            raise EscPosError(f"unknown FS {cmd:#04x} at byte {self.i}")
        self.i += 2

    def gs(self, cmd: int) -> None:
        if cmd == 0x56:                                       # GS V m [n]: cut
            m = self.need(3)[2]
            self.out.cuts += 1
            self.i += 4 if m in (0x41, 0x42, 65, 66) else 3
        elif cmd == 0x21:                                     # GS ! n: character size
            self.double = bool(self.need(3)[2])
            self.i += 3
        elif cmd in (0x42, 0x62):                             # GS B (reverse), GS b (smoothing)
            self.i += 3
        elif cmd == 0x28 and self.need(3)[2] == 0x6B:         # GS ( k: QR code functions
            self.qr()
        else:
            raise EscPosError(f"unknown GS {cmd:#04x} at byte {self.i}")

    def qr(self) -> None:
        head = self.need(5)
        length = head[3] | head[4] << 8
        body = self.need(5 + length)[5:]
        if body[:2] == b"1P":                                 # store the data
            try:
                self.out.qr.append(body[3:].decode("utf-8"))
            except UnicodeDecodeError:
                raise EscPosError(f"QR data at byte {self.i} is not UTF-8") from None
        elif body[:2] == b"1Q" and self.out.qr:               # print what was stored, here
            self.out.lines.append(Line("", self.align, qr=self.out.qr[-1]))
        self.i += 5 + length


# --------------------------------------------------------------------------- preview
def _cjk_font() -> str | None:
    if shutil.which("fc-match"):
        found = subprocess.run(["fc-match", "-f", "%{file}", "WenQuanYi Micro Hei:lang=zh-cn"],
                               capture_output=True, text=True).stdout.strip()
        if found and Path(found).exists():
            return found
    for candidate in ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",
                      "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"):
        if Path(candidate).exists():
            return candidate
    return None


def preview_png(printout: Printout, path, width: int = PAPER_WIDTH_PX):   # noqa: ANN001, ANN201
    """Draw the printout as the paper would look; `path` is a file name or a binary file object."""
    """Draw the printout as the paper would look: text at 24 px (48 px double), QR codes, cut lines."""
    import qrcode  # qrcode (Pillow): only when a QR code is drawn
    from PIL import Image, ImageDraw, ImageFont  # Pillow: only when a picture is made
    font_file = _cjk_font()

    def font(size: int) -> ImageFont.ImageFont:
        return ImageFont.truetype(font_file, size) if font_file else ImageFont.load_default()
    measure = ImageDraw.Draw(Image.new("L", (1, 1)))

    def wrapped(line: Line) -> list[str]:
        """The printer wraps at the paper's edge; so does the preview."""
        f, rows, row = font(48 if line.double else 24), [], ""
        for ch in line.text:
            if measure.textlength(row + ch, font=f) > width - 16:
                rows.append(row)
                row = ""
            row += ch
        return rows + [row]

    def step(line: Line) -> int:
        return 220 if line.qr else (56 if line.double else 30) * len(wrapped(line))
    height = 20 + sum(step(line) for line in printout.lines) + 30
    img = Image.new("L", (width, height), 255)
    draw = ImageDraw.Draw(img)
    y = 10
    for line in printout.lines:
        if line.qr:
            code = qrcode.make(line.qr, box_size=5, border=1).get_image().convert("L").resize((200, 200))
            img.paste(code, ((width - 200) // 2, y))
        else:
            f = font(48 if line.double else 24)
            for k, row in enumerate(wrapped(line)):
                w = draw.textlength(row, font=f)
                x = {0: 8, 1: (width - w) / 2, 2: width - w - 8}.get(line.align, 8)
                draw.text((x, y + k * (56 if line.double else 30)), row, font=f, fill=0)
        y += step(line)
    for _ in range(printout.cuts):
        draw.line((0, height - 10, width, height - 10), fill=0, width=1)
    img.save(path, format="PNG")
    return path


# --------------------------------------------------------------------------- the printer itself
DLE_EOT = b"\x10\x04"
STATUS_PRINTER, STATUS_OFFLINE, STATUS_PAPER = 1, 2, 4
GS_R_PAPER = b"\x1dr\x01"        # GS r 1: paper sensor status, for printers without DLE EOT 4
try:
    import termios  # POSIX only
    PORT_ERRORS: tuple[type[BaseException], ...] = (OSError, termios.error)
except ImportError:                  # not POSIX
    PORT_ERRORS = (OSError,)


@dataclass(frozen=True)
class PrinterStatus:
    online: bool
    paper_near_end: bool = False
    paper_out: bool = False
    cover_open: bool = False

    @property
    def ready(self) -> bool:
        return self.online and not self.paper_out and not self.cover_open

    def problem(self) -> str | None:
        """What the kiosk says when it cannot print, in Chinese."""
        if not self.online:
            return "打印机未连接"
        if self.paper_out:
            return "号票纸已用完"
        if self.cover_open:
            return "打印机盖未关好"
        return None


class PrinterNotReady(Exception):
    def __init__(self, status: PrinterStatus) -> None:
        super().__init__(status.problem() or "打印机未就绪")
        self.status = status


def parse_status(printer_byte: int | None, offline_byte: int | None, paper_byte: int | None,
                 gs_r_byte: int | None = None) -> PrinterStatus:
    """Real-time status (DLE EOT 1, 2, 4) as ESC/POS defines the bits; None is no answer.
    `gs_r_byte` is the answer to GS r 1 (bits 0-1 near end, 2-3 paper end), asked only when
    the printer does not answer DLE EOT 4."""
    if printer_byte is None or (printer_byte & 0x93) != 0x12:        # fixed bits: 0 1 . 1 . . 1 0 … 0
        return PrinterStatus(online=False)
    offline = bool(printer_byte & 0x08)
    cover = offline_byte is not None and bool(offline_byte & 0x04)
    if paper_byte is not None:
        near_end, out = bool(paper_byte & 0x0C), bool(paper_byte & 0x60)
    elif gs_r_byte is not None:
        near_end, out = bool(gs_r_byte & 0x03), bool(gs_r_byte & 0x0C)
    else:
        near_end = out = False
    out = out or (offline_byte is not None and bool(offline_byte & 0x20))   # DLE EOT 2: stopped, paper end
    return PrinterStatus(online=not offline, paper_near_end=near_end, paper_out=out, cover_open=cover)


class TicketPrinter:
    """An ESC/POS printer on a port: a pyserial port (serial, USB-serial, socket:// for network
    printers) or a `UsbPort`. Build one from a URL with `open_printer`."""

    def __init__(self, port, answer_timeout: float = 0.5) -> None:   # noqa: ANN001 - a serial.SerialBase
        self.port = port
        self.answer_timeout = answer_timeout

    def _ask(self, request: bytes) -> int | None:
        try:
            self.port.reset_input_buffer()
            self.port.write(request)
            self.port.flush()
            self.port.timeout = self.answer_timeout
            answer = self.port.read(1)
        except PORT_ERRORS as exc:           # unplugged: the tty answers EIO, termios raises its own error
            raise OSError(f"printer port: {exc}") from exc
        return answer[0] if answer else None

    def status(self) -> PrinterStatus:
        try:
            first = self._ask(DLE_EOT + bytes([STATUS_PRINTER]))
            if first is None:
                return PrinterStatus(online=False)
            offline = self._ask(DLE_EOT + bytes([STATUS_OFFLINE]))
            paper = self._ask(DLE_EOT + bytes([STATUS_PAPER]))
            gs_r = self._ask(GS_R_PAPER) if paper is None else None
            return parse_status(first, offline, paper, gs_r)
        except OSError:
            return PrinterStatus(online=False)

    def print_ticket(self, data: bytes) -> PrinterStatus:
        """Print, after checking the printer can; returns the status (near end: tell the manager)."""
        status = self.status()
        if not status.ready:
            raise PrinterNotReady(status)
        try:
            self.port.write(data)
            self.port.flush()
        except PORT_ERRORS as exc:
            raise OSError(f"printer port: {exc}") from exc
        return status


class UsbPort:
    """A USB printer (python-escpos `Usb`, through pyusb) with the few port calls TicketPrinter
    makes. `device` is anything with escpos's `_raw(bytes)` and `_read() -> bytes`."""

    def __init__(self, device) -> None:   # noqa: ANN001 - an escpos.printer.Usb, opened
        self.device = device
        self.timeout: float | None = 0.5
        self._pending = bytearray()

    def reset_input_buffer(self) -> None:
        self._pending.clear()

    def write(self, data: bytes) -> int:
        self.device._raw(bytes(data))
        return len(data)

    def flush(self) -> None:
        pass

    def read(self, n: int = 1) -> bytes:
        if not self._pending:
            try:
                self._pending += bytes(self.device._read())
            except Exception:            # pyusb raises USBTimeoutError (an OSError subclass) or USBError
                return b""
        out, self._pending = bytes(self._pending[:n]), self._pending[n:]
        return out

    def close(self) -> None:
        self.device.close()


class PrinterUrlError(ValueError):
    pass


def open_printer(url: str, answer_timeout: float = 0.5) -> TicketPrinter:
    """A ticket printer by URL:

    - ``/dev/ttyUSB0`` or ``serial:///dev/ttyUSB0?baudrate=19200``: a serial printer (9600 baud default)
    - ``tcp://192.168.1.50:9100``: a network printer (raw port 9100 default), status asked on the same socket
    - ``usb://0416:5011`` (vendor:product, hex; optional ``?in_ep=0x81&out_ep=0x03``): a USB printer
    - any other pyserial URL (``loop://``, ``socket://``, ``rfc2217://``) as it is
    """

    import serial  # pyserial: only with a serial line

    parts = urlsplit(url)
    query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
    try:
        if parts.scheme == "usb":
            from escpos.printer import Usb  # python-escpos/pyusb: a USB printer only
            vendor, _, product = parts.netloc.partition(":")
            device = Usb(int(vendor, 16), int(product, 16), timeout=int(answer_timeout * 1000),
                         in_ep=int(query.get("in_ep", "0x82"), 16), out_ep=int(query.get("out_ep", "0x01"), 16))
            device.open()
            return TicketPrinter(UsbPort(device), answer_timeout)
        if parts.scheme == "tcp":
            if not parts.hostname:
                raise ValueError("tcp:// needs a host, e.g. tcp://192.168.1.50:9100")
            port = serial.serial_for_url(f"socket://{parts.hostname}:{parts.port or 9100}", timeout=answer_timeout)
            return TicketPrinter(port, answer_timeout)
        if parts.scheme == "serial":
            return TicketPrinter(serial.Serial(parts.path, baudrate=int(query.get("baudrate", "9600")),
                                               timeout=answer_timeout), answer_timeout)
        return TicketPrinter(serial.serial_for_url(url, baudrate=9600, timeout=answer_timeout), answer_timeout)
    except (ValueError, OSError) as exc:            # a bad URL, or no such port or host
        raise PrinterUrlError(f"printer URL {url!r}: {exc}") from None
    except Exception as exc:                        # python-escpos: USB device not found, no pyusb backend
        raise PrinterUrlError(f"printer URL {url!r}: {exc}") from None


class PrinterSimulator:
    """A thermal printer at the other end of a serial line (a pty in tests): it answers the
    real-time status requests with the real bits and keeps what it printed, ticket by ticket.
    A fake for hardware not on this machine, speaking the real byte protocol. With
    `dle_eot_paper=False` it is one of the printers that answer paper status only to GS r 1."""

    def __init__(self, dle_eot_paper: bool = True) -> None:
        self.online, self.paper, self.cover_open = True, "ok", False     # paper: ok, near_end, out
        self.dle_eot_paper = dle_eot_paper
        self.tickets: list[Printout] = []
        self._buf = bytearray()

    def answer(self, n: int) -> bytes:
        if not self.online:
            return b""
        if n == STATUS_PRINTER:
            return bytes([0x12])
        if n == STATUS_OFFLINE:
            return bytes([0x12 | (0x04 if self.cover_open else 0) | (0x20 if self.paper == "out" else 0)])
        if n == STATUS_PAPER and self.dle_eot_paper:
            return bytes([0x12 | {"ok": 0, "near_end": 0x0C, "out": 0x6C}[self.paper]])
        return b""

    def answer_gs_r(self) -> bytes:
        if not self.online:
            return b""
        return bytes([{"ok": 0, "near_end": 0x03, "out": 0x0F}[self.paper]])

    def feed(self, data: bytes) -> bytes:
        """Bytes from the host; returns the bytes the printer sends back."""
        reply = bytearray()
        self._buf += data
        while True:
            k = self._buf.find(DLE_EOT)
            if k < 0 or k + 2 >= len(self._buf):
                break
            reply += self.answer(self._buf[k + 2])
            del self._buf[k:k + 3]
        while (k := self._buf.find(GS_R_PAPER)) >= 0:
            reply += self.answer_gs_r()
            del self._buf[k:k + 3]
        while (cut := self._buf.find(b"\x1dV")) >= 0 and len(self._buf) >= cut + 3:   # each cut ends a slip
            job, self._buf = bytes(self._buf[:cut + 3]), self._buf[cut + 3:]
            if self.online and self.paper != "out" and not self.cover_open:
                self.tickets.append(decode(job))
        return bytes(reply)
