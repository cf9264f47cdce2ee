"""`hall bench reports`: the manager's reports over a year of history.

Fills a fresh database (SQLite in a temporary folder, or a new PostgreSQL database created
beside the one `--database` names and dropped afterwards) with a year of a large hall:
`tickets` tickets over the working days of the last 365 days plus a busy today, `ratings`
ratings of served tickets, `cases` cases with their steps. Then it times, `repeat` times each:

  month_report     the operating report of the last full month (GET /api/reports/hall?period=month),
                   its days read from their rollups (built by the server each night, or the first
                   time a report asks: `month_report_first` times that first build, and
                   `month_counted_whole` the month counted straight from the tickets)
  this_month_report  the month so far (today's month): settled days from rollups, the last
                   `phone_valid_days` + 1 days counted from the tickets
  month_cases      按期办结率 of that month (GET /api/reports/cases)
  live_overview    the live board's figures (GET /api/overview), the cache defeated every time

and prints p50 / p99 / max in milliseconds with the machine. Target: under 1 s each.
The data is random but seeded: the same arguments give the same database.
"""
from __future__ import annotations

import json
import random
import statistics
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, func, insert, select, text
from sqlalchemy.engine import make_url

from hallserver.bootstrap import matters_of
from hallserver.domain.clock import SystemClock
from hallserver.processor import CommandProcessor
from hallserver.reports.hall import Tallies
from hallserver.store import Store
from hallserver.store.repository import matter_terms
from hallserver.store.tables import cases as cases_table
from hallserver.store.tables import ratings as ratings_table
from hallserver.store.tables import tickets as tickets_table
from hallserver.web.dashboard import Dashboard
from hallserver.web.live import LiveView
from lab.bench import machine

BATCH = 20_000


def _timed(fn: Callable[[], Any], repeat: int) -> dict[str, float]:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1000)
    ordered = sorted(samples)
    p99 = ordered[min(len(ordered) - 1, round(0.99 * (len(ordered) - 1)))]
    return {"n": repeat, "p50_ms": round(statistics.median(samples), 1), "p99_ms": round(p99, 1),
            "max_ms": round(max(samples), 1)}


class BenchDatabase:
    """A fresh database for the bench: a temporary SQLite file, or a new PostgreSQL database."""

    def __init__(self, url: str | None) -> None:
        self._tmp = None
        self._admin = None
        if url is None or url.startswith("sqlite"):
            self._tmp = tempfile.TemporaryDirectory(prefix="govhall-bench-")
            self.url = f"sqlite:///{Path(self._tmp.name) / 'hall.db'}"
            self.kind = "sqlite"
        else:
            admin = make_url(url)
            self.name = f"govhall_bench_{uuid.uuid4().hex[:8]}"
            self._admin = create_engine(admin, isolation_level="AUTOCOMMIT")
            with self._admin.connect() as conn:
                conn.execute(text(f'CREATE DATABASE "{self.name}"'))
            self.url = admin.set(database=self.name).render_as_string(hide_password=False)
            self.kind = "postgresql"

    def close(self) -> None:
        if self._admin is not None:
            with self._admin.connect() as conn:
                conn.execute(text("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :name"),
                             {"name": self.name})
                conn.execute(text(f'DROP DATABASE IF EXISTS "{self.name}"'))
            self._admin.dispose()
        if self._tmp is not None:
            self._tmp.cleanup()


def working_days(today: date, days: int = 365) -> list[date]:
    """Monday to Friday of the `days` before today (holidays are not taken out: a busier year)."""
    return [d for d in (today - timedelta(days=i) for i in range(days, 0, -1)) if d.weekday() < 5]


