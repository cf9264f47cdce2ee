"""`hall bench call` runs end to end and reports what it promises (no timing is asserted:
speed targets live in the benchmark, not in tests)."""
import json
import subprocess
import sys


def test_bench_call_reports_each_path_as_json(mosquitto):
    out = subprocess.run([sys.executable, "-m", "hallserver.cli", "bench", "call", "--calls", "20", "--json"],
                         capture_output=True, text=True, timeout=240, env={"QT_QPA_PLATFORM": "offscreen",
                                                                          "PATH": "/usr/bin:/bin:/usr/sbin"})
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["calls"] == 20 and result["broker"] == "mosquitto"
    for path in ("led", "screen", "voice"):
        r = result[path]
        assert r["n"] == 20 and 0 < r["p50_ms"] <= r["p99_ms"] <= r["max_ms"]
