"""The queue engine on a simulated clock: no broker, no database."""
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from govhall.contract import ErrorCode, GreenReason, PauseReason, TicketClass, TicketStatus, WindowStatus
from hallserver.domain.clock import SimClock
from hallserver.domain.queue import Category, DomainError, QueueEngine, Snapshot, Staff, Window

TZ = ZoneInfo("Asia/Shanghai")
CATS = [Category("social", "社保医保", "A"), Category("business", "企业开办", "B")]
STAFF = [Staff("s1", "王丽"), Staff("s2", "李强"), Staff("s3", "张敏")]


def windows():
    return [Window("w1", 1, "1号窗口", ("social",)), Window("w2", 2, "2号窗口", ("business",)),
            Window("w3", 3, "3号窗口", ("business", "social"))]


def engine(clock=None, snapshot=None):
    return QueueEngine(clock or SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ)), CATS, windows(), STAFF,
                       max_recalls=2, snapshot=snapshot)


def test_numbers_per_category_and_restart_each_day():
    clock = SimClock(datetime(2026, 11, 23, 23, 59, tzinfo=TZ))
    e = engine(clock)
    assert [e.issue("social", "k").number for _ in range(2)] == ["A001", "A002"]
    assert e.issue("business", "k").number == "B001"
    clock.advance(120)                                   # past midnight
    assert e.issue("social", "k").number == "A001"


def test_the_whole_service_of_one_citizen():
    e = engine()
    t = e.issue("social", "kiosk-1")
    e.login("w1", "s1")
    assert e.call_next("w1") is t and t.status == TicketStatus.CALLED and t.window == "w1" and t.staff == "s1"
    assert e.windows["w1"].status == WindowStatus.SERVING
    assert e.recall("w1").recalls == 1
    e.complete("w1")
    assert t.status == TicketStatus.COMPLETED and e.windows["w1"].status == WindowStatus.IDLE
    r = e.rate("w1", 5)
    assert r.ticket is t and r.staff == "s1"
    with pytest.raises(DomainError) as info:
        e.rate("w1", 1)
    assert info.value.code == ErrorCode.ALREADY_RATED


def test_a_window_calls_in_its_own_category_order_then_issue_order():
    e = engine()
    a1, b1, a2 = e.issue("social", "k"), e.issue("business", "k"), e.issue("social", "k")
    e.login("w3", "s3")                                          # w3 prefers business, then social
    assert [e.call_next("w3") for _ in range(3)] == [b1, a1, a2]
    assert b1.status == a1.status == TicketStatus.COMPLETED     # calling next finishes the last service


def test_the_green_channel_goes_first_and_the_elderly_get_it_from_their_id_card():
    e = engine()
    normal = e.issue("social", "k")
    old = e.issue("social", "k", birth_date=date(1960, 11, 23))       # 66 today
    young = e.issue("social", "k", birth_date=date(1961, 11, 24))     # 64 until tomorrow
    helped = e.issue("social", "k", green_reason=GreenReason.PREGNANT)  # a 导办 staff override
    assert (old.priority, old.green_reason) == (TicketClass.GREEN, GreenReason.ELDERLY)
    assert young.priority == TicketClass.NORMAL and young.green_reason is None
    e.login("w1", "s1")
    assert [e.call_next("w1") for _ in range(4)] == [old, helped, normal, young]


def test_an_elderly_first_window_calls_green_tickets_of_every_category():
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    wins = windows()
    wins[0] = Window("w1", 1, "1号窗口", ("social",), elderly_first=True)
    e = QueueEngine(clock, CATS, wins, STAFF)
    own = e.issue("social", "k")
    elder = e.issue("business", "k", green_reason=GreenReason.ELDERLY)
    other = e.issue("business", "k")
    e.login("w1", "s1")
    assert [e.call_next("w1") for _ in range(2)] == [elder, own]
    assert e.next_for(e.windows["w1"]) is None and other.status == TicketStatus.WAITING


def test_nobody_is_overtaken_by_a_ticket_taken_30_minutes_later_however_many_priority_tickets_come():
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = engine(clock)
    patient = e.issue("social", "k")                      # w3 serves business first, then social
    e.login("w3", "s3")
    called = []
    for minute in range(45):                              # two priority arrivals a minute, one call a minute
        e.issue("business", "k")
        e.issue("social", "k", green_reason=GreenReason.MILITARY)
        called.append((minute, e.call_next("w3")))
        clock.advance(60)
    when = next(m for m, t in called if t is patient)
    assert when == 31       # the first call at which the preferred ticket was taken over 30 minutes later
    # and a green ticket still goes ahead of normal tickets in a long queue, by up to 30 minutes
    assert all(t.priority == TicketClass.GREEN for m, t in called if m < 31)


