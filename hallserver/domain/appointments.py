"""预约: appointments booked for a category and a time slot, checked in at the kiosk.

Pure Python. A slot is `slot_minutes` long and holds `capacity` appointments per category.
Check-in is open from `check_in_before` minutes before the slot starts until `check_in_after`
minutes after; inside that window the citizen gets an appointment ticket (called ahead of
walk-ins), later the same day a normal ticket, earlier a refusal saying when to come.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class AppointmentStatus(StrEnum):
    BOOKED = "booked"
    CHECKED_IN = "checked_in"
    CANCELLED = "cancelled"


@dataclass(frozen=True)
class AppointmentRules:
    slot_minutes: int = 30
    capacity: int = 4                 # per category and slot
    check_in_before_s: float = 15 * 60
    check_in_after_s: float = 15 * 60
    horizon_days: int = 7             # how far ahead a slot may be booked
    per_id_active: int = 3            # booked, not yet checked in, per ID number (its keyed hash)
    per_phone_active: int = 3         # the same per mobile number


@dataclass
class Appointment:
    id: int
    code: str
    category: str
    slot_start: datetime
    slot_end: datetime
    name: str
    phone: str
    booked_at: datetime
    status: AppointmentStatus = AppointmentStatus.BOOKED
    ticket_id: int | None = None
    checked_in_at: datetime | None = None
    late: bool = False
    id_hash: str = ""                 # the keyed hash of the booker's ID number (never the number)


class CheckIn(StrEnum):
    ON_TIME = "on_time"       # an appointment ticket
    LATE = "late"             # a normal ticket
    TOO_EARLY = "too_early"
    OTHER_DAY = "other_day"


def check_in_window(a: Appointment, rules: AppointmentRules) -> tuple[datetime, datetime]:
    return (a.slot_start - timedelta(seconds=rules.check_in_before_s),
            a.slot_start + timedelta(seconds=rules.check_in_after_s))


def check_in_kind(a: Appointment, now: datetime, rules: AppointmentRules) -> CheckIn:
    opens, closes = check_in_window(a, rules)
    if now.astimezone(a.slot_start.tzinfo).date() != a.slot_start.date():
        return CheckIn.TOO_EARLY if now < opens else CheckIn.OTHER_DAY
    if now < opens:
        return CheckIn.TOO_EARLY
    return CheckIn.ON_TIME if now <= closes else CheckIn.LATE


def booking_refusal(book: dict[int, Appointment], category: str, slot_start: datetime, id_hash: str, phone: str,
                    now: datetime, rules: AppointmentRules) -> tuple[str, str] | None:
    """Real-name limits of a new booking: (error code, detail) when refused, else None. One
    appointment per ID number, category and day; at most `per_id_active` and `per_phone_active`
    appointments booked and still to come."""
    active = [a for a in book.values() if a.status == AppointmentStatus.BOOKED and a.slot_end > now]
    day = slot_start.date()
    if id_hash and any(a.id_hash == id_hash and a.category == category and a.slot_start.date() == day
                       for a in active):
        return "already_booked", f"this ID has an appointment for {category} on {day}"
    if id_hash and sum(a.id_hash == id_hash for a in active) >= rules.per_id_active:
        return "booking_limit", f"this ID has {rules.per_id_active} appointments to come"
    if phone and sum(a.phone == phone for a in active) >= rules.per_phone_active:
        return "booking_limit", f"this phone has {rules.per_phone_active} appointments to come"
    return None


def day_slots(spans: list[tuple[datetime, datetime]], slot_minutes: int) -> list[tuple[datetime, datetime]]:
    """The slots (start, end) that lie wholly inside one day's open spans, on the grid of
    `slot_minutes` from midnight: none on a day the hall is closed."""
    step = timedelta(minutes=slot_minutes)
    out: list[tuple[datetime, datetime]] = []
    for first, last in sorted(spans):
        midnight = first.replace(hour=0, minute=0, second=0, microsecond=0)
        start = midnight + step * -(-(first - midnight) // step)        # the first grid start in the span
        while start + step <= last:
            if (start, start + step) not in out:
                out.append((start, start + step))
            start += step
    return out


def slot_taken(book: dict[int, Appointment], category: str, slot_start: datetime) -> int:
    return sum(1 for a in book.values() if a.category == category and a.slot_start == slot_start
               and a.status != AppointmentStatus.CANCELLED)
