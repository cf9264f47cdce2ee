"""The govhall serial frame, shared by every device on an RS-485 bus that govhall defines
(window LED screens, caller keypads): docs/hardware.md documents it for device makers.

    A5 5A | addr | cmd | len_hi len_lo | payload (len bytes) | crc_lo crc_hi

- addr: 1..254 (the device's address on its bus), 0xFF broadcast
- crc: CRC-16/MODBUS (poly 0xA001 reflected, init 0xFFFF) over addr..payload, low byte first
"""
from __future__ import annotations

from dataclasses import dataclass

HEADER = b"\xa5\x5a"
MAX_PAYLOAD = 1024
BROADCAST = 0xFF


def crc16_modbus(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return crc


class FrameError(ValueError):
    pass


@dataclass(frozen=True)
class Frame:
    address: int
    command: int
    payload: bytes = b""

    def encode(self) -> bytes:
        if not (1 <= self.address <= 254 or self.address == BROADCAST):
            raise FrameError(f"address {self.address} out of range")
        if len(self.payload) > MAX_PAYLOAD:
            raise FrameError(f"payload of {len(self.payload)} bytes is over {MAX_PAYLOAD}")
        body = bytes([self.address, self.command]) + len(self.payload).to_bytes(2, "big") + self.payload
        return HEADER + body + crc16_modbus(body).to_bytes(2, "little")


class FrameReader:
    """Turns a byte stream into frames; noise and corrupted frames are skipped and counted."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.rejected = 0

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        frames: list[Frame] = []
        while True:
            start = self._buf.find(HEADER)
            if start < 0:
                keep = 1 if self._buf.endswith(HEADER[:1]) else 0   # maybe the start of a header
                if len(self._buf) > keep:
                    self.rejected += 1
                del self._buf[:len(self._buf) - keep]
                return frames
            if start > 0:
                self.rejected += 1
                del self._buf[:start]
            if len(self._buf) < 6:
                return frames
            length = int.from_bytes(self._buf[4:6], "big")
            if length > MAX_PAYLOAD:
                self.rejected += 1
                del self._buf[:2]
                continue
            end = 6 + length + 2
            if len(self._buf) < end:
                return frames
            body = bytes(self._buf[2:6 + length])
            crc = int.from_bytes(self._buf[6 + length:end], "little")
            if crc != crc16_modbus(body):
                self.rejected += 1
                del self._buf[:2]          # resynchronise on the next header
                continue
            frames.append(Frame(body[0], body[1], body[4:]))
            del self._buf[:end]
