"""Settings from the dashboard (系统设置), written into the hall's own `hall.toml`.

The config file stays the one source of truth: the dashboard edits a few sections of it in
place with tomlkit (the hall's comments and layout are kept), checks the result exactly as the
server checks it at start (`load_config`, every rule with file: key: reason), keeps the file it
replaces as `hall.toml.bak-YYYYmmdd-HHMMSS`, and only then swaps the new file in. A refused
change leaves the file untouched. The running server then applies the new file at once
(`HallServer.apply_config`).

Editable here: the rule thresholds (`[rules]`), the attendance thresholds (`[attendance]`), the
ticket template (`[ticket]`), each category's names, quotas and 停止取号 (`[[categories]]`, new
ones too), each window's name, categories, 老年人优先 and department (`[[windows]]`), staff
names, posts, departments and schedules (`[[staff]]`, new people too), the shifts (`[[shifts]]`:
added, changed, removed), the AB岗 posts (`[[posts]]`: added, changed, removed; also imported
from CSV) and the device registry (`[[devices]]`: added, changed, removed; each device's
password generated here, never typed). Identifiers and prefixes of existing entries never
change here: tickets, cases, ratings and schedules refer to them.
"""
from __future__ import annotations

import logging
import os
import re
import secrets
import shutil
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import tomlkit
from pydantic import BaseModel

from govhall.catalogue import csv_rows, parse_posts, split_list
from govhall.config import (
    AttendanceConfig,
    CategoryConfig,
    ConfigError,
    DeviceConfig,
    MatterConfig,
    PostConfig,
    RulesConfig,
    ShiftConfig,
    StaffConfig,
    TicketConfig,
    WindowConfig,
)
from govhall.config_file import load_config
from hallserver.calendar_source import load_calendar_file


@dataclass(frozen=True)
class ListSection:
    """An array of tables: its model, the key naming an entry, the keys the dashboard may
    change on an existing entry, and whether entries may be added and removed."""
    model: type[BaseModel]
    key: str
    editable: tuple[str, ...]
    may_add: bool
    may_remove: bool = False
    never: tuple[str, ...] = ()          # keys never taken from a browser (a device's password is generated)


TABLES: dict[str, tuple[type[BaseModel], tuple[str, ...]]] = {   # section → (its model, the keys changed here)
    "rules": (RulesConfig, tuple(RulesConfig.model_fields)),
    "ticket": (TicketConfig, tuple(TicketConfig.model_fields)),
    "attendance": (AttendanceConfig, ("grace_minutes", "away_limit_minutes")),   # not posts_csv: a path
}
LISTS = {
    "categories": ListSection(CategoryConfig, "id", ("name", "name_en", "group", "group_en", "daily_quota",
                                                     "session_quota", "last_ticket_minutes",
                                                     "appointment_capacity"), may_add=True),
    "windows": ListSection(WindowConfig, "id", ("name", "categories", "elderly_first", "department"), may_add=False),
    "staff": ListSection(StaffConfig, "id", ("name", "post", "department", "shifts"), may_add=True),
    "shifts": ListSection(ShiftConfig, "name", ("start", "end", "weekdays"), may_add=True, may_remove=True),
    "posts": ListSection(PostConfig, "id", ("name", "a", "b", "categories", "front_desk"), may_add=True,
                         may_remove=True),
    "devices": ListSection(DeviceConfig, "id", ("window", "printer", "id_reader"), may_add=True, may_remove=True,
                           never=("password",)),
    # not removed here: a matter retired from the catalogue goes with the next catalogue upload
    "matters": ListSection(MatterConfig, "id", ("name", "department", "kind", "legal_days", "promised_days",
                                                "materials", "max_extension_days"), may_add=True),
}
SECTIONS = (*TABLES, *LISTS)
KEEP_BACKUPS = 30
log = logging.getLogger("hallserver.settings")
_lock = threading.Lock()


class SettingsError(Exception):
    """A change the hall's rules refuse, with the reason to show the manager."""


def _plain(value: Any, where: str) -> Any:
    """A JSON value as TOML takes it. TOML has no null: where the callers let None mean
    "remove the key" they do so before; a None left anywhere inside is refused."""
    if value is None:
        raise SettingsError(f"{where}: a value is needed")
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [_plain(v, where) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v, f"{where}.{k}") for k, v in value.items()}
    return value


