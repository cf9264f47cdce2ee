"""Device alerts (设备告警): what each device reports about its parts, as open and closed alerts.

Plain Python with no clock of its own. A kiosk reports its printer's paper near end, a bridge
its port offline; the manager sees an open alert until the device reports the part ok again.
The same condition reported twice changes nothing; a new condition closes the old alert and
opens another, so the record shows each condition with its own start and end.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

OK = "ok"


@dataclass(frozen=True)
class DeviceAlert:
    device: str
    component: str
    condition: str
    detail: str
    since: datetime


@dataclass(frozen=True)
class AlertChange:
    """One alert opened or closed, to store and announce."""
    alert: DeviceAlert
    opened: bool                 # False: closed at `at`
    at: datetime


class DeviceHealth:
    def __init__(self, open_alerts: list[DeviceAlert] | None = None) -> None:
        self._open: dict[tuple[str, str], DeviceAlert] = {(a.device, a.component): a for a in open_alerts or ()}

    def open_alerts(self) -> list[DeviceAlert]:
        return sorted(self._open.values(), key=lambda a: a.since, reverse=True)

    def report(self, device: str, component: str, condition: str, detail: str, now: datetime) -> list[AlertChange]:
        key = (device, component)
        current = self._open.get(key)
        if current is not None and current.condition == condition:
            return []
        if current is None and condition == OK:
            return []
        changes = []
        if current is not None:
            del self._open[key]
            changes.append(AlertChange(current, opened=False, at=now))
        if condition != OK:
            alert = DeviceAlert(device, component, condition, detail, now)
            self._open[key] = alert
            changes.append(AlertChange(alert, opened=True, at=now))
        return changes
