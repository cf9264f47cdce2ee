"""二代身份证阅读器: the SAM frame protocol, through a real pty pair."""
from datetime import date

import pytest
import serial
from hypothesis import given
from hypothesis import strategies as st

from hardware.idcard import (
    PREAMBLE,
    FrameReader,
    IdCardReader,
    IdCardReaderSimulator,
    IdFrameError,
    NoCard,
    decode_text,
    encode,
    encode_text,
)
from tests.conftest import PtyDevice

CARD = encode_text("王䶮", "2", date(1952, 3, 8), "11010519520308002X", address="北京市朝阳区某街道1号")


@pytest.fixture
def reader():
    sim = IdCardReaderSimulator()
    pty = PtyDevice(sim.feed)
    port = serial.Serial(pty.name, baudrate=115200, timeout=1)
    yield sim, IdCardReader(port)
    port.close()
    pty.close()


def test_a_card_is_read_through_the_reader_and_the_kiosk_gets_the_birth_date(reader):
    sim, host = reader
    sim.put(CARD)
    card = host.read_card()
    assert card.birth_date == date(1952, 3, 8) and card.name == "王䶮"     # rare characters survive
    assert card.courtesy == "王女士"


def test_no_card_on_the_reader_says_so(reader):
    _sim, host = reader
    with pytest.raises(NoCard):
        host.read_card()


def test_frames_have_the_preamble_length_and_xor_checksum():
    frame = encode(bytes([0x20, 0x01]))
    assert frame == PREAMBLE + b"\x00\x03\x20\x01" + bytes([0x00 ^ 0x03 ^ 0x20 ^ 0x01])


def test_noise_and_bad_checksums_are_skipped():
    good = encode(bytes([0, 0, 0x90]))
    bad = bytearray(encode(bytes([0, 0, 0x9F])))
    bad[-1] ^= 0xFF
    r = FrameReader()
    assert r.feed(b"\x01\x02" + bytes(bad) + good[:4]) == []
    assert r.feed(good[4:]) == [bytes([0, 0, 0x90])]
    assert r.rejected >= 2


@given(st.binary(max_size=300))
def test_any_bytes_from_the_line_never_crash_the_reader(noise):
    FrameReader().feed(noise)


def test_an_unreadable_text_block_is_refused():
    with pytest.raises(IdFrameError):
        decode_text(b"\x00" * 10)
    broken = bytearray(CARD)
    broken[36:52] = "2024x3z8".encode("utf-16-le")                         # the birth date field
    with pytest.raises(IdFrameError):
        decode_text(bytes(broken))
