"""投诉 (docs/complaints.md): the managers' page and API — register what came by the 12345
hotline, the 意见箱 or the 留言簿, assign, record the result and the answer, close; statistics per
department and window with CSV — and the citizen's public form (the phone page, `/complain`).

Every change goes through the one command path (`complaint.register`, `complaint.act`); a lead
sees and acts on their departments' complaints only; an auditor reads (the guard refuses changes)."""
from __future__ import annotations

import json
import logging
import re
from datetime import date, datetime, timedelta

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from govhall.config import ComplaintsConfig
from hallserver.domain.complaints import CHANNELS, REPLY_METHODS, STAFF_CHANNELS
from hallserver.domain.identity import phone_problem
from hallserver.reports.complaints import complaint_statistics, records_csv, statistics_csv
from hallserver.web.citizens import IDEMPOTENCY_KEY, audit, client_of, now_s, refusal
from hallserver.web.context import answer_command, role_of, unavailable, web_command_id, web_of
from hallserver.web.pages import ROLE_LABELS, TEMPLATES
from hallserver.web.scope import Scope, departments_of, in_scope, item_refusal, other_department

log = logging.getLogger("hallserver.web")

router = APIRouter()

STATUSES = {"not_found": 404, "forbidden": 403, "unknown_window": 400, "unknown_staff": 400,
            "unknown_department": 400, "not_replied": 409, "invalid": 400}
ACTIONS = ("assign", "handle", "reply", "close")
NUMBER = r"^TS-[0-9]{8}-[0-9]{3,4}$"
STAFF_ID = r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$"


class ComplaintEntry(BaseModel):
    """A complaint staff enter (12345热线, 意见箱, 留言簿), optionally assigned at once."""
    model_config = ConfigDict(extra="forbid")
    channel: str = Field(max_length=16, description="hotline (12345热线), box (意见箱) or book (留言簿)")
    text: str = Field(max_length=2000, description="the complaint, up to 1000 characters")
    name: str = Field(default="", max_length=40)
    phone: str = Field(default="", max_length=20, description="the complainant's mobile number, if given")
    department: str = Field(default="", max_length=40)
    window: str = Field(default="", max_length=64)
    staff: str = Field(default="", max_length=64)
    by: str = Field(default="", max_length=64, description="who entered it (a hall without managers only)")


class ComplaintStep(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=1000)
    department: str = Field(default="", max_length=40)
    window: str = Field(default="", max_length=64)
    staff: str = Field(default="", max_length=64)
    method: str = Field(default="", max_length=8, description="reply: 电话, 短信, 当面, 书面 or 其他")
    told_at: datetime | None = Field(default=None, description="reply: when the complainant was told (default now)")
    by: str = Field(default="", max_length=64, description="who acts (a hall without managers only)")


class PublicComplaint(BaseModel):
    """A citizen's complaint from the phone page."""
    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=2000)
    name: str = Field(default="", max_length=40)
    phone: str = Field(default="", max_length=20, description="a mainland mobile number to be told the result")
    window: str = Field(default="", max_length=64, description="the window complained about, if the citizen knows")


def _chinese(response: JSONResponse) -> JSONResponse:
    """A refusal with the domain's own Chinese sentence as its message when it has one."""
    if response.status_code < 400:
        return response
    body = json.loads(response.body)
    error = body.get("error", {})
    detail = error.get("detail") or ""
    if any("\u4e00" <= ch <= "\u9fff" for ch in detail):
        error["message"] = detail
    return JSONResponse(body, status_code=response.status_code)


def _text_problem(text: str, name: str, phone: str, phone_required: bool = False) -> str | None:
    if not text.strip():
        return "请填写投诉内容"
    if len(text.strip()) > 1000:
        return "投诉内容最多 1000 字"
    if len(name.strip()) > 20:
        return "姓名最多 20 字"
    if phone.strip() or phone_required:
        return phone_problem(phone)
    return None


def _optional(value: str) -> str | None:
    return value.strip() or None


def _name_problem(**names: str) -> str | None:
    for what, value in names.items():
        if value and not re.match(STAFF_ID, value):
            return f"{what}格式不正确"
    return None


def _department_for(request: Request, department: str, window: str, staff: str) -> str:
    """The department an assignment goes to, as the command path will work it out."""
    config = web_of(request).dashboard.config
    if department or config is None:
        return department
    w = config.window(window) if window else None
    if w is not None:
        return w.department or "大厅管理办公室"
    person = next((s for s in config.staff if s.id == staff), None)
    return (person.department or "大厅管理办公室") if person is not None else ""


def _actor(request: Request, given: str) -> str:
    return request.state.manager or given.strip() or "manager"


def _listing(request: Request, scope: Scope) -> list[dict] | None:
    query = web_of(request).query
    if query is None:
        return None
    return query(lambda p: p.complaints.listing(p.clock.now(), p.clock.tz, scope))


