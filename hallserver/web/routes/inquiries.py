"""首问负责制 on the dashboard: the 导办台's record, hand-off and outcome (through the one command
path) and the report per staff member and window (JSON, CSV, and the part of /reports)."""
from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from hallserver.domain.inquiries import Inquiry
from hallserver.reports.hall import period_bounds
from hallserver.reports.inquiries import inquiry_csv, inquiry_report
from hallserver.web.context import Web, answer_command, role_of, unavailable, web_of
from hallserver.web.pages import TEMPLATES
from hallserver.web.routes.reports import report_period
from hallserver.web.scope import Scope, departments_of, keep, other_department, staff_departments, window_departments

log = logging.getLogger("hallserver.web")
router = APIRouter()
NAME = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"
STATUSES = {"not_found": 404, "forbidden": 403, "unknown_window": 400, "unknown_staff": 400}


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")
    staff: str = Field(pattern=NAME, description="the first-asked (record, hand-off) or the one who answered (close)")
    by: str | None = Field(default=None, pattern=NAME, description="who entered it; the logged-in manager wins")


class RecordBody(_Body):
    question: str = Field(min_length=1, max_length=200)
    topic: str | None = Field(default=None, pattern=NAME)
    answered: bool = False
    to_window: str | None = Field(default=None, pattern=NAME)
    to_staff: str | None = Field(default=None, pattern=NAME)


class HandOffBody(_Body):
    to_window: str | None = Field(default=None, pattern=NAME)
    to_staff: str | None = Field(default=None, pattern=NAME)


class CloseBody(_Body):
    outcome: str = Field(pattern=r"^(answered|ticket|referred)$")
    note: str = Field(default="", max_length=200)


def _send(request: Request, command: dict, *, created: bool = False) -> JSONResponse:
    """The command with the logged-in manager as `by`; a lead only for their departments' staff,
    and on an existing inquiry only one that touches their departments."""
    web = web_of(request)
    scope = departments_of(request)
    config = web.dashboard.config
    if scope is not None and staff_departments(config).get(command["staff"]) not in scope:
        return other_department("首问登记")
    if scope is not None and "inquiry" in command:
        if web.query is None:
            return unavailable()
        found = _read(web, lambda p: p.inquiries.book.items.get(command["inquiry"]))
        if isinstance(found, JSONResponse):
            return found
        if found is not None and not _in_scope(found, scope, staff_departments(config), window_departments(config)):
            return other_department("首问登记")
    if request.state.manager:
        command["by"] = request.state.manager
    if not command.get("by"):
        return JSONResponse({"error": {"code": "invalid", "message": "请写明录入人（by）"}}, status_code=400)
    return answer_command(web, {"id": uuid.uuid4().hex, **command}, "inquiry", STATUSES, created=created)


@router.post("/api/inquiries", status_code=201)
def record_inquiry(body: RecordBody, request: Request) -> JSONResponse:
    """导办台: the first-asked staff member's inquiry, answered on the spot, handed on, or recorded."""
    return _send(request, {"type": "inquiry.record", **body.model_dump(exclude_none=True)}, created=True)


@router.post("/api/inquiries/{inquiry}/hand-off")
def hand_off_inquiry(inquiry: int, body: HandOffBody, request: Request) -> JSONResponse:
    return _send(request, {"type": "inquiry.hand_off", "inquiry": inquiry, **body.model_dump(exclude_none=True)})


@router.post("/api/inquiries/{inquiry}/close")
def close_inquiry(inquiry: int, body: CloseBody, request: Request) -> JSONResponse:
    return _send(request, {"type": "inquiry.close", "inquiry": inquiry, **body.model_dump(exclude_none=True)})


def _in_scope(x: Inquiry, scope: Scope, staff: dict[str, str], windows: dict[str, str]) -> bool:
    """An inquiry a lead sees: one whose first-asked, receiver or windows belong to their departments."""
    if scope is None:
        return True
    return any(staff.get(s) in scope for s in (x.asked_by, x.to_staff, x.closed_by) if s) or any(
        windows.get(w) in scope for w in (x.window, x.to_window, x.closed_window) if w)


def open_items(request: Request) -> list[dict] | JSONResponse:
    """The open inquiries (登记, 已转交), oldest first, read on the writer's thread; a lead's: those
    touching their departments' staff or windows."""
    web = web_of(request)
    config = web.dashboard.config
    if web.query is None or config is None:
        return unavailable()
    scope, staff, windows = departments_of(request), staff_departments(config), window_departments(config)
    return _read(web, lambda p: [p.inquiries.view(x, p.clock.tz) for x in sorted(p.inquiries.book.items.values(),
                                                                                 key=lambda x: x.id)
                                 if x.open and _in_scope(x, scope, staff, windows)])


