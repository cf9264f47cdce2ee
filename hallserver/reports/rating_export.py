"""The 好差评 records in a documented format (docs/ratings.md), as CSV or Excel, ready to be
mapped to a provincial 好差评 platform: every first rating, each followed by its follow-up
rating (追评) when it has one (`kind` says which, `first_rating_id` links a follow-up to its first)."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from govhall.config import Config
from hallserver.reports.cells import SafeDictWriter, append_row
from hallserver.store import Store
from hallserver.store.tables import cases, tickets

COLUMNS = ["rating_id", "kind", "first_rating_id", "service_id", "ticket_number", "matter", "department", "window",
           "staff", "level", "level_name", "reasons", "text", "channel", "entered_by", "time", "rectification", "hash"]
FIRST, FOLLOW_UP = "first", "follow_up"      # the record's kind: 首次评价, 追评
LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def rating_rows(store: Store, config: Config) -> list[dict]:
    """The first ratings, one per service (what the statistics count: 一次一评)."""
    windows = {w.id: w for w in config.windows}
    categories = {c.id: c.name for c in config.categories}
    matters = {m.id: m for m in config.matters}
    with store.engine.connect() as conn:
        numbers = {r.id: (r.number, r.category) for r in conn.execute(select(tickets.c.id, tickets.c.number,
                                                                             tickets.c.category))}
        case_of = {r.ticket_id: r.matter for r in conn.execute(select(cases.c.ticket_id, cases.c.matter))
                   if r.ticket_id is not None}
    rectified = store.rectification_status()
    out = []
    for r in store.rating_records():
        number, category = numbers.get(r["ticket_id"], ("", ""))
        matter = matters.get(case_of.get(r["ticket_id"], ""))
        window = windows.get(r["window"])
        out.append({
            "rating_id": r["id"], "kind": FIRST, "first_rating_id": "", "service_id": r["ticket_id"],
            "ticket_number": number,
            "matter": matter.name if matter else categories.get(category, category),
            "department": (matter.department if matter else "") or (window.department if window else ""),
            "window": r["window"], "staff": r["staff"], "level": r["level"], "level_name": LEVEL_NAMES[r["level"]],
            "reasons": "、".join(json.loads(r["reasons"])), "text": r["comment"], "channel": r["channel"],
            "entered_by": "", "time": r["at"].isoformat(),
            "rectification": rectified.get(r["id"], "需整改" if r["level"] <= 2 else "无需整改"),
            "hash": r["hash"],
        })
    return out


def follow_up_rows(store: Store, firsts: list[dict]) -> list[dict]:
    """The follow-up ratings (追评) of the first ratings `firsts` (rating_rows' rows): the service's
    fields from the first, the rating's own; a follow-up of a rating not among `firsts` is left out."""
    by_id = {r["rating_id"]: r for r in firsts}
    out = []
    for f in store.follow_up_records():
        first = by_id.get(f["rating_id"])
        if first is not None:
            out.append({**first, "rating_id": f["id"], "kind": FOLLOW_UP, "first_rating_id": f["rating_id"],
                        "level": f["level"], "level_name": LEVEL_NAMES[f["level"]],
                        "reasons": "、".join(json.loads(f["reasons"])), "text": f["comment"], "channel": f["channel"],
                        "entered_by": f["by"], "time": f["at"].isoformat(), "hash": f["hash"]})
    return out


def record_rows(store: Store, config: Config) -> list[dict]:
    """Every record for the export: each first rating, followed by its follow-up when it has one."""
    firsts = rating_rows(store, config)
    follow = {r["first_rating_id"]: r for r in follow_up_rows(store, firsts)}
    out = []
    for r in firsts:
        out.append(r)
        if r["rating_id"] in follow:
            out.append(follow[r["rating_id"]])
    return out


def export_ratings(store: Store, config: Config, out: str | Path) -> Path:
    out = Path(out)
    rows = record_rows(store, config)
    if out.suffix.lower() == ".xlsx":
        from openpyxl import Workbook  # openpyxl: only for an Excel file
        book = Workbook()
        sheet = book.active
        sheet.title = "好差评"
        sheet.append(COLUMNS)
        for row in rows:
            append_row(sheet, [row[c] for c in COLUMNS])
        book.save(out)
        return out
    with out.open("w", encoding="utf-8-sig", newline="") as f:
        writer = SafeDictWriter(f, COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    return out
