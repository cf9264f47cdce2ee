"""Cases (办件, 限时办结): the citizen's case page (the receipt's QR), online applications (网上申报),
the 按期办结率 report and the daily digest, extension approvals."""
from __future__ import annotations

import datetime as dt
import io
import logging
import uuid
from typing import Literal

from fastapi import APIRouter, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from govhall.config import CasesConfig
from hallserver.reports.cells import SafeCsvWriter
from hallserver.web.citizens import audit, client_of, hashed_id, now_s, real_name_refusal, refusal
from hallserver.web.context import IDEMPOTENCY_KEY, TOKEN, answer_command, unavailable, web_command_id, web_of
from hallserver.web.pages import TEMPLATES
from hallserver.web.scope import departments_of, in_scope, item_refusal, matter_departments, other_department

log = logging.getLogger("hallserver.web")

router = APIRouter()


class OnlineApplication(BaseModel):
    """POST /api/cases: a case a logged-in manager enters for an online application (网上申报)."""
    model_config = ConfigDict(extra="forbid")
    matter: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    received: dict[str, int] = Field(default_factory=dict, max_length=50)
    delivery: Literal["window", "mail", "online"] = Field(
        default="window", description="the result at the window, or 不见面: by mail (邮寄) or online")


class OnlineIntake(OnlineApplication):
    """POST /api/cases/online: a citizen's real-name online application (网上申报)."""
    name: str = Field(max_length=40, description="申请人 name")
    id_number: str = Field(max_length=40, description="居民身份证号码, 18 characters: checked (GB 11643), then only "
                                                      "its keyed hash goes on; never stored")
    phone: str = Field(max_length=20, description="a mainland mobile number")


def report_csv(report: dict) -> str:
    """The report as CSV for a spreadsheet (UTF-8 with BOM so that Excel reads the Chinese)."""
    out = io.StringIO()
    w = SafeCsvWriter(out)
    w.writerow(["分组", "名称", "受理", "办结", "按期办结", "按期办结率(%)", "在办超期", "时限待定", "代办", "不见面"])
    for group, label in (("by_department", "部门"), ("by_matter", "事项"), ("by_staff", "受理人"),
                         ("by_kind", "办件类别")):
        for name, t in report[group].items():
            w.writerow([label, name, t["accepted"], t["finished"], t["finished_on_time"],
                        "" if t["on_time_rate"] is None else t["on_time_rate"], t["open_overdue"], t["due_pending"],
                        t["assisted"], t["no_visit"]])
    w.writerow([])
    w.writerow(["超期办件", "事项", "部门", "受理人", "承诺办结", "办结时间", "超期工作日"])
    for x in report["overdue"]:
        w.writerow([x["case"], x["matter"], x["department"], x["handler"], x["due"], x["finished"] or "",
                    x["working_days_late"]])
    return "\ufeff" + out.getvalue()


class ExtensionApproval(BaseModel):
    model_config = ConfigDict(extra="forbid")
    manager: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


@router.get("/c/{token}", response_class=HTMLResponse)
def case_page(request: Request, token: str) -> HTMLResponse:
    """The citizen's view of a case (the 收件回执's QR): steps, promised date, what is missing."""
    web = web_of(request)
    dashboard, query = web.dashboard, web.query
    view = None
    if TOKEN.match(token) and query is not None:
        try:
            view = query(lambda processor: processor.case_page(token))
        except Exception:
            log.exception("case page %s", token[:4])
            return HTMLResponse("系统繁忙，请稍后再试", status_code=503)
    if view is None:
        return TEMPLATES.TemplateResponse(request, "ticket_missing.html", {"hall": dashboard.hall_name},
                                          status_code=404)
    return TEMPLATES.TemplateResponse(request, "case.html", {"hall": dashboard.hall_name, "c": view})


@router.post("/api/cases", status_code=201)
def apply_online(request: Request, body: OnlineApplication,
                 idempotency_key: str | None = Header(default=None, alias="Idempotency-Key")) -> JSONResponse:
    """网上申报 entered by a logged-in manager (the guard asks for the session): a case with its
    deadline, through the one command path; a lead only for their departments' matters."""
    web = web_of(request)
    department = matter_departments(web.dashboard.config).get(body.matter)
    if department is not None and not in_scope(departments_of(request), department):
        return other_department("办件")
    if web.submit is None:
        return unavailable()
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        return JSONResponse({"error": {"code": "invalid", "message": "Idempotency-Key: 1-64 of A-Za-z0-9_.:-"}},
                            status_code=400)
    command = {"id": web_command_id("case.apply_online", idempotency_key, body.model_dump(mode="json")),
               "type": "case.apply_online", **body.model_dump(mode="json")}
    return answer_command(web, command, "online application", {"unknown_matter": 404}, created=True)


