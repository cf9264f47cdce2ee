"""Voice calling (语音叫号): "请 A001 号到 3 号窗口办理", twice, in Mandarin, offline.

What commercial systems do: short recorded clips — 请, 号, 到, 窗口办理, the digits, 十, 百,
the letters — concatenated per call, clean and instant. The clips are made once at install
time (`hall voice --build-clips DIR`) with espeak-ng (Mandarin words with its
`cmn-latn-pinyin` voice, letters with its English voice, as halls read "A" as the letter);
any hall can replace them with its own recordings of the same names (22050 Hz, 16-bit
mono WAV). Ticket numbers are read digit by digit (A零零一), window numbers as numbers
(十二号窗口). Calls queue in order and never overlap or get lost; a recall is spoken again.
"""
from __future__ import annotations

import array
import io
import json
import logging
import queue
import shutil
import subprocess
import threading
import wave
from dataclasses import dataclass
from pathlib import Path

log = logging.getLogger("hardware.call_voice")

DIGITS = "零一二三四五六七八九"
WORDS = ["请", "号", "到", "窗口办理", "十", "百", *DIGITS]
LETTERS = [chr(c) for c in range(ord("A"), ord("Z") + 1)]
RATE, WIDTH = 22050, 2
GAP_MS = 40                  # between clips of one sentence
REPEAT_GAP_MS = 700          # between the two readings of a call
SILENCE_LEVEL = 300          # |sample| below this at the ends of a clip is trimmed


def clip_names_for_call(number: str, window_number: int) -> list[str]:
    """The clips of one reading: 请 A 零 零 一 号 到 三 号 窗口办理."""
    names = ["请"]
    for ch in number.upper():
        if ch.isdigit():
            names.append(DIGITS[int(ch)])
        elif ch in LETTERS:
            names.append(ch)
        else:
            raise ValueError(f"cannot read {ch!r} in ticket number {number!r}")
    return names + ["号", "到", *cardinal(window_number), "号", "窗口办理"]


def cardinal(n: int) -> list[str]:
    """1 一, 10 十, 12 十二, 20 二十, 105 一百零五, 110 一百一十 (window numbers 1–999)."""
    if not 1 <= n <= 999:
        raise ValueError(f"window number {n} is outside 1–999")
    hundreds, tens, ones = n // 100, n // 10 % 10, n % 10
    out: list[str] = []
    if hundreds:
        out += [DIGITS[hundreds], "百"]
        if tens == 0 and ones:
            return out + ["零", DIGITS[ones]]
    if tens:
        if tens > 1 or hundreds:
            out.append(DIGITS[tens])
        out.append("十")
    if ones:
        out.append(DIGITS[ones])
    return out


def _trim(samples: array.array) -> array.array:
    start, end = 0, len(samples)
    while start < end and abs(samples[start]) < SILENCE_LEVEL:
        start += 1
    while end > start and abs(samples[end - 1]) < SILENCE_LEVEL:
        end -= 1
    return samples[max(0, start - 200):min(len(samples), end + 400)]   # a breath of room each side


def build_clips(out_dir: str | Path, program: str | None = None) -> Path:
    """Make every clip with espeak-ng (once, at install time). Returns the clip folder."""
    program = program or shutil.which("espeak-ng")
    if program is None:
        raise FileNotFoundError("espeak-ng is needed to make the voice clips (Debian package espeak-ng)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for name, voice in [(w, "cmn-latn-pinyin") for w in WORDS] + [(x, "en") for x in LETTERS]:
        raw = subprocess.run([program, "-v", voice, "-s", "150", "--stdout", name], check=True,
                             capture_output=True, timeout=30).stdout
        with wave.open(io.BytesIO(raw)) as w:
            if (w.getframerate(), w.getsampwidth(), w.getnchannels()) != (RATE, WIDTH, 1):
                raise ValueError(f"espeak-ng gave {w.getframerate()} Hz / {w.getsampwidth() * 8} bit / "
                                 f"{w.getnchannels()} channels for {name!r}")
            samples = array.array("h", w.readframes(w.getnframes()))
        _write(out / f"{_file_name(name)}.wav", _trim(samples))
    (out / "clips.json").write_text(json.dumps({"rate": RATE, "clips": WORDS + LETTERS}, ensure_ascii=False))
    return out


def _file_name(name: str) -> str:
    return "letter-" + name if name in LETTERS else "word-" + "-".join(f"{ord(c):x}" for c in name)


def _write(path: Path, samples: array.array) -> None:
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(WIDTH)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())