def _change_table(doc: tomlkit.TOMLDocument, section: str, payload: dict[str, Any]) -> list[str]:
    model, editable = TABLES[section]
    unknown = sorted(set(payload) - set(editable))
    if unknown:
        raise SettingsError(f"{section}: unknown key {', '.join(unknown)}")
    if section not in doc:
        doc[section] = tomlkit.table()
    table = doc[section]
    changes = []
    for key, value in payload.items():
        before = table.get(key, model.model_fields[key].default)
        if value is None or value == before:
            continue
        table[key] = _plain(value, f"{section}.{key}")
        changes.append(f"{section}.{key}: {before} → {value}")
    return changes


def _change_list(doc: tomlkit.TOMLDocument, section: str, payload: list[dict[str, Any]],
                 may_add: bool = True) -> list[str]:
    """Each item names its entry by the section's key; an existing entry gets the editable keys
    given (None or "" removes an optional key), a new one is added whole, and `"remove": true`
    removes the entry where the section allows it."""
    spec = LISTS[section]
    if section not in doc:
        doc[section] = tomlkit.aot()
    entries = doc[section]
    by_key = {str(e.get(spec.key)): e for e in entries}
    changes = []
    for item in payload:
        if not isinstance(item, dict) or not isinstance(item.get(spec.key), str) or not item[spec.key].strip():
            raise SettingsError(f"{section}: each entry needs its {spec.key}")
        name = item[spec.key]
        entry = by_key.get(name)
        if item.get("remove") is True:
            if not spec.may_remove:
                raise SettingsError(f"{section}: entries are not removed here")
            if entry is None:
                raise SettingsError(f"{section}: no {name} to remove")
            index = next(i for i, e in enumerate(entries) if e is entry)
            del entries[index]
            del by_key[name]
            changes.append(f"{section}: removed {name}")
            continue
        if "remove" in item and item["remove"] is not False:
            raise SettingsError(f"{section}.{name}: remove is true or false")
        item = {k: v for k, v in item.items() if k != "remove"}
        secret = sorted(set(item) & set(spec.never))
        if secret:
            raise SettingsError(f"{section}.{name}: {', '.join(secret)} is generated here, never typed in")
        if entry is None:
            if not (spec.may_add and may_add):
                raise SettingsError(f"{section}: no {name} in the config")
            unknown = sorted(set(item) - set(spec.model.model_fields))
            if unknown:
                raise SettingsError(f"{section}.{name}: unknown key {', '.join(unknown)}")
            new = tomlkit.table()
            for key, value in item.items():
                if value not in (None, ""):
                    new[key] = _plain(value, f"{section}.{name}.{key}")
            entries.append(new)
            by_key[name] = new
            changes.append(f"{section}: added {name}")
            continue
        fixed = sorted(set(item) - set(spec.editable) - {spec.key})
        if fixed:
            raise SettingsError(f"{section}.{name}: {', '.join(fixed)} cannot be changed here")
        for key in spec.editable:
            if key not in item:
                continue
            value, before = item[key], entry.get(key)
            if value in (None, "") and key not in ("name",):
                if key in entry:
                    del entry[key]
                    changes.append(f"{section}.{name}.{key}: {before} → (none)")
                continue
            if value != before:
                entry[key] = _plain(value, f"{section}.{name}.{key}")
                changes.append(f"{section}.{name}.{key}: {before} → {value}")
    return changes


def save_settings(path: str | Path, section: str, payload: Any, now: datetime, may_add: bool = True) -> list[str]:
    """Apply one section's changes to the config file; returns what changed (empty: nothing).
    Raises SettingsError with the reason when the hall's rules refuse the result. With
    `may_add` False, entries not in the file yet are refused (a schedule names known staff)."""
    if section not in SECTIONS:
        raise SettingsError(f"unknown settings section {section!r}")
    path = Path(path)
    with _lock:
        doc = _parse(path)
        if section in TABLES:
            if not isinstance(payload, dict):
                raise SettingsError(f"{section}: send an object of keys and values")
            changes = _change_table(doc, section, payload)
        else:
            if not isinstance(payload, list):
                raise SettingsError(f"{section}: send a list of entries")
            changes = _change_list(doc, section, payload, may_add)
        if changes:
            _write_checked(path, doc, now)
        return changes


def new_device_password(path: str | Path, device_id: str, now: datetime) -> str:
    """A new random password for one device (its broker account, and its HTTP sign-in for an
    attendance terminal), saved into hall.toml; returned once, to be entered on the device."""
    path = Path(path)
    with _lock:
        doc = _parse(path)
        entry = next((e for e in doc.get("devices", []) if e.get("id") == device_id), None)
        if entry is None:
            raise SettingsError(f"devices: no {device_id} in the config")
        password = secrets.token_urlsafe(18)                    # 24 characters, 144 bits
        entry["password"] = password
        _write_checked(path, doc, now)
        return password


