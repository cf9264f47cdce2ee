"""系统设置: the settings page, and the sections it saves into hall.toml (and the calendar and catalogue
files beside it), checked as at start, audited, applied to the running hall."""
from __future__ import annotations

import asyncio
import logging
from typing import Any

import chinese_calendar
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from govhall.config import ConfigError
from govhall.config_file import load_config
from govhall.device_file import check_device_url, device_file_text, device_url_of
from govhall.link import is_loopback
from hallserver.bootstrap import shifts_of
from hallserver.settings_file import (
    IMPORTS,
    SECTIONS,
    SettingsError,
    calendar_years,
    matters_in_file,
    new_device_password,
    posts_in_file,
    save_calendar,
    save_catalogue,
    save_settings,
)
from hallserver.web.context import role_of, web_of
from hallserver.web.pages import ROLE_LABELS, TEMPLATES
from hallserver.web.settings_words import settings_reason

log = logging.getLogger("hallserver.web")

router = APIRouter()


def builtin_calendar_years() -> tuple[int, int]:
    """The years the chinese-calendar package knows (the State Council's notices it carries)."""
    years = [d.year for d in chinese_calendar.holidays]
    return min(years), max(years)


DEVICE_ROLE_LABELS = {"kiosk": "取号机", "counter": "窗口终端", "tablet": "评价器", "led-bridge": "窗口屏网关",
                      "screen": "综合屏", "keypad-bridge": "呼叫器网关", "attendance-terminal": "考勤机"}


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


@router.get("/settings", response_class=HTMLResponse)
def settings_page(request: Request) -> HTMLResponse:
    """系统设置: the sections the dashboard may change, as forms (saved into hall.toml)."""
    web = web_of(request)
    dashboard = web.dashboard
    role = role_of(request)
    shown, problem = dashboard.config, None
    if dashboard.config_path is not None:       # the file as it is now, saved changes included
        try:
            shown = load_config(dashboard.config_path)
        except ConfigError as exc:
            problem = str(exc)
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
        "device_files": bool(web_of(request).managers) and dashboard.config is not None
        and device_url_of(dashboard.config) is not None,
        "calendar_years": years, "builtin_years": builtin, "next_year": next_year, "matters_in_file": matters_here,
        "next_year_missing": next_year > builtin[1] and next_year not in {y["year"] for y in years}})


async def save_and_apply(request: Request, section: str, payload: Any, may_add: bool = True) -> JSONResponse:
    web = web_of(request)
    settings_lock = web.settings_lock
    async with settings_lock:
        return await _save_and_apply(request, section, payload, may_add)


async def _save_and_apply(request: Request, section: str, payload: Any, may_add: bool) -> JSONResponse:
    """Save one section into hall.toml (or the calendar or catalogue file beside it) after
    the same checks as at start, audited, then give the running hall the new files."""
    web = web_of(request)
    dashboard = web.dashboard
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
    applied, extra = await apply_saved(request)
    return JSONResponse({"ok": True, "changes": changes, "applied": applied, "restart_needed": not applied,
                         **extra})


async def apply_saved(request) -> tuple[bool, dict]:
    """Give the running hall the file just saved: (applied, what happened to the broker's files)."""
    web = web_of(request)
    dashboard, apply_config = web.dashboard, web.apply_config
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


