"""The manager dashboard (大厅管理看板): one page, live through server-sent events.

    GET /               the dashboard page (works without JavaScript; live with it)
    GET /board          the board fragment the page swaps in on each update
    GET /events         server-sent events: `board` with the fragment whenever the hall changes
    GET /api/overview   the same figures as JSON
    GET /healthz        liveness, for systemd and load balancers
    GET /t/{token}      the citizen's phone page for one ticket (the QR code on the ticket), live
    POST /api/appointments   book a 预约 slot (through the one command path)
"""
from __future__ import annotations

import asyncio
import json
import logging
import re
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import uvicorn
from fastapi import FastAPI, Header, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel, ConfigDict, Field

from hallserver.domain.clock import Clock, hall_day
from hallserver.reports.hall import satisfaction_of
from hallserver.store import Store
from hallserver.web.live import LiveView
from hallserver.web.overview import PAUSE_LABELS, category_rows, hall_alerts, mark_acknowledged, window_cards
from hallserver.web.settings_words import settings_reason

log = logging.getLogger("hallserver.web")

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
POLL_S = 0.2            # how often an open event stream looks for a change
KEEPALIVE_S = 15.0      # a comment line this often keeps proxies from closing the stream
SUMMARY_MAX_AGE_S = 1.0

STATUS_LABELS = {"closed": "未开窗", "idle": "空闲", "serving": "办理中", "paused": "暂停服务", "offline": "离线"}


def minutes(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    m = round(seconds / 60)
    return "<1 分钟" if seconds < 60 else f"{m} 分钟"


def clock_time(value: str | None) -> str:
    if not value:
        return ""
    try:
        return datetime.fromisoformat(value).strftime("%H:%M")
    except ValueError:
        return ""


TEMPLATES.env.filters["minutes"] = minutes
TEMPLATES.env.filters["hhmm"] = clock_time


class Dashboard:
    """The figures the page shows: live state from the view, today's totals from the store."""

    def __init__(self, hall_name: str, view: LiveView, store: Store, clock: Clock,
                 category_names: dict[str, str] | None = None) -> None:
        self.hall_name = hall_name
        self.category_names = category_names or {}
        self.ticket_template = None          # hardware.printer.TicketTemplate; None is the default template
        self.config = None                   # the hall's Config (reports)
        self.config_path: str | None = None   # its hall.toml: settings are saved there
        self.settings_saved: tuple[str, datetime] | None = None   # who saved settings last, and when
        self.view, self.store, self.clock = view, store, clock
        self._summary: tuple[float, int, dict[str, Any]] | None = None
        self._categories: tuple[float, int, dict[str, dict]] | None = None
        self._lock = threading.Lock()

    def today(self) -> dict[str, Any]:
        with self._lock:
            now_mono, version = time.monotonic(), self.view.version
            cached = self._summary
            if cached and cached[1] == version and now_mono - cached[0] < SUMMARY_MAX_AGE_S:
                return cached[2]
            s = asdict(self.store.summary(self.clock.now(), hall_day(self.clock)))
            s["satisfaction"] = satisfaction_of(s["ratings_by_level"])     # 好评率, as the reports count it
            s["ratings_by_level"] = {str(k): v for k, v in s["ratings_by_level"].items()}
            self._summary = (now_mono, version, s)
            return s

    def overview(self) -> dict[str, Any]:
        """The live hall: figures, categories against the wait target, window cards, alerts."""
        snap = self.view.snapshot()
        now = self.clock.now()
        target_s = (self.config.rules.wait_target_minutes if self.config is not None else 20.0) * 60
        rows = category_rows(snap["queue"], self.categories_today(), target_s)
        alerts = hall_alerts(snap, rows, self.config, now, self.category_names)
        day_start = datetime.combine(hall_day(self.clock), datetime.min.time(), self.clock.tz)
        mark_acknowledged(alerts, self.store.alert_acks(day_start), self.clock.tz)
        return {"hall": self.hall_name, "at": now.isoformat(), **snap, "today": self.today(),
                "wait_target_s": target_s, "categories": rows,
                "window_cards": window_cards(snap["windows"], self.config, snap["devices_offline"],
                                             snap["posts_away"], now),
                "alerts": [a.view() for a in alerts]}

    def categories_today(self) -> dict[str, dict]:
        with self._lock:
            now_mono, version = time.monotonic(), self.view.version
            cached = self._categories
            if cached and cached[1] == version and now_mono - cached[0] < SUMMARY_MAX_AGE_S:
                return cached[2]
            figures = self.store.category_today(self.clock.now(), hall_day(self.clock))
            self._categories = (now_mono, version, figures)
            return figures


def builtin_calendar_years() -> tuple[int, int]:
    """The years the chinese-calendar package knows (the State Council's notices it carries)."""
    import chinese_calendar
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


DEVICE_ROLE_LABELS = {"kiosk": "取号机", "counter": "窗口终端", "tablet": "评价器", "led-bridge": "窗口屏网关",
                      "screen": "综合屏", "keypad-bridge": "呼叫器网关", "attendance-terminal": "考勤机"}
ROLE_LABELS = {"manager": "大厅管理员", "lead": "部门负责人", "auditor": "审计（只读）"}
RULE_LABELS = {
    "wait_target_minutes": ("平均等候目标", "分钟", "看板和报表按此目标标红"),
    "long_wait_minutes": ("超长等候告警", "分钟", "有人等候超过此时长即告警"),
    "max_recalls": ("重呼次数上限", "次", ""),
    "default_service_minutes": ("默认办理时长", "分钟", "业务尚无历史数据时用于预计等候"),
    "starvation_minutes": ("防插队时限", "分钟", "比某号晚取号超过此时长的优先号不再插到其前面"),
    "requeue_after": ("过号重排", "位之后", "过号群众返回后排在同类业务的第几位之后"),
    "requeue_within_minutes": ("过号重排有效期", "分钟", ""),
    "green_age": ("绿色通道年龄", "岁及以上", "刷身份证自动进入绿色通道"),
}


class AlertAck(BaseModel):
    """POST /api/alerts/ack: the alert's key and the moment it began, as the board shows them."""
    model_config = ConfigDict(extra="forbid")
    key: str = Field(min_length=1, max_length=120)
    since: str = Field(max_length=40)


class AppointmentRequest(BaseModel):
    """POST /api/appointments: book a 预约 slot."""
    model_config = ConfigDict(extra="forbid")
    category: str = Field(max_length=64)
    slot_start: datetime = Field(description="with UTC offset, e.g. 2026-11-24T09:30:00+08:00")
    name: str = Field(default="", max_length=20)
    phone: str = Field(default="", max_length=11)


RATING_LEVELS = [(5, "非常满意"), (4, "满意"), (3, "基本满意"), (2, "不满意"), (1, "非常不满意")]
RATING_REASONS = ["态度", "效率", "一次性告知", "材料要求", "环境", "其他"]
class OnlineApplication(BaseModel):
    """POST /api/cases: an online application (网上申报)."""
    model_config = ConfigDict(extra="forbid")
    matter: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    received: dict[str, int] = Field(default_factory=dict, max_length=50)


def report_csv(report: dict) -> str:
    """The report as CSV for a spreadsheet (UTF-8 with BOM so that Excel reads the Chinese)."""
    import csv
    import io
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["分组", "名称", "受理", "办结", "按期办结", "按期办结率(%)", "在办超期"])
    for group, label in (("by_department", "部门"), ("by_matter", "事项"), ("by_staff", "受理人")):
        for name, t in report[group].items():
            w.writerow([label, name, t["accepted"], t["finished"], t["finished_on_time"],
                        "" if t["on_time_rate"] is None else t["on_time_rate"], t["open_overdue"]])
    w.writerow([])
    w.writerow(["超期办件", "事项", "部门", "受理人", "承诺办结", "办结时间", "超期工作日"])
    for x in report["overdue"]:
        w.writerow([x["case"], x["matter"], x["department"], x["handler"], x["due"], x["finished"] or "",
                    x["working_days_late"]])
    return "\ufeff" + out.getvalue()