def _named(message: str, doc: tomlkit.TOMLDocument) -> str:
    """`posts[2].a` → `posts.front-residence.a`: the entry's own name, not its place in the file."""

    def name(m: re.Match) -> str:
        section, index = m[1], int(m[2])
        entries = doc.get(section)
        spec = LISTS.get(section)
        if spec is None or entries is None or index >= len(entries):
            return m[0]
        return f"{section}.{entries[index].get(spec.key, index)}"
    return re.sub(r"\b([a-z_]+)\[(\d+)\]", name, message)


def _write_checked(path: Path, doc: tomlkit.TOMLDocument, now: datetime) -> None:
    """Write `doc` over `path` if it passes the checks made at start; keep a dated backup. A
    folder the server may not write (permissions, a read-only system) is a refusal with its reason."""
    try:
        _replace_checked(path, doc, now)
    except OSError as exc:
        raise SettingsError(f"{path.name}: cannot write ({exc.strerror or exc})") from None
    _prune_backups(path)


def _replace_checked(path: Path, doc: tomlkit.TOMLDocument, now: datetime) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".hall-settings-", suffix=".toml", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(tomlkit.dumps(doc))
        try:
            load_config(tmp)                      # exactly the checks the server makes at start
        except ConfigError as exc:
            raise SettingsError(_named(str(exc).replace(tmp, path.name), doc)) from None
        shutil.copymode(path, tmp)
        _backup(path, now)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _replace_file(target: Path, data: bytes, check: Callable[[str], Any], now: datetime) -> Any:
    """A file beside hall.toml (the calendar, the catalogue) replaced whole: written to a
    temporary file next to it, `check`ed there (it raises SettingsError to refuse), the old
    one kept as a backup, then swapped in. Returns what `check` returned."""
    tmp = ""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.stem}-", suffix=target.suffix, dir=target.parent)
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        result = check(tmp)
        if target.exists():
            _backup(target, now)
        os.replace(tmp, target)
    except OSError as exc:
        raise SettingsError(f"{target.name}: cannot write ({exc.strerror or exc})") from None
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
    _prune_backups(target)
    return result


def _name_in_config(path: Path, doc: tomlkit.TOMLDocument, section: str, key: str, name: str,
                    now: datetime) -> None:
    """hall.toml names a file it did not name before (`[calendar] file`, `[cases] catalogue`)."""
    if section not in doc:
        doc[section] = tomlkit.table()
    doc[section][key] = name
    _write_checked(path, doc, now)


def _backup(path: Path, now: datetime) -> None:
    """`path` kept as `name.bak-YYYYmmdd-HHMMSS` (a second one within the same second: `-2`, …),
    never over an earlier backup."""
    stem = f"{path.name}.bak-{now:%Y%m%d-%H%M%S}"
    for n in range(1, 1000):
        backup = path.with_name(stem if n == 1 else f"{stem}-{n}")
        try:
            with open(backup, "xb") as out, open(path, "rb") as src:     # "x": made here, never overwritten
                shutil.copyfileobj(src, out)
        except FileExistsError:
            continue
        shutil.copystat(path, backup)
        return
    raise OSError(f"too many backups of {path.name} within one second")


def _prune_backups(path: Path) -> None:
    """Keep the last KEEP_BACKUPS backups of a file; a failure to remove an old one is only logged
    (the save itself stands)."""
    for old in sorted(path.parent.glob(f"{path.name}.bak-*"))[:-KEEP_BACKUPS]:
        try:
            old.unlink()
        except OSError as exc:
            log.warning("could not remove the old backup %s: %s", old, exc)

def posts_in_file(path: str | Path) -> set[str]:
    """The ids of the [[posts]] written in hall.toml itself (editable here); the others come from
    the posts CSV named by [attendance] posts_csv and are changed in that file."""
    try:
        doc = tomlkit.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError):
        return set()
    return {str(p.get("id")) for p in doc.get("posts", [])}


SCHEDULE_COLUMNS = ["staff", "shifts"]


def posts_from_csv(text: str) -> list[dict[str, Any]]:
    """AB岗 posts from an uploaded CSV (the posts_csv columns), as settings entries: each post
    in the file is added or, when its id is there already, changed; the others stay."""
    try:
        return [p.model_dump() for p in parse_posts(text, "CSV")]
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None


