"""好差评: the statistics and the window ranking with the managers' adjustments, and 差评整改."""
from __future__ import annotations

import logging
import uuid

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from hallserver.reports.rating_export import follow_up_rows, rating_rows
from hallserver.reports.ratings import follow_up_statistics, rating_statistics, window_ranking
from hallserver.web.context import answer_command, unavailable, web_of
from hallserver.web.scope import departments_of, in_scope, item_refusal, keep, window_departments

log = logging.getLogger("hallserver.web")

router = APIRouter()


class ScoreAdjustment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    points: int = Field(ge=-50, le=50)
    reason: str = Field(min_length=2, max_length=200)
    by: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class FollowUpRequest(BaseModel):
    """追评 entered from a 回访 call: the level the citizen gave, their reasons and words."""
    model_config = ConfigDict(extra="forbid")
    by: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    level: int = Field(ge=1, le=5, strict=True)
    reasons: list[str] = Field(default_factory=list, max_length=10)
    comment: str = Field(default="", max_length=500)


class RectificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    note: str = Field(min_length=1, max_length=500)
    reached: bool = False
    upheld: bool = False


@router.get("/api/reports/ratings")
def ratings_report(request: Request) -> JSONResponse:
    """好差评 statistics per window, staff, department, matter and channel, and the window ranking;
    a lead's: only the ratings and windows of their departments (the window's department)."""
    web = web_of(request)
    dashboard = web.dashboard
    if dashboard.config is None:
        return unavailable()
    config, scope = dashboard.config, departments_of(request)
    rows = keep(scope, rating_rows(dashboard.store, config), window_departments(config), "window")
    ranking = window_ranking(rows, dashboard.store.score_adjustments(),
                             {int(k): v for k, v in config.ratings.group_weights.items()},
                             config.ratings.manager_share,
                             [w.id for w in config.windows if in_scope(scope, w.department)])
    follow_ups = follow_up_statistics(follow_up_rows(dashboard.store, rows))     # 追评: apart (一次一评)
    return JSONResponse({**rating_statistics(rows), "ranking": ranking, "follow_ups": follow_ups})


@router.post("/api/ranking/adjustments", status_code=201)
def adjust_score(body: ScoreAdjustment, request: Request) -> JSONResponse:
    """A manager moves a window's manager score, with the reason recorded (never silently)."""
    web = web_of(request)
    dashboard = web.dashboard
    if dashboard.config is None or dashboard.config.window(body.window) is None:
        return JSONResponse({"error": {"code": "unknown_window", "message": "没有这个窗口"}}, status_code=404)
    dashboard.store.add_score_adjustment(body.window, body.points, body.reason,
                                         request.state.manager or body.by, dashboard.clock.now())
    return JSONResponse({"ok": True}, status_code=201)


@router.get("/api/rectifications")
def rectification_list(request: Request) -> JSONResponse:
    """差评整改: every rectification with its status and the colour of each step (a lead: their departments')."""
    web = web_of(request)
    query, scope = web.query, departments_of(request)
    if query is None:
        return unavailable()
    return JSONResponse({"rectifications": query(lambda processor: processor.rectification_list(scope))})


@router.post("/api/rectifications/{rid}/follow-up", status_code=201)
def rectification_follow_up(rid: int, body: FollowUpRequest, request: Request) -> JSONResponse:
    """追评 from a 回访 call: the level the citizen gave once the 差评 was rectified, entered by the
    manager logged in (channel 5); once per rating, only after 整改 (the command path checks)."""
    refused = item_refusal(request, "整改单", lambda processor: processor.rectification_department(rid))
    if refused is not None:
        return refused
    command = {"id": uuid.uuid4().hex, "type": "rating.follow_up", "rectification": rid, **body.model_dump()}
    if request.state.manager:                                    # the one logged in enters it
        command["by"] = request.state.manager
    return answer_command(web_of(request), command, "follow-up", {"not_found": 404, "forbidden": 403,
                                                                  "unknown_reason": 400, "invalid": 400},
                          otherwise=409, created=True)


@router.post("/api/rectifications/{rid}/{action}")
def rectification_act(rid: int, action: str, body: RectificationRequest, request: Request) -> JSONResponse:
    """核实回访 (verify), 整改 (rectify), 申诉 (appeal), 申诉决定 (decide)."""
    if action not in ("verify", "rectify", "appeal", "decide"):
        return JSONResponse({"error": {"code": "invalid", "message": "verify, rectify, appeal or decide"}},
                            status_code=404)
    refused = item_refusal(request, "整改单", lambda processor: processor.rectification_department(rid))
    if refused is not None:
        return refused
    command = {"id": uuid.uuid4().hex, "type": "rectification.act", "rectification": rid, "action": action,
               **body.model_dump()}
    if request.state.manager and action != "appeal":           # the one logged in acts, whatever the body says
        command["by"] = request.state.manager
    elif request.state.manager:                                  # an appeal entered for the staff member
        command["filed_by"] = request.state.manager
    return answer_command(web_of(request), command, "rectification", {"not_found": 404, "forbidden": 403},
                          otherwise=409)
