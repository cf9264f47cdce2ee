"""The keypad bridge: polls the caller keypads (呼叫器) on their RS-485 bus and turns key
presses into the same contract commands the counter app sends.

One thread owns the serial port and polls every keypad in turn (a keypad may only speak
when asked: RS-485 is half duplex). A key press becomes a command on a worker thread, so a
slow server never holds up the bus; the keypad's presses are handled one at a time, in
order, and acknowledged only once the server answered, so a press lost on the wire or in a
bridge restart is sent again — with the same command id (address, boot, seq), which the
server applies once. A press that cannot reach the server within `press_ttl_s` is dropped
and the keypad shows E09: nobody wants a number called minutes after they gave up.

The keypad's display shows the window's state from the retained topics (the number being
served, ---- idle, PAUSE, OFF) and, for two seconds, an error code when the server refused.
A keypad that stops answering is reported as a device alert; it never holds up the others.
"""
from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import serial

from govhall import contract as c
from govhall.config import Config
from govhall.link import DeviceLink, RequestTimeout
from hardware.frames import Frame, FrameError, FrameReader
from hardware.keypad import KEYS, SHOWN, Key, KeyEvent, display_frame, parse_keys, poll_frame

log = logging.getLogger("hardware.keypad_bridge")

ERROR_DISPLAY = {"queue_empty": "E01", "window_closed": "E02", "window_paused": "E03", "recall_limit": "E04",
                 "no_current_ticket": "E05", "window_busy": "E06", "forbidden": "E07", "unknown_window": "E08",
                 "unavailable": "E09"}
NETWORK_ERROR = "E09"
ERROR_SHOWN_S = 2.0


def state_display(state: dict | None) -> str:
    """What a keypad's digit display shows for its window's state."""
    if not state:
        return "OFF"
    status = state.get("status")
    if status == "serving" and state.get("ticket"):
        return state["ticket"]["number"]
    return {"idle": "----", "paused": "PAUSE"}.get(status, "OFF")


@dataclass
class PadState:
    address: int
    window: str
    boot: int = 0                     # 0: not heard from yet
    acked: int = 0                    # the highest seq of `boot` the server answered
    in_flight: int | None = None      # the seq whose command is on its way
    first_seen: dict[int, float] = field(default_factory=dict)
    misses: int = 0
    online: bool = True
    shown: str | None = None          # what the display shows, as far as we know
    error: str | None = None
    error_until: float = 0.0