def _ticket_rows(config, today: date, total: int, tz, rnd: random.Random) -> Iterator[dict]:   # noqa: ANN001
    """A year of tickets: as many per working day, spread over 09:00–17:00, most served."""
    days = working_days(today) + [today]
    per_day, extra = divmod(total, len(days))
    categories = [(c.id, c.prefix) for c in config.categories]
    windows = [(w.id, w.categories) for w in config.windows]
    staff = [s.id for s in config.staff] or ["s001"]
    now = datetime.now(tz)
    tid = 0
    for i, day in enumerate(days):
        seqs = {c: 0 for c, _ in categories}
        opening = datetime(day.year, day.month, day.day, 9, 0, tzinfo=tz)
        for _ in range(per_day + (i < extra)):
            tid += 1
            category, prefix = categories[rnd.randrange(len(categories))]
            seqs[category] += 1
            issued = opening + timedelta(seconds=rnd.uniform(0, 8 * 3600))
            if day == today and issued > now:
                issued = now - timedelta(seconds=rnd.uniform(0, 3600))
            wait = timedelta(minutes=rnd.expovariate(1 / 15))
            service = timedelta(minutes=rnd.expovariate(1 / 8))
            status = rnd.choices(["completed", "skipped", "cancelled"], [90, 8, 2])[0]
            called = issued + wait
            if day == today and called > now:
                status, called = "waiting", None
            window = rnd.choice([w for w, cats in windows if category in cats] or [windows[0][0]])
            row = {"id": tid, "day": day, "category": category, "seq": seqs[category],
                   "number": f"{prefix}{seqs[category]:03d}", "status": status, "issued_at": issued,
                   "issued_by": "kiosk-1", "called_at": called if status != "cancelled" else None,
                   "first_called_at": called if status != "cancelled" else None,
                   "window": window if called is not None and status != "cancelled" else None,
                   "staff": rnd.choice(staff) if called is not None and status != "cancelled" else None,
                   "recalls": 0, "finished_at": called + service if status == "completed" else None,
                   "priority": "normal", "requeued": False}
            yield row


