"""预计等候: the estimate a citizen gets with the ticket, from the hall's own recent services."""
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from hallserver.domain.clock import SimClock
from hallserver.domain.estimate import WaitEstimator
from hallserver.domain.queue import Category, QueueEngine, Staff, Window

TZ = ZoneInfo("Asia/Shanghai")


@dataclass(frozen=True)
class T:                      # a ticket as the estimator sees it
    id: int
    category: str


def earliest(categories: tuple, remaining: list):
    """A plain rule for these tests: the earliest ticket of the window's categories."""
    mine = [t for t in remaining if t.category in categories]
    return min(mine, key=lambda t: t.id) if mine else None


def tickets(*cats):
    return [T(i, c) for i, c in enumerate(cats, start=1)]


def test_no_open_window_for_the_category_means_no_estimate_rather_than_a_wrong_one():
    est = WaitEstimator(480)
    waiting = tickets("social")
    assert est.estimate(waiting[0], waiting, [], earliest) is None
    assert est.estimate(waiting[0], waiting, [(("business",), 0.0)], earliest) is None


def test_until_there_is_history_the_default_service_time_is_used():
    est = WaitEstimator(default_service_s=600)
    waiting = tickets(*["social"] * 5)
    assert est.estimate(waiting[0], waiting, [(("social",), 0.0)], earliest) == 0     # a free window calls it now
    assert est.estimate(waiting[4], waiting, [(("social",), 0.0)], earliest) == 4 * 600
    two = [(("social",), 0.0), (("social",), 300.0)]
    assert est.estimate(waiting[4], waiting, two, earliest) == 1200                  # two windows share the four


def test_recent_services_replace_the_default_and_old_ones_age_out():
    est = WaitEstimator(default_service_s=600, history=3)
    for seconds in (100, 200, 300):
        est.record("social", seconds)
    assert est.service_time("social") == 200
    est.record("social", 1000)                                                 # 100 s falls out
    assert est.service_time("social") == 500
    assert est.service_time("business") == 600                                 # other categories keep the default
    est.record("social", 0)                                                    # nonsense durations are ignored
    assert est.service_time("social") == 500


def test_earlier_tickets_of_other_categories_at_a_shared_window_count():
    est = WaitEstimator(default_service_s=600)
    est.record("business", 1200)
    waiting = tickets("business", "social")
    both = [(("social", "business"), 0.0)]
    assert est.estimate(waiting[1], waiting, both, earliest) == 1200    # the 综合窗口 serves B first
    assert est.estimate(waiting[0], waiting, both, earliest) == 0


@given(st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=30), st.integers(1, 4))
def test_a_ticket_issued_later_never_gets_a_shorter_estimate_in_its_category(categories, n_windows):
    est = WaitEstimator(default_service_s=300)
    waiting = tickets(*categories)
    windows = [(("a", "b"), 0.0)] * n_windows
    for cat in ("a", "b"):
        estimates = [est.estimate(t, waiting, windows, earliest) for t in waiting if t.category == cat]
        assert estimates == sorted(estimates)


def test_the_engine_learns_from_completed_services_and_leaves_paused_windows_out():
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = QueueEngine(clock, [Category("social", "社保医保", "A")], [Window("w1", 1, "1号窗口", ("social",))],
                    [Staff("s1", "王丽")], default_service_s=480)
    first = e.issue("social", "kiosk-1")
    assert e.estimated_wait_s(first) is None                                   # no window open yet
    e.login("w1", "s1")
    assert e.estimated_wait_s(first) == 0
    e.call_next("w1")
    clock.advance(4 * 60)
    e.complete("w1")                                                           # a 4-minute service
    e.issue("social", "kiosk-1")
    e.call_next("w1")
    clock.advance(60)                                                          # one minute into the next
    tickets = [e.issue("social", "kiosk-1") for _ in range(3)]
    assert [e.estimated_wait_s(t) for t in tickets] == [180, 420, 660]         # 3 min left, then 4 min each
    e.complete("w1")
    e.pause("w1", "meal")
    assert e.estimated_wait_s(tickets[0]) is None                              # the only window is paused
