"""`hall bench call` runs end to end and reports what it promises (no timing is asserted:
speed targets live in the benchmark, not in tests)."""
import json
import subprocess
import sys


def test_bench_call_reports_each_path_as_json(mosquitto):
    out = subprocess.run([sys.executable, "-m", "hall.cli", "bench", "call", "--calls", "20", "--json"],
                         capture_output=True, text=True, timeout=240, env={"QT_QPA_PLATFORM": "offscreen",
                                                                          "PATH": "/usr/bin:/bin:/usr/sbin"})
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["calls"] == 20 and result["broker"] == "mosquitto"
    for path in ("led", "screen", "voice"):
        r = result[path]
        assert r["n"] == 20 and 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]


def test_bench_reports_fills_a_year_and_times_each_report_on_sqlite_and_postgresql(pg_server):
    from lab.bench_reports import bench_reports
    for url in (None, pg_server):
        r = bench_reports(url, tickets=3000, ratings=2000, cases=600, repeat=2)
        assert r["database"] == ("sqlite" if url is None else "postgresql")
        assert r["rows"] == {"tickets": 3000, "ratings": 2000, "cases": 600}
        assert r["month_tickets"] > 0 and r["today_tickets"] > 0
        assert r["month_report_first"]["n"] == 1
        for key in ("month_report", "this_month_report", "month_cases", "live_overview"):
            assert r[key]["n"] == 2 and 0 < r[key]["p50_ms"] <= r[key]["p99_ms"] <= r[key]["max_ms"]


def test_bench_load_drives_a_hall_and_the_books_balance_on_sqlite_and_postgresql(mosquitto, pg_server):
    """A small `hall bench load` (4 kiosks, 10 windows) on both databases: it answers, it
    reports what `--json` promises, and every ticket, service and rating a device was told
    ok is in the database exactly once."""
    from lab.bench_load import bench_load
    for url in (None, pg_server):
        r = bench_load(seconds=2, rate=200, database_url=url, kiosks=4, windows=10)
        assert r["database"] == ("sqlite" if url is None else "postgresql") and r["broker"] == "mosquitto"
        for key in ("commands_per_s", "p50_ms", "p99_ms"):
            assert r[key] > 0
        assert r["p50_ms"] <= r["p99_ms"]
        assert r["full_speed"]["errors"] == {} and r["at_rate"]["errors"] == {}
        assert set(r["full_speed"]["by_type"]) == {"ticket.issue", "window.call_next", "window.complete",
                                                    "rating.submit"}
        assert r["books"]["balanced"], r["books"]
        assert r["books"]["told_ok"]["ratings"] > 0
        assert r["server_errors_logged"] == 0
