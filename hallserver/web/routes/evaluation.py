"""万众评股室 (docs/evaluation.md): the campaigns' page and API — open a campaign, enter paper score sheets,
the leading group's ±10 adjustments, the result with its ranking and CSV, the 征求意见 and their 整改 — and
the rater groups' public QR form (`/e/{token}`).

Every change goes through the one command path (`evaluation.act`). The campaign is the leading group's: a
hall manager opens it, enters sheets and adjusts (the guard's MANAGER_ONLY); a department lead reads the
result of their own departments' units and records the 整改 of their opinions; an auditor reads."""
from __future__ import annotations

import json
import logging
import re
from datetime import date

from fastapi import APIRouter, Header, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from hallserver.domain.evaluation import DEFAULT_GROUPS, DEFAULT_INDICATORS
from hallserver.reports.evaluation import result_csv
from hallserver.web.citizens import IDEMPOTENCY_KEY, audit, client_of, now_s, refusal
from hallserver.web.context import answer_command, role_of, unavailable, web_command_id, web_of
from hallserver.web.pages import ROLE_LABELS, TEMPLATES
from hallserver.web.scope import departments_of, in_scope, item_refusal

log = logging.getLogger("hallserver.web")

router = APIRouter()

STATUSES = {"not_found": 404, "forbidden": 403, "invalid": 400}
PUBLIC_SHEETS_PER_ADDRESS_PER_DAY = 20      # without a config: `[evaluation] public_per_address_per_day`'s default
TOKEN = r"^[A-Za-z0-9_-]{16,64}$"
SCORE = r"^[0-9]{1,3}(\.[0-9]{1,2})?$"


class CampaignEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(max_length=60)
    starts: date
    ends: date
    units: list[str] = Field(default_factory=list, max_length=500, description="none: the hall's departments")


class SheetEntry(BaseModel):
    """A score sheet: its rater group, the unit, a score per indicator (text, ≤ 2 decimals), the opinion."""
    model_config = ConfigDict(extra="forbid")
    unit: str = Field(max_length=40)
    group: str = Field(max_length=32)
    scores: dict[str, str] = Field(max_length=100)
    opinion: str = Field(default="", max_length=500)


