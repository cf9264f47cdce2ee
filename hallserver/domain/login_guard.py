"""Too many wrong passwords lock a staff number for a while (登录锁定). Plain Python, the
clock given in each call; the server keeps one guard in memory (a restart forgets failures)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta


@dataclass
class LoginGuard:
    max_failures: int = 5
    lock_minutes: float = 5.0
    _failures: dict[str, dict[str, datetime]] = field(default_factory=dict)   # staff → attempt → when

    def locked_until(self, staff: str, now: datetime) -> datetime | None:
        """When the staff number may try again, or None when it may now."""
        window = timedelta(minutes=self.lock_minutes)
        recent = {a: t for a, t in self._failures.get(staff, {}).items() if now - t < window}
        if recent:
            self._failures[staff] = recent
        else:                                   # nothing to remember: names tried by anyone do not pile up
            self._failures.pop(staff, None)
        if len(recent) >= self.max_failures:
            return max(recent.values()) + window
        return None

    def failed(self, staff: str, now: datetime, attempt: str | None = None) -> None:
        """A wrong password. `attempt` names the try (the login command): the same try counted
        again — its group commit failed and it runs once more — is still one failure."""
        tries = self._failures.setdefault(staff, {})
        tries[attempt if attempt is not None else f"#{len(tries)}@{now.isoformat()}"] = now

    def succeeded(self, staff: str) -> None:
        self._failures.pop(staff, None)
