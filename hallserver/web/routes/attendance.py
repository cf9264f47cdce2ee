"""考勤: the day's and the month's figures, AB岗 coverage, 打卡 from an attendance terminal, 补卡,
and leave (请假)."""
from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hmac
import json
import logging
import uuid
from datetime import timedelta

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse, Response

from hallserver.attendance_desk import month_csv, month_xlsx
from hallserver.web.context import answer_command, unavailable, web_of
from hallserver.web.scope import (
    departments_of,
    in_scope,
    item_refusal,
    other_department,
    posts_in_scope,
    staff_departments,
    staff_in_scope,
)

log = logging.getLogger("hallserver.web")

router = APIRouter()


@router.get("/api/attendance/day")
def attendance_day(request: Request,
                   date: str | None = Query(None, description="YYYY-MM-DD (default: today)")) -> JSONResponse:
    """考勤 of one day per staff member: late, early, absent, 离岗, leave, shift by shift. ?date=YYYY-MM-DD"""
    web = web_of(request)
    dashboard, query = web.dashboard, web.query
    try:
        day = dt.date.fromisoformat(request.query_params.get("date", dashboard.clock.now().date().isoformat()))
    except ValueError:
        return JSONResponse({"error": {"code": "invalid", "message": "date: YYYY-MM-DD"}}, status_code=400)
    if query is None:
        return unavailable()
    rows = query(lambda processor: processor.attendance.day(day, processor.clock.tz))
    scope = departments_of(request)                         # a lead: their departments' people
    return JSONResponse({"day": day.isoformat(), "staff": [r for r in rows if in_scope(scope, r["department"])]})


@router.get("/api/attendance/month")
def attendance_month(request: Request, month: str | None = Query(None, description="YYYY-MM"),
                     format: str = Query("json", description="json | csv | xlsx"),
                     department: str | None = Query(None, description="one department's sheet")) -> Response:
    """The monthly attendance sheet (考勤表), ?month=2025-11&format=csv|xlsx for the sheet to
    sign (per department: a section of the CSV, a sheet of the workbook); ?department= for one."""
    web = web_of(request)
    dashboard, query = web.dashboard, web.query
    try:
        year, month = (int(x) for x in request.query_params.get(
            "month", dashboard.clock.now().strftime("%Y-%m")).split("-"))
    except ValueError:
        year = month = 0
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        return JSONResponse({"error": {"code": "invalid", "message": "month: YYYY-MM"}}, status_code=400)
    if query is None:
        return unavailable()
    rows = query(lambda processor: processor.attendance.month(year, month, processor.clock.tz,
                                                              processor.clock.now().date()))
    department, scope = request.query_params.get("department"), departments_of(request)
    if department is not None and not in_scope(scope, department):
        return other_department("考勤表")
    if department is not None:
        rows = [r for r in rows if r["department"] == department]
    rows = [r for r in rows if in_scope(scope, r["department"])]          # a lead: their departments' sheets
    name = f"attendance-{year}-{month:02d}"
    match request.query_params.get("format", "json"):
        case "csv":
            return Response(month_csv(rows, year, month), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
        case "xlsx":
            return Response(month_xlsx(rows, year, month, dashboard.hall_name),
                            media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                            headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})
        case "json":
            return JSONResponse({"month": f"{year}-{month:02d}", "staff": rows})
    return JSONResponse({"error": {"code": "invalid", "message": "format: json, csv or xlsx"}}, status_code=400)


@router.get("/api/attendance/coverage")
def coverage_report(request: Request) -> JSONResponse:
    """AB岗 coverage per day and post: minutes covered by A, by B and uncovered (kept in the
    database, the last two months), and the front-desk alerts of the last month with their durations."""
    web = web_of(request)
    dashboard, query = web.dashboard, web.query
    if query is None:
        return unavailable()
    minutes, by_category = query(lambda processor: (
        {f"{d}|{post}": {k: round(v, 1) for k, v in m.items()}
         for (d, post), m in processor.attendance.watch.minutes.items()},
        {f"{d}|{cat}": {k: round(v, 1) for k, v in m.items()}
         for (d, cat), m in processor.attendance.watch.category_minutes.items()}))
    start = dashboard.clock.now() - timedelta(days=31)
    alerts = [{"category": r["category"], "started_at": r["started_at"].isoformat(),
               "ended_at": r["ended_at"].isoformat() if r["ended_at"] else None,
               "minutes": round((r["ended_at"] - r["started_at"]).total_seconds() / 60) if r["ended_at"] else None}
              for r in dashboard.store.coverage_history(start)]
    posts, categories = posts_in_scope(dashboard.config, departments_of(request))
    return JSONResponse({"posts": [{"day": k.split("|")[0], "post": k.split("|")[1], **v}
                                   for k, v in sorted(minutes.items()) if posts is None or k.split("|")[1] in posts],
                         "categories": [{"day": k.split("|")[0], "category": k.split("|")[1], **v}
                                        for k, v in sorted(by_category.items())
                                        if categories is None or k.split("|")[1] in categories],
                         "front_desk_alerts": [a for a in alerts if categories is None or a["category"] in categories]})



