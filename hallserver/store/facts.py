"""The rows the store reads for the reports, as plain tuples (a month is 125 000 tickets)."""
from __future__ import annotations

from datetime import date, datetime
from typing import NamedTuple


class TicketFact(NamedTuple):
    """One ticket as the report needs it. Times are aware, or naive meaning UTC (as the store
    reads them for speed); the wait ends at the first call."""
    day: date
    category: str
    status: str
    issued_at: datetime
    called_at: datetime | None
    finished_at: datetime | None
    window: str | None
    staff: str | None


class RatingFact(NamedTuple):
    day: date
    window: str
    staff: str
    level: int
    channel: int
