"""The figures the dashboard's pages show: the live state from the view, today's totals from
the store (cached for a second, and only while nothing changed), the overview with its
window cards and alerts."""
from __future__ import annotations

import threading
import time
from dataclasses import asdict
from datetime import datetime
from typing import Any

from hallserver.domain.clock import Clock, hall_day
from hallserver.domain.login_throttle import Attack
from hallserver.reports.hall import satisfaction_of
from hallserver.store import Store
from hallserver.web.live import LiveView
from hallserver.web.overview import (
    category_rows,
    hall_alerts,
    login_attack_alerts,
    mark_acknowledged,
    scoped,
    window_cards,
)

SUMMARY_MAX_AGE_S = 1.0


class Dashboard:
    """The figures the page shows: live state from the view, today's totals from the store."""

    def __init__(self, hall_name: str, view: LiveView, store: Store, clock: Clock,
                 category_names: dict[str, str] | None = None) -> None:
        self.hall_name = hall_name
        self.category_names = category_names or {}
        self.ticket_template = None          # hardware.printer.TicketTemplate; None is the default template
        self.config = None                   # the hall's Config (reports)
        self.config_path: str | None = None   # its hall.toml: settings are saved there
        self.settings_saved: tuple[str, datetime] | None = None   # who saved settings last, and when
        self.view, self.store, self.clock = view, store, clock
        self._summary: tuple[float, int, dict[str, Any]] | None = None
        self._categories: tuple[float, int, dict[str, dict]] | None = None
        self._lock = threading.Lock()

    def today(self) -> dict[str, Any]:
        with self._lock:
            now_mono, version = time.monotonic(), self.view.version
            cached = self._summary
            if cached and cached[1] == version and now_mono - cached[0] < SUMMARY_MAX_AGE_S:
                return cached[2]
            s = asdict(self.store.summary(self.clock.now(), hall_day(self.clock)))
            s["satisfaction"] = satisfaction_of(s["ratings_by_level"])     # 好评率, as the reports count it
            s["ratings_by_level"] = {str(k): v for k, v in s["ratings_by_level"].items()}
            self._summary = (now_mono, version, s)
            return s

    def overview(self, departments: frozenset[str] | None = None, attacks: list[Attack] | None = None,
                 ) -> dict[str, Any]:
        """The live hall: figures, categories against the wait target, window cards, alerts;
        `departments`: a lead's (only their cases and 差评 among the alerts); `attacks`: the
        manager accounts under attack (登录异常) from the login throttle."""
        snap = scoped(self.view.snapshot(), self.config, departments)
        now = self.clock.now()
        target_s = (self.config.rules.wait_target_minutes if self.config is not None else 20.0) * 60
        rows = category_rows(snap["queue"], self.categories_today(), target_s)
        names = {m.id: m.name for m in self.config.managers} if self.config is not None else {}
        alerts = login_attack_alerts(attacks or [], names, self.clock.tz) + \
            hall_alerts(snap, rows, self.config, now, self.category_names)
        day_start = datetime.combine(hall_day(self.clock), datetime.min.time(), self.clock.tz)
        mark_acknowledged(alerts, self.store.alert_acks(day_start), self.clock.tz)
        return {"hall": self.hall_name, "at": now.isoformat(), **snap, "today": self.today(),
                "wait_target_s": target_s, "categories": rows,
                "window_cards": window_cards(snap["windows"], self.config, snap["devices_offline"],
                                             snap["posts_away"], now),
                "alerts": [a.view() for a in alerts]}

    def categories_today(self) -> dict[str, dict]:
        with self._lock:
            now_mono, version = time.monotonic(), self.view.version
            cached = self._categories
            if cached and cached[1] == version and now_mono - cached[0] < SUMMARY_MAX_AGE_S:
                return cached[2]
            figures = self.store.category_today(self.clock.now(), hall_day(self.clock))
            self._categories = (now_mono, version, figures)
            return figures
