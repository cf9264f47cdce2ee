"""The managers' login and the guard in front of every route: a session for everything but the citizens'
pages, the CSRF token on every change, the public pages' rate limit, security headers."""
from __future__ import annotations

import asyncio
import logging
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from hallserver.passwords import password_matches
from hallserver.web.auth import COOKIE, HEADERS, is_public, role_refusal
from hallserver.web.context import web_of
from hallserver.web.pages import TEMPLATES

log = logging.getLogger("hallserver.web")

router = APIRouter()


async def guard(request: Request, call_next) -> Response:   # noqa: ANN001 - FastAPI's middleware signature
    """A manager's session for everything but the citizens' pages; the CSRF token on every
    state-changing request; security headers on every response."""
    web = web_of(request)
    sessions, limiter, managers = web.sessions, web.limiter, web.managers
    request.state.manager = None
    path, method = request.url.path, request.method
    if is_public(method, path) and not limiter.allow(request.client.host if request.client else "?"):
        return _secured(JSONResponse({"error": {"code": "too_many", "message": "请求过于频繁，请稍后再试"}},
                                     status_code=429, headers={"Retry-After": "10"}))
    if managers and not is_public(method, path):
        session = await asyncio.to_thread(sessions.get, request.cookies.get(COOKIE))   # may read the database
        if session is not None and session.manager not in managers:    # removed from the config since
            await asyncio.to_thread(sessions.close, request.cookies.get(COOKIE))
            session = None
        if session is None:
            if method == "GET" and not path.startswith("/api/") and path != "/events":
                response = RedirectResponse("/login", status_code=303)
            else:
                response = JSONResponse({"error": {"code": "login_required", "message": "请先登录"}},
                                        status_code=401)
            return _secured(response)
        if method not in ("GET", "HEAD") and request.headers.get("X-CSRF-Token") != session.csrf:
            return _secured(JSONResponse({"error": {"code": "csrf", "message": "请求已过期，请刷新页面后重试"}},
                                         status_code=403))
        request.state.manager = session.manager
        refusal = role_refusal(managers[session.manager].role if session.manager in managers else "auditor",
                               method, path)
        if refusal is not None:
            return _secured(JSONResponse({"error": {"code": "forbidden", "message": refusal}}, status_code=403))
    return _secured(await call_next(request), request.url.scheme == "https")


def _secured(response, https: bool = False):   # noqa: ANN001, ANN202
    for key, value in HEADERS.items():
        response.headers.setdefault(key, value)
    if https:                                     # browsers keep to HTTPS from now on
        response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
    return response


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> HTMLResponse:
    web = web_of(request)
    dashboard = web.dashboard
    return TEMPLATES.TemplateResponse(request, "login.html", {"hall": dashboard.hall_name, "message": ""})


@router.post("/login")
async def login(request: Request) -> Response:
    web = web_of(request)
    dashboard, sessions, login_guard, managers = web.dashboard, web.sessions, web.login_guard, web.managers
    form = parse_qs((await request.body()).decode("utf-8", "replace")[:1000])
    who, password = form.get("manager", [""])[0].strip(), form.get("password", [""])[0]
    now = dashboard.clock.now()
    locked = login_guard.locked_until(who, now)
    manager = managers.get(who)
    client = request.client.host if request.client else ""
    matches = manager is not None and locked is None and \
        await asyncio.to_thread(password_matches, manager.password_hash, password)   # argon2: not on the loop
    if matches:
        login_guard.succeeded(who)
        await asyncio.to_thread(dashboard.store.audit, now, who[:64] or "?", "manager.login", "ok", client)
        token, session = await asyncio.to_thread(sessions.open, who)   # writes the database
        response = RedirectResponse("/", status_code=303)
        response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                            secure=request.url.scheme == "https", max_age=int(sessions.max_s))
        response.set_cookie("govhall_csrf", session.csrf, samesite="strict", secure=request.url.scheme == "https",
                            max_age=int(sessions.max_s))       # for the page's scripts to send back
        return response
    if locked is None:
        login_guard.failed(who, now)
    await asyncio.to_thread(dashboard.store.audit, now, who[:64] or "?", "manager.login",
                            "locked" if locked else "bad_password", client)
    message = "密码错误次数过多，请稍后再试" if locked else "账号或密码错误"
    return TEMPLATES.TemplateResponse(request, "login.html", {"hall": dashboard.hall_name, "message": message},
                                      status_code=401)


@router.post("/logout")
def logout(request: Request) -> Response:
    web = web_of(request)
    dashboard, sessions = web.dashboard, web.sessions
    session = sessions.get(request.cookies.get(COOKIE))     # /logout is public: look the session up here
    if session is not None:
        dashboard.store.audit(dashboard.clock.now(), session.manager, "manager.logout", "ok")
    sessions.close(request.cookies.get(COOKIE))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(COOKIE)
    return response
