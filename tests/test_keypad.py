"""Caller keypads (呼叫器): the frame protocol byte for byte, and the bridge on a real pty
against a real server — corrupted frames, a keypad that stops answering, two at once."""
import time

import pytest
import serial
from hypothesis import given
from hypothesis import strategies as st

from hardware.frames import Frame, FrameError, FrameReader
from hardware.keypad import (
    KEYS,
    Key,
    KeyEvent,
    KeypadBusSimulator,
    display_frame,
    keys_frame,
    parse_keys,
    poll_frame,
)
from hardware.keypad_bridge import KeypadBridge, state_display
from tests.conftest import PtyDevice, running_hall


def test_a_poll_and_its_keys_reply_byte_for_byte():
    assert poll_frame(3, 0x1234, 7).encode().hex(" ") == "a5 5a 03 10 00 04 12 34 00 07 " + \
        Frame(3, 0x10, bytes.fromhex("12340007")).encode()[-2:].hex(" ")
    reply = keys_frame(3, 0xBEEF, [KeyEvent(8, Key.CALL), KeyEvent(9, Key.TRANSFER, 4)])
    (frame,) = FrameReader().feed(reply.encode())
    assert frame.command == KEYS
    assert parse_keys(frame).events == (KeyEvent(8, Key.CALL), KeyEvent(9, Key.TRANSFER, 4))
    assert parse_keys(frame).boot == 0xBEEF


def test_the_display_takes_what_a_digit_display_can_show():
    assert display_frame(1, "a012").payload == b"A012"
    with pytest.raises(FrameError):
        display_frame(1, "请A012")


@given(st.binary(max_size=40))
def test_a_garbled_keys_payload_is_refused_never_misread(payload):
    try:
        reply = parse_keys(Frame(1, KEYS, payload))
    except FrameError:
        return
    assert all(e.key in Key.NAMES and e.seq > 0 for e in reply.events)


def test_what_the_display_shows_for_each_window_state():
    assert state_display({"status": "serving", "ticket": {"number": "A012"}}) == "A012"
    assert state_display({"status": "idle"}) == "----"
    assert state_display({"status": "paused"}) == "PAUSE"
    assert state_display({"status": "closed"}) == "OFF" and state_display(None) == "OFF"


# --------------------------------------------------------------------------- the bridge
@pytest.fixture
def keypad_config(config):
    for i, window in enumerate(config.windows, start=1):
        window.keypad_address = i
    from govhall.config import DeviceConfig
    config.devices.append(DeviceConfig(id="keypad-bridge-1", role="keypad-bridge"))
    return config


@pytest.fixture
def bus():
    sim = KeypadBusSimulator([1, 2, 3])
    pty = PtyDevice(sim.feed)
    yield sim, pty
    pty.close()


