"""Where the working-day schedule comes from: the `chinese-calendar` package for the years
it covers (2004–2026 in 1.11), and the hall's own calendar file for later years (or to
correct a year). The file is TOML, one `[[year]]` per State Council notice:

    [[year]]
    year = 2027
    source = "国务院办公厅关于2027年部分节假日安排的通知"
    days_off = ["2027-01-01", "2027-02-06..2027-02-14"]      # 法定节假日 and the days moved into them
    days_worked = ["2027-02-20"]                             # 调休: weekend days that are worked

A year in the file replaces the package's data for that year. A bad file is refused with
the file, the key and the reason, like hall.toml.
"""
from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path

import chinese_calendar

from govhall.config import ConfigError
from hallserver.domain.workdays import WorkCalendar


def _days(value: str, year: int, where: str) -> list[date]:
    try:
        if ".." in value:
            first, last = (date.fromisoformat(x.strip()) for x in value.split("..", 1))
        else:
            first = last = date.fromisoformat(value.strip())
    except ValueError:
        raise ConfigError(f"{where}: {value!r} is not a date (YYYY-MM-DD) or a range (YYYY-MM-DD..YYYY-MM-DD)") \
            from None
    if last < first:
        raise ConfigError(f"{where}: {value!r} ends before it starts")
    if first.year != year or last.year != year:
        raise ConfigError(f"{where}: {value!r} is not in {year}")
    return [first + timedelta(days=i) for i in range((last - first).days + 1)]


def load_calendar_file(path: str | Path) -> dict[int, tuple[set[date], set[date]]]:
    """{year: (days off, days worked)} from a hall calendar file."""
    path = Path(path)
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    years: dict[int, tuple[set[date], set[date]]] = {}
    unknown = set(data) - {"year"}
    if unknown:
        raise ConfigError(f"{path}: {sorted(unknown)[0]}: unknown key (use [[year]] tables)")
    entries = data.get("year", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise ConfigError(f"{path}: year: write each year as a [[year]] table")
    for i, entry in enumerate(entries):
        where = f"{path}: year[{i}]"
        if not isinstance(entry.get("year"), int) or not 2000 <= entry["year"] <= 2100:
            raise ConfigError(f"{where}.year: a year such as 2027 is required")
        extra = set(entry) - {"year", "source", "days_off", "days_worked"}
        if extra:
            raise ConfigError(f"{where}.{sorted(extra)[0]}: unknown key")
        year = entry["year"]
        if year in years:
            raise ConfigError(f"{where}.year: {year} appears twice")
        off = {d for v in entry.get("days_off", []) for d in _days(str(v), year, f"{where}.days_off")}
        worked = {d for v in entry.get("days_worked", []) for d in _days(str(v), year, f"{where}.days_worked")}
        weekdays = sorted(d for d in worked if d.weekday() < 5)
        if weekdays:
            raise ConfigError(f"{where}.days_worked: {weekdays[0]} is a weekday; list only worked weekend days")
        both = sorted(off & worked)
        if both:
            raise ConfigError(f"{where}: {both[0]} is both off and worked")
        years[year] = (off, worked)
    return years


def work_calendar(calendar_file: str | Path | None = None, missing_year: str = "error") -> WorkCalendar:
    """The hall's working-day calendar: the package's years, then the hall's file on top."""
    years: dict[int, tuple[set[date], set[date]]] = {}
    for day in chinese_calendar.holidays:
        years.setdefault(day.year, (set(), set()))[0].add(day)
    for day in chinese_calendar.workdays:
        if day.weekday() >= 5:
            years.setdefault(day.year, (set(), set()))[1].add(day)
    first, last = min(years), max(years)
    for year in range(first, last + 1):        # a covered year may have no moved day at all
        years.setdefault(year, (set(), set()))
    if calendar_file is not None:
        years.update(load_calendar_file(calendar_file))
    cal = WorkCalendar(warn_missing=missing_year == "warn")
    for year, (off, worked) in years.items():
        cal.years.add(year)
        cal.days_off |= off
        cal.days_worked |= worked
    return cal
