"""Window LED screens (窗口屏) on a serial RS-485 bus: the govhall frame protocol.

LED controllers share no common protocol, so govhall defines a clean frame and puts it
behind `LedProtocol`; another vendor's protocol is one new class. docs/hardware.md
documents the frame for screen makers.

    A5 5A | addr | cmd | len_hi len_lo | payload (len bytes) | crc_lo crc_hi

- addr: 1..254 (the screen's address on the bus), 0xFF broadcast
- cmd: 0x01 SHOW (payload: mode, brightness, GB18030 text, lines split by 0x0A),
       0x02 CLEAR (no payload), 0x03 BRIGHTNESS (payload: brightness)
- mode: 0 static, 1 scroll; brightness 1..16
- crc: CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF) over addr..payload, low byte first
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from hardware.frames import (  # noqa: F401 - MAX_PAYLOAD and crc16_modbus stay importable from here
    BROADCAST,
    MAX_PAYLOAD,
    Frame,
    FrameError,
    FrameReader,
    crc16_modbus,
)
from hardware.printer import _cjk_font

CMD_SHOW, CMD_CLEAR, CMD_BRIGHTNESS = 0x01, 0x02, 0x03
MODE_STATIC, MODE_SCROLL = 0, 1


@dataclass(frozen=True)
class ShowText:
    lines: tuple[str, ...]
    mode: int = MODE_STATIC
    brightness: int = 16


def show_frame(address: int, text: ShowText) -> Frame:
    if not 1 <= text.brightness <= 16:
        raise FrameError("brightness must be 1..16")
    payload = bytes([text.mode, text.brightness]) + "\n".join(text.lines).encode("gb18030")
    return Frame(address, CMD_SHOW, payload)


def parse_show(frame: Frame) -> ShowText:
    if frame.command != CMD_SHOW or len(frame.payload) < 2:
        raise FrameError("not a SHOW frame")
    try:
        text = frame.payload[2:].decode("gb18030")
    except UnicodeDecodeError as exc:
        raise FrameError(f"SHOW text is not GB18030: {exc}") from None
    return ShowText(tuple(text.split("\n")), frame.payload[0], frame.payload[1])


class LedProtocol(Protocol):
    """What a vendor protocol must provide: the bytes that show text on one screen."""

    def show(self, address: int, text: ShowText) -> bytes: ...

    def clear(self, address: int) -> bytes: ...


class GovhallLedProtocol:
    def show(self, address: int, text: ShowText) -> bytes:
        return show_frame(address, text).encode()

    def clear(self, address: int) -> bytes:
        return Frame(address, CMD_CLEAR).encode()


# The LED protocols a hall can choose with `led.protocol`; a vendor's protocol is one more entry.
PROTOCOLS: dict[str, type] = {"govhall": GovhallLedProtocol}


class LedScreenSimulator:
    """A bus full of screens: decodes frames and remembers what each address shows."""

    def __init__(self) -> None:
        self.reader = FrameReader()
        self.screens: dict[int, ShowText | None] = {}
        self.frames = 0

    def feed(self, data: bytes) -> list[Frame]:
        frames = self.reader.feed(data)
        for f in frames:
            self.frames += 1
            targets = list(self.screens) if f.address == BROADCAST else [f.address]
            if f.command == CMD_SHOW:
                try:
                    shown = parse_show(f)
                except FrameError:
                    self.reader.rejected += 1      # a screen ignores what it cannot show
                    continue
            for addr in targets:
                if f.command == CMD_SHOW:
                    self.screens[addr] = shown
                elif f.command == CMD_CLEAR:
                    self.screens[addr] = None
        return frames

    def text(self, address: int) -> str:
        shown = self.screens.get(address)
        return " / ".join(shown.lines) if shown else ""

    def render_png(self, address: int, path, columns: int = 128, rows_per_line: int = 16):   # noqa: ANN001, ANN201
        """Draw the screen as its LED matrix shows it: `columns` × 16 dots per line, red on
        black, each dot a round lamp (for the demo, the docs and the tests)."""
        from PIL import Image, ImageDraw, ImageFont  # Pillow: only when a picture is made

        shown = self.screens.get(address)
        lines = shown.lines if shown else ("",)
        font_file = _cjk_font()
        font = ImageFont.truetype(font_file, rows_per_line) if font_file else ImageFont.load_default()
        dots = Image.new("L", (columns, rows_per_line * len(lines)), 0)
        draw = ImageDraw.Draw(dots)
        for i, line in enumerate(lines):
            draw.text((0, i * rows_per_line - 1), line, fill=255, font=font)
        scale = 6
        dim = 0.25 + 0.75 * ((shown.brightness if shown else 16) / 16)
        out = Image.new("RGB", (columns * scale, rows_per_line * len(lines) * scale), (12, 8, 8))
        lamps = ImageDraw.Draw(out)
        for y in range(dots.height):
            for x in range(dots.width):
                on = dots.getpixel((x, y)) > 100
                colour = (int(255 * dim), int(40 * dim), int(20 * dim)) if on else (45, 18, 14)
                lamps.ellipse((x * scale + 1, y * scale + 1, x * scale + scale - 2, y * scale + scale - 2), fill=colour)
        out.save(path, format="PNG")
        return path
