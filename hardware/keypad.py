"""Caller keypads (呼叫器) on an RS-485 bus: the govhall keypad protocol, and a simulator.

Cheap keypads sit on one bus, one address per window, polled by the keypad bridge (the bus
master) in the govhall frame (hardware/frames.py; docs/hardware.md has the byte layout):

    bridge → keypad   0x10 POLL     payload: boot (2, BE), ack (2, BE): the highest key seq of that
                                    boot the bridge has finished (a keypad ignores an ack for another boot)
    keypad → bridge   0x90 KEYS     payload: boot (2, BE), n (1), n × [seq (2, BE), key (1), arg (1)]
    bridge → keypad   0x11 DISPLAY  payload: up to 8 characters for the digit display (ASCII)
    keypad → bridge   0x91 SHOWN    no payload

A keypad keeps each key press (seq 1, 2, 3 … from power-on, `boot` a random number chosen at
power-on) until a POLL acknowledges it, so a lost frame never loses a press; the bridge turns
(address, boot, seq) into the command id, so a press seen twice is applied once.
"""
from __future__ import annotations

import random
from dataclasses import dataclass, field

from hardware.frames import Frame, FrameError, FrameReader

POLL, KEYS, DISPLAY, SHOWN = 0x10, 0x90, 0x11, 0x91
MAX_EVENTS = 8                       # key events in one KEYS reply
DISPLAY_CHARS = 8
DISPLAY_ALPHABET = set("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ- ")


class Key:
    CALL, RECALL, SKIP, PAUSE, TRANSFER, COMPLETE = 1, 2, 3, 4, 5, 6
    NAMES = {1: "call", 2: "recall", 3: "skip", 4: "pause", 5: "transfer", 6: "complete"}


@dataclass(frozen=True)
class KeyEvent:
    seq: int            # 1..65535, from power-on
    key: int            # Key.*
    arg: int = 0        # TRANSFER: the target window's number; else 0


@dataclass(frozen=True)
class KeysReply:
    boot: int
    events: tuple[KeyEvent, ...]


def poll_frame(address: int, boot: int, ack: int) -> Frame:
    return Frame(address, POLL, boot.to_bytes(2, "big") + ack.to_bytes(2, "big"))


def display_frame(address: int, text: str) -> Frame:
    text = text.upper()[:DISPLAY_CHARS]
    if not set(text) <= DISPLAY_ALPHABET:
        raise FrameError(f"the keypad display cannot show {text!r}")
    return Frame(address, DISPLAY, text.encode("ascii"))


def keys_frame(address: int, boot: int, events: list[KeyEvent]) -> Frame:
    payload = boot.to_bytes(2, "big") + bytes([len(events)])
    for e in events:
        payload += e.seq.to_bytes(2, "big") + bytes([e.key, e.arg])
    return Frame(address, KEYS, payload)


def parse_keys(frame: Frame) -> KeysReply:
    """A KEYS reply, checked field by field; anything else is a FrameError."""
    p = frame.payload
    if frame.command != KEYS or len(p) < 3:
        raise FrameError("not a KEYS reply")
    n = p[2]
    if n > MAX_EVENTS or len(p) != 3 + 4 * n:
        raise FrameError(f"KEYS reply says {n} events in {len(p)} bytes")
    events = []
    for i in range(n):
        seq, key, arg = int.from_bytes(p[3 + 4 * i:5 + 4 * i], "big"), p[5 + 4 * i], p[6 + 4 * i]
        if seq == 0 or key not in Key.NAMES:
            raise FrameError(f"bad key event seq={seq} key={key}")
        events.append(KeyEvent(seq, key, arg))
    if [e.seq for e in events] != sorted({e.seq for e in events}):
        raise FrameError("key events out of order")
    return KeysReply(int.from_bytes(p[:2], "big"), tuple(events))


@dataclass
class SimulatedKeypad:
    address: int
    boot: int = field(default_factory=lambda: random.randint(1, 0xFFFF))
    display: str = ""
    silent: bool = False                 # unplugged / dead: answers nothing
    pending: list[KeyEvent] = field(default_factory=list)
    next_seq: int = 1

    def press(self, key: int, arg: int = 0) -> KeyEvent:
        event = KeyEvent(self.next_seq, key, arg)
        self.next_seq = self.next_seq % 0xFFFF + 1
        self.pending.append(event)
        return event

    def power_cycle(self) -> None:
        self.boot, self.next_seq, self.pending, self.display = random.randint(1, 0xFFFF), 1, [], ""


class KeypadBusSimulator:
    """Every keypad on one bus, behind one serial line (a pty in tests): each answers the
    frames addressed to it, as the real ones do. `corrupt_next` garbles the next reply."""

    def __init__(self, addresses: list[int]) -> None:
        self.keypads = {a: SimulatedKeypad(a) for a in addresses}
        self.reader = FrameReader()
        self.corrupt_next = 0
        self.polls = 0

    def feed(self, data: bytes) -> bytes:
        out = b""
        for frame in self.reader.feed(data):
            pad = self.keypads.get(frame.address)
            if pad is None or pad.silent:
                continue
            if frame.command == POLL and len(frame.payload) == 4:
                self.polls += 1
                boot, ack = int.from_bytes(frame.payload[:2], "big"), int.from_bytes(frame.payload[2:], "big")
                if boot == pad.boot:              # an ack for an earlier power-on means nothing now
                    pad.pending = [e for e in pad.pending if not _acked(e.seq, ack)]
                reply = keys_frame(pad.address, pad.boot, pad.pending[:MAX_EVENTS]).encode()
            elif frame.command == DISPLAY:
                pad.display = frame.payload.decode("ascii", "replace")
                reply = Frame(pad.address, SHOWN).encode()
            else:
                continue
            if self.corrupt_next:
                self.corrupt_next -= 1
                reply = reply[:-1] + bytes([reply[-1] ^ 0x5A])      # a flipped bit on the wire
            out += reply
        return out


def _acked(seq: int, ack: int) -> bool:
    """Is `seq` at or before `ack`? Sequence numbers wrap at 65535, so compare within a half."""
    return ack != 0 and (ack - seq) % 0x10000 < 0x8000