@router.get("/api/complaints")
def complaint_list(request: Request) -> JSONResponse:
    """Every complaint, newest first, with its deadline, steps and answer (a lead: their departments')."""
    items = _listing(request, departments_of(request))
    if items is None:
        return unavailable()
    return JSONResponse({"complaints": items})


@router.post("/api/complaints", status_code=201)
def complaint_register(body: ComplaintEntry, request: Request) -> JSONResponse:
    """投诉登记 by staff: the 12345 hotline, the 意见箱, the 留言簿."""
    if body.channel not in STAFF_CHANNELS:
        return refusal("invalid", "渠道应为 12345热线（hotline）、意见箱（box）或留言簿（book）", field="channel")
    problem = _text_problem(body.text, body.name, body.phone) or _name_problem(窗口=body.window, 工号=body.staff)
    if problem is not None:
        return refusal("invalid", problem)
    scope = departments_of(request)
    if scope is not None and not in_scope(scope, _department_for(request, body.department, body.window, body.staff)):
        return other_department("投诉")           # a lead files for their own departments
    command = {"id": web_command_id("complaint.register", None, {}), "type": "complaint.register",
               "channel": body.channel, "text": body.text.strip(), "name": body.name.strip(),
               "phone": body.phone.strip(), "by": _actor(request, body.by), "department": _optional(body.department),
               "window": _optional(body.window), "staff": _optional(body.staff)}
    return _chinese(answer_command(web_of(request), command, "complaint", STATUSES, created=True))


@router.post("/api/complaints/{number}/{action}")
def complaint_act(number: str, action: str, body: ComplaintStep, request: Request) -> JSONResponse:
    """分派 (assign), 办理 (handle), 答复 (reply: method and time), 办结 (close)."""
    if action not in ACTIONS or not re.match(NUMBER, number):
        return refusal("not_found", "没有这个投诉或操作", 404)
    if action == "reply" and body.method not in REPLY_METHODS:
        return refusal("invalid", f"答复方式应为：{'、'.join(REPLY_METHODS)}", field="method")
    problem = _name_problem(窗口=body.window, 工号=body.staff)
    if problem is not None:
        return refusal("invalid", problem)
    refused = item_refusal(request, "投诉", lambda p: p.complaints.department_of(number))
    if refused is not None:
        return refused
    scope = departments_of(request)
    if action == "assign" and scope is not None and not in_scope(
            scope, _department_for(request, body.department, body.window, body.staff)):
        return other_department("投诉")           # a lead assigns within their own departments
    command = {"id": web_command_id("complaint.act", None, {}), "type": "complaint.act", "complaint": number,
               "action": action, "by": _actor(request, body.by), "note": body.note.strip()[:500]}
    if action == "assign":
        command |= {"department": _optional(body.department), "window": _optional(body.window),
                    "staff": _optional(body.staff)}
    if action == "reply":
        command |= {"method": body.method, "told_at": body.told_at.isoformat() if body.told_at else None}
    return _chinese(answer_command(web_of(request), command, "complaint", STATUSES))


def _day(value: str | None) -> date | None:
    """A YYYY-MM-DD query value; ValueError when it is not one."""
    return date.fromisoformat(value) if value else None


def _period(start: date | None, end: date | None, today: date) -> tuple[date, date]:
    end = end or today
    return start or end.replace(day=1), end


