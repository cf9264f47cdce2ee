"""Window LED screens: real frames through pyserial (loop:// and a pty pair)."""
import os
import time

import pytest
import serial
from hypothesis import given
from hypothesis import strategies as st

from govhall import contract as c
from hardware.led import (
    CMD_SHOW,
    Frame,
    FrameError,
    FrameReader,
    GovhallLedProtocol,
    LedScreenSimulator,
    ShowText,
    crc16_modbus,
    parse_show,
    show_frame,
)
from hardware.led_bridge import window_text


def test_crc_is_modbus():
    assert crc16_modbus(b"123456789") == 0x4B37       # the standard check value


def test_a_show_frame_is_byte_exact():
    frame = show_frame(3, ShowText(("请 A001 号",), mode=0, brightness=16)).encode()
    text = "请 A001 号".encode("gb18030")
    assert frame[:2] == b"\xa5\x5a" and frame[2] == 3 and frame[3] == CMD_SHOW
    assert int.from_bytes(frame[4:6], "big") == 2 + len(text)
    assert frame[6:8] == b"\x00\x10" and frame[8:-2] == text
    assert int.from_bytes(frame[-2:], "little") == crc16_modbus(frame[2:-2])


@given(address=st.integers(1, 254), lines=st.lists(st.text(
    alphabet=st.characters(codec="gb18030", exclude_characters="\n", exclude_categories=["Cs"]),
    max_size=20), min_size=1, max_size=3), mode=st.sampled_from([0, 1]), brightness=st.integers(1, 16))
def test_any_text_survives_the_round_trip(address, lines, mode, brightness):
    shown = ShowText(tuple(lines), mode, brightness)
    (frame,) = FrameReader().feed(show_frame(address, shown).encode())
    assert frame.address == address and parse_show(frame) == shown


def test_rare_name_characters_and_fullwidth_punctuation_go_out_as_gb18030():
    shown = ShowText(("王䶮，您好！",))
    raw = show_frame(1, shown).encode()
    assert "王䶮，您好！".encode("gb18030") in raw
    assert parse_show(FrameReader().feed(raw)[0]) == shown


def test_noise_and_corrupted_frames_are_skipped_and_counted():
    good1 = show_frame(1, ShowText(("A001",))).encode()
    good2 = show_frame(2, ShowText(("B002",))).encode()
    broken = bytearray(good1)
    broken[9] ^= 0xFF
    reader = FrameReader()
    frames = reader.feed(b"\x00\xa5garbage" + bytes(broken) + good1[:5])
    frames += reader.feed(good1[5:] + b"\xa5\x5a\xff\xff" + good2)
    assert [f.address for f in frames] == [1, 2]
    assert reader.rejected >= 2


def test_frames_split_at_every_byte_boundary_still_decode():
    raw = show_frame(7, ShowText(("请 C011 号", "到 3 号窗口办理"))).encode()
    reader = FrameReader()
    frames = [f for b in raw for f in reader.feed(bytes([b]))]
    assert len(frames) == 1 and reader.rejected == 0


def test_out_of_range_frames_are_refused():
    with pytest.raises(FrameError):
        Frame(0, CMD_SHOW).encode()
    with pytest.raises(FrameError):
        show_frame(1, ShowText(("x",), brightness=17))


def test_frames_cross_a_real_pty_pair_through_pyserial():
    master, slave = os.openpty()
    port = serial.Serial(os.ttyname(slave), baudrate=9600, timeout=1)
    try:
        sim = LedScreenSimulator()
        port.write(GovhallLedProtocol().show(4, ShowText(("请 A001 号", "到 4 号窗口办理"))))
        port.flush()
        deadline = time.monotonic() + 3
        while sim.frames == 0 and time.monotonic() < deadline:
            sim.feed(os.read(master, 4096))
        assert sim.text(4) == "请 A001 号 / 到 4 号窗口办理"
    finally:
        port.close()
        os.close(master)
        os.close(slave)


def _state(**kw) -> c.WindowState:
    base = dict(window="w3", number=3, name="3号综合窗口", categories=["social", "business"],
                status=c.WindowStatus.IDLE, since="2026-11-23T09:00:00+08:00")
    base.update(kw)
    return c.WindowState.model_validate(base)