def test_a_transfer_keeps_the_issue_time_and_is_called_back_first_there():
    e = engine()
    t = e.issue("social", "k")
    later = e.issue("business", "k")
    e.login("w1", "s1")
    e.login("w2", "s2")
    e.call_next("w1")
    e.transfer("w1", "需企业开办窗口办理", to_category="business")
    assert t.status == TicketStatus.WAITING and t.category == "business" and t.number == "A001"
    assert t.transferred_from == "w1" and t.issued_at <= later.issued_at
    assert e.call_next("w2") is t                         # called back ahead of B001
    named = e.issue("social", "k")
    assert e.call_next("w1") is named
    e.transfer("w1", "需窗口2复核", to_window="w2")
    assert e.next_for(e.windows["w1"]) is None            # social, but transferred to w2 by name
    assert e.call_next("w2") is named                     # a transfer by name: only that window calls it


def test_a_skipped_citizen_who_returns_goes_after_the_next_three():
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = engine(clock)
    late = e.issue("social", "k")
    others = [e.issue("social", "k") for _ in range(5)]
    e.login("w1", "s1")
    e.call_next("w1")
    e.skip("w1")                                          # 过号
    clock.advance(10 * 60)
    back = e.requeue(late.number)
    assert back is late and late.status == TicketStatus.WAITING and late.requeued
    order = [e.call_next("w1") for _ in range(6)]
    assert order == others[:3] + [late] + others[3:]


def test_a_requeue_is_refused_when_too_late_or_for_a_ticket_never_skipped():
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = engine(clock)
    t = e.issue("social", "k")
    e.login("w1", "s1")
    e.call_next("w1")
    e.skip("w1")
    clock.advance(31 * 60)
    with pytest.raises(DomainError) as info:
        e.requeue(t.number)
    assert info.value.code == ErrorCode.REQUEUE_EXPIRED
    with pytest.raises(DomainError) as info:
        e.requeue("A999")
    assert info.value.code == ErrorCode.TICKET_NOT_FOUND


def test_a_window_never_calls_a_category_it_does_not_serve():
    e = engine()
    e.issue("business", "k")
    e.login("w1", "s1")
    with pytest.raises(DomainError) as info:
        e.call_next("w1")
    assert info.value.code == ErrorCode.QUEUE_EMPTY


@pytest.mark.parametrize("action, code", [
    (lambda e: e.call_next("w1"), ErrorCode.WINDOW_CLOSED),
    (lambda e: e.login("w1", "nobody"), ErrorCode.UNKNOWN_STAFF),
    (lambda e: e.login("w9", "s1"), ErrorCode.UNKNOWN_WINDOW),
    (lambda e: e.issue("nothing", "k"), ErrorCode.UNKNOWN_CATEGORY),
    (lambda e: (e.login("w1", "s1"), e.login("w1", "s2")), ErrorCode.WINDOW_TAKEN),
    (lambda e: (e.login("w1", "s1"), e.login("w2", "s1")), ErrorCode.STAFF_ELSEWHERE),
    (lambda e: (e.login("w1", "s1"), e.complete("w1")), ErrorCode.NO_CURRENT_TICKET),
    (lambda e: (e.login("w1", "s1"), e.pause("w1", PauseReason.MEAL), e.call_next("w1")), ErrorCode.WINDOW_PAUSED),
    (lambda e: (e.login("w1", "s1"), e.resume("w1")), ErrorCode.WINDOW_NOT_PAUSED),
    (lambda e: (e.issue("social", "k"), e.login("w1", "s1"), e.call_next("w1"), e.logout("w1")), ErrorCode.WINDOW_BUSY),
    (lambda e: (e.issue("social", "k"), e.login("w1", "s1"), e.call_next("w1"), e.recall("w1"), e.recall("w1"),
                e.recall("w1")), ErrorCode.RECALL_LIMIT),
    (lambda e: (e.login("w1", "s1"), e.rate("w1", 5)), ErrorCode.NOTHING_TO_RATE),
])
def test_refusals_have_a_code_and_change_nothing(action, code):
    e = engine()
    with pytest.raises(DomainError) as info:
        action(e)
    assert info.value.code == code


def test_a_refused_call_leaves_no_change_to_persist():
    e = engine()
    e.login("w1", "s1")
    e.take_changes()
    with pytest.raises(DomainError):
        e.call_next("w1")
    changes = e.take_changes()
    assert not changes.tickets and not changes.windows and not changes.events