class KeypadBridge:
    def __init__(self, config: Config, link: DeviceLink, port: serial.SerialBase, *,
                 reply_timeout: float = 0.08, misses_offline: int = 3, press_ttl_s: float = 10.0,
                 request_timeout: float = 3.0) -> None:
        self.link, self.port = link, port
        self.reply_timeout, self.misses_offline, self.press_ttl_s = reply_timeout, misses_offline, press_ttl_s
        self.request_timeout = request_timeout
        self.pads = {w.keypad_address: PadState(w.keypad_address, w.id)
                     for w in config.windows if w.keypad_address is not None}
        self.window_ids = {w.number: w.id for w in config.windows}
        self.states: dict[str, dict] = {}
        self.corrupt = 0                  # replies with a bad CRC or layout
        self.commands_sent = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._workers = ThreadPoolExecutor(max_workers=4, thread_name_prefix="keypad-cmd")
        self._thread = threading.Thread(target=self._poll_loop, name="keypad-bus", daemon=True)
        self._reported_offline: tuple[int, ...] = ()

    # ------------------------------------------------------------------ lifecycle
    def start(self) -> KeypadBridge:
        self.link.subscribe(self.link.topics.all_window_states, self._on_state)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._workers.shutdown(wait=True, cancel_futures=True)

    def _on_state(self, _topic: str, data: dict) -> None:
        try:
            state = c.WindowState.model_validate(data)
        except ValueError as exc:
            log.warning("ignored a bad window state: %s", str(exc)[:200])
            return
        with self._lock:
            self.states[state.window] = state.model_dump(mode="json")

    # ------------------------------------------------------------------ the bus
    def _poll_loop(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                for pad in list(self.pads.values()):
                    if self._stop.is_set():
                        return
                    self._service(pad)
                backoff = 0.5
            except (serial.SerialException, OSError) as exc:
                log.error("keypad port failed (%s); retrying in %.1f s", exc, backoff)
                self._report("fault", f"串口故障：{exc}"[:200])
                self._stop.wait(backoff)
                backoff = min(backoff * 2, 30.0)
                continue
            self._check_offline()
            rest = 0.02 - (time.monotonic() - started)   # a tiny bus is not polled flat out
            if rest > 0:
                self._stop.wait(rest)

    def _transact(self, frame: Frame, expect: int) -> Frame | None:
        self.port.reset_input_buffer()
        self.port.write(frame.encode())
        self.port.flush()
        reader, deadline = FrameReader(), time.monotonic() + self.reply_timeout
        while (left := deadline - time.monotonic()) > 0:
            self.port.timeout = left
            data = self.port.read(1)
            if not data:
                break
            data += self.port.read(self.port.in_waiting)
            for reply in reader.feed(data):
                if reply.address == frame.address and reply.command == expect:
                    return reply
        self.corrupt += reader.rejected
        return None

    def _service(self, pad: PadState) -> None:
        with self._lock:
            want = pad.error if pad.error and time.monotonic() < pad.error_until else \
                state_display(self.states.get(pad.window))
        if want != pad.shown and self._transact(display_frame(pad.address, want), SHOWN) is not None:
            pad.shown = want
        reply = self._transact(poll_frame(pad.address, pad.boot, pad.acked), KEYS)
        if reply is None:
            pad.misses += 1
            return
        pad.misses = 0
        try:
            keys = parse_keys(reply)
        except FrameError as exc:
            self.corrupt += 1
            log.warning("keypad %s sent a bad KEYS reply: %s", pad.address, exc)
            return
        with self._lock:
            if keys.boot != pad.boot:             # powered on again: its presses start from 1
                if pad.boot:
                    log.info("keypad %s restarted", pad.address)
                pad.boot, pad.acked, pad.in_flight, pad.first_seen, pad.shown = keys.boot, 0, None, {}, None
            now = time.monotonic()
            for event in keys.events:
                pad.first_seen.setdefault(event.seq, now)
            waiting = [e for e in keys.events if e.seq != pad.in_flight and not _done(e.seq, pad.acked)]
            if pad.in_flight is None and waiting:
                event = waiting[0]                # one at a time, in order
                pad.in_flight = event.seq
                self._workers.submit(self._press, pad, pad.boot, event)

    def _check_offline(self) -> None:
        for pad in self.pads.values():
            pad.online = pad.misses < self.misses_offline
        offline = tuple(sorted(p.address for p in self.pads.values() if not p.online))
        if offline != self._reported_offline:
            self._reported_offline = offline
            if offline:
                log.warning("keypads not answering: %s", ", ".join(map(str, offline)))
                self._report("offline", "无应答的呼叫器地址：" + "、".join(map(str, offline)))
            else:
                self._report("ok", "")

    def _report(self, condition: str, detail: str) -> None:
        self.link.report_soon("keypad", condition, detail)

    # ------------------------------------------------------------------ presses
    def command_for(self, pad: PadState, event: KeyEvent) -> dict | None:
        """The contract command for a key press (None: nothing to send)."""
        window = pad.window
        kind = Key.NAMES.get(event.key)
        if kind in ("call", "recall", "skip", "complete"):
            return c.command({"call": "window.call_next", "recall": "window.recall", "skip": "window.skip",
                              "complete": "window.complete"}[kind], window=window)
        if kind == "pause":
            with self._lock:
                paused = (self.states.get(window) or {}).get("status") == "paused"
            return c.command("window.resume", window=window) if paused else \
                c.command("window.pause", window=window, reason="away")
        if kind == "transfer":
            target = self.window_ids.get(event.arg)
            if target is None:
                return None
            return c.command("window.transfer", window=window, to_window=target, reason="呼叫器转移")
        return None

    def _press(self, pad: PadState, boot: int, event: KeyEvent) -> None:
        command = self.command_for(pad, event)
        error = None
        if command is None:
            error = "E08"                           # a transfer to a window number that does not exist
        else:
            command["id"] = f"kp{pad.address}-{boot:04x}-{event.seq}"   # the same press: the same id
            try:
                reply = self.link.request(command, timeout=self.request_timeout, attempts=1)
                self.commands_sent += 1
                if not reply.get("ok"):
                    error = ERROR_DISPLAY.get((reply.get("error") or {}).get("code"), "E99")
            except RequestTimeout:
                with self._lock:
                    age = time.monotonic() - pad.first_seen.get(event.seq, time.monotonic())
                    if pad.boot == boot and pad.in_flight == event.seq:
                        pad.in_flight = None
                        if age < self.press_ttl_s:
                            return                  # not answered: the next poll sends it again, same id
                        pad.acked = event.seq       # too old to act on now: dropped, and the keypad says so
                        pad.error, pad.error_until = NETWORK_ERROR, time.monotonic() + ERROR_SHOWN_S
                log.warning("keypad %s: press %s dropped, no answer for %.0f s", pad.address, event.seq, age)
                return
        with self._lock:
            if pad.boot == boot:
                pad.acked = event.seq               # presses go one at a time, in order
                pad.in_flight = None
                pad.first_seen.pop(event.seq, None)
                if error:
                    pad.error, pad.error_until = error, time.monotonic() + ERROR_SHOWN_S


def _done(seq: int, acked: int) -> bool:
    return acked != 0 and (acked - seq) % 0x10000 < 0x8000
