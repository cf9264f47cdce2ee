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
