"""The operating report's tallies from the database's GROUP BY (SQLite and PostgreSQL).

A month of a large hall is some 125 000 tickets; reading them one by one into Python takes
over a second. These queries let the database count, sum and bucket them, so a few thousand
grouped rows come back instead. The result is the same `Tallies` that
`hall_reports.tallies_from_facts` builds from the tickets one by one (tested equal on both
databases), and `report_from_tallies` turns either into the report.

Durations are seconds between two stored times (naive UTC), rounded to the millisecond, in
6-second steps. Hours are grouped by UTC hour and turned into the hall's local hour in
Python, so any time zone with whole-hour offsets is exact (China's is +08:00 all year).
"""
from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import Integer, Numeric, and_, case, cast, func, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from hallserver.reports.hall import (
    BUCKET_S,
    TALLIES_VERSION,
    LocalHour,
    Tallies,
    merge_tallies,
    tallies_from_json,
    tallies_to_json,
)
from hallserver.store.tables import ratings, report_days, tickets


def _seconds(engine: Engine, start, end):   # noqa: ANN001, ANN202 - SQL expressions
    """end − start in seconds, rounded to the millisecond."""
    if engine.dialect.name == "sqlite":
        return func.round((func.julianday(end) - func.julianday(start)) * 86400.0, 3)
    return func.round(cast(func.extract("epoch", end - start), Numeric), 3)


def _step(engine: Engine, seconds):   # noqa: ANN001, ANN202
    """floor(seconds / 6), also for negative spans (SQLite's CAST truncates toward zero)."""
    x = seconds / BUCKET_S
    if engine.dialect.name == "sqlite":
        truncated = cast(x, Integer)
        return truncated - case((x < truncated, 1), else_=0)
    return cast(func.floor(x), Integer)


def _utc_hour(engine: Engine, column):   # noqa: ANN001, ANN202
    if engine.dialect.name == "sqlite":
        return func.strftime("%Y-%m-%d %H", column)
    return func.to_char(column, "YYYY-MM-DD HH24")


def report_tallies(engine: Engine, first: date, last: date, tz) -> Tallies:   # noqa: ANN001 - a tzinfo
    """The tallies of the hall days first..last, counted by the database as one period."""
    return tallies_by_day(engine, first, last, tz, split=False)[first]


def tallies_by_day(engine: Engine, first: date, last: date, tz,  # noqa: ANN001, C901
                   split: bool = True) -> dict[date, Tallies]:
    """Each hall day's tallies, from one scan per query over the whole span (grouped by day too);
    with split=False, the whole span as one (under `first`): grouping by day costs twice the time."""
    days: dict[date, Tallies] = {}
    whole = Tallies()

    def of(day: date) -> Tallies:
        if not split:
            return whole
        t = days.get(day)
        if t is None:
            t = days[day] = Tallies()
        return t
    in_period = and_(tickets.c.day >= first, tickets.c.day <= last)
    first_call = func.coalesce(tickets.c.first_called_at, tickets.c.called_at)
    wait = _seconds(engine, tickets.c.issued_at, first_call)
    service = _seconds(engine, first_call, tickets.c.finished_at)
    local_hour = LocalHour(tz)
    by = [tickets.c.day] if split else []

    def grouped(conn, columns: list, where: list, group: list, join: bool = False):   # noqa: ANN001, ANN202
        """Rows of (day, *columns) grouped by day (when split) and `group`."""
        query = select(*by, *columns)
        if join:
            query = query.select_from(ratings.join(tickets, tickets.c.id == ratings.c.ticket_id))
        for row in conn.execute(query.where(in_period, *where).group_by(*by, *group)):
            yield tuple(row) if split else (first, *row)
    with engine.connect() as conn:
        for category, status, d, n in conn.execute(                      # by day either way: by_day needs it
                select(tickets.c.category, tickets.c.status, tickets.c.day, func.count())
                .where(in_period).group_by(tickets.c.category, tickets.c.status, tickets.c.day)):
            t = of(d)
            t.categories[category]["issued"] += n
            t.categories[category][status] += n
            t.days[d]["issued"] += n
            if status == "completed":
                t.days[d]["served"] += n
        issued_hour = _utc_hour(engine, tickets.c.issued_at)
        for d, hour, n in grouped(conn, [issued_hour, func.count()], [], [issued_hour]):
            of(d).hours[local_hour(datetime.strptime(hour, "%Y-%m-%d %H"))]["issued"] += n
        served_hour = _utc_hour(engine, tickets.c.finished_at)
        for d, hour, n in grouped(conn, [served_hour, func.count()],
                                  [tickets.c.status == "completed", tickets.c.finished_at.is_not(None)],
                                  [served_hour]):
            of(d).hours[local_hour(datetime.strptime(hour, "%Y-%m-%d %H"))]["served"] += n
        step = _step(engine, wait).label("step")
        for d, category, b, n, total, longest in grouped(
                conn, [tickets.c.category, step, func.count(), func.sum(wait), func.max(wait)],
                [first_call.is_not(None)], [tickets.c.category, step]):
            of(d).waits[category].add_group(b, n, float(total), float(longest))
        step = _step(engine, service).label("step")
        for d, category, window, staff, b, n, total, longest in grouped(
                conn, [tickets.c.category, tickets.c.window, tickets.c.staff, step, func.count(), func.sum(service),
                       func.max(service)],
                [tickets.c.status == "completed", tickets.c.finished_at.is_not(None), first_call.is_not(None)],
                [tickets.c.category, tickets.c.window, tickets.c.staff, step]):
            t = of(d)
            t.services[category].add_group(b, n, float(total), float(longest))
            if window:
                t.windows[window].add_group(b, n, float(total), float(longest))
            if staff:
                t.staff[staff].add_group(b, n, float(total), float(longest))
        rating_keys = [ratings.c.window, ratings.c.staff, ratings.c.level, ratings.c.channel]
        for d, window, staff, level, channel, n in grouped(conn, [*rating_keys, func.count()], [], rating_keys,
                                                           join=True):
            of(d).ratings[(window, staff, int(level), int(channel))] += n
    return days if split else {first: whole}


