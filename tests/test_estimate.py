"""预计等候: the estimate a citizen gets with the ticket, from the hall's own recent services."""
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given
from hypothesis import strategies as st

from govhall.contract import TicketClass
from hallserver.domain.call_order import CallRules, Dispatcher, pick
from hallserver.domain.clock import SimClock
from hallserver.domain.estimate import WaitEstimator
from hallserver.domain.queue import Category, QueueEngine, Staff, Window

TZ = ZoneInfo("Asia/Shanghai")


START = datetime(2026, 11, 23, 9, 0, tzinfo=TZ)


@dataclass
class T:                      # a ticket as the call rule sees it
    id: int
    category: str
    issued_at: datetime = START
    priority: TicketClass = TicketClass.NORMAL
    callback_seq: int | None = None
    requeue_after_id: int | None = None
    transfer_to_window: str | None = None


@dataclass
class W:                      # a window as the call rule sees it
    id: str
    categories: tuple
    elderly_first: bool = False


def tickets(*cats):
    return [T(i, c, START + timedelta(minutes=i)) for i, c in enumerate(cats, start=1)]


def estimate(est, target, waiting, windows):
    """windows: (categories, seconds until free)."""
    ws = [W(f"w{i}", cats) for i, (cats, _) in enumerate(windows)]
    return est.estimate(target, Dispatcher(ws, waiting, CallRules()), [free for _, free in windows])


def test_no_open_window_for_the_category_means_no_estimate_rather_than_a_wrong_one():
    est = WaitEstimator(480)
    waiting = tickets("social")
    assert estimate(est, waiting[0], waiting, []) is None
    assert estimate(est, waiting[0], waiting, [(("business",), 0.0)]) is None


def test_until_there_is_history_the_default_service_time_is_used():
    est = WaitEstimator(default_service_s=600)
    waiting = tickets(*["social"] * 5)
    assert estimate(est, waiting[0], waiting, [(("social",), 0.0)]) == 0     # a free window calls it now
    assert estimate(est, waiting[4], waiting, [(("social",), 0.0)]) == 4 * 600
    two = [(("social",), 0.0), (("social",), 300.0)]
    assert estimate(est, waiting[4], waiting, two) == 1200                  # two windows share the four


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


def test_the_windows_category_order_and_earlier_tickets_at_a_shared_window_count():
    est = WaitEstimator(default_service_s=600)
    est.record("business", 1200)
    waiting = tickets("business", "social")
    assert estimate(est, waiting[1], waiting, [(("business", "social"), 0.0)]) == 1200   # B first there
    assert estimate(est, waiting[0], waiting, [(("business", "social"), 0.0)]) == 0
    assert estimate(est, waiting[1], waiting, [(("social", "business"), 0.0)]) == 0      # S first there


@given(st.lists(st.sampled_from(["a", "b"]), min_size=1, max_size=30), st.integers(1, 4))
def test_a_ticket_issued_later_never_gets_a_shorter_estimate_in_its_category(categories, n_windows):
    est = WaitEstimator(default_service_s=300)
    waiting = tickets(*categories)
    windows = [(("a", "b"), 0.0)] * n_windows
    for cat in ("a", "b"):
        estimates = [estimate(est, t, waiting, windows) for t in waiting if t.category == cat]
        assert estimates == sorted(estimates)


ticket_specs = st.lists(st.tuples(
    st.sampled_from(["a", "b", "c"]), st.integers(0, 90),                 # category, minutes after 09:00
    st.sampled_from(list(TicketClass)), st.booleans(), st.integers(0, 5),  # class, called back, requeue after
    st.sampled_from([None, None, None, "w0", "w1"])), min_size=1, max_size=40)
window_specs = st.lists(st.tuples(st.permutations(["a", "b", "c"]).map(tuple), st.integers(1, 3), st.booleans()),
                        min_size=1, max_size=4)


# a big hall: many windows of few kinds, which share their lines (and their place in them)
shared_window_specs = st.lists(st.tuples(st.sampled_from([("a", "b", "c"), ("b", "a", "c"), ("c", "a", "b")]),
                                         st.sampled_from([1, 2]), st.booleans()), min_size=2, max_size=8)


@given(ticket_specs, st.one_of(window_specs, shared_window_specs), st.lists(st.integers(0, 7), max_size=60))
def test_the_fast_dispatcher_calls_exactly_like_the_rule(specs, wspecs, order):
    waiting = []
    for i, (cat, minute, cls, called_back, after, to_window) in enumerate(specs, start=1):
        waiting.append(T(i, cat, START + timedelta(minutes=minute), cls, i if called_back else None,
                         after if called_back and after else None, to_window))
    windows = [W(f"w{i}", cats[:n], elderly) for i, (cats, n, elderly) in enumerate(wspecs)]
    rules = CallRules()
    fast = Dispatcher(windows, waiting, rules)
    remaining = list(waiting)
    for k in order:
        i = k % len(windows)
        ids = {t.id for t in remaining}
        expected = pick(windows[i], remaining, rules, ids.__contains__)
        assert fast.pick(i) is expected
        if expected is not None:
            remaining.remove(expected)
            fast.remove(expected)


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
