"""Managers' login for the dashboard and its HTTP API: argon2 passwords (`[[managers]]`),
server-side sessions in an HttpOnly, SameSite=Strict cookie that expire (idle and absolute),
a CSRF token per session required on every state-changing request, the login lock-out of the
counters, and security headers on every response.

Public, without a login: the citizens' pages (/t/, /c/, /w/), booking an appointment and a
real-name online application (POST /api/appointments, POST /api/cases/online), the 预约 slots
(GET /api/appointments/slots), /healthz and /login. POST /api/cases (a case entered by a
manager) needs a session. A hall with no `[[managers]]` runs open, for demos and development,
and says so in its log.
"""
from __future__ import annotations

import hashlib
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime

PUBLIC_PREFIXES = ("/t/", "/c/", "/w/", "/e/", "/healthz", "/login", "/logout")   # /e/: 万众评股室 QR forms
PUBLIC_POSTS = ("/api/appointments", "/api/cases/online",     # real-name, limited (routes/phone.py, cases.py)
                "/api/complaints/public",     # a citizen's 投诉, limited per address (routes/complaints.py)
                "/api/attendance/clock")      # attendance terminals: their own device password (HTTP Basic)
PUBLIC_GETS = ("/api/appointments/slots", "/complain")    # 预约 places left (no names); the 投诉 form
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
    created: float          # wall-clock seconds (time.time): sessions outlive a restart
    seen: float
    saved_seen: float = 0.0  # the `seen` last written to the database


class Sessions:
    """Managers' sessions: in memory for speed and, given a store, in the database too, so that
    restarting the server logs nobody out. The database holds the token's SHA-256 only; the
    time a session was last seen is written at most once a minute."""

    TOUCH_EVERY_S = 60.0

    def __init__(self, idle_s: float = 30 * 60, max_s: float = 10 * 3600, store=None) -> None:   # noqa: ANN001
        self.idle_s, self.max_s, self.store = idle_s, max_s, store
        self._by_token: dict[str, Session] = {}
        self._lock = threading.Lock()

    @staticmethod
    def _hash(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    def open(self, manager: str) -> tuple[str, Session]:
        token, now = secrets.token_urlsafe(32), time.time()
        session = Session(manager, secrets.token_urlsafe(24), now, now, now)
        if self.store is not None:
            self.store.save_web_session(self._hash(token), manager, session.csrf, _utc(now), _utc(now))
            self.store.end_web_sessions(seen_before=_utc(now - self.idle_s), created_before=_utc(now - self.max_s))
        with self._lock:
            self._by_token[token] = session
        return token, session

    def get(self, token: str | None) -> Session | None:
        if not token or len(token) > 128:
            return None
        now = time.time()
        with self._lock:
            s = self._by_token.get(token)
        if s is None and self.store is not None:       # opened before a restart, or by another worker
            row = self.store.web_session(self._hash(token))
            if row is not None:
                seen = row["seen_at"].timestamp()
                s = Session(row["manager"], row["csrf"], row["created_at"].timestamp(), seen, seen)
                with self._lock:
                    self._by_token[token] = s
        if s is None:
            return None
        if now - s.seen > self.idle_s or now - s.created > self.max_s:
            self.close(token)
            return None
        s.seen = now
        if self.store is not None and now - s.saved_seen >= self.TOUCH_EVERY_S:
            s.saved_seen = now
            self.store.touch_web_session(self._hash(token), _utc(now))
        return s

    def close(self, token: str | None) -> None:
        with self._lock:
            self._by_token.pop(token or "", None)
        if token and self.store is not None:
            self.store.end_web_sessions(token_hash=self._hash(token))


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


MANAGER_ONLY = ("/api/ranking/adjustments", "/api/settings",     # a hall manager's own levers
                "/api/evaluation/campaigns")                    # 万众评股室: the leading group's


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
    return (path.startswith(PUBLIC_PREFIXES) or (method == "POST" and path in PUBLIC_POSTS)
            or (method in ("GET", "HEAD") and path in PUBLIC_GETS))


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