def schedules_from_csv(text: str) -> list[dict[str, Any]]:
    """Staff schedules (排班) from an uploaded CSV: staff,shifts — the shift names `|`-separated;
    an empty cell means every shift."""
    try:
        rows = csv_rows(text, SCHEDULE_COLUMNS, "CSV")
    except ConfigError as exc:
        raise SettingsError(str(exc)) from None
    out = []
    for n, row in enumerate(rows, start=2):
        staff = (row.get("staff") or "").strip()
        if not staff:
            raise SettingsError(f"CSV: row {n}: staff is empty")
        out.append({"id": staff, "shifts": split_list(row.get("shifts")) or None})
    return out


IMPORTS = {"posts": posts_from_csv, "staff": schedules_from_csv}   # section → its CSV reader


def _parse(path: Path) -> tomlkit.TOMLDocument:
    """hall.toml as tomlkit reads it; a file that cannot be read is a refusal, not a crash."""
    try:
        return tomlkit.parse(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise SettingsError(f"{path.name}: cannot read ({exc.strerror or exc})") from None
    except (UnicodeDecodeError, tomlkit.exceptions.ParseError) as exc:
        raise SettingsError(f"{path.name}: not valid TOML ({exc})") from None


def calendar_path(path: str | Path) -> tuple[Path, bool]:
    """The hall's calendar file and whether hall.toml names it yet (else `calendar.toml` beside it)."""
    path = Path(path)
    doc = _parse(path)
    name = doc.get("calendar", {}).get("file")
    if not name:
        return path.parent / "calendar.toml", False
    return (Path(name) if Path(name).is_absolute() else path.parent / name), True


def calendar_years(path: str | Path) -> list[dict[str, Any]]:
    """The [[year]] tables of the hall's calendar file as the settings page shows them."""
    try:
        cal, named = calendar_path(path)
        if not named or not cal.exists():      # a file hall.toml does not name is not the hall's calendar
            return []
        doc = tomlkit.parse(cal.read_text(encoding="utf-8"))
    except (SettingsError, OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError):
        return []                              # the page shows the file's own error from load_config
    return sorted(({"year": int(e.get("year", 0)), "source": str(e.get("source", "")),
                    "days_off": [str(x) for x in e.get("days_off", [])],
                    "days_worked": [str(x) for x in e.get("days_worked", [])]} for e in doc.get("year", [])),
                  key=lambda y: y["year"])


def save_calendar(path: str | Path, payload: Any, now: datetime) -> list[str]:
    """节假日安排: the hall's working-day calendar file, one [[year]] per State Council notice
    (`hallserver/calendar_source.py`). Each item is {year, source, days_off, days_worked} (dates
    or ranges as "YYYY-MM-DD" / "YYYY-MM-DD..YYYY-MM-DD") or {year, remove: true}. A year in the
    file replaces the built-in one. Checked as at start, a backup kept; hall.toml is pointed at
    the file (`[calendar] file = "calendar.toml"`) the first time."""
    path = Path(path)
    if not isinstance(payload, list):
        raise SettingsError("calendar: send a list of years")
    with _lock:
        cal, named = calendar_path(path)
        try:                       # a file hall.toml does not name yet is not the hall's: start afresh
            doc = tomlkit.parse(cal.read_text(encoding="utf-8")) if named and cal.exists() else tomlkit.document()
        except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError) as exc:
            raise SettingsError(f"calendar: {cal.name} cannot be read ({exc})") from None
        if not named or not cal.exists():
            doc.add(tomlkit.comment("节假日安排 (working days) of the hall: one [[year]] per State Council notice"))
        if "year" not in doc:
            doc["year"] = tomlkit.aot()
        years = doc["year"]
        changes = []
        for item in payload:
            if not isinstance(item, dict) or not isinstance(item.get("year"), int) or isinstance(item["year"], bool) \
                    or not 2000 <= item["year"] <= 2100:
                raise SettingsError("calendar: each entry needs its year (2000–2100)")
            year = item["year"]
            unknown = sorted(set(item) - {"year", "source", "days_off", "days_worked", "remove"})
            if unknown:
                raise SettingsError(f"calendar.{year}: unknown key {', '.join(unknown)}")
            index = next((i for i, e in enumerate(years) if e.get("year") == year), None)
            if item.get("remove") is True:
                if index is None:
                    raise SettingsError(f"calendar: no {year} to remove")
                del years[index]
                changes.append(f"calendar: removed {year}")
                continue
            entry = years[index] if index is not None else tomlkit.table()
            if index is None:
                entry["year"] = year
            for key in ("source", "days_off", "days_worked"):
                if key not in item:
                    continue
                value = item[key]
                if key == "source":
                    if not isinstance(value, str) or len(value) > 200:
                        raise SettingsError(f"calendar.{year}.source: up to 200 characters of text")
                elif not isinstance(value, list) or not all(isinstance(x, str) and len(x) <= 40 for x in value) \
                        or len(value) > 100:
                    raise SettingsError(f"calendar.{year}.{key}: a list of dates or ranges")
                else:
                    value = [x.strip() for x in value if x.strip()]
                if value != entry.get(key, "" if key == "source" else []):
                    entry[key] = value
                    changes.append(f"calendar.{year}.{key}: {value}")
            if index is None:
                years.append(entry)
                changes.append(f"calendar: added {year}")
        if not changes:
            return []
        def check(tmp: str) -> None:
            try:
                load_calendar_file(tmp)            # the checks the server makes at start
            except ConfigError as exc:
                raise SettingsError(str(exc).replace(tmp, cal.name)) from None
        _replace_file(cal, tomlkit.dumps(doc).encode("utf-8"), check, now)
        if not named:                              # hall.toml names the new file
            _name_in_config(path, _parse(path), "calendar", "file", cal.name, now)
            changes.append(f"calendar.file: {cal.name}")
        return changes