def _read(web: Web, read: Callable[[Any], Any]) -> Any:   # noqa: ANN401 - what `read` returns
    """`read(processor)` on the writer's thread, or 503 when the writer is stuck or gone (never a 500)."""
    try:
        return web.query(read)
    except Exception:
        log.exception("could not read the inquiries")
        return unavailable("系统繁忙，请稍后再试")


@router.get("/api/inquiries")
def inquiries_open(request: Request) -> JSONResponse:
    """首问 inquiries still to be answered or closed."""
    items = open_items(request)
    return items if isinstance(items, JSONResponse) else JSONResponse({"inquiries": items})


@router.get("/inquiries", response_class=HTMLResponse)
def inquiries_page(request: Request) -> Response:
    """导办台: record a first-asked inquiry for a staff member, and the open ones with their outcome."""
    items = open_items(request)
    if isinstance(items, JSONResponse):
        return items
    web = web_of(request)
    config, scope = web.dashboard.config, departments_of(request)
    mine = [s for s in config.staff if scope is None or s.department in scope]
    return TEMPLATES.TemplateResponse(request, "inquiries.html", {
        "hall": web.dashboard.hall_name, "items": items, "staff": mine, "all_staff": config.staff,
        "windows": config.windows, "names": {s.id: s.name for s in config.staff},
        "window_names": {w.id: w.name for w in config.windows}, "manager": request.state.manager,
        "can_act": role_of(request) != "auditor"})


def report_of(request: Request) -> dict | JSONResponse:
    """The period's report (?period=&date= as the operating report), a lead's rows of their departments."""
    web = web_of(request)
    dashboard = web.dashboard
    config = dashboard.config
    if config is None:
        return unavailable()
    chosen = report_period(request)
    if isinstance(chosen, JSONResponse):
        return chosen
    first, last, label = period_bounds(*chosen)
    tz = dashboard.clock.tz
    start = dt.datetime.combine(first, dt.time(), tz)
    end = dt.datetime.combine(last + dt.timedelta(days=1), dt.time(), tz)
    scope, staff, windows = departments_of(request), staff_departments(config), window_departments(config)
    items = [x for x in dashboard.store.inquiries_between(start, end) if _in_scope(x, scope, staff, windows)]
    report = inquiry_report(items)
    report["by_staff"] = keep(scope, report["by_staff"], staff, "id")
    report["by_window"] = keep(scope, report["by_window"], windows, "id")
    names = {s.id: s.name for s in config.staff}
    window_names = {w.id: w.name for w in config.windows} | {"导办台": "看板导办台"}
    for r in report["by_staff"]:
        r["name"] = names.get(r["id"], "")
    for r in report["by_window"]:
        r["name"] = window_names.get(r["id"], "")
    return {"period": chosen[0], "from": first.isoformat(), "to": last.isoformat(), "label": label, **report}


@router.get("/api/reports/inquiries")
def inquiries_report(request: Request, period: str = Query("day", description="day | week | month"),
                     date: str | None = Query(None, description="YYYY-MM-DD (default: today)"),
                     format: str = Query("json", description="json | csv")) -> Response:
    """首问负责: per staff member and window, recorded, answered on the spot, handed off, closed, open,
    and the average minutes from hand-off to 办结."""
    report = report_of(request)
    if isinstance(report, JSONResponse):
        return report
    if format == "json":
        return JSONResponse(report)
    if format == "csv":
        staff = {r["id"]: r["name"] for r in report["by_staff"]}
        windows = {r["id"]: r["name"] for r in report["by_window"]}
        name = f"inquiries-{report['period']}-{report['from']}"
        return Response(inquiry_csv(report, staff, windows), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return JSONResponse({"error": {"code": "invalid", "message": "format: json or csv"}}, status_code=400)


@router.get("/reports/inquiries", response_class=HTMLResponse)
def inquiries_part(request: Request, period: str = Query("day", description="day | week | month"),
                   date: str | None = Query(None, description="YYYY-MM-DD (default: today)")) -> Response:
    """The report page's 首问负责 part (loaded after the hall figures)."""
    report = report_of(request)
    if isinstance(report, JSONResponse):
        return report
    query = f"period={report['period']}&date={report['from']}"
    return TEMPLATES.TemplateResponse(request, "reports_inquiries.html", {"q": report, "query": query})
