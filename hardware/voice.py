"""Spoken guidance, offline: espeak-ng's Mandarin voice, one phrase at a time, off the caller's thread.

Used by the kiosk's 适老化 mode ("请点击您要办理的业务", "您的号码是 A零零一"). The calling
voice of the hall (issue 6) builds on this. espeak-ng 1.51's `cmn` voice reads digits in
English; `cmn-latn-pinyin` reads them in Mandarin, so that is the default. Numbers on tickets
are spelled digit by digit (`speakable_number`). Only the newest phrase matters to a citizen
at a kiosk: a new phrase drops any that are still waiting.

With `out_dir` the phrases are written as WAV files instead of played (tests, and halls
without a sound card on the kiosk)."""
from __future__ import annotations

import logging
import queue
import shutil
import subprocess
import threading
from pathlib import Path

log = logging.getLogger("hardware.voice")

DIGITS = "零一二三四五六七八九"
DEFAULT_VOICE = "cmn-latn-pinyin"


def speakable_number(number: str) -> str:
    """A012 → "A零一二": ticket numbers are read digit by digit, as every hall does."""
    return "".join(DIGITS[int(ch)] if ch.isdigit() else ch for ch in number)


class EspeakVoice:
    def __init__(self, out_dir: str | Path | None = None, voice: str = DEFAULT_VOICE, speed: int = 140,
                 program: str | None = None) -> None:
        self.program = program or shutil.which("espeak-ng")
        self.voice, self.speed = voice, speed
        self.out_dir = Path(out_dir) if out_dir is not None else None
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.spoken: list[str] = []              # what was said, in order (and the WAV files, with out_dir)
        self.files: list[Path] = []
        self._queue: queue.Queue[str | None] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="voice", daemon=True)
        self._thread.start()

    @property
    def available(self) -> bool:
        return self.program is not None

    def say(self, phrase: str) -> None:
        """Speak soon; a phrase still waiting is dropped for this newer one."""
        markers = []
        while True:
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            if not isinstance(item, str):
                markers.append(item)              # idle() markers and close() stay
        for item in markers:
            self._queue.put(item)
        self._queue.put(phrase)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=10)

    def idle(self, timeout: float = 10.0) -> bool:
        """Wait until everything asked for is said (tests)."""
        done = threading.Event()
        self._queue.put(done)                     # type: ignore[arg-type] - a marker the worker sets
        return done.wait(timeout)

    def _run(self) -> None:
        n = 0
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            if self.program is None:
                log.warning("no espeak-ng: cannot say %r", item)
                continue
            command = [self.program, "-v", self.voice, "-s", str(self.speed)]
            path = None
            if self.out_dir is not None:
                n += 1
                path = self.out_dir / f"phrase-{n:04d}.wav"
                command += ["-w", str(path)]
            try:
                subprocess.run([*command, item], check=True, timeout=30, capture_output=True)
            except (OSError, subprocess.SubprocessError) as exc:
                log.warning("espeak-ng failed on %r: %s", item, exc)
                continue
            self.spoken.append(item)
            if path is not None:
                self.files.append(path)