def settled_before(today: date, phone_valid_days: int) -> date:
    """The first hall day whose figures may still change: a ticket's phone page can rate it for
    `phone_valid_days` after the service; days before that are final."""
    return today - timedelta(days=phone_valid_days + 1)


def day_rollups(engine: Engine, first: date, last: date) -> dict[date, Tallies]:
    """The stored tallies of the days first..last that are of this version."""
    with engine.connect() as conn:
        rows = conn.execute(select(report_days.c.day, report_days.c.tallies)
                            .where(report_days.c.day >= first, report_days.c.day <= last,
                                   report_days.c.version == TALLIES_VERSION)).all()
    out = {}
    for day, text in rows:
        t = tallies_from_json(text)
        if t is not None:
            out[day] = t
    return out


def build_day_rollups(engine: Engine, first: date, last: date, tz, now: datetime) -> dict[date, Tallies]:   # noqa: ANN001
    """Count the finished days first..last in one go and keep each (a day with no tickets too);
    another thread doing the same at once is harmless: the figures are the same."""
    counted = tallies_by_day(engine, first, last, tz)
    out = {}
    day = first
    with engine.begin() as conn:
        while day <= last:
            t = out[day] = counted.get(day, Tallies())
            row = {"version": TALLIES_VERSION, "tallies": tallies_to_json(t), "built_at": now}
            if conn.execute(update(report_days).where(report_days.c.day == day).values(row)).rowcount == 0:
                try:
                    with conn.begin_nested():
                        conn.execute(insert(report_days).values(day=day, **row))
                except IntegrityError:
                    pass
            day += timedelta(days=1)
    return out


def period_tallies(engine: Engine, first: date, last: date, tz, settled: date, now: datetime) -> Tallies:   # noqa: ANN001
    """The tallies of first..last: settled days from their rollups (built the first time they are
    asked for, or by the server's nightly job), the days that may still change counted now."""
    parts: list[Tallies] = []
    last_settled = min(last, settled - timedelta(days=1))
    if first <= last_settled:
        stored = day_rollups(engine, first, last_settled)
        missing = [d for d in _days(first, last_settled) if d not in stored]
        if missing:
            stored.update(build_day_rollups(engine, missing[0], missing[-1], tz, now))
        parts.extend(stored[d] for d in _days(first, last_settled))
    if max(first, settled) <= last:
        parts.append(report_tallies(engine, max(first, settled), last, tz))
    return merge_tallies(parts)


def _days(first: date, last: date) -> list[date]:
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]
