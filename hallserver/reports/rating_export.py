"""The 好差评 records in a documented format (docs/ratings.md), as CSV or Excel, ready to be
mapped to a provincial 好差评 platform."""
from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select

from govhall.config import Config
from hallserver.reports.cells import SafeDictWriter, append_row
from hallserver.store import Store
from hallserver.store.tables import cases, tickets

COLUMNS = ["rating_id", "service_id", "ticket_number", "matter", "department", "window", "staff", "level",
           "level_name", "reasons", "text", "channel", "time", "rectification", "hash"]
LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}


def rating_rows(store: Store, config: Config) -> list[dict]:
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
            "rating_id": r["id"], "service_id": r["ticket_id"], "ticket_number": number,
            "matter": matter.name if matter else categories.get(category, category),
            "department": (matter.department if matter else "") or (window.department if window else ""),
            "window": r["window"], "staff": r["staff"], "level": r["level"], "level_name": LEVEL_NAMES[r["level"]],
            "reasons": "、".join(json.loads(r["reasons"])), "text": r["comment"], "channel": r["channel"],
            "time": r["at"].isoformat(),
            "rectification": rectified.get(r["id"], "需整改" if r["level"] <= 2 else "无需整改"),
            "hash": r["hash"],
        })
    return out


def export_ratings(store: Store, config: Config, out: str | Path) -> Path:
    out = Path(out)
    rows = rating_rows(store, config)
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
