"""The hall server's Python heap and the cyclic garbage collector.

A full collection walks every object the process holds: with the libraries, the day's
tickets and a week of command ids that is a pause of about 100 ms on the load bench's machine,
several times a minute under load, and every command waiting behind it sees it (the p99).
`hall server` therefore freezes the heap once it has started (gc.freeze: what is alive then
is left out of later collections), and again each night when the hall day turns, after one
full collection, so that the day's leftovers are freed and the next day's collections only
walk what that day created. Ordinary reference counting frees everything as before; only
reference cycles among frozen objects wait for the next night.
"""
from __future__ import annotations

import gc
import logging
import time

log = logging.getLogger("hallserver.heap")


def freeze_heap() -> None:
    """Collect everything once, then leave what is alive out of later collections."""
    start = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    log.info("heap frozen: %d objects left out of collections (%.0f ms)", gc.get_freeze_count(),
             (time.perf_counter() - start) * 1000)


def frozen() -> bool:
    return gc.get_freeze_count() > 0