def matters_in_file(path: str | Path) -> set[str]:
    """The ids of the [[matters]] written in hall.toml itself; the others come from the catalogue file."""
    try:
        doc = tomlkit.parse(Path(path).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomlkit.exceptions.ParseError):
        return set()
    return {str(m.get("id")) for m in doc.get("matters", [])}


XLSX_MAGIC = b"PK\x03\x04"          # an .xlsx is a zip file


def save_catalogue(path: str | Path, content: bytes, now: datetime) -> list[str]:
    """事项目录: a new catalogue uploaded as CSV (UTF-8, or GBK as Excel writes it on a Chinese
    Windows) or as an Excel workbook replaces the hall's catalogue file (`[cases] catalogue`;
    `matters.csv` / `matters.xlsx` beside hall.toml the first time). Checked like the file at
    start — every row, and together with hall.toml (no id twice) — and the old file kept as a
    backup. Cases already accepted keep the terms they were accepted under."""
    path = Path(path)
    if content.startswith(XLSX_MAGIC):
        suffix, data = ".xlsx", content
    else:
        try:
            text = content.decode("utf-8-sig")
        except UnicodeDecodeError:
            try:
                text = content.decode("gb18030")
            except UnicodeDecodeError:
                raise SettingsError("catalogue: not a CSV text nor an Excel workbook") from None
        suffix, data = ".csv", text.encode("utf-8")
    with _lock:
        config_doc = _parse(path)
        cases = config_doc.get("cases", {})
        old_name = cases.get("catalogue")
        name = old_name if old_name and Path(old_name).suffix.lower() == suffix else f"matters{suffix}"
        target = Path(name) if Path(name).is_absolute() else path.parent / name
        def check(tmp: str) -> int:
            """The rows, and the catalogue together with hall.toml (no id twice): as at start."""
            trial = tomlkit.parse(tomlkit.dumps(config_doc))
            if "cases" not in trial:
                trial["cases"] = tomlkit.table()
            trial["cases"]["catalogue"] = tmp
            fd_toml, tmp_toml = tempfile.mkstemp(prefix=".hall-settings-", suffix=".toml", dir=path.parent)
            try:
                with os.fdopen(fd_toml, "w", encoding="utf-8") as f:
                    f.write(tomlkit.dumps(trial))
                try:
                    config = load_config(tmp_toml)
                except ConfigError as exc:
                    raise SettingsError(str(exc).replace(tmp_toml, path.name).replace(tmp, "catalogue")) from None
            finally:
                os.unlink(tmp_toml)
            return len(config.matters) - len(config_doc.get("matters", []))
        count = _replace_file(target, data, check, now)
        changes = [f"catalogue: {count} matters from {target.name}"]
        if name != old_name:                        # hall.toml names the new file
            _name_in_config(path, config_doc, "cases", "catalogue", name, now)
            changes.append(f"cases.catalogue: {name}")
        return changes