class PublicSheet(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str = Field(max_length=40)
    scores: dict[str, str] = Field(max_length=100)
    opinion: str = Field(default="", max_length=500)


class AdjustmentEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")
    unit: str = Field(max_length=40)
    points: str = Field(max_length=8, pattern=r"^[+-]?[0-9]{1,3}(\.[0-9]{1,2})?$")
    reason: str = Field(max_length=500)


class Rectification(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(max_length=500)


def _chinese(response: JSONResponse) -> JSONResponse:
    """A refusal with the domain's own Chinese sentence as its message."""
    if response.status_code < 400:
        return response
    body = json.loads(response.body)
    error = body.get("error", {})
    detail = error.get("detail") or ""
    if any("\u4e00" <= ch <= "\u9fff" for ch in detail):
        error["message"] = detail
    return JSONResponse(body, status_code=response.status_code)


def _scores_problem(scores: dict[str, str]) -> str | None:
    for key, value in scores.items():
        if not re.match(SCORE, value.strip()):
            return f"第 {key[:16]} 项的得分应为数字（最多 2 位小数）"
    return None


def _submit(request: Request, fields: dict, key: str | None = None, created: bool = False) -> JSONResponse:
    command = {"id": web_command_id("evaluation.act", key, fields), "type": "evaluation.act", **fields}
    return _chinese(answer_command(web_of(request), command, "evaluation", STATUSES, created=created))


def _actor(request: Request) -> str:
    return request.state.manager or "manager"


def _detail(request: Request, campaign_id: int) -> dict | None:
    """The campaign with its result, adjustments and opinions, as the request's role may see it."""
    web, scope = web_of(request), departments_of(request)

    def read(p) -> dict | None:   # noqa: ANN001 - the processor, on its thread
        desk, tz = p.evaluation, p.clock.tz
        x = desk.book.campaigns.get(campaign_id)
        if x is None:
            return None
        return {"campaign": desk.campaign_view(x, tz), "result": desk.result_view(x),
                "adjustments": desk.adjustments_view(x, tz), "opinions": desk.opinions_view(x, tz)}
    found = web.query(read)
    if found is None:
        return None
    if role_of(request) != "manager":
        found["campaign"].pop("tokens")           # the QR forms' keys are the leading group's to hand out
    if scope is not None:
        found["result"] = [r for r in found["result"] if in_scope(scope, r["unit"])]
        found["adjustments"] = [a for a in found["adjustments"] if in_scope(scope, a["unit"])]
        found["opinions"] = [o for o in found["opinions"] if in_scope(scope, o["unit"])]
    return found


@router.get("/api/evaluation")
def campaign_list(request: Request) -> JSONResponse:
    """Every campaign, newest first (without the tokens)."""
    web = web_of(request)
    if web.query is None:
        return unavailable()
    try:
        items = web.query(lambda p: [p.evaluation.campaign_view(x, p.clock.tz) for x in p.evaluation.campaigns()])
    except Exception:
        log.exception("evaluation campaigns")
        return unavailable("系统繁忙，请稍后再试")
    for x in items:
        x.pop("tokens")
    return JSONResponse({"campaigns": items})


@router.get("/api/evaluation/{campaign_id}", response_model=None)
def campaign_detail(campaign_id: int, request: Request, format: str = "json") -> Response:
    """A campaign's result (per unit: group averages, weighted, adjustment, final, rank, flags), its
    adjustments and opinions; `format=csv` the result as CSV. A lead: their departments' units only."""
    if web_of(request).query is None:
        return unavailable()
    if format not in ("json", "csv"):
        return refusal("invalid", "format 应为 json 或 csv")
    try:
        found = _detail(request, campaign_id)
    except Exception:
        log.exception("evaluation %s", campaign_id)
        return unavailable("系统繁忙，请稍后再试")
    if found is None:
        return refusal("not_found", "没有这次评议", 404)
    if format == "csv":
        web, scope = web_of(request), departments_of(request)

        def rows(p):   # noqa: ANN001, ANN202 - the processor, on its thread
            x = p.evaluation.book.campaign(campaign_id)
            results = [r for r in p.evaluation.book.results(campaign_id) if in_scope(scope, r.unit)]
            return result_csv(results, x.groups, {})
        try:
            text = web.query(rows)
        except Exception:
            log.exception("evaluation %s CSV", campaign_id)
            return unavailable("系统繁忙，请稍后再试")
        return Response(text, media_type="text/csv; charset=utf-8",
                        headers={"Content-Disposition": f'attachment; filename="evaluation-{campaign_id}.csv"'})
    return JSONResponse(found)


@router.post("/api/evaluation/campaigns", status_code=201)
def campaign_open(body: CampaignEntry, request: Request) -> JSONResponse:
    """Open a campaign (a hall manager): its units (none: the hall's departments), the 004 sheet and groups."""
    fields = {"action": "open", "name": body.name.strip(), "starts": body.starts.isoformat(),
              "ends": body.ends.isoformat(), "units": [u.strip() for u in body.units if u.strip()],
              "by": _actor(request)}
    if not fields["name"]:
        return refusal("invalid", "请填写评议名称", field="name")
    if any(len(u) > 40 for u in fields["units"]):
        return refusal("invalid", "被评股室名称最多 40 字", field="units")
    return _submit(request, fields, created=True)


@router.post("/api/evaluation/campaigns/{campaign_id}/sheets", status_code=201)
def sheet_enter(campaign_id: int, body: SheetEntry, request: Request) -> JSONResponse:
    """A paper score sheet entered by staff (a hall manager)."""
    problem = _scores_problem(body.scores)
    if problem is not None:
        return refusal("invalid", problem, field="scores")
    if campaign_id < 1 or not body.unit.strip() or not body.group.strip():
        return refusal("invalid", "请选择评议、被评股室和参评者类别")
    fields = {"action": "sheet", "campaign": campaign_id, "unit": body.unit.strip(), "group": body.group.strip(),
              "scores": {k: v.strip() for k, v in body.scores.items()}, "opinion": body.opinion.strip(),
              "by": _actor(request)}
    return _submit(request, fields, created=True)


@router.post("/api/evaluation/campaigns/{campaign_id}/adjustments", status_code=201)
def adjustment_enter(campaign_id: int, body: AdjustmentEntry, request: Request) -> JSONResponse:
    """The leading group's points for a unit, −10 … +10 with its reason (a hall manager; the latest counts)."""
    if campaign_id < 1 or not body.unit.strip():
        return refusal("invalid", "请选择评议和被评股室")
    fields = {"action": "adjust", "campaign": campaign_id, "unit": body.unit.strip(), "points": body.points,
              "reason": body.reason.strip(), "by": _actor(request)}
    return _submit(request, fields, created=True)


@router.post("/api/evaluation/campaigns/{campaign_id}/close")
def campaign_close(campaign_id: int, request: Request) -> JSONResponse:
    """End a campaign: no more sheets nor adjustments; the result stays."""
    if campaign_id < 1:
        return refusal("not_found", "没有这次评议", 404)
    return _submit(request, {"action": "close", "campaign": campaign_id, "by": _actor(request)})


@router.post("/api/evaluation/opinions/{sheet_id}/rectify")
def opinion_rectify(sheet_id: int, body: Rectification, request: Request) -> JSONResponse:
    """整改 of a sheet's opinion, with what was done (a manager, or the lead of the unit's department)."""
    if sheet_id < 1:
        return refusal("not_found", "没有这条意见", 404)
    refused = item_refusal(request, "意见", lambda p: p.evaluation.unit_of_sheet(sheet_id))
    if refused is not None:
        return refused
    return _submit(request, {"action": "rectify", "sheet": sheet_id, "note": body.note.strip(),
                             "by": _actor(request)})


@router.get("/evaluation", response_class=HTMLResponse)
def evaluation_page(request: Request, campaign: int | None = None) -> HTMLResponse:
    """万众评股室: the campaigns, the chosen one's result, the forms (a manager), the opinions."""
    web = web_of(request)
    if web.query is None:
        return HTMLResponse("暂不可用", status_code=503)
    try:
        campaigns = web.query(lambda p: [(x.id, x.name, x.status) for x in p.evaluation.campaigns()])
        chosen = campaign if campaign is not None else (campaigns[0][0] if campaigns else None)
        found = _detail(request, chosen) if chosen is not None else None
    except Exception:
        log.exception("evaluation page")
        return HTMLResponse("系统繁忙，请稍后再试", status_code=503)
    role = role_of(request)
    base = str(request.base_url).rstrip("/")
    return TEMPLATES.TemplateResponse(request, "evaluation.html", {
        "hall": web.dashboard.hall_name, "campaigns": campaigns, "found": found, "base": base,
        "indicators": DEFAULT_INDICATORS, "groups": DEFAULT_GROUPS,
        "manager": request.state.manager, "role_label": ROLE_LABELS[role], "is_manager": role == "manager",
        "can_act": role != "auditor"})


def _token_target(request: Request, token: str) -> tuple[dict, str, str] | None:
    """(the campaign's view, the group's key, its name) of an open campaign's QR token, or None."""
    if not re.match(TOKEN, token):
        return None
    web = web_of(request)

    def read(p):   # noqa: ANN001, ANN202 - the processor, on its thread
        found = p.evaluation.find_token(token)
        if found is None:
            return None
        x, group = found
        return p.evaluation.campaign_view(x, p.clock.tz), group, next(g.name for g in x.groups if g.key == group)
    try:
        return web.query(read)
    except Exception:                        # the writer is stuck or gone: as if there were no such form
        log.exception("evaluation token")
        return None


@router.get("/e/{token}", response_class=HTMLResponse)
def public_form(token: str, request: Request) -> HTMLResponse:
    """The rater group's QR form: one sheet per submission."""
    web = web_of(request)
    if web.query is None:
        return HTMLResponse("暂不可用", status_code=503)
    target = _token_target(request, token)
    if target is None:
        audit(web.dashboard, client_of(request), "evaluation.form", "not_found")
        return HTMLResponse("评议二维码无效或评议已结束", status_code=404)
    x, group, group_name = target
    return TEMPLATES.TemplateResponse(request, "evaluation_form.html", {
        "hall": web.dashboard.hall_name, "campaign": x, "group_name": group_name, "token": token})


@router.post("/e/{token}", status_code=201)
def public_sheet(token: str, body: PublicSheet, request: Request,
                 idempotency_key: str | None = Header(default=None, alias="Idempotency-Key")) -> JSONResponse:
    """A sheet from the QR form: every score checked on the command path; at most
    `[evaluation] public_per_address_per_day` a day per client address (429); refusals audited."""
    web = web_of(request)
    dashboard, client = web.dashboard, client_of(request)
    if web.submit is None or web.query is None:
        return unavailable()
    if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
        return refusal("invalid", "Idempotency-Key: 1-64 of A-Za-z0-9_.:-")
    target = _token_target(request, token)
    if target is None:
        audit(dashboard, client, "evaluation.act", "not_found")
        return refusal("not_found", "评议二维码无效或评议已结束", 404)
    problem = _scores_problem(body.scores)
    if problem is not None:
        audit(dashboard, client, "evaluation.act", "invalid")
        return refusal("invalid", problem, field="scores")
    now = now_s(dashboard)
    limit = (dashboard.config.evaluation.public_per_address_per_day if dashboard.config is not None
             else PUBLIC_SHEETS_PER_ADDRESS_PER_DAY)
    if not web.guards.evaluations.allows(client, now, limit):
        audit(dashboard, client, "evaluation.act", "rate_limited")
        return refusal("too_many", "本网络地址今天提交的评分表过多，请改用纸质评分表", 429)
    x, group, _ = target
    fields = {"action": "sheet", "campaign": x["id"], "unit": body.unit.strip(), "group": group, "token": token,
              "scores": {k: v.strip() for k, v in body.scores.items()}, "opinion": body.opinion.strip()}
    answer = _submit(request, fields, idempotency_key, created=True)
    if answer.status_code == 201:
        web.guards.evaluations.record(client, now)
        return JSONResponse({"ok": True, "total": json.loads(answer.body)["sheet"]["total"]}, status_code=201)
    return answer