def test_what_each_window_state_shows():
    names = {"social": "社保医保", "business": "企业开办"}
    ticket = c.TicketView(id=1, number="A001", category="social", category_name="社保医保", status="called",
                          issued_at="2026-11-23T09:00:00+08:00")
    assert window_text(_state(status="serving", ticket=ticket), names).lines == ("请 A001 号", "到 3 号窗口办理")
    assert window_text(_state(), names).lines == ("3号综合窗口", "社保医保 企业开办")
    assert window_text(_state(status="paused", pause_reason="meal"), names).lines == ("3号综合窗口", "暂停服务（用餐）")
    assert window_text(_state(status="closed"), names).lines[1] == "暂停服务"


def test_an_unplugged_port_is_reported_opened_again_and_gets_the_latest_text(config, embedded_broker, sqlite_url,
                                                                             tmp_path):
    import os

    from hardware.led_bridge import LedBridge
    from tests.conftest import PtyDevice, running_hall
    screens = [LedScreenSimulator(), LedScreenSimulator()]
    ptys = [PtyDevice(lambda data: screens[0].feed(data) and b"")]
    port_path = tmp_path / "ttyLED"            # as udev's /dev/serial/by-id/… names the adapter
    os.symlink(ptys[0].name, port_path)
    config.led.port = str(port_path)

    def wait(predicate, what, timeout=10.0):
        deadline = time.monotonic() + timeout
        while not predicate():
            assert time.monotonic() < deadline, f"timed out waiting for {what}"
            time.sleep(0.05)
    with running_hall(config, embedded_broker.url, sqlite_url) as (server, device):
        bridge = LedBridge(config, device("led-bridge-1")).start()
        try:
            counter, kiosk = device("counter-1"), device("kiosk-1")
            counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
            wait(lambda: screens[0].text(1).startswith("1号窗口 王丽"), "the idle text with the staff on duty")
            ptys[0].close()                                   # the adapter is pulled out
            kiosk.request({"type": "ticket.issue", "category": "social"})
            counter.request({"type": "window.call_next", "window": "w1"})
            wait(lambda: [a.component for a in device_alerts(server)] == ["led_port"],
                 "the device alert")
            ptys.append(PtyDevice(lambda data: screens[1].feed(data) and b""))   # plugged in again
            os.remove(port_path)
            os.symlink(ptys[1].name, port_path)
            wait(lambda: screens[1].text(1) == "请 A001 号 / 到 1 号窗口办理", "the latest text on the screen")
            wait(lambda: device_alerts(server) == [], "the alert closing")
        finally:
            bridge.stop()
            ptys[-1].close()


def test_the_simulator_draws_the_screen_as_its_led_dots(tmp_path):
    from PIL import Image
    sim = LedScreenSimulator()
    sim.feed(show_frame(2, ShowText(("请 A001 号", "到 2 号窗口办理"))).encode())
    path = sim.render_png(2, tmp_path / "led.png")
    image = Image.open(path).convert("RGB")
    assert image.size == (128 * 6, 32 * 6)
    lit = sum(image.getchannel("R").histogram()[151:])
    assert lit > 5000                           # red dots where the characters are
    sim.feed(show_frame(2, ShowText(("",))).encode())
    dark = Image.open(sim.render_png(2, tmp_path / "dark.png")).convert("RGB")
    assert sum(dark.getchannel("R").histogram()[151:]) == 0


@given(st.binary(max_size=300))
def test_a_screen_survives_any_bytes_on_the_bus(noise):
    sim = LedScreenSimulator()
    sim.feed(noise)
    sim.feed(Frame(5, CMD_SHOW, b"\x00\x10\xff\xff\xff").encode())      # good CRC, text not GB18030
    sim.feed(show_frame(5, ShowText(("请 A001 号",))).encode())
    assert sim.text(5) == "请 A001 号"


def device_alerts(server):
    """Open device alerts, without the server's own calendar notice (from November on, the
    real clock may find next year's holiday schedule missing)."""
    return [a for a in server.processor.devices.open_alerts() if a.component != "calendar"]
