"""The printed ticket: real ESC/POS bytes, read back byte by byte."""
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from hardware.printer import EscPosError, TicketPrint, TicketTemplate, compose_ticket, decode, preview_png

TICKET = TicketPrint("示范县政务服务中心", "A001", "社保医保", 3, 720, datetime(2026, 11, 23, 9, 5),
                     "https://hall.example/t/Zx81", "green")


def test_chinese_goes_out_as_gb18030_in_chinese_mode_not_as_a_picture():
    raw = compose_ticket(TICKET)
    assert b"\x1c\x26" + "社保医保（绿色通道）".encode("gb18030") + b"\x1c\x2e" in raw
    assert b"\x1d\x76\x30" not in raw and b"\x1b\x2a" not in raw            # no raster or bit images


def test_the_ticket_reads_back_with_the_number_in_double_size_a_native_qr_and_a_cut():
    printout = decode(compose_ticket(TICKET))
    texts = printout.texts()
    assert texts[:6] == ["示范县政务服务中心", "社保医保（绿色通道）", "A001", "前面还有 3 人等候",
                         "预计等候约 12 分钟", "取号时间 2026-11-23 09:05"]
    number = next(line for line in printout.lines if line.text == "A001")
    assert number.double and number.align == 1
    assert printout.qr == ["https://hall.example/t/Zx81"] and printout.cuts == 1
    assert TicketTemplate().notice in texts


def test_nobody_ahead_no_estimate_and_no_qr_read_right():
    t = TicketPrint("大厅", "B012", "企业开办", 0, None, datetime(2026, 11, 23, 9, 5))
    printout = decode(compose_ticket(t, TicketTemplate(notice="请按时办理", footer="谢谢")))
    assert "前面没有人等候" in printout.texts() and not any("预计" in x for x in printout.texts())
    assert printout.qr == [] and printout.texts()[-2:] == ["请按时办理", "谢谢"]


@given(st.binary(max_size=200))
def test_the_decoder_refuses_what_it_does_not_know_and_never_crashes(noise):
    try:
        decode(noise)
    except EscPosError:
        pass


def test_truncated_and_unknown_commands_are_refused():
    with pytest.raises(EscPosError):
        decode(b"\x1b")
    with pytest.raises(EscPosError):
        decode(b"\x1b\x99\x00")


def test_the_preview_is_a_paper_width_picture_with_ink_on_it(tmp_path):
    path = preview_png(decode(compose_ticket(TICKET)), tmp_path / "ticket.png")
    img = Image.open(path)
    assert img.width == 384 and img.height > 400
    assert img.getextrema() == (0, 255)                                     # black ink on white paper