@router.post("/api/attendance/clock", status_code=201)
async def attendance_clock_http(request: Request) -> JSONResponse:
    """打卡 from an attendance terminal (指纹/人脸/刷卡) over HTTP: the body is the wire
    contract's `attendance.clock` command (`id`, `staff`, `kind`, `method`), the terminal
    signs in with HTTP Basic — its device id and its own password from the registry. The
    server stamps the time; a repeated command id gets the first reply (terminals resend)."""
    web = web_of(request)
    dashboard, submit, login_guard = web.dashboard, web.submit, web.login_guard
    refused = JSONResponse({"error": {"code": "unauthorized", "message": "考勤机未登记或密码错误"}},
                           status_code=401, headers={"WWW-Authenticate": 'Basic realm="govhall attendance"'})
    scheme, _, value = request.headers.get("Authorization", "").partition(" ")
    try:
        device_id, _, password = base64.b64decode(value, validate=True).decode("utf-8").partition(":")
    except (ValueError, UnicodeDecodeError):
        return refused
    now = dashboard.clock.now()
    client = request.client.host if request.client else "?"
    key = f"device:{device_id[:64]}@{client}"     # per address: nobody else can lock the terminal out
    device = dashboard.config.device(device_id) if dashboard.config is not None else None
    if scheme.lower() != "basic" or login_guard.locked_until(key, now) is not None:
        return refused
    if device is None or device.role.value != "attendance-terminal" or not device.password or \
            not hmac.compare_digest(device.password.encode(), password.encode()):
        login_guard.failed(key, now)
        log.warning("attendance clock over HTTP refused for %r from %s", device_id[:64], client)
        return refused
    login_guard.succeeded(key)
    body = await request.body()
    if len(body) > 4096:
        return JSONResponse({"error": {"code": "too_large", "message": "请求过大"}}, status_code=413)
    if submit is None:
        return unavailable()
    try:
        command = json.loads(body)
    except ValueError:
        command = None
    if not isinstance(command, dict):
        return JSONResponse({"error": {"code": "invalid", "message": "请求内容不是 JSON 对象"}}, status_code=400)
    command["type"] = "attendance.clock"                 # the route decides the command
    try:
        reply = await asyncio.to_thread(submit, json.dumps(command, ensure_ascii=False).encode("utf-8"),
                                        device=device_id)
    except Exception:
        log.exception("attendance clock over HTTP failed")
        return JSONResponse({"error": {"code": "unavailable", "message": "系统繁忙，请稍后再试"}}, status_code=503)
    if reply["ok"]:
        return JSONResponse(reply["result"], status_code=201)
    status = {"unknown_staff": 404, "forbidden": 403}.get(reply["error"]["code"], 400)
    return JSONResponse({"error": reply["error"]}, status_code=status)


@router.post("/api/attendance/corrections", status_code=201)
def attendance_correction(body: dict, request: Request) -> JSONResponse:
    """补卡: a missing clock event added by a manager, with the reason (never an edit)."""
    fields = _body(body)
    refused = _staff_refusal(request, fields.get("staff"), "考勤")
    if refused is not None:
        return refused
    if request.state.manager:
        fields["by"] = request.state.manager
    return _web_command(request, {**fields, "type": "attendance.correct"}, "attendance")


@router.get("/api/leaves")
def leave_list(request: Request) -> JSONResponse:
    """请假: every leave, newest first, with its status (a lead: their departments' people)."""
    web = web_of(request)
    if web.query is None:
        return unavailable()
    people = staff_in_scope(departments_of(request), web.dashboard.config)
    return JSONResponse({"leaves": web.query(lambda processor: processor.attendance.leave_list(people))})


@router.post("/api/leaves", status_code=201)
def leave_request(request: Request, body: dict) -> JSONResponse:
    refused = _staff_refusal(request, body.get("staff"), "请假")
    if refused is not None:
        return refused
    return _web_command(request, {**_body(body), "type": "leave.act", "action": "request"}, "leave")


@router.post("/api/leaves/{leave_id}/{action}")
def leave_decide(leave_id: int, action: str, body: dict, request: Request) -> JSONResponse:
    if action not in ("decide", "end"):
        return JSONResponse({"error": {"code": "invalid", "message": "decide or end"}}, status_code=404)
    refused = item_refusal(request, "请假", lambda processor: processor.attendance.leave_department(leave_id))
    if refused is not None:
        return refused
    fields = _body(body)
    if request.state.manager and action == "decide":
        fields["manager"] = request.state.manager
    return _web_command(request, {**fields, "type": "leave.act", "action": action, "leave": leave_id}, "leave")


def _staff_refusal(request: Request, staff: object, what: str) -> JSONResponse | None:
    """A lead acting for a staff member of another department: 403 (an unknown one is the command's 404)."""
    departments = staff_departments(web_of(request).dashboard.config)
    if not isinstance(staff, str) or staff not in departments:
        return None
    return None if in_scope(departments_of(request), departments[staff]) else other_department(what)


def _body(body: dict) -> dict:
    return {k: v for k, v in body.items() if k not in ("type", "id", "action", "leave")}


def _web_command(request, command: dict, what: str) -> JSONResponse:
    command = {**{k: v for k, v in command.items() if k != "id"}, "id": uuid.uuid4().hex}   # the route decides
    return answer_command(web_of(request), command, what,                                  # type and action
                          {"not_found": 404, "forbidden": 403, "post_uncovered": 409, "unknown_staff": 404,
                           "cover_unavailable": 409, "staff_covering": 409, "own_leave": 403,
                           "leave_wrong_level": 409, "leave_approved_twice": 409},
                          created=command.get("action") == "request" or command["type"] == "attendance.correct")
