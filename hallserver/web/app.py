"""The manager dashboard (大厅管理看板) and the citizens' pages, assembled: one router per area
in `hallserver/web/routes/`, the guard in front of them all, and the web server thread.

    routes/live.py        /, /board, /events, /wall (大屏), /api/overview, /api/alerts/ack, /healthz
    routes/reports.py     /reports, /reports/people, /api/reports/hall
    routes/cases.py       /c/{token}, /api/cases, /api/reports/cases, /api/cases/digest, extensions
    routes/ratings.py     /api/reports/ratings, /api/ranking/adjustments, /api/rectifications
    routes/complaints.py  /complaints, /api/complaints…, /api/reports/complaints, /complain (the citizen's form)
    routes/attendance.py  /api/attendance/…, /api/leaves
    routes/settings.py    /settings, /api/settings/…
    routes/phone.py       /t/{token} (the ticket's QR), /w/{window}/rate, /api/appointments
    routes/login.py       /login, /logout, and the guard
    routes/inquiries.py   /inquiries, /api/inquiries… (首问 at the 导办台), /api/reports/inquiries, /reports/inquiries
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import uvicorn
from fastapi import FastAPI

from hallserver.passwords import dummy_hash
from hallserver.web.auth import Sessions
from hallserver.web.context import Web
from hallserver.web.dashboard import Dashboard
from hallserver.web.routes import (
    attendance,
    cases,
    complaints,
    evaluation,
    inquiries,
    live,
    login,
    phone,
    ratings,
    reports,
    settings,
)

log = logging.getLogger("hallserver.web")

# the reverse proxy whose X-Forwarded-For and X-Forwarded-Proto are believed: one on this machine,
# never a FORWARDED_ALLOW_IPS from the environment (a client's own header would pick its address)
TRUSTED_PROXIES = ["127.0.0.1", "::1"]


def create_app(dashboard: Dashboard, submit: Callable[..., dict] | None = None,
               query: Callable[[Callable], Any] | None = None,
               apply_config: Callable[[Any], dict | None] | None = None) -> FastAPI:
    """`submit` runs a command through the hall server's one writer and returns the reply;
    `query` runs a read of the processor on that thread (the phone page's outlook);
    `apply_config` gives the running hall the settings just saved (without it: at the next restart)."""
    app = FastAPI(title="govhall", docs_url=None, redoc_url=None)
    managers = {m.id: m for m in (dashboard.config.managers if dashboard.config is not None else [])}
    if not managers:
        log.warning("no [[managers]] in the config: the dashboard and its HTTP API are open to anyone on the network")
    app.state.web = Web(dashboard=dashboard, submit=submit, query=query, apply_config=apply_config,
                        sessions=Sessions(store=dashboard.store),    # in the database: a restart logs nobody out
                        managers=managers,
                        dummy_hash=dummy_hash(next(iter(managers.values())).password_hash) if managers else "")
    app.middleware("http")(login.guard)
    for area in (login, phone, settings, live, cases, reports, ratings, attendance, complaints, inquiries,
                 evaluation):
        app.include_router(area.router)
    return app


class WebServer:
    """uvicorn in a background thread of the hall server process."""

    def __init__(self, app: FastAPI, host: str, port: int, tls: tuple[str, str] | None = None) -> None:
        """`tls`: (certificate, key) PEM files to serve HTTPS. Behind a reverse proxy on this
        machine, uvicorn trusts its X-Forwarded-Proto and X-Forwarded-For (from 127.0.0.1 and ::1
        only): cookies are Secure and HSTS is sent when the citizen's or manager's side is HTTPS,
        and the rate limits and the login throttle see the client's address."""
        self.app, self.host, self.port, self.tls = app, host, port, tls
        ssl = {"ssl_certfile": tls[0], "ssl_keyfile": tls[1]} if tls else {}
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                     access_log=False, lifespan="off",
                                                     forwarded_allow_ips=TRUSTED_PROXIES, **ssl))
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/"

    def start(self, timeout: float = 10.0) -> WebServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard could not listen on {self.host}:{self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
