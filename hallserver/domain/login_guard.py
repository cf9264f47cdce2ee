"""Too many wrong passwords lock a staff number for a while (登录锁定). Plain Python, the
clock given in each call; the server keeps one guard in memory (a restart forgets failures)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class LoginGuard:
    max_failures: int = 5
    lock_minutes: float = 5.0
    _failures: dict[str, list[datetime]] = field(default_factory=dict)

    def locked_until(self, staff: str, now: datetime) -> datetime | None:
        """When the staff number may try again, or None when it may now."""
        recent = [t for t in self._failures.get(staff, ()) if now - t < timedelta(minutes=self.lock_minutes)]
        if recent:
            self._failures[staff] = recent
        else:                                   # nothing to remember: names tried by anyone do not pile up
            self._failures.pop(staff, None)
        if len(recent) >= self.max_failures:
            return recent[-1] + timedelta(minutes=self.lock_minutes)
        return None

    def failed(self, staff: str, now: datetime) -> None:
        self._failures.setdefault(staff, []).append(now)

    def succeeded(self, staff: str) -> None:
        self._failures.pop(staff, None)
