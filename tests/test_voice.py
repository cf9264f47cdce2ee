"""Voice calling (语音叫号): the clips of each call, in order, twice; real WAV made from
espeak-ng clips, checked for sound and length; calls from a real server spoken once each."""
import array
import shutil
import wave

import pytest

from hardware.call_voice import (
    GAP_MS,
    RATE,
    REPEAT_GAP_MS,
    Call,
    CallVoice,
    Clips,
    build_clips,
    cardinal,
    clip_names_for_call,
)


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    assert shutil.which("espeak-ng"), "espeak-ng is needed to make the voice clips: apt-get install espeak-ng"
    return Clips(build_clips(tmp_path_factory.mktemp("clips")))


def test_a_call_reads_the_number_digit_by_digit_and_the_window_as_a_number():
    assert clip_names_for_call("A001", 3) == ["请", "A", "零", "零", "一", "号", "到", "三", "号", "窗口办理"]
    assert clip_names_for_call("B120", 12)[-5:] == ["到", "十", "二", "号", "窗口办理"]


@pytest.mark.parametrize("n, spoken", [(1, "一"), (10, "十"), (12, "十二"), (20, "二十"), (21, "二十一"),
                                       (100, "一百"), (105, "一百零五"), (110, "一百一十"), (999, "九百九十九")])
def test_window_numbers_are_read_as_numbers(n, spoken):
    assert "".join(cardinal(n)) == spoken


def test_what_cannot_be_read_is_refused():
    with pytest.raises(ValueError):
        clip_names_for_call("A-01", 3)
    with pytest.raises(ValueError):
        cardinal(0)


def test_every_clip_is_real_sound(clips):
    for name, samples in clips.samples.items():
        assert len(samples) > RATE // 10, f"clip {name} is shorter than 0.1 s"
        assert max(abs(s) for s in samples) > 3000, f"clip {name} is silent"


def test_calls_are_spoken_twice_in_order_and_a_recall_again(clips, tmp_path):
    voice = CallVoice(clips, out_dir=tmp_path)
    try:
        for call in (Call("A001", 3), Call("B012", 12), Call("A001", 3, recall=1)):
            voice.announce(call)
        assert voice.idle()
    finally:
        voice.close()
    assert [c.number for c, _ in voice.spoken] == ["A001", "B012", "A001"]      # in order, none lost
    for (call, names), path in zip(voice.spoken, voice.files, strict=True):
        assert names == clip_names_for_call(call.number, call.window_number)
        with wave.open(str(path)) as w:
            assert (w.getframerate(), w.getsampwidth(), w.getnchannels()) == (RATE, 2, 1)
            samples = array.array("h", w.readframes(w.getnframes()))
        one = sum(len(clips.samples[n]) for n in names) + (len(names) - 1) * (RATE * GAP_MS // 1000)
        assert len(samples) == 2 * one + RATE * REPEAT_GAP_MS // 1000           # twice, with a pause
        assert max(abs(s) for s in samples[:one]) > 3000 and max(abs(s) for s in samples[-one:]) > 3000


def test_each_call_from_the_server_is_spoken_once(clips, tmp_path, config, embedded_broker, sqlite_url):
    from kiosk.screen_app import CallAnnouncer
    from tests.conftest import running_hall
    voice = CallVoice(clips, out_dir=tmp_path)
    try:
        with running_hall(config, embedded_broker.url, sqlite_url) as (server, device):
            CallAnnouncer(device("screen-1"), voice).start()
            kiosk, counter = device("kiosk-1"), device("counter-3")
            kiosk.request({"type": "ticket.issue", "category": "residence"})
            counter.request({"type": "window.login", "window": "w3", "staff": "s003"})
            counter.request({"type": "window.call_next", "window": "w3"})
            counter.request({"type": "window.recall", "window": "w3"})
            import time
            deadline = time.monotonic() + 10
            while len(voice.spoken) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            # the same event delivered again (QoS 1 after a reconnect) is not spoken twice
            announcer = CallAnnouncer(device("screen-1"), voice)
            event = {"type": "ticket.called", "window": "w3", "window_number": 3, "window_name": "3号综合窗口",
                     "recall": 0, "ticket": server.processor.ticket_view(
                         server.processor.engine.windows["w3"].ticket).model_dump(mode="json")}
            announcer._on_call("", event)
            announcer._on_call("", event)
            assert voice.idle()
    finally:
        voice.close()
    assert [(c.number, c.window_number, c.recall) for c, _ in voice.spoken] == \
        [("C001", 3, 0), ("C001", 3, 1), ("C001", 3, 0)]
