"""Second-generation ID card reader (二代身份证阅读器) on a serial line: the SAM frame protocol.

The readers used at hall kiosks wrap a SAM module (GA 467) and speak this framing over
RS-232 / USB-serial (115200 8N1 is common):

    host → reader:  AA AA AA 96 69 | len (2, big-endian) | cmd | para | data… | chk
    reader → host:  AA AA AA 96 69 | len (2, big-endian) | SW1 SW2 SW3 | data… | chk

`len` counts everything after itself including `chk`; `chk` is the XOR of the `len` bytes
and everything after them up to `chk`. SW3 is the outcome: 0x90 done, 0x9F card found,
0x80 no card, 0x81 card not selected, 0x41 read failed.

Commands used here: 20 01 find card, 20 02 select card, 30 01 read the text (and photo).
The text block is 256 bytes of UCS-2 little-endian in fixed-width fields (name 15 chars,
sex 1, nation 2, birth date 8, address 35, ID number 18, issuer 15, valid from 8, valid to 8).

The kiosk keeps only what it needs: the birth date (for 绿色通道) and the name's first
character for a polite greeting; the ID number never leaves the reader module.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

PREAMBLE = b"\xaa\xaa\xaa\x96\x69"
FIND, SELECT, READ = (0x20, 0x01), (0x20, 0x02), (0x30, 0x01)
SW_OK, SW_FOUND, SW_NO_CARD, SW_NOT_SELECTED, SW_READ_FAILED = 0x90, 0x9F, 0x80, 0x81, 0x41
TEXT_FIELDS = (("name", 15), ("sex", 1), ("nation", 2), ("birth", 8), ("address", 35), ("id_number", 18),
               ("issuer", 15), ("valid_from", 8), ("valid_to", 8))
TEXT_BYTES = 256


class IdFrameError(ValueError):
    pass


def _xor(data: bytes) -> int:
    x = 0
    for b in data:
        x ^= b
    return x


def encode(body: bytes) -> bytes:
    """A frame around `body` (cmd+para, or SW1-3+data)."""
    length = (len(body) + 1).to_bytes(2, "big")
    return PREAMBLE + length + body + bytes([_xor(length + body)])


class FrameReader:
    """Cuts a byte stream into frame bodies; skips noise, refuses bad checksums."""

    def __init__(self) -> None:
        self._buf = bytearray()
        self.rejected = 0

    def feed(self, data: bytes) -> list[bytes]:
        self._buf += data
        bodies: list[bytes] = []
        while True:
            start = self._buf.find(PREAMBLE)
            if start < 0:
                keep = next((k for k in range(min(4, len(self._buf)), 0, -1)
                             if self._buf.endswith(PREAMBLE[:k])), 0)
                if len(self._buf) > keep:
                    self.rejected += 1
                del self._buf[:len(self._buf) - keep]
                return bodies
            if start:
                self.rejected += 1
                del self._buf[:start]
            if len(self._buf) < 7:
                return bodies
            length = int.from_bytes(self._buf[5:7], "big")
            if not 3 <= length <= 4096:
                self.rejected += 1
                del self._buf[:5]
                continue
            end = 7 + length
            if len(self._buf) < end:
                return bodies
            body, chk = bytes(self._buf[7:end - 1]), self._buf[end - 1]
            if chk != _xor(bytes(self._buf[5:end - 1])):
                self.rejected += 1
                del self._buf[:5]
                continue
            bodies.append(body)
            del self._buf[:end]


@dataclass(frozen=True)
class IdCardText:
    name: str
    sex: str
    birth_date: date
    id_number: str

    @property
    def courtesy(self) -> str:
        """How the kiosk greets: 王先生 / 王女士 — never the full name on a public screen."""
        return self.name[:1] + ("先生" if self.sex == "1" else "女士")


def encode_text(name: str, sex: str, birth: date, id_number: str, address: str = "", nation: str = "01",
                issuer: str = "", valid_from: str = "20200101", valid_to: str = "20400101") -> bytes:
    values = {"name": name, "sex": sex, "nation": nation, "birth": birth.strftime("%Y%m%d"), "address": address,
              "id_number": id_number, "issuer": issuer, "valid_from": valid_from, "valid_to": valid_to}
    out = b"".join(values[f][:n].ljust(n).encode("utf-16-le") for f, n in TEXT_FIELDS)
    return out + " ".encode("utf-16-le") * ((TEXT_BYTES - len(out)) // 2)


def decode_text(block: bytes) -> IdCardText:
    if len(block) < TEXT_BYTES:
        raise IdFrameError(f"text block of {len(block)} bytes, expected {TEXT_BYTES}")
    fields, pos = {}, 0
    try:
        for field, n in TEXT_FIELDS:
            fields[field] = block[pos:pos + 2 * n].decode("utf-16-le").strip()
            pos += 2 * n
        birth = date(int(fields["birth"][:4]), int(fields["birth"][4:6]), int(fields["birth"][6:8]))
    except (UnicodeDecodeError, ValueError) as exc:
        raise IdFrameError(f"unreadable card text: {exc}") from None
    return IdCardText(fields["name"], fields["sex"], birth, fields["id_number"])


class NoCard(Exception):
    pass


class IdCardReader:
    """The host side: find, select and read a card through a pyserial port."""

    def __init__(self, port) -> None:   # noqa: ANN001 - a serial.SerialBase
        self.port = port
        self.reader = FrameReader()

    def _command(self, cmd: tuple[int, int], timeout: float = 1.0) -> tuple[int, bytes]:
        self.port.reset_input_buffer()
        self.port.write(encode(bytes(cmd)))
        self.port.flush()
        self.port.timeout = timeout
        for _ in range(50):
            data = self.port.read(max(1, self.port.in_waiting))
            if not data:
                break
            bodies = self.reader.feed(data)
            if bodies:
                body = bodies[0]
                if len(body) < 3:
                    raise IdFrameError("reply without status words")
                return body[2], body[3:]
        raise IdFrameError("the reader did not answer")

    def read_card(self) -> IdCardText:
        """Read the card on the reader; NoCard when there is none."""
        sw, _ = self._command(FIND)
        if sw != SW_FOUND:
            raise NoCard()
        sw, _ = self._command(SELECT)
        if sw != SW_OK:
            raise NoCard()
        sw, data = self._command(READ)
        if sw != SW_OK:
            raise IdFrameError(f"read failed (SW3 {sw:#04x})")
        text_len = int.from_bytes(data[:2], "big") if len(data) >= 4 else 0
        return decode_text(data[4:4 + text_len])


class IdCardReaderSimulator:
    """A reader at the other end of the line (a pty in tests), speaking the same frames.
    A fake for hardware not on this machine; `card` is what lies on it."""

    def __init__(self) -> None:
        self.card: bytes | None = None          # the 256-byte text block
        self.reader = FrameReader()
        self.selected = False

    def put(self, text_block: bytes | None) -> None:
        self.card, self.selected = text_block, False

    def feed(self, data: bytes) -> bytes:
        out = bytearray()
        for body in self.reader.feed(data):
            cmd = tuple(body[:2])
            if cmd == FIND:
                found = self.card is not None
                out += encode(bytes([0, 0, SW_FOUND if found else SW_NO_CARD]) + (b"\x00" * 4 if found else b""))
            elif cmd == SELECT:
                self.selected = self.card is not None
                out += encode(bytes([0, 0, SW_OK if self.selected else SW_NO_CARD]) + b"\x00" * 8)
            elif cmd == READ:
                if not (self.card and self.selected):
                    out += encode(bytes([0, 0, SW_NOT_SELECTED]))
                else:
                    photo = b"\x00" * 1024         # the photo (wlt) is not used by the kiosk
                    out += encode(bytes([0, 0, SW_OK]) + len(self.card).to_bytes(2, "big")
                                  + len(photo).to_bytes(2, "big") + self.card + photo)
                    self.selected = False
            else:
                out += encode(bytes([0, 0, 0x21]))  # unknown command
        return bytes(out)
