"""The printed ticket: real ESC/POS bytes, read back byte by byte."""
import time
from datetime import datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from hardware.printer import (
    EscPosError,
    PrinterNotReady,
    PrinterSimulator,
    TicketPrint,
    TicketPrinter,
    TicketTemplate,
    compose_ticket,
    decode,
    parse_status,
    preview_png,
)
from tests.conftest import PtyDevice

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


class PtyPrinter(PtyDevice):
    """The printer simulator on a real pty."""

    def __init__(self):
        self.sim = PrinterSimulator()
        super().__init__(self.sim.feed)


@pytest.fixture
def pty_printer():
    printer = PtyPrinter()
    yield printer
    printer.close()


def _driver(pty_printer):
    import serial
    return TicketPrinter(serial.Serial(pty_printer.name, baudrate=9600, timeout=0.5))   # pyserial sets raw mode


def test_a_ticket_prints_through_a_real_pty_and_the_printer_gets_every_byte(pty_printer):
    printer = _driver(pty_printer)
    status = printer.print_ticket(compose_ticket(TICKET))
    assert status.ready and not status.paper_near_end
    deadline = time.monotonic() + 3
    while not pty_printer.sim.tickets and time.monotonic() < deadline:
        time.sleep(0.02)
    (ticket,) = pty_printer.sim.tickets
    assert "A001" in ticket.texts() and ticket.qr == ["https://hall.example/t/Zx81"]


@pytest.mark.parametrize("state, problem", [
    (dict(paper="out"), "号票纸已用完"),
    (dict(cover_open=True), "打印机盖未关好"),
    (dict(online=False), "打印机未连接"),
])
def test_no_ticket_is_printed_when_the_printer_cannot(pty_printer, state, problem):
    for key, value in state.items():
        setattr(pty_printer.sim, key, value)
    printer = _driver(pty_printer)
    with pytest.raises(PrinterNotReady) as info:
        printer.print_ticket(compose_ticket(TICKET))
    assert str(info.value) == problem
    time.sleep(0.1)
    assert pty_printer.sim.tickets == []


def test_paper_near_end_still_prints_and_is_reported(pty_printer):
    pty_printer.sim.paper = "near_end"
    status = _driver(pty_printer).print_ticket(compose_ticket(TICKET))
    assert status.ready and status.paper_near_end


@given(st.integers(0, 255), st.one_of(st.none(), st.integers(0, 255)), st.one_of(st.none(), st.integers(0, 255)))
def test_any_status_bytes_give_a_status_and_garbage_means_offline(a, b, c):
    status = parse_status(a, b, c)
    if (a & 0x93) != 0x12:
        assert not status.online and not status.ready


# --------------------------------------------------------------------------- other printers
def test_a_printer_without_dle_eot_4_is_asked_gs_r_for_its_paper(pty_printer):
    pty_printer.sim.dle_eot_paper = False
    pty_printer.sim.paper = "near_end"
    status = _driver(pty_printer).status()
    assert status.ready and status.paper_near_end
    pty_printer.sim.paper = "out"
    status = _driver(pty_printer).status()
    assert not status.ready and status.problem() == "号票纸已用完"


class NetworkPrinter:
    """A printer on a raw TCP port (9100 on real ones), answering status on the same socket."""

    def __init__(self):
        import socket
        import threading
        self.sim = PrinterSimulator()
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self):
        while True:
            try:
                conn, _ = self.server.accept()
            except OSError:
                return
            with conn:
                while data := conn.recv(4096):
                    reply = self.sim.feed(data)
                    if reply:
                        conn.sendall(reply)


def test_a_network_printer_by_url_prints_and_reports_paper():
    from hardware.printer import open_printer
    net = NetworkPrinter()
    try:
        printer = open_printer(f"tcp://127.0.0.1:{net.port}")
        net.sim.paper = "near_end"
        assert printer.print_ticket(compose_ticket(TICKET)).paper_near_end
        deadline = time.monotonic() + 3
        while not net.sim.tickets and time.monotonic() < deadline:
            time.sleep(0.02)
        assert net.sim.tickets[0].qr == ["https://hall.example/t/Zx81"]
        net.sim.paper = "out"
        with pytest.raises(PrinterNotReady):
            printer.print_ticket(compose_ticket(TICKET))
        printer.port.close()
    finally:
        net.server.close()


