"""The live hall: the dashboard page, its board fragment and event stream, the 大屏, the figures as JSON,
告警确认, the ticket template's preview, and /healthz."""
from __future__ import annotations

import asyncio
import io
import logging
import time
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from hallserver.web.context import role_of, web_of
from hallserver.web.overview import PAUSE_LABELS
from hallserver.web.pages import KEEPALIVE_S, POLL_S, ROLE_LABELS, STATUS_LABELS, TEMPLATES
from hallserver.web.scope import departments_of

log = logging.getLogger("hallserver.web")

router = APIRouter()


class AlertAck(BaseModel):
    """POST /api/alerts/ack: the alert's key and the moment it began, as the board shows them."""
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=120)
    since: str = Field(max_length=40)


def overview_of(request: Request) -> dict[str, Any]:
    """The live hall as this manager sees it: a lead only their departments' cases and 差评;
    everyone the accounts under attack (登录异常)."""
    web = web_of(request)
    attacks = web.login_throttle.attacks(web.dashboard.clock.now())
    return web.dashboard.overview(departments_of(request), attacks)


def render(request: Request, template: str) -> HTMLResponse:
    web = web_of(request)
    managers = web.managers
    role = role_of(request)
    return TEMPLATES.TemplateResponse(request, template, {
        "o": overview_of(request), "status_labels": STATUS_LABELS, "pause_labels": PAUSE_LABELS,
        "manager": managers[request.state.manager].name if request.state.manager in managers else None,
        "role_label": ROLE_LABELS[role], "can_act": role != "auditor"})


@router.post("/api/alerts/ack")
async def acknowledge(request: Request, body: AlertAck) -> JSONResponse:
    """告警确认: the manager has seen it; recorded with who and when, and audited."""
    web = web_of(request)
    dashboard = web.dashboard
    keys = {(a["key"], a["since"]) for a in (await asyncio.to_thread(overview_of, request))["alerts"]}
    if (body.key, body.since) not in keys:
        return JSONResponse({"error": {"code": "not_found", "message": "该告警已解除或不存在"}}, status_code=404)
    who = request.state.manager or "anonymous"
    await asyncio.to_thread(dashboard.store.ack_alert, body.key, body.since, who, dashboard.clock.now())
    dashboard.view.touch()                      # every open board shows it at once
    return JSONResponse({"ok": True, "key": body.key, "by": who})


@router.get("/wall", response_class=HTMLResponse)
def wall(request: Request) -> HTMLResponse:
    """大屏: the live hall for the wall of the manager's office (no controls, large type)."""
    return render(request, "wall.html")


@router.get("/", response_class=HTMLResponse)
def page(request: Request) -> HTMLResponse:
    return render(request, "dashboard.html")


@router.get("/board", response_class=HTMLResponse)
def board(request: Request) -> HTMLResponse:
    return render(request, "board.html")


@router.get("/api/overview")
def overview(request: Request) -> JSONResponse:
    return JSONResponse(overview_of(request))


@router.get("/events")
async def events(request: Request, view: str = "board") -> StreamingResponse:
    web = web_of(request)
    dashboard = web.dashboard
    fragment = "wall_board.html" if view == "wall" else "board.html"

    async def stream() -> AsyncIterator[str]:
        seen, last_sent = -1, time.monotonic()
        yield "retry: 2000\n\n"
        while not await request.is_disconnected():
            if dashboard.view.version != seen:
                seen = dashboard.view.version
                html = (await asyncio.to_thread(render, request, fragment)).body.decode("utf-8")
                yield "event: board\n" + "".join(f"data: {line}\n" for line in html.splitlines()) + "\n"
                last_sent = time.monotonic()
            elif time.monotonic() - last_sent > KEEPALIVE_S:
                yield ": keepalive\n\n"
                last_sent = time.monotonic()
            await asyncio.sleep(POLL_S)
    return StreamingResponse(stream(), media_type="text/event-stream",
                             headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})


@router.get("/healthz")
def healthz(request: Request) -> dict[str, Any]:
    web = web_of(request)
    dashboard = web.dashboard
    server = dashboard.view.snapshot()["server"]
    return {"ok": True, "online": bool(server.get("online"))}


@router.get("/api/ticket/preview.png")
def ticket_preview(request: Request) -> Response:
    """The hall's ticket template (号票模板) on a sample ticket, as the printer would print it."""
    from hardware.printer import TicketPrint, compose_ticket, decode, preview_png  # escpos, Pillow: only here
    web = web_of(request)
    dashboard = web.dashboard

    sample = TicketPrint(dashboard.hall_name, "A001", next(iter(dashboard.category_names.values()), "综合业务"),
                         3, 720, dashboard.clock.now(), url="https://example.invalid/t/sample", priority="normal")
    buffer = io.BytesIO()
    preview_png(decode(compose_ticket(sample, dashboard.ticket_template)), buffer)
    return Response(buffer.getvalue(), media_type="image/png", headers={"Cache-Control": "no-store"})
