"""SQLite's write-ahead log, checkpointed beside the command path.

With WAL and synchronous=NORMAL a commit only appends to the log; the work that costs (copying
the log back into the database file and the fsync that goes with it) is the checkpoint, which
SQLite by default runs inside whichever commit pushes the log past 1,000 pages. Under load that
was one commit in forty taking 8–11 ms, now and then hundreds, and every command queued behind
the hall server's one writer waited for it. The hall server instead checkpoints from a thread
of its own (PASSIVE: never waits for the writer or a reader; sqlite3 releases the GIL while it
works), once a second. The automatic checkpoint stays on at a higher mark as a safety net, so
the log stays bounded even if this thread falls behind.
"""
from __future__ import annotations

import logging
import sqlite3
import threading

log = logging.getLogger("hallserver.store.wal")

EVERY_S = 1.0
AUTOCHECKPOINT_PAGES = 10_000     # the safety net: about 40 MB of log


class WalCheckpointer:
    def __init__(self, path: str, every_s: float | None = None) -> None:
        self.path, self.every_s = path, every_s or EVERY_S
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self.checkpoints = 0          # completed passes (for tests and the log)

    def start(self) -> WalCheckpointer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)

    def _run(self) -> None:
        conn = None
        failing = False
        while not self._stop.wait(self.every_s):
            try:
                if conn is None:
                    conn = sqlite3.connect(self.path, timeout=0, check_same_thread=False)
                busy, log_pages, copied = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
                self.checkpoints += 1
                if failing:
                    log.info("the database checkpoints again (%d of %d log pages copied)", copied, log_pages)
                failing = False
            except sqlite3.Error as exc:
                if not failing:               # once per bad spell, not once a second
                    log.warning("could not checkpoint the database's log: %s; the next commit's "
                                "automatic checkpoint stands in", exc)
                failing = True
                if conn is not None:
                    conn.close()
                    conn = None
        if conn is not None:
            conn.close()
