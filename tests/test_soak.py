"""The soak (`hall demo --headless --days N --faults`) over two simulated working days with
each kind of fault: the books balance at the end of every day and the server's per-day
books stay at a couple of days however long it runs."""
import pytest

from hallserver.soak import run_week


@pytest.mark.timeout(240)
def test_two_days_with_every_kind_of_fault_and_the_books_balance(mosquitto):
    r = run_week(days=2, plan=["server_restart", "broker_restart", "device_drop", "server_restart"])
    assert r["broker"] == "mosquitto"
    kinds = [f["fault"].split(":")[0] for f in r["faults"]]
    assert kinds == ["server_restart", "broker_restart", "device_drop", "server_restart"]
    days = r["days"]
    assert [d["open"] for d in days] == [True, True]
    for d in days:
        assert d["tickets_issued"] > 50                 # a real day's work went through the faults
        assert d["called"] == 0                          # closing finished every service
        assert d["balanced"], d
        assert d["completed"] + d["skipped"] + d["cancelled"] + d["waiting"] == d["tickets_issued"]
        assert d["server_books"]["numbering_days"] <= 2
    assert r["books_balance"]
    assert r["rss_kb_first_day"] > 0


def test_a_weekend_day_is_shut(mosquitto):
    """Saturday 28 and Sunday 29 November 2026 are days off: the hall stays shut, nobody is issued a number."""
    r = run_week(days=7, faults=False)
    assert [d["open"] for d in r["days"]] == [True] * 5 + [False] * 2
    assert r["books_balance"]