class FakeUsbEndpoint:
    """Stands in for the USB device (not on this machine): escpos's `_raw`/`_read` calls, with
    the real printer protocol behind them."""

    def __init__(self, sim):
        self.sim, self.answers = sim, bytearray()

    def _raw(self, data):
        self.answers += self.sim.feed(data)

    def _read(self):
        if not self.answers:
            raise TimeoutError("USB read timed out")
        out, self.answers[:] = bytes(self.answers), b""
        return out

    def close(self):
        pass


def test_a_usb_printer_port_answers_status_and_prints():
    from hardware.printer import UsbPort
    sim = PrinterSimulator()
    printer = TicketPrinter(UsbPort(FakeUsbEndpoint(sim)))
    assert printer.status().ready
    sim.cover_open = True
    assert printer.status().problem() == "打印机盖未关好"
    sim.cover_open = False
    printer.print_ticket(compose_ticket(TICKET))
    assert sim.tickets[0].texts()[2] == "A001"
    sim.online = False
    assert printer.status().problem() == "打印机未连接"


@pytest.mark.parametrize("url", ["usb://zz:01", "tcp://", "serial:///dev/does-not-exist-govhall"])
def test_bad_printer_urls_fail_with_the_url_named(url):
    from hardware.printer import PrinterUrlError, open_printer
    with pytest.raises(PrinterUrlError) as info:
        open_printer(url)
    assert url in str(info.value)


def test_the_template_comes_from_the_hall_config():
    from govhall.config import parse_config
    from lab.demo import demo_config
    data = demo_config(with_hours=False).model_dump(mode="json")
    data["ticket"] = {"notice": "过号作废，请重新取号", "footer": "", "show_qr": False}
    config = parse_config(data)
    template = TicketTemplate(**config.ticket.model_dump())
    texts = decode(compose_ticket(TICKET, template)).texts()
    assert texts[-1] == "过号作废，请重新取号" and decode(compose_ticket(TICKET, template)).qr == []


CASE = {"code": "2025111700001", "matter_name": "个体工商户登记", "kind": "承诺件", "department": "市场监管局",
        "accepted_at": "2025-11-17T10:05:00+08:00", "received": {"登记申请书": 2, "经营者身份证明": 1},
        "missing": ["经营场所证明"], "due": "2025-11-20T17:00:00+08:00", "handler": "李强", "window": "w2",
        "track_url": "https://hall.example/c/Zx81abcdEFGH1234"}


def test_the_receipt_lists_the_materials_and_the_promise_with_a_qr():
    from hardware.receipt import compose_receipt
    complete = dict(CASE, missing=[])
    printout = decode(compose_receipt(complete, "示范县政务服务中心"))
    texts = printout.texts()
    assert "收 件 回 执" in texts and "办件编号：2025111700001" in texts
    assert "  登记申请书  2 页" in texts and "  经营者身份证明  1 页" in texts
    assert "承诺办结：2025-11-20 17:00 前" in texts and "受理人：李强（w2）" in texts
    assert printout.qr == ["https://hall.example/c/Zx81abcdEFGH1234"] and printout.cuts == 1


def test_the_one_time_notice_lists_every_missing_material_once():
    from hardware.receipt import compose_notice, compose_receipt
    receipt = decode(compose_receipt(CASE, "示范县政务服务中心")).texts()
    assert not any(t.startswith("承诺办结") for t in receipt)          # no promise while materials are missing
    notice = decode(compose_notice(dict(CASE, missing=["经营场所证明", "租赁合同"]), "示范县政务服务中心")).texts()
    assert "一次性告知单" in notice and notice.count("  1. 经营场所证明") == 1 and "  2. 租赁合同" in notice


def test_a_printer_pulled_out_is_offline_not_a_crash():
    import serial

    from tests.conftest import PtyDevice
    pty = PtyDevice(PrinterSimulator().feed)
    printer = TicketPrinter(serial.Serial(pty.name, baudrate=9600, timeout=0.2))
    assert printer.status().ready
    pty.close()                                   # the cable is gone: the tty answers EIO
    assert printer.status().problem() == "打印机未连接"
    with pytest.raises((PrinterNotReady, OSError)):
        printer.print_ticket(compose_ticket(TICKET))
