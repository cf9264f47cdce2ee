"""追评: the one follow-up rating of a 差评 after it was rectified, linked to the first rating.

Source: DESIGN.md's national 好差评 rules — "one rating per on-site service (一次一评) and per
case (一事一评), plus at most one follow-up rating after a fix", and records mappable to the
provincial interfaces with "first or follow-up rating". The rest are our defaults
(docs/ratings.md):

- Only a 差评 (不满意, 非常不满意: level ≤ 2) has a follow-up, and only once its rectification
  closed as 已整改 (整改完成). One closed as 申诉成立 (the appeal upheld) had no fix: none.
- One follow-up per first rating, whatever the channel (the citizen's phone page, or a
  manager entering what the citizen said on a 回访 call).
- Open for `valid_days` natural days (the hall's `ratings.phone_valid_days`) from the day
  of the 整改, in the hall's time zone.
- The follow-up never changes the first rating and never counts as a second service.

Pure: the time is given.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from hallserver.domain.rectification import Rectification

BAD_LEVEL = 2            # 不满意 and worse are 差评


class FollowUpError(ValueError):
    """A refused follow-up: its error code and an English detail (the code has the Chinese)."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class FollowUp:
    id: int
    rating_id: int               # the first rating
    level: int
    reasons: tuple[str, ...]
    comment: str
    channel: int
    by: str                      # the manager who entered a 回访's answer; "" when the citizen rated
    at: datetime


def rectified_at(r: Rectification | None) -> datetime | None:
    """When the 差评 was rectified (its 整改 record, status 已整改), else None."""
    if r is None or r.status != "已整改":
        return None
    return next(x.at for x in r.records if x.kind == "整改")


def open_until(r: Rectification | None, valid_days: int, now: datetime) -> date | None:
    """The last day (in `now`'s time zone) a follow-up may be given, or None: not rectified."""
    done = rectified_at(r)
    return None if done is None else done.astimezone(now.tzinfo).date() + timedelta(days=valid_days)


def refusal(first_level: int | None, r: Rectification | None, given: bool, now: datetime,
            valid_days: int) -> FollowUpError | None:
    """Why no follow-up may be given now, or None: it may."""
    if first_level is None:
        return FollowUpError("follow_up_not_allowed", "the service has no rating yet")
    if first_level > BAD_LEVEL or r is None:
        return FollowUpError("follow_up_not_allowed", "only a 差评 (level 1 or 2) has a follow-up rating")
    if given:
        return FollowUpError("already_followed_up", f"rating {r.rating_id} has its follow-up already")
    until = open_until(r, valid_days, now)
    if until is None:
        return FollowUpError("not_rectified", f"rectification {r.id} is {r.status}, not 已整改")
    if now.date() > until:
        return FollowUpError("rating_expired", f"the follow-up of rating {r.rating_id} was open until {until}")
    return None


class FollowUpBook:
    """Every follow-up rating, by its first rating's id (差评 only: a few a day)."""

    def __init__(self, items: list[FollowUp] | None = None) -> None:
        self.by_rating = {x.rating_id: x for x in items or ()}
        self.last_id = max((x.id for x in self.by_rating.values()), default=0)
        self.changed: list[FollowUp] = []

    def of(self, rating_id: int) -> FollowUp | None:
        return self.by_rating.get(rating_id)

    def give(self, first_level: int | None, r: Rectification | None, level: int, reasons: tuple[str, ...],
             comment: str, channel: int, by: str, now: datetime, valid_days: int) -> FollowUp:
        """The follow-up of the 差评 whose rectification is `r`: checked, numbered, recorded."""
        if not 1 <= level <= 5:
            raise FollowUpError("invalid", "level must be 1..5")
        refused = refusal(first_level, r, r is not None and r.rating_id in self.by_rating, now, valid_days)
        if refused is not None:
            raise refused
        if by and by == r.staff:
            raise FollowUpError("forbidden", "the staff member rated may not enter the follow-up")
        self.last_id += 1
        f = FollowUp(self.last_id, r.rating_id, level, tuple(reasons), comment, channel, by, now)
        self.by_rating[f.rating_id] = f
        self.changed.append(f)
        return f

    def take_changed(self) -> list[FollowUp]:
        """The follow-ups given since the last call (to save; after a refusal, to drop)."""
        out, self.changed = self.changed, []
        return out
