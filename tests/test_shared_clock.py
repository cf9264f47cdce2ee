"""The soak's clock shared between processes: what the soak sets, the server process reads;
a file that is not a clock file is refused with a clear error (the server does not start)."""
import subprocess
import sys
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lab.shared_clock import LAYOUT, MAGIC, ClockFileError, SharedClock, SharedSimClock

SHANGHAI = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 23, 9, 0, tzinfo=SHANGHAI)


def test_the_reader_sees_every_move_of_the_writer_to_the_microsecond(tmp_path):
    writer = SharedSimClock(tmp_path / "clock", START)
    reader = SharedClock(tmp_path / "clock", "Asia/Shanghai")
    assert reader.now() == START and reader.tz == SHANGHAI
    later = START + timedelta(hours=3, microseconds=123457)
    writer.set(later)
    assert reader.now() == later and reader.now().tzinfo == SHANGHAI
    writer.advance(0.5)
    assert reader.now() == later + timedelta(seconds=0.5)
    with pytest.raises(ValueError):
        writer.set(START)                    # simulated time only moves forward, shared or not
    assert reader.now() == later + timedelta(seconds=0.5)
    writer.close()
    reader.close()


@pytest.mark.parametrize("content, words", [
    (b"", "0 bytes"),
    (b"GHCLOCK1" + b"\0" * 8, "16 bytes"),
    (b"NOTCLOCK" + b"\0" * 16, "not a govhall clock file"),
    (LAYOUT.pack(MAGIC, 1, 2), "have not agreed"),
    (LAYOUT.pack(MAGIC, 2**62, 2**62), "no date"),
])
def test_a_malformed_clock_file_is_refused_clearly(tmp_path, content, words):
    (tmp_path / "clock").write_bytes(content)
    with pytest.raises(ClockFileError, match=words):
        SharedClock(tmp_path / "clock")


def test_a_missing_clock_file_is_refused_clearly(tmp_path):
    with pytest.raises(ClockFileError, match="cannot open the clock file"):
        SharedClock(tmp_path / "nothing-here")


def test_the_soak_server_will_not_start_on_a_bad_clock_file(tmp_path):
    (tmp_path / "clock").write_bytes(b"rubbish")
    run = subprocess.run([sys.executable, "-m", "lab.soak_server", "--clock-file", str(tmp_path / "clock"),
                          "--broker", "mqtt://127.0.0.1:1", "--database", f"sqlite:///{tmp_path / 'x.db'}",
                          "--http-port", "8080", "--status-file", str(tmp_path / "status.json")],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2
    assert "not a govhall clock file" in run.stderr
    assert not (tmp_path / "status.json").exists()


READER = """
import sys
from lab.shared_clock import SharedClock
clock = SharedClock(sys.argv[1])
last = clock.now()
for _ in range(int(sys.argv[2])):
    now = clock.now()
    assert now >= last, (now, last)
    last = now
print(last.isoformat())
"""


def test_a_reader_in_another_process_never_sees_a_torn_time_while_the_writer_moves(tmp_path):
    """The writer moving the clock as fast as it can, from a thread that competes with another
    busy one for the interpreter (so it is often switched out between its two copies): the
    server's side reads a whole, never earlier time every time, and never gives up."""
    import threading
    writer = SharedSimClock(tmp_path / "clock", START)
    stop = threading.Event()

    def move() -> None:
        while not stop.is_set():
            writer.advance(0.001)

    def busy() -> None:
        while not stop.is_set():
            sum(range(1000))
    threads = [threading.Thread(target=move), threading.Thread(target=busy)]
    for t in threads:
        t.start()
    try:
        run = subprocess.run([sys.executable, "-c", READER, str(tmp_path / "clock"), "600000"],
                             capture_output=True, text=True, timeout=120)
    finally:
        stop.set()
        for t in threads:
            t.join()
    assert run.returncode == 0, run.stderr[-2000:]
    assert datetime.fromisoformat(run.stdout.strip()) > START
    writer.close()


@pytest.mark.parametrize("change, words", [
    ({"--broker": "tcp://127.0.0.1:1883"}, "mqtt://host:port"),
    ({"--broker": "mqtt://127.0.0.1:99999"}, "--broker"),
    ({"--database": "not a url"}, "not a database URL"),
    ({"--database": "mysql://u@h/db"}, "SQLite or PostgreSQL"),
    ({"--http-port": "0"}, "not a TCP port"),
    ({"--status-file": "/nonexistent-folder/status.json"}, "no folder"),
])
def test_the_soak_server_refuses_bad_arguments_before_it_starts(tmp_path, change, words):
    SharedSimClock(tmp_path / "clock", START).close()
    args = {"--clock-file": str(tmp_path / "clock"), "--broker": "mqtt://127.0.0.1:1",
            "--database": f"sqlite:///{tmp_path / 'x.db'}", "--http-port": "8080",
            "--status-file": str(tmp_path / "status.json"), **change}
    run = subprocess.run([sys.executable, "-m", "lab.soak_server", *[x for kv in args.items() for x in kv]],
                         capture_output=True, text=True, timeout=60)
    assert run.returncode == 2, run.stderr[-1000:]
    assert words in run.stderr
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "status.json").exists()


@settings(max_examples=300, deadline=None)
@given(content=st.one_of(st.binary(max_size=40),
                         st.builds(lambda a, b: LAYOUT.pack(MAGIC, a, b), st.integers(-2**63, 2**63 - 1),
                                   st.integers(-2**63, 2**63 - 1)),
                         st.builds(lambda a: LAYOUT.pack(MAGIC, a, a), st.integers(-2**63, 2**63 - 1))))
def test_any_clock_file_gives_a_time_or_a_clear_refusal(tmp_path_factory, content):
    """Whatever the file holds, the server's side reads a timezone-aware time from it or
    refuses it with a ClockFileError; nothing else escapes."""
    import lab.shared_clock as shared
    path = tmp_path_factory.mktemp("clock") / "clock"
    path.write_bytes(content)
    budget, shared.READ_BUDGET_S = shared.READ_BUDGET_S, 0.01     # a torn file is refused quickly here
    try:
        clock = SharedClock(path)
    except ClockFileError:
        return
    finally:
        shared.READ_BUDGET_S = budget
    assert clock.now().tzinfo is not None
    clock.close()
