"""What the citizens' public endpoints share: the guards against an anonymous client (wrong
rating codes, bookings and applications per client address), the real-name checks answered
in Chinese, and the keyed hash that replaces an ID number before anything goes on."""
from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

from fastapi import Request
from fastapi.responses import JSONResponse

from hallserver.domain.clock import hall_day
from hallserver.domain.identity import id_hash, id_number_problem, name_problem, phone_problem
from hallserver.domain.public_limits import CountLimit, GuessThrottle
from hallserver.web.dashboard import Dashboard

log = logging.getLogger("hallserver.web")

IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")   # a client's own key for a retried request

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
    complaints: CountLimit = field(default_factory=lambda: CountLimit(86400.0))    # 投诉 per address, a day
    evaluations: CountLimit = field(default_factory=lambda: CountLimit(86400.0))   # 评股室 QR sheets, a day


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


def real_name_refusal(dashboard: Dashboard, client: str, action: str, idempotency_key: str | None,
                      name: str, id_number: str, phone: str) -> JSONResponse | None:
    """The answer to a real-name form (预约, 网上申报) refused before the command path: a bad
    Idempotency-Key, or the first field wrong (logged and audited by its field only); else None."""
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        return refusal("invalid", "Idempotency-Key: 1-64 of A-Za-z0-9_.:-")
    problem = identity_problem(dashboard, name, id_number, phone)
    if problem is None:
        return None
    log.warning("%s from %s refused: %s", action, client, problem[0])
    audit(dashboard, client, action, "bad_identity", problem[0])
    return refusal("invalid", problem[1], field=problem[0])


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