class Clips:
    """The clip folder, loaded into memory once."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self.samples: dict[str, array.array] = {}
        for name in WORDS + LETTERS:
            path = self.folder / f"{_file_name(name)}.wav"
            with wave.open(str(path)) as w:
                if (w.getframerate(), w.getsampwidth(), w.getnchannels()) != (RATE, WIDTH, 1):
                    raise ValueError(f"{path}: clips must be {RATE} Hz 16-bit mono WAV")
                self.samples[name] = array.array("h", w.readframes(w.getnframes()))

    def sentence(self, names: list[str], times: int = 2) -> array.array:
        """The clips one after another, the whole reading `times` times."""
        gap, pause = array.array("h", bytes(RATE * GAP_MS // 1000 * 2)), \
            array.array("h", bytes(RATE * REPEAT_GAP_MS // 1000 * 2))
        one = array.array("h")
        for i, name in enumerate(names):
            if i:
                one += gap
            one += self.samples[name]
        out = array.array("h")
        for i in range(times):
            if i:
                out += pause
            out += one
        return out


@dataclass(frozen=True)
class Call:
    number: str
    window_number: int
    recall: int = 0


class CallVoice:
    """Speaks calls in order, one at a time, from a queue that never drops a call.

    With `out_dir` each call is written as a WAV file (tests, or a hall that plays files its
    own way); otherwise it is played with `aplay` (ALSA) or `paplay` (PulseAudio)."""

    def __init__(self, clips: Clips, out_dir: str | Path | None = None, times: int = 2,
                 player: list[str] | None = None) -> None:
        self.clips, self.times = clips, times
        self.out_dir = Path(out_dir) if out_dir is not None else None
        if self.out_dir is not None:
            self.out_dir.mkdir(parents=True, exist_ok=True)
        self.player = player if player is not None else _find_player()
        self.spoken: list[tuple[Call, list[str]]] = []      # each call and the clips it was made of
        self.files: list[Path] = []
        self.on_start = None          # called with the Call when its sound starts (the benchmark)
        self._queue: queue.Queue[Call | None | threading.Event] = queue.Queue()
        self._thread = threading.Thread(target=self._run, name="call-voice", daemon=True)
        self._thread.start()

    def announce(self, call: Call) -> None:
        self._queue.put(call)

    def idle(self, timeout: float = 30.0) -> bool:
        done = threading.Event()
        self._queue.put(done)
        return done.wait(timeout)

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=30)

    def _run(self) -> None:
        n = 0
        while True:
            item = self._queue.get()
            if item is None:
                return
            if isinstance(item, threading.Event):
                item.set()
                continue
            try:
                names = clip_names_for_call(item.number, item.window_number)
            except ValueError as exc:
                log.warning("cannot speak %s: %s", item, exc)
                continue
            samples = self.clips.sentence(names, self.times)
            n += 1
            if self.on_start is not None:
                self.on_start(item)
            if self.out_dir is not None:
                path = self.out_dir / f"call-{n:05d}-{item.number}.wav"
                _write(path, samples)
                self.files.append(path)
            elif self.player:
                try:                                   # played to the end before the next call starts
                    subprocess.run([*self.player, "-"], input=_wav_bytes(samples), check=True, timeout=60,
                                   capture_output=True)
                except (OSError, subprocess.SubprocessError) as exc:
                    log.warning("could not play the call %s: %s", item.number, exc)
            self.spoken.append((item, names))


def _wav_bytes(samples: array.array) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(WIDTH)
        w.setframerate(RATE)
        w.writeframes(samples.tobytes())
    return buffer.getvalue()


def _find_player() -> list[str] | None:
    for program, args in (("aplay", ["-q"]), ("paplay", [])):
        path = shutil.which(program)
        if path:
            return [path, *args]
    log.warning("no aplay or paplay: calls will not be heard")
    return None


def default_clip_dir() -> Path:
    return Path.home() / ".cache" / "govhall" / "voice-clips"


def load_or_build_clips(folder: str | Path | None = None) -> Clips:
    """The clips in `folder` (default ~/.cache/govhall/voice-clips), made first if missing."""
    folder = Path(folder) if folder else default_clip_dir()
    if not (folder / "clips.json").exists():
        log.info("making the voice clips in %s (once)", folder)
        build_clips(folder)
    return Clips(folder)
