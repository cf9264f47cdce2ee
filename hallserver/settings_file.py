"""Settings from the dashboard (系统设置), written into the hall's own `hall.toml`.

The config file stays the one source of truth: the dashboard edits a few sections of it in
place with tomlkit (the hall's comments and layout are kept), checks the result exactly as the
server checks it at start (`load_config`, every rule with file: key: reason), keeps the file it
replaces as `hall.toml.bak-YYYYmmdd-HHMMSS`, and only then swaps the new file in. A refused
change leaves the file untouched. Changes take effect when the server restarts.

Editable here: the rule thresholds (`[rules]`), the ticket template (`[ticket]`), each
category's names, quotas and 停止取号 (`[[categories]]`, new ones too), each window's name,
categories, 老年人优先 and department (`[[windows]]`), and staff names and posts
(`[[staff]]`, new people too). Identifiers and prefixes of existing entries never change here:
tickets, cases and ratings refer to them.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import threading
from datetime import datetime
from pathlib import Path
from typing import Any

import tomlkit

from govhall.config import (
    CategoryConfig,
    ConfigError,
    RulesConfig,
    StaffConfig,
    TicketConfig,
    WindowConfig,
    load_config,
)

TABLES = {"rules": RulesConfig, "ticket": TicketConfig}
LISTS = {  # section → (its model, the keys the dashboard may change on an existing entry, may add new entries)
    "categories": (CategoryConfig, ("name", "name_en", "group", "group_en", "daily_quota", "session_quota",
                                    "last_ticket_minutes", "appointment_capacity"), True),
    "windows": (WindowConfig, ("name", "categories", "elderly_first", "department"), False),
    "staff": (StaffConfig, ("name", "post"), True),
}
SECTIONS = (*TABLES, *LISTS)
KEEP_BACKUPS = 30
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
    model = TABLES[section]
    unknown = sorted(set(payload) - set(model.model_fields))
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


def _change_list(doc: tomlkit.TOMLDocument, section: str, payload: list[dict[str, Any]]) -> list[str]:
    model, editable, may_add = LISTS[section]
    if section not in doc:
        doc[section] = tomlkit.aot()
    entries = doc[section]
    by_id = {str(e.get("id")): e for e in entries}
    changes = []
    for item in payload:
        if not isinstance(item, dict) or not isinstance(item.get("id"), str):
            raise SettingsError(f"{section}: each entry needs its id")
        entry = by_id.get(item["id"])
        if entry is None:
            if not may_add:
                raise SettingsError(f"{section}: no {item['id']} in the config (new ones are added in hall.toml)")
            unknown = sorted(set(item) - set(model.model_fields))
            if unknown:
                raise SettingsError(f"{section}.{item['id']}: unknown key {', '.join(unknown)}")
            new = tomlkit.table()
            for key, value in item.items():
                if value not in (None, ""):
                    new[key] = _plain(value, f"{section}.{item['id']}.{key}")
            entries.append(new)
            changes.append(f"{section}: added {item['id']}")
            continue
        fixed = sorted(set(item) - set(editable) - {"id"})
        if fixed:
            raise SettingsError(f"{section}.{item['id']}: {', '.join(fixed)} cannot be changed here")
        for key in editable:
            if key not in item:
                continue
            value, before = item[key], entry.get(key)
            if value in (None, "") and key not in ("name",):
                if key in entry:
                    del entry[key]
                    changes.append(f"{section}.{item['id']}.{key}: {before} → (none)")
                continue
            if value != before:
                entry[key] = _plain(value, f"{section}.{item['id']}.{key}")
                changes.append(f"{section}.{item['id']}.{key}: {before} → {value}")
    return changes


def save_settings(path: str | Path, section: str, payload: Any, now: datetime) -> list[str]:
    """Apply one section's changes to the config file; returns what changed (empty: nothing).
    Raises SettingsError with the reason when the hall's rules refuse the result."""
    if section not in SECTIONS:
        raise SettingsError(f"unknown settings section {section!r}")
    path = Path(path)
    with _lock:
        text = path.read_text(encoding="utf-8")
        doc = tomlkit.parse(text)
        if section in TABLES:
            if not isinstance(payload, dict):
                raise SettingsError(f"{section}: send an object of keys and values")
            changes = _change_table(doc, section, payload)
        else:
            if not isinstance(payload, list):
                raise SettingsError(f"{section}: send a list of entries")
            changes = _change_list(doc, section, payload)
        if not changes:
            return []
        fd, tmp = tempfile.mkstemp(prefix=".hall-settings-", suffix=".toml", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(tomlkit.dumps(doc))
            try:
                load_config(tmp)                      # exactly the checks the server makes at start
            except ConfigError as exc:
                raise SettingsError(str(exc).replace(tmp, path.name)) from None
            shutil.copymode(path, tmp)
            backup = path.with_name(f"{path.name}.bak-{now:%Y%m%d-%H%M%S}")
            shutil.copy2(path, backup)
            os.replace(tmp, path)
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)
        backups = sorted(path.parent.glob(f"{path.name}.bak-*"))
        for old in backups[:-KEEP_BACKUPS]:
            old.unlink()
        return changes