def fill(store, config, today: date, tickets: int, ratings: int, cases: int, tz, seed: int = 7) -> dict:   # noqa: ANN001
    """Write the year into the store's database in batches; returns what was written."""
    rnd = random.Random(seed)
    served: list[tuple[int, str, str, datetime]] = []
    written = 0
    batch: list[dict] = []
    with store.engine.begin() as conn:
        for row in _ticket_rows(config, today, tickets, tz, rnd):
            batch.append(row)
            if row["status"] == "completed":
                served.append((row["id"], row["window"], row["staff"], row["finished_at"]))
            if len(batch) >= BATCH:
                conn.execute(insert(tickets_table), batch)
                written += len(batch)
                batch = []
        if batch:
            conn.execute(insert(tickets_table), batch)
            written += len(batch)
    rated = rnd.sample(served, min(ratings, len(served)))
    rated.sort()
    with store.engine.begin() as conn:
        for i in range(0, len(rated), BATCH):
            conn.execute(insert(ratings_table), [
                {"id": i + j + 1, "ticket_id": tid, "window": window, "staff": staff,
                 "level": rnd.choices([5, 4, 3, 2, 1], [70, 18, 7, 3, 2])[0], "reasons": "[]", "comment": "",
                 "channel": rnd.choice([4, 4, 4, 3, 2]), "at": done + timedelta(seconds=30), "phone": "",
                 "prev_hash": "", "hash": ""}
                for j, (tid, window, staff, done) in enumerate(rated[i:i + BATCH])])
    terms = {m.id: matter_terms(m) for m in matters_of(config)}      # as accepted cases keep them
    matters = [m.id for m in config.matters] or ["m"]
    handlers = [s.id for s in config.staff] or ["s001"]
    accepted_sample = rnd.sample(served, min(cases, len(served)))
    accepted_sample.sort()
    with store.engine.begin() as conn:
        for i in range(0, len(accepted_sample), BATCH):
            rows = []
            for j, (tid, window, staff, done) in enumerate(accepted_sample[i:i + BATCH]):
                cid = i + j + 1
                completed = done + timedelta(days=rnd.randint(0, 20), hours=rnd.uniform(0, 6))
                open_case = completed > datetime.now(UTC)
                steps = [{"step": "受理", "at": done.astimezone(UTC).isoformat(), "staff": staff, "note": ""}]
                if not open_case:
                    steps.append({"step": "办结", "at": completed.astimezone(UTC).isoformat(),
                                  "staff": rnd.choice(handlers), "note": ""})
                    steps.append({"step": "取件", "at": (completed + timedelta(days=1)).astimezone(UTC).isoformat(),
                                  "staff": rnd.choice(handlers), "note": ""})
                matter = rnd.choice(matters)
                rows.append({"id": cid, "code": f"B{cid:09d}", "token": f"bench{cid:011d}", "terms": terms.get(matter),
                             "matter": matter, "ticket_id": tid, "window": window, "accepted_at": done,
                             "accepted_by": staff, "step": "受理" if open_case else "取件", "received": "{}",
                             "missing": "[]", "steps": _json(steps), "pauses": "[]", "extensions": "[]",
                             "finished": not open_case, "completed_at": None if open_case else completed})
            conn.execute(insert(cases_table), rows)
    with store.engine.connect() as conn:
        counted = {name: conn.execute(select(func.count()).select_from(t)).scalar()
                   for name, t in (("tickets", tickets_table), ("ratings", ratings_table), ("cases", cases_table))}
    if store.engine.dialect.name == "postgresql":
        with store.engine.begin() as conn:
            conn.execute(text("ANALYZE"))
    return counted


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def bench_reports(database_url: str | None = None, tickets: int = 1_500_000, ratings: int = 1_000_000,
                  cases: int = 300_000, repeat: int = 20, seed: int = 7) -> dict:
    from lab.demo import demo_config  # loads pyserial: only when used

    config = demo_config(with_hours=False)
    db = BenchDatabase(database_url)
    store = Store(db.url)
    try:
        store.migrate()
        clock = SystemClock(config.hall.timezone)
        tz = clock.tz
        today = clock.now().astimezone(tz).date()
        started = time.perf_counter()
        written = fill(store, config, today, tickets, ratings, cases, tz, seed)
        fill_s = time.perf_counter() - started
        processor = CommandProcessor(config, store, clock)
        view = LiveView(processor.topics, clock)
        view.on_outgoing(processor.full_state())           # the windows and queue, as the bus publishes them
        dashboard = Dashboard(config.hall.name, view, store, clock, {c.id: c.name for c in config.categories})
        dashboard.config = config
        month_end = today.replace(day=1) - timedelta(days=1)
        month_start = month_end.replace(day=1)

        from hallserver.reports.hall import report_from_tallies
        from hallserver.reports.queries import period_tallies, report_tallies, settled_before
        settled = settled_before(today, config.ratings.phone_valid_days)

        def month_report() -> dict:          # what GET /api/reports/hall?period=month does
            tallies = period_tallies(store.engine, month_start, month_end, tz, settled, clock.now())
            return report_from_tallies("month", month_start, tallies, dashboard.category_names,
                                       {s.id: s.name for s in config.staff}, config.rules.wait_target_minutes)

        def this_month() -> dict:            # the month so far: its last days are not settled, counted now
            first = today.replace(day=1)
            tallies = period_tallies(store.engine, first, today, tz, settled, clock.now())
            return report_from_tallies("month", first, tallies, dashboard.category_names, {}, 20)

        def month_counted() -> Tallies:       # the same month counted from the tickets, without rollups
            return report_tallies(store.engine, month_start, month_end, tz)

        def overview() -> dict:
            view.touch()                      # a new version: nothing cached
            return dashboard.overview()

        whole = _timed(month_counted, max(1, repeat // 4))
        cold = _timed(month_report, 1)        # the first time: every day of the month counted and kept
        report = month_report()
        result = {
            "database": db.kind, "machine": machine(), "rows": written, "fill_s": round(fill_s, 1),
            "month": month_start.strftime("%Y-%m"), "month_tickets": report["totals"]["issued"],
            "month_report": _timed(month_report, repeat),
            "month_report_first": cold, "month_counted_whole": whole,
            "this_month_report": _timed(this_month, repeat),
            "month_cases": _timed(lambda: processor.case_report(month_start, month_end), repeat),
            "live_overview": _timed(overview, repeat),
            "today_tickets": overview()["today"]["tickets_issued"],
        }
        return result
    finally:
        store.close()
        db.close()