class ScoreAdjustment(BaseModel):
    model_config = ConfigDict(extra="forbid")
    window: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    points: int = Field(ge=-50, le=50)
    reason: str = Field(min_length=2, max_length=200)
    by: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class RectificationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    by: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
    note: str = Field(min_length=1, max_length=500)
    reached: bool = False
    upheld: bool = False


class ExtensionApproval(BaseModel):
    model_config = ConfigDict(extra="forbid")
    manager: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


WINDOW_QR_MINUTES = 15      # the window's static QR rates a service completed there this recently
def web_command_id(kind: str, key: str | None, body: dict) -> str:
    """The command id of an HTTP request: with an Idempotency-Key, the same key *and* the same
    request give the same id (a retry), while anyone else's key with another request or on
    another endpoint gives a different one — nobody reads another person's reply by its key."""
    import hashlib
    if key is None:
        return uuid.uuid4().hex
    digest = hashlib.sha256(json.dumps([kind, key, body], sort_keys=True, ensure_ascii=False).encode()).hexdigest()
    return f"k-{digest[:40]}"


ERROR_STATUS = {"slot_full": 409, "forbidden": 403, "unavailable": 503, "internal": 500}
IDEMPOTENCY_KEY = re.compile(r"^[A-Za-z0-9_.:-]{1,64}$")
TOKEN = re.compile(r"^[A-Za-z0-9_-]{16}$")


