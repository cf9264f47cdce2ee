"""The citizens' phone pages: a ticket's page (the QR on the ticket), live, with its rating; the window's
static rating QR; booking a 预约."""
from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import AsyncIterator
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from govhall.config import AppointmentsConfig, RatingsConfig
from hallserver.domain.clock import hall_day
from hallserver.domain.follow_up import BAD_LEVEL, open_until
from hallserver.domain.follow_up import refusal as follow_up_refusal
from hallserver.domain.rating_code import CODE_VALID_MINUTES, code_matches
from hallserver.web.citizens import audit, client_of, hashed_id, now_s, real_name_refusal, refusal
from hallserver.web.context import (
    ERROR_STATUS,
    TOKEN,
    answer_command,
    unavailable,
    web_command_id,
    web_of,
)
from hallserver.web.dashboard import Dashboard
from hallserver.web.pages import POLL_S, TEMPLATES

log = logging.getLogger("hallserver.web")

router = APIRouter()


class AppointmentRequest(BaseModel):
    """POST /api/appointments: book a 预约 slot, real-name."""
    model_config = ConfigDict(extra="forbid")
    category: str = Field(max_length=64)
    slot_start: datetime = Field(description="with UTC offset, e.g. 2026-11-24T09:30:00+08:00")
    name: str = Field(max_length=40, description="the citizen's name")
    id_number: str = Field(max_length=40, description="居民身份证号码, 18 characters: checked (GB 11643), then only "
                                                      "its keyed hash goes on; never stored")
    phone: str = Field(max_length=20, description="a mainland mobile number")


