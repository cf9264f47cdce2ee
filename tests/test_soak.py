"""The soak (`hall demo --headless --days N --faults`) over two simulated working days with
each kind of fault: the hall server runs as its own process on the soak's simulated time and
is really killed and started again; the books balance at the end of every day; the server's
per-day books stay at a couple of days; the memory of the server and of the devices is
reported apart."""
import os
import signal
import socket
from pathlib import Path

import pytest

from lab.soak import run_week


@pytest.mark.timeout(240)
def test_two_days_with_every_kind_of_fault_and_the_books_balance(mosquitto):
    r = run_week(days=2, plan=["server_restart", "broker_restart", "device_drop", "server_restart"])
    assert r["broker"] == "mosquitto"
    kinds = [f["fault"].split(":")[0] for f in r["faults"]]
    assert kinds == ["server_restart", "broker_restart", "device_drop", "server_restart"]

    # the server is a process of its own, killed (SIGKILL) and started again at each planned restart
    assert r["devices_pid"] == os.getpid()
    assert len(r["server_pids"]) == 3 and len(set(r["server_pids"])) == 3
    assert os.getpid() not in r["server_pids"]
    assert r["server_kills"] == 2
    restarts = [f for f in r["faults"] if f["fault"] == "server_restart"]
    for f, (killed, started) in zip(restarts, zip(r["server_pids"], r["server_pids"][1:], strict=False),
                                    strict=True):
        assert (f["killed_pid"], f["new_pid"]) == (killed, started)
        assert f["exit_code"] == -signal.SIGKILL

    days = r["days"]
    assert [d["open"] for d in days] == [True, True]
    assert days[0]["server_pid"] == r["server_pids"][1]     # day 1's restart: the second process closed it
    assert days[1]["server_pid"] == r["server_pids"][2]
    for d in days:
        assert d["tickets_issued"] > 50                 # a real day's work went through the faults
        assert d["called"] == 0                          # closing finished every service
        assert d["balanced"], d
        assert d["completed"] + d["skipped"] + d["cancelled"] + d["waiting"] == d["tickets_issued"]
        assert d["server_books"]["numbering_days"] <= 2
        assert d["server_books"]["known_command_ids"] > 0
        assert d["rss_kb_server"] > 0 and d["rss_kb_devices"] > 0
    assert r["books_balance"]
    assert r["rss_kb_server_first_day"] > 0 and r["rss_kb_server_last_day"] > 0
    assert r["rss_kb_devices_first_day"] > 0 and r["rss_kb_devices_last_day"] > 0


def test_a_weekend_day_is_shut(mosquitto):
    """Saturday 28 and Sunday 29 November 2026 are days off: the hall stays shut, nobody is issued a number."""
    r = run_week(days=7, faults=False)
    assert [d["open"] for d in r["days"]] == [True] * 5 + [False] * 2
    assert r["books_balance"]
    assert r["server_kills"] == 0 and len(r["server_pids"]) == 1
    assert all(d["rss_kb_server"] > 0 and d["rss_kb_devices"] > 0 for d in r["days"])


def _processes_mentioning(text: str) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and text in (proc / "cmdline").read_bytes().decode(errors="replace"):
                found.append(int(proc.name))
        except OSError:
            pass
    return found


def test_a_server_that_cannot_start_is_reported_and_nothing_is_left_running(mosquitto):
    """The soak's server process cannot serve (its HTTP port is taken): the soak says so with
    the end of the server's log, and stops its broker and every process it started."""
    from lab.soak import HallWeek
    taken = socket.socket()
    taken.bind(("127.0.0.1", 0))
    taken.listen()
    week = HallWeek(days=1, faults=False)
    week.http_port = taken.getsockname()[1]
    clock_file, broker_dir = str(week.clock.path), week._broker_dir.name
    try:
        with pytest.raises(RuntimeError, match="exited with code") as failed:
            week.start()
        assert "address already in use" in str(failed.value).lower() or "errno 98" in str(failed.value).lower()
    finally:
        week.stop()
        taken.close()
    assert _processes_mentioning(clock_file) == [] and _processes_mentioning(broker_dir) == []