@router.get("/api/reports/complaints", response_model=None)
def complaint_report(request: Request, start: str | None = Query(None, description="YYYY-MM-DD, first day"),
                     end: str | None = Query(None, description="YYYY-MM-DD, last day (default today)"),
                     format: str = Query("json", description="json | csv | records")) -> Response:
    """投诉 statistics per department, window and channel for complaints registered from `start`
    (default: the first of `end`'s month) to `end` (default today); CSV of the figures or of the
    records (台账: no phone numbers)."""
    web, scope = web_of(request), departments_of(request)
    if web.query is None:
        return unavailable()
    if format not in ("json", "csv", "records"):
        return refusal("invalid", "format 应为 json、csv 或 records")
    try:
        first, last = _period(_day(start), _day(end), web.dashboard.clock.now().date())
    except ValueError:
        return refusal("invalid", "日期格式应为 YYYY-MM-DD")
    if first > last or (last - first) > timedelta(days=366):
        return refusal("invalid", "统计区间应在一年以内，且开始日期不晚于结束日期")

    def report(p) -> tuple[dict, list[dict]]:   # noqa: ANN001 - the processor, on its thread
        tz = p.clock.tz
        items = [x for x in p.complaints.items(scope)
                 if first <= x.registered_at.astimezone(tz).date() <= last]
        now = p.clock.now()
        stats = complaint_statistics(items, p.complaints.calendar, p.complaints.closing, now)
        return stats, [p.complaints.view(x, now, tz) for x in sorted(items, key=lambda x: x.id)]
    try:
        stats, views = web.query(report)
    except Exception:
        log.exception("complaint report")
        return unavailable("系统繁忙，请稍后再试")
    name = f"complaints-{first:%Y%m%d}-{last:%Y%m%d}"
    if format == "csv":
        return Response(statistics_csv(stats), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    if format == "records":
        return Response(records_csv(views), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="{name}-records.csv"'})
    return JSONResponse({"start": first.isoformat(), "end": last.isoformat(), **stats})


@router.get("/complaints", response_class=HTMLResponse)
def complaints_page(request: Request) -> HTMLResponse:
    """投诉管理: the register form, the list with each one's steps and actions, this month's figures."""
    web, scope = web_of(request), departments_of(request)
    dashboard = web.dashboard
    if web.query is None:
        return HTMLResponse("暂不可用", status_code=503)
    try:
        items = _listing(request, scope) or []
        today = dashboard.clock.now().date()
        first, last = _period(None, None, today)
        stats = web.query(lambda p: complaint_statistics(
            [x for x in p.complaints.items(scope) if first <= x.registered_at.astimezone(p.clock.tz).date() <= last],
            p.complaints.calendar, p.complaints.closing, p.clock.now()))
    except Exception:
        log.exception("complaints page")
        return HTMLResponse("系统繁忙，请稍后再试", status_code=503)
    config = dashboard.config
    role = role_of(request)
    departments = sorted({x.department for x in (*config.windows, *config.staff, *config.matters) if x.department}
                         | {"大厅管理办公室"}) if config is not None else []
    return TEMPLATES.TemplateResponse(request, "complaints.html", {
        "hall": dashboard.hall_name, "items": items, "stats": stats, "first": first, "last": last,
        "channels": {k: CHANNELS[k] for k in STAFF_CHANNELS}, "methods": REPLY_METHODS,
        "departments": [d for d in departments if in_scope(scope, d)],
        "windows": config.windows if config is not None else [], "staff": config.staff if config is not None else [],
        "window_names": {w.id: w.name for w in config.windows} if config is not None else {},
        "staff_names": {x.id: x.name for x in config.staff} if config is not None else {},
        "manager": request.state.manager, "role_label": ROLE_LABELS[role], "can_act": role != "auditor",
        "days": config.complaints.days if config is not None else ComplaintsConfig().days})


@router.get("/complain", response_class=HTMLResponse)
def public_form(request: Request, window: str = Query("", description="the window the QR hangs at")) -> HTMLResponse:
    """The citizen's complaint form (the phone page): text, optional name and mobile number."""
    dashboard = web_of(request).dashboard
    known = dashboard.config is not None and dashboard.config.window(window) is not None
    return TEMPLATES.TemplateResponse(request, "complain.html", {
        "hall": dashboard.hall_name, "window": window if known else "",
        "days": dashboard.config.complaints.days if dashboard.config is not None else ComplaintsConfig().days,
        "phone": dashboard.config.ratings.complaint_phone if dashboard.config is not None else ""})


@router.post("/api/complaints/public", status_code=201)
def public_complaint(body: PublicComplaint, request: Request,
                     idempotency_key: str | None = Header(default=None, alias="Idempotency-Key")) -> JSONResponse:
    """A citizen's complaint from the phone page: its number back; at most
    `[complaints] public_per_address_per_day` a day per client address (429); refusals audited."""
    web = web_of(request)
    dashboard, client = web.dashboard, client_of(request)
    if web.submit is None:
        return unavailable()
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        return refusal("invalid", "Idempotency-Key: 1-64 of A-Za-z0-9_.:-")
    problem = _text_problem(body.text, body.name, body.phone)
    window = body.window.strip()
    if problem is None and window and (dashboard.config is None or dashboard.config.window(window) is None):
        problem = "没有这个窗口"
    if problem is not None:
        audit(dashboard, client, "complaint.register", "invalid")
        return refusal("invalid", problem)
    now = now_s(dashboard)
    settings = dashboard.config.complaints if dashboard.config is not None else ComplaintsConfig()
    limit = settings.public_per_address_per_day
    if not web.guards.complaints.allows(client, now, limit):
        log.warning("public complaint from %s refused: %d today", client, limit)
        audit(dashboard, client, "complaint.register", "rate_limited")
        return refusal("too_many", "本网络地址今天提交的投诉过多，请拨打投诉电话或到大厅意见箱反映", 429)
    fields = {"channel": "phone", "text": body.text.strip(), "name": body.name.strip(), "phone": body.phone.strip(),
              "window": window or None}
    command = {"id": web_command_id("complaint.register", idempotency_key, fields), "type": "complaint.register",
               **fields}
    answer = _chinese(answer_command(web, command, "public complaint", STATUSES, created=True))
    if answer.status_code == 201:
        web.guards.complaints.record(client, now)
        x = json.loads(answer.body)["complaint"]
        return JSONResponse({"number": x["number"], "status": x["status"], "due": x["due"],
                             "due_pending": x["due_pending"]}, status_code=201)
    return answer