def wait_for(predicate, timeout=5.0, what="the keypads"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def hall_with_keypads(keypad_config, embedded_broker, sqlite_url, bus):
    sim, pty = bus
    with running_hall(keypad_config, embedded_broker.url, sqlite_url) as (server, device):
        bridges = []

        def start_bridge(**options):
            port = serial.Serial(pty.name, baudrate=9600, timeout=0.1)
            bridge = KeypadBridge(keypad_config, device("keypad-bridge-1"), port, **options).start()
            bridges.append((bridge, port))
            return bridge
        counters = {w: device(f"counter-{w[1]}") for w in ("w1", "w2", "w3")}
        for window, staff in (("w1", "s001"), ("w2", "s002"), ("w3", "s003")):
            counters[window].request({"type": "window.login", "window": window, "staff": staff})
        yield server, device, sim, start_bridge
        for bridge, port in bridges:
            bridge.stop()
            port.close()


def serving(server, window):
    t = server.processor.engine.windows[window].ticket
    return t.number if t else None


def test_a_key_press_calls_and_the_keypad_shows_the_number(hall_with_keypads):
    server, device, sim, start_bridge = hall_with_keypads
    kiosk = device("kiosk-1")
    kiosk.request({"type": "ticket.issue", "category": "social"})
    start_bridge()
    wait_for(lambda: sim.keypads[1].display == "----", what="the idle display")
    sim.keypads[1].press(Key.CALL)
    wait_for(lambda: serving(server, "w1") == "A001", what="the call")
    wait_for(lambda: sim.keypads[1].display == "A001", what="the number on the keypad")
    wait_for(lambda: sim.keypads[1].pending == [], what="the ack")   # acknowledged once the server answered
    sim.keypads[1].press(Key.COMPLETE)
    wait_for(lambda: sim.keypads[1].display == "----", what="back to idle")
    sim.keypads[1].press(Key.RECALL)                         # nobody to recall: the keypad says why
    wait_for(lambda: sim.keypads[1].display == "E05", what="the error code")
    wait_for(lambda: sim.keypads[1].display == "----", timeout=5, what="the error going away")


def test_two_keypads_pressed_at_once_both_call(hall_with_keypads):
    server, device, sim, start_bridge = hall_with_keypads
    kiosk = device("kiosk-1")
    for category in ("social", "business"):
        kiosk.request({"type": "ticket.issue", "category": category})
    start_bridge()
    sim.keypads[1].press(Key.CALL)
    sim.keypads[2].press(Key.CALL)
    wait_for(lambda: serving(server, "w1") == "A001" and serving(server, "w2") == "B001", what="both calls")


def test_corrupted_replies_lose_no_press_and_apply_none_twice(hall_with_keypads):
    server, device, sim, start_bridge = hall_with_keypads
    kiosk = device("kiosk-1")
    for _ in range(3):
        kiosk.request({"type": "ticket.issue", "category": "social"})
    bridge = start_bridge()
    wait_for(lambda: sim.polls > 3, what="polling")
    sim.corrupt_next = 4                                    # noise on the bus
    sim.keypads[1].press(Key.CALL)
    wait_for(lambda: serving(server, "w1") == "A001", what="the call through the noise")
    time.sleep(0.5)
    assert server.processor.engine.waiting_count("social") == 2 and bridge.corrupt >= 1


def test_a_silent_keypad_raises_an_alert_and_holds_up_nobody(hall_with_keypads):
    server, device, sim, start_bridge = hall_with_keypads
    device("kiosk-1").request({"type": "ticket.issue", "category": "business"})
    start_bridge()
    sim.keypads[3].silent = True                             # unplugged
    wait_for(lambda: [a.component for a in device_alerts(server)] == ["keypad"],
             what="the keypad alert")
    (alert,) = device_alerts(server)
    assert alert.device == "keypad-bridge-1" and alert.condition == "offline" and "3" in alert.detail
    sim.keypads[2].press(Key.CALL)                           # the others carry on
    wait_for(lambda: serving(server, "w2") == "B001", what="the call on another keypad")
    sim.keypads[3].silent = False
    wait_for(lambda: device_alerts(server) == [], what="the alert closing")


def test_a_press_seen_again_after_a_bridge_restart_is_applied_once(hall_with_keypads):
    server, device, sim, start_bridge = hall_with_keypads
    kiosk = device("kiosk-1")
    for _ in range(2):
        kiosk.request({"type": "ticket.issue", "category": "social"})
    bridge = start_bridge()
    event = sim.keypads[1].press(Key.CALL)
    wait_for(lambda: serving(server, "w1") == "A001" and sim.keypads[1].pending == [], what="the call")
    bridge.stop()
    sim.keypads[1].pending = [event]                         # as if the ack never reached the keypad
    start_bridge()
    wait_for(lambda: sim.keypads[1].pending == [], what="the press acknowledged again")
    assert serving(server, "w1") == "A001" and server.processor.engine.waiting_count("social") == 1


def test_transfer_by_window_number_and_pause_toggles(hall_with_keypads):
    server, device, sim, start_bridge = hall_with_keypads
    device("kiosk-1").request({"type": "ticket.issue", "category": "social"})
    start_bridge()
    sim.keypads[1].press(Key.CALL)
    wait_for(lambda: serving(server, "w1") == "A001", what="the call")
    sim.keypads[1].press(Key.TRANSFER, 9)                    # no window 9
    wait_for(lambda: sim.keypads[1].display == "E08", what="the unknown window")
    sim.keypads[1].press(Key.TRANSFER, 3)
    wait_for(lambda: serving(server, "w1") is None, what="the transfer")
    (waiting,) = server.processor.engine.all_waiting()
    assert waiting.transfer_to_window == "w3" and waiting.transfer_reason == "呼叫器转移"
    sim.keypads[1].press(Key.PAUSE)
    wait_for(lambda: server.processor.engine.windows["w1"].status == "paused", what="the pause")
    wait_for(lambda: sim.keypads[1].display == "PAUSE", what="PAUSE on the keypad")
    sim.keypads[1].press(Key.PAUSE)
    wait_for(lambda: server.processor.engine.windows["w1"].status == "idle", what="the resume")


def test_a_press_the_server_cannot_answer_in_time_is_dropped_and_shown(keypad_config, embedded_broker, bus):
    from govhall.link import DeviceLink
    sim, pty = bus
    link = DeviceLink(keypad_config.hall.id, "keypad-bridge-1", embedded_broker.url).connect()   # no server
    port = serial.Serial(pty.name, baudrate=9600, timeout=0.1)
    bridge = KeypadBridge(keypad_config, link, port, press_ttl_s=0.5, request_timeout=0.2).start()
    try:
        sim.keypads[1].press(Key.CALL)
        wait_for(lambda: sim.keypads[1].display == "E09", what="the network error on the keypad")
        wait_for(lambda: sim.keypads[1].pending == [], what="the stale press dropped")
    finally:
        bridge.stop()
        port.close()
        link.close()


def test_a_keypad_switched_off_and_on_counts_from_one_again_and_is_heard(hall_with_keypads):
    server, device, sim, start_bridge = hall_with_keypads
    kiosk = device("kiosk-1")
    for _ in range(3):
        kiosk.request({"type": "ticket.issue", "category": "business"})
    start_bridge()
    pad = sim.keypads[2]
    for number in ("B001", "B002"):
        pad.press(Key.CALL)
        wait_for(lambda n=number: serving(server, "w2") == n and pad.pending == [], what=f"the call of {number}")
    pad.power_cycle()                                        # seq starts at 1 again, with a new boot number
    wait_for(lambda: pad.display == "B002", what="the display rewritten after the restart")
    pad.press(Key.CALL)
    wait_for(lambda: serving(server, "w2") == "B003", what="the first press after the restart")


def device_alerts(server):
    """Open device alerts, without the server's own calendar notice (from November on, the
    real clock may find next year's holiday schedule missing)."""
    return [a for a in server.processor.devices.open_alerts() if a.component != "calendar"]
