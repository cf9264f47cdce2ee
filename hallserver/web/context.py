"""What every route of the dashboard shares, set on the app once by `create_app` and found
from any request (`web_of(request)`): the hall's figures (Dashboard), the one command path
(`submit`) and reads of the processor on its thread (`query`) that the hall server gives,
the managers, their sessions, the rate limit and the login guard."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from govhall.config import ManagerConfig
from hallserver.domain.login_guard import LoginGuard
from hallserver.domain.login_throttle import LoginThrottle
from hallserver.web.auth import RateLimit, Sessions
from hallserver.web.citizens import IDEMPOTENCY_KEY, PublicGuards  # noqa: F401 - IDEMPOTENCY_KEY re-exported
from hallserver.web.dashboard import Dashboard

log = logging.getLogger("hallserver.web")

ERROR_STATUS = {"slot_full": 409, "already_booked": 409, "booking_limit": 429, "forbidden": 403, "unavailable": 503,
                "internal": 500}
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16}$")


@dataclass
class Web:
    dashboard: Dashboard
    submit: Callable[..., dict] | None          # a command through the hall server's one writer: its reply
    query: Callable[[Callable], Any] | None     # a read of the processor on the writer's thread
    apply_config: Callable[[Any], dict | None] | None   # the running hall takes the settings just saved
    sessions: Sessions
    managers: dict[str, ManagerConfig]
    limiter: RateLimit = field(default_factory=lambda: RateLimit(per_minute=120))   # public pages, per address
    login_guard: LoginGuard = field(default_factory=LoginGuard)   # attendance terminals, per device and address
    login_throttle: LoginThrottle = field(default_factory=LoginThrottle)   # managers' logins (docs/security.md)
    dummy_hash: str = ""                        # an unknown account's password is checked against this
    settings_lock: asyncio.Lock = field(default_factory=asyncio.Lock)   # one save-and-apply at a time
    guards: PublicGuards = field(default_factory=PublicGuards)   # the citizens' endpoints against guessing, flooding


def web_of(request: Request) -> Web:
    return request.app.state.web


def client_address(request: Request) -> str:
    """The client's address: the connection's, or the X-Forwarded-For of a reverse proxy on this
    machine (uvicorn trusts it from 127.0.0.1 and ::1 only, see web/app.py)."""
    return request.client.host if request.client else "?"


def role_of(request: Request) -> str:
    """The logged-in manager's role; a hall without managers runs open (as a manager)."""
    managers = web_of(request).managers
    who = request.state.manager
    return managers[who].role if who in managers else ("manager" if not managers else "auditor")


def web_command_id(kind: str, key: str | None, body: dict) -> str:
    """The command id of an HTTP request: with an Idempotency-Key, the same key *and* the same
    request give the same id (a retry), while anyone else's key with another request or on
    another endpoint gives a different one — nobody reads another person's reply by its key."""
    if key is None:
        return uuid.uuid4().hex
    digest = hashlib.sha256(json.dumps([kind, key, body], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"k-{digest[:40]}"


def unavailable(message: str = "暂不可用") -> JSONResponse:
    return JSONResponse({"error": {"code": "unavailable", "message": message}}, status_code=503)


def answer_command(web: Web, command: dict, what: str, statuses: dict[str, int], *, otherwise: int = 400,
                   created: bool = False) -> JSONResponse:
    """A command from the web through the one command path, answered as HTTP: its result (201
    when it `created` something), its refusal with the status for that code (`otherwise` for
    the rest), or 503 when the hall's writer is not there or does not answer (never a hang)."""
    if web.submit is None:
        return unavailable()
    try:
        reply = web.submit(json.dumps(command, ensure_ascii=False).encode("utf-8"))
    except Exception:                        # the writer is stuck or gone: say so
        log.exception("%s failed", what)
        return unavailable("系统繁忙，请稍后再试")
    if reply["ok"]:
        return JSONResponse(reply["result"], status_code=201 if created else 200)
    return JSONResponse({"error": reply["error"]}, status_code=statuses.get(reply["error"]["code"], otherwise))