@router.post("/api/settings/devices/{device_id}/file")
async def device_file(request: Request, device_id: str) -> Response:
    """下载设备文件: the device's own file (hall device-config) with a new password — the old file
    stops working at once — for a device that holds nothing else (docs/security.md). Audited."""
    web = web_of(request)
    dashboard = web.dashboard
    refused = settings_refusal(request, "devices", ("devices",))
    if refused is not None:
        return refused
    if not web.managers:            # a hall that runs open (demos): nobody may take a device's password
        return JSONResponse({"error": {"code": "forbidden", "message": "设备文件只能由登录的大厅管理员下载"
                                       "（本大厅没有设置管理员账号）"}}, status_code=403)
    client = request.client.host if request.client else ""
    if request.url.scheme != "https" and not is_loopback(client):
        return JSONResponse({"error": {"code": "forbidden", "message": "设备文件含密码，只能通过 HTTPS 下载"}},
                            status_code=403)
    config = await asyncio.to_thread(load_config, dashboard.config_path)
    url = device_url_of(config)
    if url is None:
        return JSONResponse({"error": {"code": "unavailable", "message": "请先在 hall.toml 设置 [broker] device_url"
                                       "（例如 mqtts://hall-server.lan:8883），再生成设备文件"}}, status_code=409)
    try:
        check_device_url(url)
    except ConfigError as exc:
        return JSONResponse({"error": {"code": "unavailable", "detail": str(exc),
                                       "message": "设备连接未加密：请先为消息服务器配置 TLS（hall broker-config "
                                                  "--tls-generate），并把 device_url 设为 mqtts://"}},
                            status_code=409)
    device = config.device(device_id[:64])
    if device is not None:           # everything but the password can be made: the old file stays good until then
        try:
            await asyncio.to_thread(device_file_text, config.model_copy(update={"devices": [
                device.model_copy(update={"password": "a-password-placeholder"})]}), device.id, url)
        except ConfigError as exc:
            return JSONResponse({"error": {"code": "unavailable", "message": "设备文件未生成", "detail": str(exc)}},
                                status_code=409)
    made = await device_password(request, device_id)
    if made.status_code != 200:
        return made
    try:
        text = await asyncio.to_thread(lambda: device_file_text(load_config(dashboard.config_path), device_id, url))
    except ConfigError as exc:
        log.warning("no device file for %s: %s", device_id, exc)
        return JSONResponse({"error": {"code": "invalid", "message": "设备文件未生成", "detail": str(exc)}},
                            status_code=400)
    return Response(text, media_type="application/toml; charset=utf-8",
                    headers={"Cache-Control": "no-store",
                             "Content-Disposition": f'attachment; filename="{device_id}.toml"'})


@router.post("/api/settings/devices/{device_id}/password")
async def device_password(request: Request, device_id: str) -> JSONResponse:
    """生成密码: a new random password for one device, saved into hall.toml and shown once to
    enter on the device; audited (never the password itself); the broker's files rewritten."""
    web = web_of(request)
    dashboard, settings_lock = web.dashboard, web.settings_lock
    refused = settings_refusal(request, "devices", ("devices",))
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
        applied, extra = await apply_saved(request)
    return JSONResponse({"ok": True, "device": device_id, "password": password, "applied": applied, **extra},
                        headers={"Cache-Control": "no-store"})


def settings_refusal(request, section: str, sections: tuple) -> JSONResponse | None:
    web = web_of(request)
    dashboard = web.dashboard
    if section not in sections:
        return JSONResponse({"error": {"code": "not_found", "message": "没有这一项设置"}}, status_code=404)
    if dashboard.config_path is None:
        return JSONResponse({"error": {"code": "unavailable",
                                       "message": "服务器不是从配置文件启动的，不能在此修改"}}, status_code=409)
    return None


@router.post("/api/settings/{section}")
async def save_settings_api(request: Request, section: str) -> JSONResponse:
    """Save one section into hall.toml after the same checks as at start; audited; applied at once."""
    refused = settings_refusal(request, section, (*SECTIONS, "calendar", "catalogue"))
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


@router.post("/api/settings/{section}/import")
async def import_settings_csv(request: Request, section: str) -> JSONResponse:
    """导入: posts (id,name,a,b,categories,front_desk) or schedules (staff,shifts) from a CSV
    in the request body (UTF-8, a BOM allowed); each row adds or changes one entry."""
    refused = settings_refusal(request, section, tuple(IMPORTS))
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
