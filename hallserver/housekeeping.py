"""What time alone changes in the hall, looked at on the bus's tick: 预计等候, cases' 红黄绿,
the daily digest, the retention of phone numbers, tickets left from earlier days, the report
rollups, the calendar, the front desk (前台不断档). A part of CommandProcessor."""
from __future__ import annotations

import logging
import time as monotonic_time
from datetime import date, timedelta

from govhall import contract as c
from hallserver.announce import Outgoing
from hallserver.domain.clock import hall_day
from hallserver.domain.devices import DeviceHealth
from hallserver.domain.queue import (
    Changes,
)
from hallserver.domain.rectification import RectificationBook
from hallserver.reports.queries import build_day_rollups, day_rollups, settled_before

log = logging.getLogger("hallserver.processor")   # the command path's log, as before


def missing_year(years: set[int], today: date) -> int | None:
    """The year whose working-day schedule the hall lacks now: this year, or from November on
    the next; None when both are there."""
    if today.year not in years:
        return today.year
    if today.month >= 11 and today.year + 1 not in years:
        return today.year + 1
    return None


class Housekeeping:
    _calendar_logged: date | None = None       # the day the missing year was last logged
    def tick(self) -> list[Outgoing]:
        """Called every few seconds by the bus: time alone can open or close a category
        (hours, 停止取号, a new half-day); republish the queue state when that changed."""
        estimates_changed = self.refresh_estimates()
        out = [Outgoing(self.topics.event(ev.type), c.encode(ev))
               for ev in self.cases.changed_colours(self.clock.now(), self.clock.tz)]   # 红黄绿 with the calendar
        out += [Outgoing(self.topics.event(ev.type), c.encode(ev))
                for ev in self.complaints.changed_colours(self.clock.now(), self.clock.tz)]   # 投诉 overdue
        out += self._daily_digest()
        self._retention()
        out += self._close_earlier_days()
        self._report_rollups()
        out += self._calendar_check()
        out += self._front_desk_check()
        state = self.queue_state()                # after the checks above: the newest summary goes last
        issuing = [(q.category, q.issuing, q.next_open) for q in state.categories]
        if issuing != self._last_issuing or estimates_changed:
            self._last_issuing = issuing
            out.append(self._summary(monotonic_time.monotonic(), state))
        self._notify(out)
        return out

    def refresh_estimates(self) -> bool:
        """Recompute each category's 预计等候 for a ticket taken now; True when a shown minute changed."""
        before = {k: None if v is None else round(v / 60) for k, v in self._estimates.items()}
        self._estimates = {cat: self.engine.estimate_new(cat) for cat in self.engine.categories}
        self._estimates_at = monotonic_time.monotonic()
        self._estimates_windows = self._open_windows()
        return before != {k: None if v is None else round(v / 60) for k, v in self._estimates.items()}

    def _calendar_check(self) -> list[Outgoing]:
        """An alert for the manager while this year's schedule is not loaded (the hall then opens
        on its weekdays alone: docs/queue.md), and from November on while next year's is not;
        logged once a day."""
        now = self.clock.now()
        year = missing_year(self.cases.calendar.years, now.date())
        missing = year is not None
        if missing and self._calendar_logged != now.date():
            self._calendar_logged = now.date()
            log.warning("%d 年节假日安排未导入: the State Council's notice is not in the hall's calendar file", year)
        condition = "fault" if missing else "ok"
        changes = self.devices.report("hall-server", "calendar", condition, f"{year}" if missing else "", now)
        if not changes:
            return []
        try:
            self.store.save(Changes(device_alerts=changes), "@server", f"calendar-{now:%Y%m%d%H%M%S%f}",
                            "calendar.check", "{}", now)
        except Exception:
            log.exception("could not store the calendar alert; trying again on a later tick")
            try:                         # as stored: the next tick sees the change again
                self.devices = DeviceHealth(self.store.open_device_alerts())
            except Exception:
                log.exception("could not read the device alerts back")
            return []
        return self._announce(Changes(device_alerts=changes))

    def _front_desk_check(self) -> list[Outgoing]:
        """The tick's look at the posts and the front desk: shifts begin, pauses run long, hours
        end, with nobody pressing a key. AB岗 routing moves categories to B's window (saved and
        announced like any change); front-desk alerts open and close; minutes are counted."""
        posts = self._route()
        changes = self.engine.take_changes()
        changes.coverage = self.attendance.watch_windows(self.engine, self.clock.now())
        try:
            self.attendance.save_minutes()
        except Exception:
            log.exception("could not store the coverage minutes; trying again on a later tick")
        if not posts and not changes.coverage and not changes.windows:
            return []
        try:
            self.store.save(changes, "hall-server", f"coverage-{self.clock.now():%Y%m%d%H%M%S%f}",
                            "coverage.check", "{}", self.clock.now())
        except Exception:
            log.exception("could not store the coverage check")
            self.reload()
            return []
        self._post_changes_out = posts
        return self._announce(changes)

    def _close_earlier_days(self) -> list[Outgoing]:
        """Once per hall day (the tick after midnight): yesterday's tickets still waiting are void,
        in the database too, so that the morning's first call is today's first ticket."""
        day = hall_day(self.clock)
        if self._closed_day == day:
            return []
        self._closed_day = day
        now = self.clock.now()
        try:
            stale = self.store.void_waiting_before(day, now)      # also those a restart left behind
        except Exception:
            log.exception("could not void the earlier days' waiting tickets; trying again on a later tick")
            self._closed_day = None
            return []
        closed = self.engine.close_earlier_days()
        if not closed:
            if stale:
                log.info("voided %d tickets left waiting from earlier days", stale)
            return []
        changes = self.engine.take_changes()
        try:
            self.store.save(changes, "hall-server", f"day-close-{now:%Y%m%d%H%M%S%f}", "day.close", "{}", now)
        except Exception:
            log.exception("could not store the day's close; trying again on a later tick")
            self.reload()
            self._closed_day = None
            return []
        log.info("a new hall day: %d tickets left waiting from yesterday voided", len(closed))
        return self._announce(changes)

    def _retention(self) -> None:
        """Once a day: phone numbers older than ratings.phone_retention_days are masked."""
        now = self.clock.now()
        if self._retention_day == now.date():
            return
        self._retention_day = now.date()
        self.engine.forget_days_before(now.date() - timedelta(days=1))   # memory: today and yesterday
        self.store.forget_known_commands()
        try:
            if self.store.mask_old_phones(now - timedelta(days=self.config.ratings.phone_retention_days), now):
                items = self.store.rectification_items()      # the masked numbers, not the old ones
                self.rectifications = RectificationBook(items, max((x.id for x in items), default=0))
            masked = self.complaints.mask_phones(now - timedelta(days=self.config.ratings.phone_retention_days))
            if masked:                                                   # 投诉: the same retention
                self.store.save(Changes(complaints=masked), "@server", f"complaint-retention-{now:%Y%m%d}",
                                "complaint.retention", "{}", now)
        except Exception:
            log.exception("the retention of phone numbers failed; trying again tomorrow")
            self.complaints.reload()

    def _report_rollups(self) -> None:
        """Once a day: the newly settled hall days' report tallies are counted and kept, so that
        reports over months and years read a row per day (report_queries.period_tallies)."""
        now = self.clock.now()
        if self._rollup_day == now.date():
            return
        self._rollup_day = now.date()
        settled = settled_before(now.date(), self.config.ratings.phone_valid_days)
        try:
            first = settled - timedelta(days=7)
            last = settled - timedelta(days=1)
            have = day_rollups(self.store.engine, first, last)
            missing = [first + timedelta(days=i) for i in range(7) if first + timedelta(days=i) not in have]
            if missing:
                build_day_rollups(self.store.engine, missing[0], missing[-1], self.clock.tz, now)
        except Exception:
            log.exception("the report rollups failed; the reports count those days themselves")

    def _daily_digest(self) -> list[Outgoing]:
        """每日通报, once per day at the hall's closing time (the tick)."""
        now = self.clock.now()
        if now.time() < self.cases.rules.closing or self._digest_day == now.date():
            return []
        self._digest_day = now.date()
        digest = self.case_report(None, None, digest=True)
        msg = c.CaseDigest(day=now.date(), departments=digest["departments"])
        return [Outgoing(self.topics.event(msg.type), c.encode(msg))]