def test_skip_marks_a_no_show_and_frees_the_window():
    e = engine()
    t = e.issue("social", "k")
    e.login("w1", "s1")
    e.call_next("w1")
    e.skip("w1")
    assert t.status == TicketStatus.SKIPPED and e.windows["w1"].ticket is None
    with pytest.raises(DomainError):
        e.rate("w1", 5)            # a no-show cannot be rated at the window


# ---------------------------------------------------------------------------- state machine
def reference_next(e, w, now):
    """The call order exactly as docs/queue.md states it, written apart from call_order.py."""
    waiting = [t for line in e.waiting.values() for t in line]
    waiting_ids = {t.id for t in waiting}
    if w.status not in (WindowStatus.IDLE, WindowStatus.SERVING):
        return None

    def allowed(t):
        if t.transfer_to_window:
            return t.transfer_to_window == w.id
        return t.category in w.categories or (w.elderly_first and t.priority == TicketClass.GREEN)

    mine = [t for t in waiting if allowed(t)]
    called_back = [t for t in mine if t.callback_seq is not None]
    turn_come = [t for t in called_back if t.requeue_after_id is None or t.requeue_after_id not in waiting_ids]
    if turn_come:                                               # 1. called back, in call-back order
        return min(turn_come, key=lambda t: t.callback_seq)
    rest = [t for t in mine if t.callback_seq is None]
    if rest:                                                    # 2. class, category order, issue order ...
        cls = {TicketClass.GREEN: 0, TicketClass.APPOINTMENT: 1, TicketClass.NORMAL: 2}
        preferred = sorted(rest, key=lambda t: (cls[t.priority], w.categories.index(t.category)
                                                if t.category in w.categories else 99, t.id))[0]
        first_come = sorted(rest, key=lambda t: (t.issued_at, t.id))[0]
        if preferred.issued_at - first_come.issued_at > timedelta(minutes=30):
            return first_come                                   # ... but nobody overtaken by 30+ minutes
        return preferred
    waiting_turn = [t for t in called_back if t not in turn_come]
    return min(waiting_turn, key=lambda t: t.callback_seq) if waiting_turn else None   # 3.