def create_app(dashboard: Dashboard, submit: Callable[..., dict] | None = None,  # noqa: C901 - the routes
               query: Callable[[Callable], Any] | None = None,
               apply_config: Callable[[Any], dict | None] | None = None) -> FastAPI:
    """`submit` runs a command through the hall server's one writer and returns the reply;
    `query` runs a read of the processor on that thread (the phone page's outlook);
    `apply_config` gives the running hall the settings just saved (without it: at the next restart)."""
    app = FastAPI(title="govhall", docs_url=None, redoc_url=None)
    from hallserver.web.auth import COOKIE, HEADERS, Sessions, is_public, role_refusal
    sessions = Sessions(store=dashboard.store)    # kept in the database: a restart logs nobody out
    from hallserver.web.auth import RateLimit
    limiter = RateLimit(per_minute=120)           # the public pages, per client address
    from hallserver.domain.login_guard import LoginGuard
    login_guard = LoginGuard()                    # five wrong passwords lock the account for five minutes
    managers = {m.id: m for m in (dashboard.config.managers if dashboard.config is not None else [])}
    if not managers:
        log.warning("no [[managers]] in the config: the dashboard and its HTTP API are open to anyone on the network")

    @app.middleware("http")
    async def guard(request: Request, call_next):   # noqa: ANN202 - FastAPI's middleware signature
        """A manager's session for everything but the citizens' pages; the CSRF token on every
        state-changing request; security headers on every response."""
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

    @app.get("/login", response_class=HTMLResponse)
    def login_page(request: Request) -> HTMLResponse:
        return TEMPLATES.TemplateResponse(request, "login.html", {"hall": dashboard.hall_name, "message": ""})

    @app.post("/login")
    async def login(request: Request) -> Response:
        from urllib.parse import parse_qs

        from hallserver.passwords import password_matches
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

    @app.post("/logout")
    def logout(request: Request) -> Response:
        session = sessions.get(request.cookies.get(COOKIE))     # /logout is public: look the session up here
        if session is not None:
            dashboard.store.audit(dashboard.clock.now(), session.manager, "manager.logout", "ok")
        sessions.close(request.cookies.get(COOKIE))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(COOKIE)
        return response

    @app.post("/api/appointments", status_code=201)
    def book(body: AppointmentRequest,
             idempotency_key: str | None = Header(default=None, alias="Idempotency-Key")) -> JSONResponse:
        if submit is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "预约暂不可用"}}, status_code=503)
        if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
            return JSONResponse({"error": {"code": "invalid", "message": "Idempotency-Key: 1-64 of A-Za-z0-9_.:-"}},
                                status_code=400)
        command = {"id": web_command_id("appointment.book", idempotency_key, body.model_dump(mode="json")),
                   "type": "appointment.book", **body.model_dump(mode="json")}
        try:
            reply = submit(json.dumps(command, ensure_ascii=False).encode("utf-8"))
        except Exception:                       # the writer is stuck or gone: say so, do not hang
            log.exception("booking failed")
            return JSONResponse({"error": {"code": "unavailable", "message": "系统繁忙，请稍后再试"}}, status_code=503)
        if reply["ok"]:
            return JSONResponse(reply["result"], status_code=201)
        return JSONResponse({"error": reply["error"]}, status_code=ERROR_STATUS.get(reply["error"]["code"], 400))

    def role_of(request: Request) -> str:
        """The logged-in manager's role; a hall without managers runs open (as a manager)."""
        who = request.state.manager
        return managers[who].role if who in managers else ("manager" if not managers else "auditor")

    def render(request: Request, template: str) -> HTMLResponse:
        role = role_of(request)
        return TEMPLATES.TemplateResponse(request, template, {
            "o": dashboard.overview(), "status_labels": STATUS_LABELS, "pause_labels": PAUSE_LABELS,
            "manager": managers[request.state.manager].name if request.state.manager in managers else None,
            "role_label": ROLE_LABELS[role], "can_act": role != "auditor"})

    @app.post("/api/alerts/ack")
    async def acknowledge(request: Request, body: AlertAck) -> JSONResponse:
        """告警确认: the manager has seen it; recorded with who and when, and audited."""
        keys = {(a["key"], a["since"]) for a in (await asyncio.to_thread(dashboard.overview))["alerts"]}
        if (body.key, body.since) not in keys:
            return JSONResponse({"error": {"code": "not_found", "message": "该告警已解除或不存在"}}, status_code=404)
        who = request.state.manager or "anonymous"
        await asyncio.to_thread(dashboard.store.ack_alert, body.key, body.since, who, dashboard.clock.now())
        dashboard.view.touch()                      # every open board shows it at once
        return JSONResponse({"ok": True, "key": body.key, "by": who})

    @app.get("/settings", response_class=HTMLResponse)
    def settings_page(request: Request) -> HTMLResponse:
        """系统设置: the sections the dashboard may change, as forms (saved into hall.toml)."""
        from govhall.config import ConfigError
        from govhall.config_file import load_config
        role = role_of(request)
        shown, problem = dashboard.config, None
        if dashboard.config_path is not None:       # the file as it is now, saved changes included
            try:
                shown = load_config(dashboard.config_path)
            except ConfigError as exc:
                problem = str(exc)
        from hallserver.attendance_desk import shifts_of
        from hallserver.settings_file import calendar_years, matters_in_file, posts_in_file
        in_file = posts_in_file(dashboard.config_path) if dashboard.config_path is not None else set()
        matters_here = matters_in_file(dashboard.config_path) if dashboard.config_path is not None else set()
        years = calendar_years(dashboard.config_path) if dashboard.config_path is not None else []
        builtin = builtin_calendar_years()
        next_year = dashboard.clock.now().year + 1
        return TEMPLATES.TemplateResponse(request, "settings.html", {
            "hall": dashboard.hall_name, "c": shown, "problem": problem, "path": dashboard.config_path,
            "can_edit": role == "manager" and dashboard.config_path is not None and dashboard.config is not None,
            "saved": dashboard.settings_saved, "role_label": ROLE_LABELS[role], "rule_labels": RULE_LABELS,
            "shift_names": [x.name for x in shifts_of(shown)] if shown is not None else [],
            "posts_in_file": in_file, "weekday_names": "一二三四五六日", "device_roles": DEVICE_ROLE_LABELS,
            "calendar_years": years, "builtin_years": builtin, "next_year": next_year, "matters_in_file": matters_here,
            "next_year_missing": next_year > builtin[1] and next_year not in {y["year"] for y in years}})

    settings_lock = asyncio.Lock()                # one save-and-apply at a time: applied in the order saved

    async def save_and_apply(request: Request, section: str, payload: Any, may_add: bool = True) -> JSONResponse:
        async with settings_lock:
            return await _save_and_apply(request, section, payload, may_add)

    async def _save_and_apply(request: Request, section: str, payload: Any, may_add: bool) -> JSONResponse:
        """Save one section into hall.toml (or the calendar or catalogue file beside it) after
        the same checks as at start, audited, then give the running hall the new files."""
        from hallserver.settings_file import SettingsError, save_calendar, save_catalogue, save_settings
        who, now = request.state.manager or "anonymous", dashboard.clock.now()
        path = dashboard.config_path
        try:
            if section == "calendar":             # 节假日安排: the hall's calendar file
                changes = await asyncio.to_thread(save_calendar, path, payload, now)
            elif section == "catalogue":          # 事项目录: the uploaded spreadsheet (bytes)
                changes = await asyncio.to_thread(save_catalogue, path, payload, now)
            else:
                changes = await asyncio.to_thread(save_settings, path, section, payload, now, may_add)
        except SettingsError as exc:
            await asyncio.to_thread(dashboard.store.audit, now, who, "settings.save", "refused", f"{section}: {exc}")
            return JSONResponse({"error": {"code": "invalid", "message": "设置未保存：不符合规则",
                                           "detail": settings_reason(str(exc))}}, status_code=400)
        if not changes:
            return JSONResponse({"ok": True, "changes": [], "applied": False, "restart_needed": False})
        await asyncio.to_thread(dashboard.store.audit, now, who, "settings.save", "ok", "; ".join(changes))
        dashboard.settings_saved = (who, now)
        applied, extra = await apply_saved()
        return JSONResponse({"ok": True, "changes": changes, "applied": applied, "restart_needed": not applied,
                             **extra})

    async def apply_saved() -> tuple[bool, dict]:
        """Give the running hall the file just saved: (applied, what happened to the broker's files)."""
        from govhall.config import ConfigError
        from govhall.config_file import load_config
        if apply_config is None:
            return False, {}
        try:
            config = await asyncio.to_thread(load_config, dashboard.config_path)
            outcome = await asyncio.to_thread(apply_config, config)
        except ConfigError:
            log.exception("settings saved but the file no longer loads; fix it before the next restart")
            return False, {}
        except Exception:                          # noqa: BLE001 - whatever it was, the save stands
            log.exception("settings saved but not applied; they apply at the next restart")
            return False, {}
        dashboard.settings_saved = None
        return True, (outcome or {})

    @app.post("/api/settings/devices/{device_id}/password")
    async def device_password(request: Request, device_id: str) -> JSONResponse:
        """生成密码: a new random password for one device, saved into hall.toml and shown once to
        enter on the device; audited (never the password itself); the broker's files rewritten."""
        from hallserver.settings_file import SettingsError, new_device_password
        refused = settings_refusal("devices", ("devices",))
        if refused is not None:
            return refused
        who, now = request.state.manager or "anonymous", dashboard.clock.now()
        async with settings_lock:
            try:
                password = await asyncio.to_thread(new_device_password, dashboard.config_path, device_id[:64], now)
            except SettingsError as exc:
                unknown = str(exc).startswith("devices: no ")
                if not unknown:
                    await asyncio.to_thread(dashboard.store.audit, now, who, "settings.device_password", "refused",
                                            f"{device_id[:64]}: {exc}")
                return JSONResponse({"error": {"code": "not_found" if unknown else "invalid",
                                               "message": "没有这台设备" if unknown else "密码未生成",
                                               "detail": settings_reason(str(exc))}},
                                    status_code=404 if unknown else 400)
            await asyncio.to_thread(dashboard.store.audit, now, who, "settings.device_password", "ok", device_id[:64])
            dashboard.settings_saved = (who, now)
            applied, extra = await apply_saved()
        return JSONResponse({"ok": True, "device": device_id, "password": password, "applied": applied, **extra},
                            headers={"Cache-Control": "no-store"})

    def settings_refusal(section: str, sections: tuple) -> JSONResponse | None:
        if section not in sections:
            return JSONResponse({"error": {"code": "not_found", "message": "没有这一项设置"}}, status_code=404)
        if dashboard.config_path is None:
            return JSONResponse({"error": {"code": "unavailable",
                                           "message": "服务器不是从配置文件启动的，不能在此修改"}}, status_code=409)
        return None

    @app.post("/api/settings/{section}")
    async def save_settings_api(request: Request, section: str) -> JSONResponse:
        """Save one section into hall.toml after the same checks as at start; audited; applied at once."""
        from hallserver.settings_file import SECTIONS
        refused = settings_refusal(section, (*SECTIONS, "calendar", "catalogue"))
        if refused is not None:
            return refused
        if section == "catalogue":                # the spreadsheet itself: CSV or .xlsx, up to 5 MB
            body = await request.body()
            if len(body) > 5_000_000:
                return JSONResponse({"error": {"code": "too_large", "message": "文件太大（最多 5 MB）"}},
                                    status_code=413)
            return await save_and_apply(request, section, body)
        try:
            payload = await request.json()
        except ValueError:
            return JSONResponse({"error": {"code": "invalid", "message": "请求内容不是 JSON"}}, status_code=400)
        return await save_and_apply(request, section, payload)

    @app.post("/api/settings/{section}/import")
    async def import_settings_csv(request: Request, section: str) -> JSONResponse:
        """导入: posts (id,name,a,b,categories,front_desk) or schedules (staff,shifts) from a CSV
        in the request body (UTF-8, a BOM allowed); each row adds or changes one entry."""
        from hallserver.settings_file import IMPORTS, SettingsError
        refused = settings_refusal(section, tuple(IMPORTS))
        if refused is not None:
            return refused
        body = await request.body()
        if len(body) > 1_000_000:
            return JSONResponse({"error": {"code": "too_large", "message": "文件太大（最多 1 MB）"}}, status_code=413)
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            try:
                text = body.decode("gb18030")              # Excel's “CSV” on a Chinese Windows is GBK
            except UnicodeDecodeError:
                return JSONResponse({"error": {"code": "invalid", "message": "文件不是 CSV 文本",
                                               "detail": "请在 Excel 中另存为“CSV UTF-8”"}}, status_code=400)
        try:
            payload = IMPORTS[section](text)
        except SettingsError as exc:
            return JSONResponse({"error": {"code": "invalid", "message": "设置未保存：不符合规则",
                                           "detail": settings_reason(str(exc))}}, status_code=400)
        return await save_and_apply(request, section, payload, may_add=section != "staff")

    @app.get("/wall", response_class=HTMLResponse)
    def wall(request: Request) -> HTMLResponse:
        """大屏: the live hall for the wall of the manager's office (no controls, large type)."""
        return render(request, "wall.html")

    @app.get("/", response_class=HTMLResponse)
    def page(request: Request) -> HTMLResponse:
        return render(request, "dashboard.html")

    @app.get("/board", response_class=HTMLResponse)
    def board(request: Request) -> HTMLResponse:
        return render(request, "board.html")

    @app.get("/api/overview")
    def overview() -> JSONResponse:
        return JSONResponse(dashboard.overview())

    def ticket_context(token: str) -> dict[str, Any] | None:
        if not TOKEN.match(token):
            return None
        found = dashboard.store.ticket_by_token(token)
        if found is None:
            return None
        t, ahead = found
        days_ago = (hall_day(dashboard.clock) - t.day).days
        valid = dashboard.config.ratings.phone_valid_days if dashboard.config is not None else 0
        if days_ago > 0 and not (t.status == "completed" and days_ago <= valid):
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
        rated = dashboard.store.rating_of(t.id) if t.status == "completed" else None
        return {"expired": False, "hall": dashboard.hall_name, "t": t, "ahead": ahead, "wait_s": wait,
                "rated": rated, "levels": RATING_LEVELS, "reasons": RATING_REASONS, "token": token,
                "category_name": dashboard.category_names.get(t.category, t.category),
                "window_number": window["number"] if window else None,
                "window_name": window["name"] if window else t.window,
                "at": dashboard.clock.now().isoformat()}

    def ticket_page(request: Request, token: str, template: str) -> HTMLResponse:
        context = ticket_context(token)
        if context is None:
            return TEMPLATES.TemplateResponse(request, "ticket_missing.html", {"hall": dashboard.hall_name},
                                              status_code=404)
        return TEMPLATES.TemplateResponse(request, template, context)

    @app.get("/t/{token}", response_class=HTMLResponse)
    def phone_page(request: Request, token: str) -> HTMLResponse:
        return ticket_page(request, token, "ticket.html")

    @app.post("/t/{token}/rating", response_class=HTMLResponse)
    async def rate_from_phone(request: Request, token: str) -> HTMLResponse:
        """好差评 from the phone page (a plain form: works without JavaScript)."""
        from urllib.parse import parse_qs
        body = await request.body()
        form = parse_qs(body.decode("utf-8", "replace")[:4000], keep_blank_values=True)
        try:
            level = int(form.get("level", [""])[0])
        except ValueError:
            level = 0
        reasons = [r for r in form.get("reason", []) if r in RATING_REASONS]
        comment = form.get("comment", [""])[0][:500]
        if not TOKEN.match(token):
            return TEMPLATES.TemplateResponse(request, "ticket_missing.html", {"hall": dashboard.hall_name},
                                              status_code=404)
        if not 1 <= level <= 5 or submit is None:
            return HTMLResponse("请选择一个评价等级后再提交", status_code=400)
        command = {"id": uuid.uuid4().hex, "type": "rating.submit_by_token", "token": token, "level": level,
                   "reasons": reasons, "comment": comment}
        try:
            reply = await asyncio.to_thread(submit, json.dumps(command, ensure_ascii=False).encode("utf-8"))
        except Exception:
            log.exception("phone rating failed")
            return HTMLResponse("系统繁忙，请稍后再试", status_code=503)
        if not reply["ok"] and reply["error"]["code"] not in ("already_rated",):
            status = 404 if reply["error"]["code"] == "ticket_not_found" else 409
            return HTMLResponse(reply["error"]["message"], status_code=status)
        return RedirectResponse(f"/t/{token}", status_code=303)

    @app.get("/c/{token}", response_class=HTMLResponse)
    def case_page(request: Request, token: str) -> HTMLResponse:
        """The citizen's view of a case (the 收件回执's QR): steps, promised date, what is missing."""
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

    @app.post("/api/cases", status_code=201)
    def apply_online(body: OnlineApplication,
                     idempotency_key: str | None = Header(default=None, alias="Idempotency-Key")) -> JSONResponse:
        """网上申报: an online application becomes a case with its deadline (through the one command path)."""
        if submit is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
        if idempotency_key is not None and not IDEMPOTENCY_KEY.match(idempotency_key):
            return JSONResponse({"error": {"code": "invalid", "message": "Idempotency-Key: 1-64 of A-Za-z0-9_.:-"}},
                                status_code=400)
        command = {"id": web_command_id("case.apply_online", idempotency_key, body.model_dump(mode="json")),
                   "type": "case.apply_online", **body.model_dump(mode="json")}
        try:
            reply = submit(json.dumps(command, ensure_ascii=False).encode("utf-8"))
        except Exception:
            log.exception("online application failed")
            return JSONResponse({"error": {"code": "unavailable", "message": "系统繁忙，请稍后再试"}}, status_code=503)
        if reply["ok"]:
            return JSONResponse(reply["result"], status_code=201)
        return JSONResponse({"error": reply["error"]}, status_code=404 if reply["error"]["code"] == "unknown_matter"
                            else 400)

    def report_period(request: Request) -> tuple[str, Any] | JSONResponse:
        """?period=day|week|month&date=YYYY-MM-DD (default: today's day), or the 400 that says why not."""
        from datetime import date as _date

        from hallserver.reports.hall import PERIODS
        kind = request.query_params.get("period", "day")
        try:
            day = _date.fromisoformat(request.query_params.get("date") or hall_day(dashboard.clock).isoformat())
        except ValueError:
            day = None
        if kind not in PERIODS or day is None or not 2000 <= day.year <= 2100:
            return JSONResponse({"error": {"code": "invalid", "message": "period: day|week|month; date: YYYY-MM-DD"}},
                                status_code=400)
        return kind, day

    def hall_report_of(request: Request) -> dict[str, Any] | JSONResponse:
        """The operating report for ?period=day|week|month&date=YYYY-MM-DD (default: today)."""
        from hallserver.reports.hall import period_bounds, report_from_tallies
        from hallserver.reports.queries import period_tallies, settled_before
        chosen = report_period(request)
        if isinstance(chosen, JSONResponse):
            return chosen
        kind, day = chosen
        first, last, _ = period_bounds(kind, day)
        config = dashboard.config
        staff_names = {x.id: x.name for x in config.staff} if config is not None else {}
        target = config.rules.wait_target_minutes if config is not None else 20.0
        valid = config.ratings.phone_valid_days if config is not None else 7
        tallies = period_tallies(dashboard.store.engine, first, last, dashboard.clock.tz,
                                 settled_before(hall_day(dashboard.clock), valid), dashboard.clock.now())
        return report_from_tallies(kind, day, tallies, dashboard.category_names, staff_names, target)

    @app.get("/api/reports/hall")
    def hall_report_api(request: Request, period: str = Query("day", description="day | week | month"),
                        date: str | None = Query(None, description="YYYY-MM-DD (default: today)"),
                        format: str = Query("json", description="json | csv | xlsx")) -> Response:
        """运行报表 as JSON, or ?format=csv / xlsx for Excel."""
        from hallserver.reports.hall import report_csv as hall_csv
        from hallserver.reports.hall import report_xlsx
        report = hall_report_of(request)
        if isinstance(report, JSONResponse):
            return report
        name = f"hall-{report['period']}-{report['from']}"
        match request.query_params.get("format", "json"):
            case "csv":
                return Response(hall_csv(report), media_type="text/csv; charset=utf-8",
                                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
            case "xlsx":
                return Response(report_xlsx(report), headers={"Content-Disposition":
                                                              f'attachment; filename="{name}.xlsx"'},
                                media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            case "json":
                return JSONResponse(report)
        return JSONResponse({"error": {"code": "invalid", "message": "format: json, csv or xlsx"}}, status_code=400)

    @app.get("/reports", response_class=HTMLResponse)
    def reports_page(request: Request, period: str = Query("day", description="day | week | month"),
                     date: str | None = Query(None, description="YYYY-MM-DD (default: today)")) -> Response:
        """报表: the operating report with its charts, the other reports and the exports."""
        from hallserver.reports.hall import PERIODS, report_charts
        report = hall_report_of(request)
        if isinstance(report, JSONResponse):
            return report
        query_string = f"period={report['period']}&date={request.query_params.get('date') or report['from']}"
        return TEMPLATES.TemplateResponse(request, "reports.html", {
            "hall": dashboard.hall_name, "r": report, "charts": report_charts(report), "periods": PERIODS,
            "date": request.query_params.get("date") or hall_day(dashboard.clock).isoformat(),
            "query": query_string, "manager": request.state.manager})

    @app.get("/reports/people", response_class=HTMLResponse)
    def reports_people(request: Request, period: str = Query("day", description="day | week | month"),
                       date: str | None = Query(None, description="YYYY-MM-DD (default: today)"),
                       format: str = Query("html", description="html | json | csv | xlsx")) -> Response:
        """The report's people part for the same ?period=&date=: 按期办结率 per department, 考勤
        per person, AB岗 coverage per post, charts and tables (the report page loads it after it
        shows; ?format=json for the figures). Computed here, off the writer thread."""

        from hallserver.reports.hall import period_bounds
        from hallserver.reports.people import (
            attendance_rows,
            category_coverage_rows,
            coverage_rows,
            department_rows,
            people_charts,
        )
        params = request.query_params
        chosen = report_period(request)
        if isinstance(chosen, JSONResponse):
            return chosen
        kind, day = chosen
        if query is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
        first, last, label = period_bounds(kind, day)
        processor = query(lambda p: p)
        desk = processor.attendance
        minutes = {**dashboard.store.load_coverage_minutes(first), **dict(desk.watch.minutes)}   # memory is newer
        by_category = {**dashboard.store.load_category_minutes(first), **dict(desk.watch.category_minutes)}
        figures = {
            "period": kind, "from": first.isoformat(), "to": last.isoformat(), "label": label,
            "departments": department_rows(processor.case_report(first, last)),
            "attendance": attendance_rows(desk.period(first, last, processor.clock.tz, hall_day(dashboard.clock))),
            "coverage": coverage_rows(minutes, list(desk.posts), first, last),
            "category_coverage": category_coverage_rows(by_category, dashboard.category_names, first, last)}
        name = f"people-{kind}-{first}"
        match params.get("format", "html"):
            case "json":
                return JSONResponse(figures)
            case "csv":
                from hallserver.reports.hall import tables_csv
                from hallserver.reports.people import people_tables
                return Response(tables_csv(people_tables(figures)), media_type="text/csv; charset=utf-8",
                                headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
            case "xlsx":
                from hallserver.reports.hall import tables_xlsx
                from hallserver.reports.people import people_tables
                return Response(tables_xlsx(people_tables(figures)), headers={
                    "Content-Disposition": f'attachment; filename="{name}.xlsx"'},
                    media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
            case "html":
                pass
            case _:
                return JSONResponse({"error": {"code": "invalid", "message": "format: html, json, csv or xlsx"}},
                                    status_code=400)
        return TEMPLATES.TemplateResponse(request, "reports_people.html", {
            "p": figures, "charts": people_charts(figures["departments"], figures["attendance"], figures["coverage"]),
            "month": f"{first:%Y-%m}", "query": f"period={kind}&date={day.isoformat()}"})

    @app.get("/api/reports/cases")
    def cases_report(request: Request, start: str | None = Query(None, alias="from", description="YYYY-MM-DD"),
                     end: str | None = Query(None, alias="to", description="YYYY-MM-DD"),
                     format: str = Query("json", description="json | csv")) -> Response:
        """按期办结率 per department, matter, staff; the overdue list; days per step. ?from=&to=&format=csv"""
        from datetime import date as _date
        params = request.query_params
        try:
            today = dashboard.clock.now().date()
            start = _date.fromisoformat(params.get("from", today.replace(day=1).isoformat()))
            end = _date.fromisoformat(params.get("to", today.isoformat()))
        except ValueError:
            return JSONResponse({"error": {"code": "invalid", "message": "from/to: YYYY-MM-DD"}}, status_code=400)
        if query is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
        if (end - start).days > 400:
            return JSONResponse({"error": {"code": "invalid", "message": "at most 400 days at a time"}},
                                status_code=400)
        # the report only reads the store and the hall's fixed calendar and rules: it is computed
        # here, on the web's thread, so that the writer goes on serving the hall meanwhile
        processor = query(lambda p: p)
        report = processor.case_report(start, end)
        if params.get("format") == "csv":
            return Response(report_csv(report), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="cases-{start}-{end}.csv"'})
        return JSONResponse(report)

    @app.get("/api/cases/digest")
    def cases_digest() -> JSONResponse:
        """每日通报: per department, today's accepted and finished cases and the open ones by colour."""
        if query is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
        return JSONResponse(query(lambda processor: processor.case_report(None, None, digest=True)))

    @app.get("/api/reports/ratings")
    def ratings_report() -> JSONResponse:
        """好差评 statistics per window, staff, department, matter and channel, and the window ranking."""
        if dashboard.config is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
        from hallserver.reports.rating_export import rating_rows
        from hallserver.reports.ratings import rating_statistics, window_ranking
        config = dashboard.config
        rows = rating_rows(dashboard.store, config)
        ranking = window_ranking(rows, dashboard.store.score_adjustments(),
                                 {int(k): v for k, v in config.ratings.group_weights.items()},
                                 config.ratings.manager_share, [w.id for w in config.windows])
        return JSONResponse({**rating_statistics(rows), "ranking": ranking})

    @app.post("/api/ranking/adjustments", status_code=201)
    def adjust_score(body: ScoreAdjustment, request: Request) -> JSONResponse:
        """A manager moves a window's manager score, with the reason recorded (never silently)."""
        if dashboard.config is None or dashboard.config.window(body.window) is None:
            return JSONResponse({"error": {"code": "unknown_window", "message": "没有这个窗口"}}, status_code=404)
        dashboard.store.add_score_adjustment(body.window, body.points, body.reason,
                                             request.state.manager or body.by, dashboard.clock.now())
        return JSONResponse({"ok": True}, status_code=201)

    @app.get("/api/attendance/day")
    def attendance_day(request: Request,
                       date: str | None = Query(None, description="YYYY-MM-DD (default: today)")) -> JSONResponse:
        """考勤 of one day per staff member: late, early, absent, 离岗, leave, shift by shift. ?date=YYYY-MM-DD"""
        from datetime import date as _date
        try:
            day = _date.fromisoformat(request.query_params.get("date", dashboard.clock.now().date().isoformat()))
        except ValueError:
            return JSONResponse({"error": {"code": "invalid", "message": "date: YYYY-MM-DD"}}, status_code=400)
        if query is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
        return JSONResponse({"day": day.isoformat(), "staff": query(
            lambda processor: processor.attendance.day(day, processor.clock.tz))})

    @app.get("/api/attendance/month")
    def attendance_month(request: Request, month: str | None = Query(None, description="YYYY-MM"),
                         format: str = Query("json", description="json | csv | xlsx"),
                         department: str | None = Query(None, description="one department's sheet")) -> Response:
        """The monthly attendance sheet (考勤表), ?month=2025-11&format=csv|xlsx for the sheet to
        sign (per department: a section of the CSV, a sheet of the workbook); ?department= for one."""
        from hallserver.attendance_desk import month_csv, month_xlsx
        try:
            year, month = (int(x) for x in request.query_params.get(
                "month", dashboard.clock.now().strftime("%Y-%m")).split("-"))
        except ValueError:
            year = month = 0
        if not (2000 <= year <= 2100 and 1 <= month <= 12):
            return JSONResponse({"error": {"code": "invalid", "message": "month: YYYY-MM"}}, status_code=400)
        if query is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
        rows = query(lambda processor: processor.attendance.month(year, month, processor.clock.tz,
                                                                  processor.clock.now().date()))
        department = request.query_params.get("department")
        if department is not None:
            rows = [r for r in rows if r["department"] == department]
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

    @app.get("/api/attendance/coverage")
    def coverage_report() -> JSONResponse:
        """AB岗 coverage per day and post: minutes covered by A, by B and uncovered (kept in the
        database, the last two months), and the front-desk alerts of the last month with their durations."""
        if query is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
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
        return JSONResponse({"posts": [{"day": k.split("|")[0], "post": k.split("|")[1], **v}
                                       for k, v in sorted(minutes.items())],
                             "categories": [{"day": k.split("|")[0], "category": k.split("|")[1], **v}
                                            for k, v in sorted(by_category.items())],
                             "front_desk_alerts": alerts})

    @app.post("/api/attendance/clock", status_code=201)
    async def attendance_clock_http(request: Request) -> JSONResponse:
        """打卡 from an attendance terminal (指纹/人脸/刷卡) over HTTP: the body is the wire
        contract's `attendance.clock` command (`id`, `staff`, `kind`, `method`), the terminal
        signs in with HTTP Basic — its device id and its own password from the registry. The
        server stamps the time; a repeated command id gets the first reply (terminals resend)."""
        import base64
        import hmac
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
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
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

    @app.post("/api/attendance/corrections", status_code=201)
    def attendance_correction(body: dict, request: Request) -> JSONResponse:
        """补卡: a missing clock event added by a manager, with the reason (never an edit)."""
        fields = _body(body)
        if request.state.manager:
            fields["by"] = request.state.manager
        return _web_command({**fields, "type": "attendance.correct"}, "attendance")

    @app.post("/api/leaves", status_code=201)
    def leave_request(body: dict) -> JSONResponse:
        return _web_command({**_body(body), "type": "leave.act", "action": "request"}, "leave")

    @app.post("/api/leaves/{leave_id}/{action}")
    def leave_decide(leave_id: int, action: str, body: dict, request: Request) -> JSONResponse:
        if action not in ("decide", "end"):
            return JSONResponse({"error": {"code": "invalid", "message": "decide or end"}}, status_code=404)
        fields = _body(body)
        if request.state.manager and action == "decide":
            fields["manager"] = request.state.manager
        return _web_command({**fields, "type": "leave.act", "action": action, "leave": leave_id}, "leave")

    def _body(body: dict) -> dict:
        return {k: v for k, v in body.items() if k not in ("type", "id", "action", "leave")}

    def _web_command(command: dict, what: str) -> JSONResponse:
        command = {k: v for k, v in command.items() if k != "id"}   # the route decides type and action
        if submit is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
        command.setdefault("id", uuid.uuid4().hex)
        try:
            reply = submit(json.dumps(command, ensure_ascii=False).encode("utf-8"))
        except Exception:
            log.exception("%s failed", what)
            return JSONResponse({"error": {"code": "unavailable", "message": "系统繁忙，请稍后再试"}}, status_code=503)
        if reply["ok"]:
            return JSONResponse(reply["result"], status_code=201 if command.get("action") == "request" or
                                command["type"] == "attendance.correct" else 200)
        status = {"not_found": 404, "forbidden": 403, "post_uncovered": 409, "unknown_staff": 404}.get(
            reply["error"]["code"], 400)
        return JSONResponse({"error": reply["error"]}, status_code=status)

    @app.get("/api/rectifications")
    def rectification_list() -> JSONResponse:
        """差评整改: every rectification with its status and the colour of each step."""
        if query is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
        return JSONResponse({"rectifications": query(lambda processor: processor.rectification_list())})

    @app.post("/api/rectifications/{rid}/{action}")
    def rectification_act(rid: int, action: str, body: RectificationRequest, request: Request) -> JSONResponse:
        """核实回访 (verify), 整改 (rectify), 申诉 (appeal), 申诉决定 (decide)."""
        if action not in ("verify", "rectify", "appeal", "decide"):
            return JSONResponse({"error": {"code": "invalid", "message": "verify, rectify, appeal or decide"}},
                                status_code=404)
        if submit is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
        command = {"id": uuid.uuid4().hex, "type": "rectification.act", "rectification": rid, "action": action,
                   **body.model_dump()}
        if request.state.manager and action != "appeal":           # the one logged in acts, whatever the body says
            command["by"] = request.state.manager
        elif request.state.manager:                                  # an appeal entered for the staff member
            command["filed_by"] = request.state.manager
        try:
            reply = submit(json.dumps(command, ensure_ascii=False).encode("utf-8"))
        except Exception:
            log.exception("rectification failed")
            return JSONResponse({"error": {"code": "unavailable", "message": "系统繁忙，请稍后再试"}}, status_code=503)
        if reply["ok"]:
            return JSONResponse(reply["result"])
        status = {"not_found": 404, "forbidden": 403}.get(reply["error"]["code"], 409)
        return JSONResponse({"error": reply["error"]}, status_code=status)

    @app.post("/api/cases/{code}/extension/approve")
    def approve_extension(code: str, body: ExtensionApproval, request: Request) -> JSONResponse:
        """A manager approves a case's waiting extension (延期审批)."""
        if submit is None:
            return JSONResponse({"error": {"code": "unavailable", "message": "暂不可用"}}, status_code=503)
        command = {"id": uuid.uuid4().hex, "type": "case.approve_extension", "case": code,
                   "manager": request.state.manager or body.manager}
        try:
            reply = submit(json.dumps(command, ensure_ascii=False).encode("utf-8"))
        except Exception:
            log.exception("extension approval failed")
            return JSONResponse({"error": {"code": "unavailable", "message": "系统繁忙，请稍后再试"}}, status_code=503)
        if reply["ok"]:
            return JSONResponse(reply["result"])
        status = {"case_not_found": 404, "forbidden": 403}.get(reply["error"]["code"], 400)
        return JSONResponse({"error": reply["error"]}, status_code=status)

    @app.get("/w/{window}/rate", response_class=HTMLResponse)
    def window_qr(request: Request, window: str) -> HTMLResponse:
        """静态评价二维码: the QR posted at a window; the citizen enters their ticket number."""
        if dashboard.config is None or dashboard.config.window(window) is None:
            return TEMPLATES.TemplateResponse(request, "ticket_missing.html", {"hall": dashboard.hall_name},
                                              status_code=404)
        return TEMPLATES.TemplateResponse(request, "window_rate.html", {
            "hall": dashboard.hall_name, "window": dashboard.config.window(window), "message": ""})

    @app.post("/w/{window}/rate", response_class=HTMLResponse)
    async def window_qr_number(request: Request, window: str) -> HTMLResponse:
        """The ticket number leads to that service's rating, if it was completed at this window
        within the last WINDOW_QR_MINUTES and is not rated yet."""
        from urllib.parse import parse_qs
        config = dashboard.config
        if config is None or config.window(window) is None:
            return TEMPLATES.TemplateResponse(request, "ticket_missing.html", {"hall": dashboard.hall_name},
                                              status_code=404)
        form = parse_qs((await request.body()).decode("utf-8", "replace")[:200])
        number = form.get("number", [""])[0].strip().upper()
        token = await asyncio.to_thread(dashboard.store.recent_service_token, number, window,
                                        hall_day(dashboard.clock), dashboard.clock.now(), WINDOW_QR_MINUTES)
        if token is None:
            return TEMPLATES.TemplateResponse(request, "window_rate.html", {
                "hall": dashboard.hall_name, "window": config.window(window),
                "message": "没有找到刚在本窗口办结的这个号，请核对号票上的号码"}, status_code=404)
        return RedirectResponse(f"/t/{token}", status_code=303)

    @app.get("/t/{token}/events")
    async def phone_events(request: Request, token: str) -> StreamingResponse:
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

    @app.get("/api/ticket/preview.png")
    def ticket_preview() -> Response:
        """The hall's ticket template (号票模板) on a sample ticket, as the printer would print it."""
        import io

        from hardware.printer import TicketPrint, compose_ticket, decode, preview_png
        sample = TicketPrint(dashboard.hall_name, "A001", next(iter(dashboard.category_names.values()), "综合业务"),
                             3, 720, dashboard.clock.now(), url="https://example.invalid/t/sample", priority="normal")
        buffer = io.BytesIO()
        preview_png(decode(compose_ticket(sample, dashboard.ticket_template)), buffer)
        return Response(buffer.getvalue(), media_type="image/png", headers={"Cache-Control": "no-store"})

    @app.get("/healthz")
    def healthz() -> dict[str, Any]:
        server = dashboard.view.snapshot()["server"]
        return {"ok": True, "online": bool(server.get("online"))}

    @app.get("/events")
    async def events(request: Request, view: str = "board") -> StreamingResponse:
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

    return app


class WebServer:
    """uvicorn in a background thread of the hall server process."""

    def __init__(self, app: FastAPI, host: str, port: int, tls: tuple[str, str] | None = None) -> None:
        """`tls`: (certificate, key) PEM files to serve HTTPS. Behind a reverse proxy on this
        machine, uvicorn trusts its X-Forwarded-Proto (forwarded_allow_ips 127.0.0.1): cookies are
        Secure and HSTS is sent when the citizen's or manager's side is HTTPS."""
        self.host, self.port, self.tls = host, port, tls
        ssl = {"ssl_certfile": tls[0], "ssl_keyfile": tls[1]} if tls else {}
        self._server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning",
                                                     access_log=False, lifespan="off", **ssl))
        self._thread = threading.Thread(target=self._server.run, name="web", daemon=True)

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.host in ("0.0.0.0", "") else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}/"

    def start(self, timeout: float = 10.0) -> WebServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the dashboard could not listen on {self.host}:{self.port}")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=5)
