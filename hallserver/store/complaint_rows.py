"""投诉 rows: a domain Complaint to its `complaints` row and back (its steps as JSON)."""
from __future__ import annotations

import json
from datetime import datetime

from hallserver.domain.complaints import Complaint, Step


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _at(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None


def complaint_row(x: Complaint) -> dict:
    steps = [{"kind": s.kind, "at": _iso(s.at), "by": s.by, "note": s.note, "department": s.department,
              "window": s.window, "staff": s.staff, "method": s.method, "told_at": _iso(s.told_at)} for s in x.steps]
    return {"number": x.number, "channel": x.channel, "text": x.text, "name": x.name, "phone": x.phone,
            "registered_at": x.registered_at, "registered_by": x.registered_by, "days": x.days,
            "department": x.department, "status": x.status, "steps": json.dumps(steps, ensure_ascii=False)}


def complaint_from_row(row: dict) -> Complaint:
    steps = [Step(s["kind"], _at(s["at"]), s["by"], s["note"], s["department"], s["window"], s["staff"], s["method"],
                  _at(s["told_at"])) for s in json.loads(row["steps"])]
    return Complaint(row["id"], row["number"], row["channel"], row["text"], row["name"], row["phone"],
                     row["registered_at"], row["registered_by"], row["days"], steps)
