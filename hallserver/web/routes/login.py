"""The managers' login and the guard in front of every route: a session for everything but the citizens'
pages, the CSRF token on every change, the public pages' rate limit, security headers."""
from __future__ import annotations

import asyncio
import logging
import math
from urllib.parse import parse_qs

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from hallserver.passwords import password_matches
from hallserver.web.auth import COOKIE, HEADERS, is_public, role_refusal
from hallserver.web.context import client_address, web_of
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
    if is_public(method, path) and not limiter.allow(client_address(request)):
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
    """A manager logs in. Throttled per client address and per account (LoginThrottle: a growing
    wait instead of a lock anyone could renew); an unknown account is checked against a dummy
    hash and answered exactly like a wrong password; every failure and refusal is audited."""
    web = web_of(request)
    form = parse_qs((await request.body()).decode("utf-8", "replace")[:1000])
    who, password = form.get("manager", [""])[0].strip()[:64], form.get("password", [""])[0]
    client = client_address(request)
    throttle = web.login_throttle
    admission = throttle.admit(who, client, web.dashboard.clock.now())
    if admission.refused:
        return await _throttled(request, who, client, admission.retry_after_s)
    try:
        if admission.hold_s > 0:                     # the account is being guessed at: a bounded wait
            await asyncio.sleep(admission.hold_s)
        return await _check(request, who, password, client)
    finally:
        throttle.release(client)


async def _check(request: Request, who: str, password: str, client: str) -> Response:
    web = web_of(request)
    dashboard, sessions, throttle = web.dashboard, web.sessions, web.login_throttle
    manager = web.managers.get(who)
    hashed = manager.password_hash if manager is not None else web.dummy_hash
    matches = await asyncio.to_thread(password_matches, hashed, password)   # argon2: not on the loop
    now = dashboard.clock.now()
    if manager is None or not matches:
        if throttle.failed(who, client, now, known=manager is not None):
            dashboard.view.touch()                   # the 登录异常 alert opened or grew: every board shows it
        await asyncio.to_thread(dashboard.store.audit, now, who or "?", "manager.login", "bad_password", client)
        return TEMPLATES.TemplateResponse(request, "login.html",
                                          {"hall": dashboard.hall_name, "message": "账号或密码错误"}, status_code=401)
    throttle.succeeded(who, client)
    await asyncio.to_thread(dashboard.store.audit, now, who, "manager.login", "ok", client)
    token, session = await asyncio.to_thread(sessions.open, who)   # writes the database
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict",
                        secure=request.url.scheme == "https", max_age=int(sessions.max_s))
    response.set_cookie("govhall_csrf", session.csrf, samesite="strict", secure=request.url.scheme == "https",
                        max_age=int(sessions.max_s))       # for the page's scripts to send back
    return response


async def _throttled(request: Request, who: str, client: str, retry_after_s: float) -> Response:
    """Too many failures from this address: 429 with Retry-After, no password checked."""
    web = web_of(request)
    dashboard = web.dashboard
    await asyncio.to_thread(dashboard.store.audit, dashboard.clock.now(), who or "?", "manager.login",
                            "throttled", client)
    seconds = max(1, math.ceil(retry_after_s))
    return TEMPLATES.TemplateResponse(request, "login.html", {
        "hall": dashboard.hall_name, "message": f"登录尝试过于频繁，请 {seconds} 秒后再试"},
        status_code=429, headers={"Retry-After": str(seconds)})


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
