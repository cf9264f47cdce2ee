"""Managers' login for the dashboard and its HTTP API: argon2 passwords (`[[managers]]`),
server-side sessions in an HttpOnly, SameSite=Strict cookie that expire (idle and absolute),
a CSRF token per session required on every state-changing request, the login lock-out of the
counters, and security headers on every response.

Public, without a login: the citizens' pages (/t/, /c/, /w/), booking an appointment and an
online application (POST /api/appointments, POST /api/cases), /healthz and /login. A hall
with no `[[managers]]` runs open, for demos and development, and says so in its log.
"""
from __future__ import annotations

import secrets
import threading
import time
from dataclasses import dataclass

PUBLIC_PREFIXES = ("/t/", "/c/", "/w/", "/healthz", "/login", "/logout")
PUBLIC_POSTS = ("/api/appointments", "/api/cases",
                "/api/attendance/clock")      # attendance terminals: their own device password (HTTP Basic)
COOKIE = "govhall_session"
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'self'; style-src 'self' 'unsafe-inline'; "
                               "script-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'",
}


@dataclass
class Session:
    manager: str
    csrf: str
    created: float
    seen: float


class Sessions:
    def __init__(self, idle_s: float = 30 * 60, max_s: float = 10 * 3600) -> None:
        self.idle_s, self.max_s = idle_s, max_s
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    def open(self, manager: str) -> tuple[str, Session]:
        token, now = secrets.token_urlsafe(32), time.monotonic()
        session = Session(manager, secrets.token_urlsafe(24), now, now)
        with self._lock:
            self._by_token[token] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token:
            return None
        now = time.monotonic()
        with self._lock:
            s = self._by_token.get(token)
            if s is None:
                return None
            if now - s.seen > self.idle_s or now - s.created > self.max_s:
                del self._by_token[token]
                return None
            s.seen = now
            return s

    def close(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)


MANAGER_ONLY = ("/api/ranking/adjustments", "/api/settings")     # a hall manager's own levers


def role_refusal(role: str, method: str, path: str) -> str | None:
    """What a role may not do, as the reason to show; None when allowed. An auditor (审计)
    reads everything and changes nothing; a department lead (部门负责人) acts on alerts,
    cases, leave, attendance and rectifications but does not move the window ranking nor
    change the settings."""
    if method in ("GET", "HEAD") or path == "/logout":
        return None
    if role == "auditor":
        return "审计账号只能查看，不能修改"
    if role == "lead" and path.startswith(MANAGER_ONLY):
        return "只有大厅管理员可以调整窗口评分和修改系统设置"
    return None


def is_public(method: str, path: str) -> bool:
    return path.startswith(PUBLIC_PREFIXES) or (method == "POST" and path in PUBLIC_POSTS)


class RateLimit:
    """A token bucket per client address for the public pages: `per_minute` requests, with
    bursts up to that many; beyond it, 429 (a phone page's live updates use one stream)."""

    def __init__(self, per_minute: int = 120) -> None:
        self.rate, self.burst = per_minute / 60.0, float(per_minute)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def allow(self, client: str) -> bool:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.burst, now))
            tokens = min(self.burst, tokens + (now - last) * self.rate)
            if len(self._buckets) > 10000:           # forget the oldest, never grow without bound
                self._buckets.clear()
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                return False
            self._buckets[client] = (tokens - 1, now)
            return True
