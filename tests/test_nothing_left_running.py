"""Nothing left running: `hall bench call` and `hall demo` stop every process they started
(brokers, servers) when they fail and when they are interrupted with Ctrl-C, and a missing
tool is one line naming its Debian package, not a traceback.

Each command runs with a tag in its environment, which every child inherits; afterwards no
process on the machine may still carry the tag.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

HALL = [sys.executable, "-m", "hall.cli"]


def tagged_processes(tag: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit() or int(proc.name) == os.getpid():
            continue
        try:
            if f"GOVHALL_TEST_TAG={tag}".encode() in (proc / "environ").read_bytes().split(b"\0"):
                found.append(int(proc.name))
        except OSError:                       # gone, or not ours to read
            continue
    return found


def program_of(pid: int) -> str:
    """The program a process runs ("" once it is gone: it may end between the listing and the look)."""
    try:
        return os.path.basename(os.readlink(f"/proc/{pid}/exe"))
    except OSError:
        return ""


def wait_for_no_tagged(tag: str, timeout: float = 10.0) -> list[int]:
    deadline = time.monotonic() + timeout
    while (left := tagged_processes(tag)) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


@pytest.fixture
def tag():
    tag = uuid.uuid4().hex
    yield tag
    for pid in tagged_processes(tag):        # never leave the suite's own mess behind either
        os.kill(pid, signal.SIGKILL)


def start(tag: str, args: list[str], **env: str) -> subprocess.Popen:
    return subprocess.Popen([*HALL, *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "GOVHALL_TEST_TAG": tag, **env})


def read_until(proc: subprocess.Popen, needle: str, timeout: float = 120) -> list[str]:
    lines, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            break
        lines.append(line.rstrip("\n"))
        if needle in line:
            return lines
    proc.kill()
    raise AssertionError(f"{needle!r} never came; stdout was:\n" + "\n".join(lines) + proc.stderr.read())


def test_bench_call_without_espeak_ng_says_so_in_one_line_and_starts_nothing(tag, tmp_path):
    empty = tmp_path / "bin"
    empty.mkdir()
    proc = start(tag, ["bench", "call", "--calls", "5"], PATH=str(empty))
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 2
    assert err.strip().splitlines()[-1] == \
        "error: espeak-ng is needed to make the voice clips (Debian package espeak-ng)"
    assert "Traceback" not in err
    assert wait_for_no_tagged(tag) == []


def test_bench_call_interrupted_stops_its_mosquitto_and_server(tag):
    proc = start(tag, ["bench", "call", "--calls", "100000"])
    deadline = time.monotonic() + 120
    while not any(program_of(pid) == "mosquitto" for pid in tagged_processes(tag)):
        assert proc.poll() is None and time.monotonic() < deadline, proc.stderr.read()
        time.sleep(0.1)
    time.sleep(1.0)                            # well into issuing its tickets
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    assert proc.returncode == 130 and err.strip().splitlines()[-1] == "interrupted"
    assert "Traceback" not in err
    assert wait_for_no_tagged(tag) == []


def test_the_demo_stays_up_after_the_day_and_ctrl_c_ends_it_cleanly(tag):
    proc = start(tag, ["demo", "--headless", "--hall", "small", "--minutes", "30", "--http-port", "0"])
    lines = read_until(proc, "stay up")
    assert lines[0].startswith("看板 (dashboard): http://127.0.0.1:")      # the address first
    assert not any("alembic" in line or "Running upgrade" in line for line in lines)   # library logs: a file
    url = lines[0].split()[2]
    assert any("好评率" in line and "%" in line for line in lines)              # the dashboard's words
    assert any("平均等候" in line and "分钟" in line for line in lines)
    with urllib.request.urlopen(url, timeout=10) as page:                     # the address leads somewhere
        assert page.status == 200 and "示范县政务服务中心" in page.read().decode()
    proc.send_signal(signal.SIGINT)
    proc.communicate(timeout=60)
    assert proc.returncode == 0
    assert wait_for_no_tagged(tag) == []


def test_the_demo_interrupted_mid_day_stops_everything(tag):
    proc = start(tag, ["demo", "--hall", "small", "--speed", "30", "--http-port", "0"], QT_QPA_PLATFORM="offscreen")
    read_until(proc, "the hall is open")
    time.sleep(2)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "stopped before the end of the simulated day" in out and "Traceback" not in err
    assert wait_for_no_tagged(tag) == []

