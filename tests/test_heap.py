"""The hall server's frozen heap (hallserver/heap.py): collections skip what was alive at start
and at the last turn of the hall day, and still free what is created later."""
import gc
import weakref
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from hallserver.bus import ServerBus
from hallserver.domain.clock import SimClock
from hallserver.heap import freeze_heap, frozen
from hallserver.processor import CommandProcessor
from hallserver.store import Store

TZ = ZoneInfo("Asia/Shanghai")


class Node:
    def __init__(self) -> None:
        self.me = self          # a reference cycle: only the collector frees it


@pytest.fixture
def unfrozen_after():
    yield
    gc.unfreeze()               # the rest of the test session collects as usual


def test_a_frozen_heap_still_frees_the_cycles_made_afterwards(unfrozen_after):
    before = Node()
    kept = weakref.ref(before)
    freeze_heap()
    assert frozen()
    del before
    gc.collect()
    assert kept() is not None                 # alive at the freeze: left alone until the next one
    later = Node()
    gone = weakref.ref(later)
    del later
    gc.collect()
    assert gone() is None                     # made after it: collected as ever
    freeze_heap()                             # the night's turn collects first
    assert kept() is None


def test_the_bus_freezes_again_when_the_hall_day_turns(config, sqlite_url, unfrozen_after):
    store = Store(sqlite_url)
    store.migrate()
    clock = SimClock(datetime(2026, 11, 23, 23, 59, tzinfo=TZ))
    bus = ServerBus(CommandProcessor(config, store, clock), "mqtt://127.0.0.1:1")   # never connected
    try:
        freeze_heap()
        bus._new_day_heap()
        old = Node()
        kept = weakref.ref(old)
        gc.freeze()                           # as if it had been alive at the last freeze
        del old
        bus._new_day_heap()                   # the same day: nothing
        gc.collect()
        assert kept() is not None
        clock.advance(120)                    # past midnight
        bus._new_day_heap()
        assert kept() is None and frozen()
    finally:
        store.close()
