"""What the citizens' public endpoints share: the guards against an anonymous client (wrong
rating codes, bookings and applications per client address), the real-name checks answered
in Chinese, and the keyed hash that replaces an ID number before anything goes on."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import JSONResponse

from hallserver.domain.clock import hall_day
from hallserver.domain.identity import id_hash, id_number_problem, name_problem, phone_problem
from hallserver.domain.public_limits import CountLimit, GuessThrottle
from hallserver.web.dashboard import Dashboard

log = logging.getLogger("hallserver.web")

# 评价码 guesses (our defaults, docs/security.md): a window takes 10 wrong ones at once, then one
# every 2 minutes; one client address (a whole hall behind one NAT, maybe) 10, then one a minute
WINDOW_GUESSES = (10, 120.0)
CLIENT_GUESSES = (10, 60.0)


@dataclass
class PublicGuards:
    window_guesses: GuessThrottle = field(default_factory=lambda: GuessThrottle(*WINDOW_GUESSES))
    client_guesses: GuessThrottle = field(default_factory=lambda: GuessThrottle(*CLIENT_GUESSES))
    bookings: CountLimit = field(default_factory=lambda: CountLimit(3600.0))       # per address, an hour
    applications: CountLimit = field(default_factory=lambda: CountLimit(86400.0))  # per address, a day


def client_of(request: Request) -> str:
    return request.client.host if request.client else "?"


def now_s(dashboard: Dashboard) -> float:
    """The hall clock's time in seconds (the guards run on simulated time in the lab)."""
    return dashboard.clock.now().timestamp()


def refusal(code: str, message: str, status: int = 400, **extra: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status)


def identity_problem(dashboard: Dashboard, name: str, id_number: str, phone: str) -> tuple[str, str] | None:
    """(field, Chinese message) of the first thing wrong with a real-name form, or None."""
    for name_of_field, problem in (("name", name_problem(name)),
                                   ("id_number", id_number_problem(id_number, hall_day(dashboard.clock))),
                                   ("phone", phone_problem(phone))):
        if problem is not None:
            return name_of_field, problem
    return None


def hashed_id(dashboard: Dashboard, id_number: str) -> str:
    """The ID number's keyed hash (HMAC with the hall's secret, `ratings.secret`); a hall without
    a secret falls back to a key of its own name, which does not keep the numbers secret."""
    key = dashboard.store.rating_secret
    if not key:
        if not getattr(dashboard, "warned_unkeyed", False):      # once per hall, not on every booking
            log.warning("no ratings.secret: ID numbers are hashed with a fallback key; set the secret")
            dashboard.warned_unkeyed = True
        key = f"govhall-unkeyed:{dashboard.hall_name}"
    return id_hash(id_number, key)


def audit(dashboard: Dashboard, client: str, action: str, outcome: str, detail: str = "") -> None:
    """An audit line for a public request refused before the command path (never an ID number)."""
    try:
        dashboard.store.audit(dashboard.clock.now(), f"@web {client}"[:64], action, outcome, detail)
    except Exception:
        log.exception("could not write the audit line of %s %s", action, outcome)