@router.post("/api/cases/online", status_code=201)
def intake_online(request: Request, body: OnlineIntake,
                  idempotency_key: str | None = Header(default=None, alias="Idempotency-Key")) -> JSONResponse:
    """网上申报 by the citizen, real-name: 申请人 name, a valid 居民身份证 number (only its keyed hash
    goes on) and a mobile number; limits per ID number and phone a day (the command path) and per
    client address a day (here); refusals audited."""
    web = web_of(request)
    dashboard, client = web.dashboard, client_of(request)
    if web.submit is None:
        return unavailable()
    refused = real_name_refusal(dashboard, client, "case.apply_online", idempotency_key, body.name, body.id_number,
                                body.phone)
    if refused is not None:
        return refused
    limit = (dashboard.config.cases if dashboard.config is not None else CasesConfig()).online_per_address_per_day
    now = now_s(dashboard)
    if not web.guards.applications.allows(client, now, limit):
        log.warning("online application from %s refused: %d today", client, limit)
        audit(dashboard, client, "case.apply_online", "rate_limited")
        return refusal("too_many", "本网络地址今天的网上申报次数过多，请明天再试或到大厅办理", 429)
    applicant = {"name": body.name.strip(), "phone": body.phone.strip(),
                 "id_hash": hashed_id(dashboard, body.id_number)}
    fields = {"matter": body.matter, "received": body.received, "applicant": applicant, "delivery": body.delivery}
    command = {"id": web_command_id("case.apply_online", idempotency_key, fields), "type": "case.apply_online",
               **fields}
    answer = answer_command(web, command, "online application", {"unknown_matter": 404, "application_limit": 429},
                            created=True)
    if answer.status_code == 201:
        web.guards.applications.record(client, now)
    return answer


@router.get("/api/reports/cases")
def cases_report(request: Request, start: str | None = Query(None, alias="from", description="YYYY-MM-DD"),
                 end: str | None = Query(None, alias="to", description="YYYY-MM-DD"),
                 format: str = Query("json", description="json | csv")) -> Response:
    """按期办结率 per department, matter, staff; the overdue list; days per step. ?from=&to=&format=csv"""
    web = web_of(request)
    dashboard, query = web.dashboard, web.query
    params = request.query_params
    try:
        today = dashboard.clock.now().date()
        start = dt.date.fromisoformat(params.get("from", today.replace(day=1).isoformat()))
        end = dt.date.fromisoformat(params.get("to", today.isoformat()))
    except ValueError:
        return JSONResponse({"error": {"code": "invalid", "message": "from/to: YYYY-MM-DD"}}, status_code=400)
    if query is None:
        return unavailable()
    if (end - start).days > 400:
        return JSONResponse({"error": {"code": "invalid", "message": "at most 400 days at a time"}},
                            status_code=400)
    # the report only reads the store and the hall's fixed calendar and rules: it is computed
    # here, on the web's thread, so that the writer goes on serving the hall meanwhile
    processor = query(lambda p: p)
    report = processor.case_report(start, end, departments=departments_of(request))   # a lead: their departments
    if params.get("format") == "csv":
        return Response(report_csv(report), media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="cases-{start}-{end}.csv"'})
    return JSONResponse(report)


@router.get("/api/cases/digest")
def cases_digest(request: Request) -> JSONResponse:
    """每日通报: per department, today's accepted and finished cases and the open ones by colour."""
    web = web_of(request)
    query = web.query
    if query is None:
        return unavailable()
    scope = departments_of(request)
    return JSONResponse(query(lambda processor: processor.case_report(None, None, digest=True, departments=scope)))


@router.post("/api/cases/{code}/extension/approve")
def approve_extension(code: str, body: ExtensionApproval, request: Request) -> JSONResponse:
    """A manager approves a case's waiting extension (延期审批); a lead only their departments' cases."""
    refused = item_refusal(request, "办件", lambda processor: processor.case_department(code))
    if refused is not None:
        return refused
    command = {"id": uuid.uuid4().hex, "type": "case.approve_extension", "case": code,
               "manager": request.state.manager or body.manager}
    return answer_command(web_of(request), command, "extension approval", {"case_not_found": 404, "forbidden": 403})