class HallMachine(RuleBasedStateMachine):
    """Random command sequences; after each step the guarantees hold, and an engine
    rebuilt from a snapshot of the persisted changes behaves the same."""

    def __init__(self):
        super().__init__()
        self.clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
        self.e = engine(self.clock)
        self.db: dict[int, object] = {}        # what a store would hold
        self.windows_db: dict[str, Window] = {}
        self.served: list[int] = []

    def _persist(self):
        ch = self.e.take_changes()
        for t in ch.tickets.values():
            self.db[t.id] = t
        self.windows_db.update(ch.windows)

    def _try(self, fn, *args):
        try:
            result = fn(*args)
        except DomainError:
            ch = self.e.take_changes()
            assert not ch.tickets and not ch.windows and not ch.events, "a refusal left changes behind"
            return None
        self._persist()
        return result

    @rule(cat=st.sampled_from(["social", "business"]),
          kind=st.sampled_from(["normal", "normal", "green", "appointment"]))
    def issue(self, cat, kind):
        if kind == "appointment":        # a 预约 check-in in time
            self._try(lambda: self.e.issue(cat, "k", priority=TicketClass.APPOINTMENT, booked=True))
        else:
            self._try(lambda: self.e.issue(cat, "k", green_reason=GreenReason.ELDERLY if kind == "green" else None))

    @rule(w=st.sampled_from(["w1", "w2", "w3"]), to_window=st.sampled_from([None, "w1", "w2", "w3"]),
          to_category=st.sampled_from(["social", "business"]))
    def transfer(self, w, to_window, to_category):
        if to_window is not None:
            self._try(lambda: self.e.transfer(w, "test", to_window=to_window))
        else:
            self._try(lambda: self.e.transfer(w, "test", to_category=to_category))

    @rule(w=st.sampled_from(["w1", "w2", "w3"]))
    def no_show_comes_back(self, w):
        """过号 then 重排 at once: the re-queued ticket must wait for the next few."""
        self.call_next(w)
        t = self._try(self.e.skip, w)
        if t is not None:
            self._try(self.e.requeue, t.number)

    @rule(data=st.data())
    def requeue(self, data):
        skipped = sorted(t.number for t in self.db.values() if t.status == TicketStatus.SKIPPED)
        number = data.draw(st.sampled_from(skipped)) if skipped else "A999"
        self._try(self.e.requeue, number)

    @rule(w=st.sampled_from(["w1", "w2", "w3"]), s=st.sampled_from(["s1", "s2", "s3"]))
    def login(self, w, s):
        self._try(self.e.login, w, s)

    @rule(w=st.sampled_from(["w1", "w2", "w3"]))
    def call_next(self, w):
        expected = reference_next(self.e, self.e.windows[w], self.clock.now())
        t = self._try(self.e.call_next, w)
        if t is not None:
            assert t is expected, "the call order differs from the documented rule"
            window = self.e.windows[w]
            assert t.category in window.categories or t.transferred_from is not None
            assert t.id not in self.served or t.requeued or t.transferred_from is not None
            self.served.append(t.id)

    @rule(w=st.sampled_from(["w1", "w2", "w3"]),
          op=st.sampled_from(["recall", "skip", "complete", "resume", "logout"]))
    def window_op(self, w, op):
        self._try(getattr(self.e, op), w)

    @rule(w=st.sampled_from(["w1", "w2", "w3"]))
    def pause(self, w):
        self._try(self.e.pause, w, PauseReason.AWAY)

    @rule(seconds=st.integers(1, 900))
    def time_passes(self, seconds):
        self.clock.advance(seconds)

    @invariant()
    def no_ticket_lost_or_doubled(self):
        waiting = [t.id for q in self.e.waiting.values() for t in q]
        called = [w.ticket.id for w in self.e.windows.values() if w.ticket]
        assert len(set(called)) == len(called), "one ticket at two windows"
        assert not set(waiting) & set(called)
        for tid, t in self.db.items():
            if t.status == TicketStatus.WAITING:
                assert tid in waiting, "a waiting ticket fell out of the queue"
            elif t.status == TicketStatus.CALLED:
                assert tid in called
        numbers = [(t.day, t.number) for t in self.db.values()]
        assert len(set(numbers)) == len(numbers), "a number was issued twice"

    @precondition(lambda self: len(self.db) > 0)
    @invariant()
    def a_restarted_engine_is_the_same(self):
        open_t = [t for t in self.db.values() if t.status in (TicketStatus.WAITING, TicketStatus.CALLED)]
        counters = {}
        for t in self.db.values():
            counters[(t.day, t.category)] = max(counters.get((t.day, t.category), 0), t.seq)
        skips = [t for t in self.db.values() if t.status == TicketStatus.SKIPPED]
        snap = Snapshot(open_tickets=open_t, windows=list(self.windows_db.values()), counters=counters,
                        last_ticket_id=max(self.db), recent_skips=skips,
                        last_callback_seq=max((t.callback_seq or 0 for t in self.db.values()), default=0))
        again = engine(self.clock, snap)
        for wid, w in self.e.windows.items():
            twin = again.windows[wid]
            assert (twin.status, twin.staff, twin.ticket and twin.ticket.id) == \
                (w.status, w.staff, w.ticket and w.ticket.id)
            nxt, nxt2 = self.e.next_for(w), again.next_for(twin)
            assert (nxt and nxt.id) == (nxt2 and nxt2.id), "queue order changed across a restart"


HallMachine.TestCase.settings = settings(max_examples=400, stateful_step_count=60, deadline=None)
TestHallMachine = HallMachine.TestCase


def test_clock_only_moves_forward():
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    with pytest.raises(ValueError):
        clock.advance(-1)
    with pytest.raises(ValueError):
        clock.set(clock.now() - timedelta(seconds=1))


def test_the_engine_forgets_earlier_days_but_keeps_today_and_yesterday():
    """A server running for months keeps a couple of days of numbering, quotas and staff
    figures in memory; today's numbering carries on, yesterday's 一次一评 still holds."""
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = engine(clock)
    e.login("w1", "s1")
    for _ in range(3):
        clock.advance(86400)
        e.issue("social", "kiosk-1")
        e.call_next("w1")
        e.complete("w1")
        e.rate("w1", 5)
        e.take_changes()
    assert len({day for day, _ in e.counters}) == 3
    e.forget_days_before(clock.now().date() - timedelta(days=1))
    today = clock.now().date()
    assert {day for day, _ in e.counters} == {today - timedelta(days=1), today}
    assert all(day >= clock.now().date() - timedelta(days=1) for day, _ in e.staff_days)
    assert e.issue("social", "kiosk-1").number == "A002"            # today's numbering goes on
    with pytest.raises(DomainError):
        e.rate("w1", 4)                         # the last service was rated already
