"""首问负责制 rows: a domain Inquiry to its `inquiries` row and back."""
from __future__ import annotations

from dataclasses import asdict, fields

from hallserver.domain.inquiries import Inquiry

COLUMNS = tuple(f.name for f in fields(Inquiry))


def inquiry_row(x: Inquiry) -> dict:
    row = asdict(x)
    row.pop("id")
    return row


def inquiry_from_row(row: dict) -> Inquiry:
    return Inquiry(**{name: row[name] for name in COLUMNS})