RATING_LEVELS = [(5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意")]


def hall_reasons(request: Request) -> list[str]:
    """The reasons a 差评 may give: the hall's own list (`ratings.reasons`)."""
    config = web_of(request).dashboard.config
    return list(config.ratings.reasons) if config is not None else list(RatingsConfig().reasons)


@router.post("/api/appointments", status_code=201)
def book(request: Request, body: AppointmentRequest,
         idempotency_key: str | None = Header(default=None, alias="Idempotency-Key")) -> JSONResponse:
    """预约, real-name: the name, a valid 居民身份证 number and a mobile number; limits per ID number,
    per phone (the command path) and per client address (here)."""
    web = web_of(request)
    dashboard, client = web.dashboard, client_of(request)
    if web.submit is None:
        return unavailable("预约暂不可用")
    refused = real_name_refusal(dashboard, client, "appointment.book", idempotency_key, body.name, body.id_number,
                                body.phone)
    if refused is not None:
        return refused
    limits = dashboard.config.appointments if dashboard.config is not None else AppointmentsConfig()
    now = now_s(dashboard)
    if not web.guards.bookings.allows(client, now, limits.per_address_per_hour):
        log.warning("booking from %s refused: %d this hour", client, limits.per_address_per_hour)
        audit(dashboard, client, "appointment.book", "rate_limited")
        return refusal("too_many", "本网络地址预约次数过多，请稍后再试", 429)
    fields = {"category": body.category, "slot_start": body.slot_start.isoformat(), "name": body.name.strip(),
              "phone": body.phone.strip(), "id_hash": hashed_id(dashboard, body.id_number)}
    command = {"id": web_command_id("appointment.book", idempotency_key, fields), "type": "appointment.book",
               **fields}
    answer = answer_command(web, command, "booking", ERROR_STATUS, created=True)
    if answer.status_code == 201:
        web.guards.bookings.record(client, now)
    return answer


@router.get("/api/appointments/slots")
def appointment_slots(request: Request, category: str = Query(max_length=64),
                      day: str = Query(alias="date", max_length=10)) -> JSONResponse:
    """The 预约 slots of a day that can be booked now, with the places left: inside the category's
    opening hours on the hall's calendar (none on a holiday or a day the hall is closed)."""
    web = web_of(request)
    if web.query is None:
        return unavailable("预约暂不可用")
    try:
        wanted = date.fromisoformat(day)
    except ValueError:
        return refusal("invalid", "日期应写作 YYYY-MM-DD")
    try:
        slots = web.query(lambda processor: processor.appointment_slots(category, wanted))
    except Exception:                       # the writer is busy or gone
        log.warning("no appointment slots for %s on %s: the hall did not answer", category, wanted)
        return unavailable("预约暂不可用")
    if slots is None:
        return refusal("unknown_category", "没有这项业务", 404)
    return JSONResponse({"category": category, "date": wanted.isoformat(), "slots": slots})


def ticket_context(request, token: str) -> dict[str, Any] | None:
    web = web_of(request)
    dashboard, query = web.dashboard, web.query
    if not TOKEN.match(token):
        return None
    found = dashboard.store.ticket_by_token(token)
    if found is None:
        return None
    t, ahead = found
    days_ago = (hall_day(dashboard.clock) - t.day).days
    valid = dashboard.config.ratings.phone_valid_days if dashboard.config is not None else 0
    rated = dashboard.store.rating_by_ticket(t.id) if t.status == "completed" else None
    follow = follow_up_context(dashboard, rated, valid)
    if days_ago > 0 and not (t.status == "completed" and (days_ago <= valid or follow["page_open"])):
        return {"expired": True, "hall": dashboard.hall_name}      # an old ticket: only its rating stays open
    wait = None
    if t.status == "waiting" and query is not None:
        try:
            outlook = query(lambda processor: processor.ticket_outlook(t.id))
        except Exception:                   # the writer is busy or gone: the store's count will do
            log.warning("no outlook for ticket %s; showing the simple count", t.id)
            outlook = None
        if outlook is not None:
            ahead, wait = outlook["ahead"], outlook["estimated_wait_s"]
    windows = {w["window"]: w for w in dashboard.view.snapshot()["windows"]}
    window = windows.get(t.window or "")
    return {"expired": False, "hall": dashboard.hall_name, "t": t, "ahead": ahead, "wait_s": wait,
            "rated": rated[1] if rated else None, **follow,
            "levels": RATING_LEVELS, "reasons": hall_reasons(request), "token": token,
            "category_name": dashboard.category_names.get(t.category, t.category),
            "window_number": window["number"] if window else None,
            "window_name": window["name"] if window else t.window,
            "at": dashboard.clock.now().isoformat()}


def follow_up_context(dashboard: Dashboard, rated: tuple[int, int] | None, valid_days: int) -> dict[str, Any]:
    """The phone page's 追评 (domain/follow_up.py): the follow-up's level once given, whether one may
    be given now, and whether the page stays open for it (until `valid_days` after the 整改)."""
    if rated is None or rated[1] > BAD_LEVEL:
        return {"follow_up": None, "follow_up_open": False, "page_open": False}
    r = dashboard.store.rectification_of_rating(rated[0])
    given = dashboard.store.follow_up_of(rated[0])
    now = dashboard.clock.now().astimezone(dashboard.clock.tz)
    until = open_until(r, valid_days, now)
    return {"follow_up": given.level if given else None,
            "follow_up_open": follow_up_refusal(rated[1], r, given is not None, now, valid_days) is None,
            "page_open": until is not None and now.date() <= until}


def ticket_page(request: Request, token: str, template: str) -> HTMLResponse:
    web = web_of(request)
    dashboard = web.dashboard
    context = ticket_context(request, token)
    if context is None:
        return TEMPLATES.TemplateResponse(request, "ticket_missing.html", {"hall": dashboard.hall_name},
                                          status_code=404)
    return TEMPLATES.TemplateResponse(request, template, context)


@router.get("/t/{token}", response_class=HTMLResponse)
def phone_page(request: Request, token: str) -> HTMLResponse:
    return ticket_page(request, token, "ticket.html")


@router.post("/t/{token}/rating", response_class=HTMLResponse)
async def rate_from_phone(request: Request, token: str) -> HTMLResponse:
    """好差评 from the phone page (a plain form: works without JavaScript)."""
    return await phone_rating(request, token, "rating.submit_by_token", "already_rated")


@router.post("/t/{token}/follow-up", response_class=HTMLResponse)
async def follow_up_from_phone(request: Request, token: str) -> HTMLResponse:
    """追评 from the phone page, once the 差评 was rectified: the same form, once."""
    return await phone_rating(request, token, "rating.follow_up", "already_followed_up")


async def phone_rating(request: Request, token: str, kind: str, repeat: str) -> HTMLResponse:
    """A rating (`kind`) from the phone page's form through the command path; back to the page when
    it was taken, or when it had been already (`repeat`: the page says so), else the refusal."""
    web = web_of(request)
    dashboard, submit = web.dashboard, web.submit
    body = await request.body()
    form = parse_qs(body.decode("utf-8", "replace")[:4000], keep_blank_values=True)
    try:
        level = int(form.get("level", [""])[0])
    except ValueError:
        level = 0
    reasons = form.get("reason", [])[:10]          # the server takes only the hall's own reasons
    comment = form.get("comment", [""])[0][:500]
    if not TOKEN.match(token):
        return TEMPLATES.TemplateResponse(request, "ticket_missing.html", {"hall": dashboard.hall_name},
                                          status_code=404)
    if not 1 <= level <= 5 or submit is None:
        return HTMLResponse("请选择一个评价等级后再提交", status_code=400)
    command = {"id": uuid.uuid4().hex, "type": kind, "token": token, "level": level, "reasons": reasons,
               "comment": comment}
    try:
        reply = await asyncio.to_thread(submit, json.dumps(command, ensure_ascii=False).encode("utf-8"))
    except Exception:
        log.exception("phone rating failed")
        return HTMLResponse("系统繁忙，请稍后再试", status_code=503)
    if not reply["ok"] and reply["error"]["code"] != repeat:
        status = {"ticket_not_found": 404, "unknown_reason": 400, "invalid": 400}.get(reply["error"]["code"], 409)
        return HTMLResponse(reply["error"]["message"], status_code=status)
    return RedirectResponse(f"/t/{token}", status_code=303)


@router.get("/t/{token}/events")
async def phone_events(request: Request, token: str) -> StreamingResponse:
    web = web_of(request)
    dashboard = web.dashboard
    async def stream() -> AsyncIterator[str]:
        seen, sent = -1, None
        yield "retry: 3000\n\n"
        while not await request.is_disconnected():
            if dashboard.view.version != seen:
                seen = dashboard.view.version
                page = await asyncio.to_thread(ticket_page, request, token, "ticket_status.html")
                html = page.body.decode("utf-8")
                if html != sent:              # only this ticket's news: never wipe a form being filled in
                    sent = html
                    yield "event: status\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"
            await asyncio.sleep(POLL_S)
    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/w/{window}/rate", response_class=HTMLResponse)
def window_qr(request: Request, window: str) -> HTMLResponse:
    """静态评价二维码: the QR posted at a window; the citizen enters their ticket number."""
    web = web_of(request)
    dashboard = web.dashboard
    if dashboard.config is None or dashboard.config.window(window) is None:
        return TEMPLATES.TemplateResponse(request, "ticket_missing.html", {"hall": dashboard.hall_name},
                                          status_code=404)
    return TEMPLATES.TemplateResponse(request, "window_rate.html", {
        "hall": dashboard.hall_name, "window": dashboard.config.window(window), "message": ""})


@router.post("/w/{window}/rate", response_class=HTMLResponse)
async def window_qr_number(request: Request, window: str) -> HTMLResponse:
    """The ticket number and the 评价码 the window's tablet showed lead to that service's phone
    page, if it was completed at this window within CODE_VALID_MINUTES. Wrong guesses are
    throttled per window and per client address; they never lock the service's rating."""
    web = web_of(request)
    dashboard, client = web.dashboard, client_of(request)
    config = dashboard.config
    if config is None or config.window(window) is None:
        return TEMPLATES.TemplateResponse(request, "ticket_missing.html", {"hall": dashboard.hall_name},
                                          status_code=404)

    def page(message: str, status: int) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, "window_rate.html", {
            "hall": dashboard.hall_name, "window": config.window(window), "message": message}, status_code=status)
    form = parse_qs((await request.body()).decode("utf-8", "replace")[:400])
    number = form.get("number", [""])[0].strip().upper()[:8]
    code = form.get("code", [""])[0][:20]
    guards, now = web.guards, now_s(dashboard)
    keys = ((guards.window_guesses, f"window:{window}"), (guards.client_guesses, f"client:{client}"))
    wait = max(throttle.wait_s(key, now) for throttle, key in keys)
    if wait:
        log.warning("window %s: rating code guesses from %s held back for %d s", window, client, wait)
        return page(f"尝试次数过多，请 {wait} 秒后再试；也可以扫描号票上的二维码评价", 429)
    if not number or not code.strip():
        return page("请输入号票上的号码和评价器上显示的评价码", 400)
    token = await asyncio.to_thread(dashboard.store.recent_service_token, number, window,
                                    hall_day(dashboard.clock), dashboard.clock.now(), CODE_VALID_MINUTES)
    if token is None or not code_matches(token, code):
        for throttle, key in keys:
            throttle.failed(key, now)
        log.warning("window %s: wrong ticket number or rating code from %s", window, client)
        await asyncio.to_thread(audit, dashboard, client, "rating.window_qr", "wrong_code", f"{window} {number}")
        return page("号码或评价码不对，请核对号票上的号码和评价器上显示的评价码", 404)
    return RedirectResponse(f"/t/{token}", status_code=303)
