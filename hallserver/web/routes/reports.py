"""The operating report (运行报表) and its people part: pages, JSON, CSV and Excel."""
from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response

from hallserver.domain.clock import hall_day
from hallserver.reports.hall import (
    PERIODS,
    period_bounds,
    report_charts,
    report_from_tallies,
    report_xlsx,
    tables_csv,
    tables_xlsx,
)
from hallserver.reports.hall import report_csv as hall_csv
from hallserver.reports.people import (
    attendance_rows,
    category_coverage_rows,
    coverage_rows,
    department_rows,
    kind_rows,
    people_charts,
    people_tables,
)
from hallserver.reports.queries import period_tallies, settled_before
from hallserver.web.context import unavailable, web_of
from hallserver.web.pages import TEMPLATES
from hallserver.web.scope import (
    departments_of,
    in_scope,
    keep,
    posts_in_scope,
    staff_departments,
    window_departments,
)

log = logging.getLogger("hallserver.web")

router = APIRouter()


def report_period(request: Request) -> tuple[str, Any] | JSONResponse:
    """?period=day|week|month&date=YYYY-MM-DD (default: today's day), or the 400 that says why not."""
    web = web_of(request)
    dashboard = web.dashboard

    kind = request.query_params.get("period", "day")
    try:
        day = dt.date.fromisoformat(request.query_params.get("date") or hall_day(dashboard.clock).isoformat())
    except ValueError:
        day = None
    if kind not in PERIODS or day is None or not 2000 <= day.year <= 2100:
        return JSONResponse({"error": {"code": "invalid", "message": "period: day|week|month; date: YYYY-MM-DD"}},
                            status_code=400)
    return kind, day


def hall_report_of(request: Request) -> dict[str, Any] | JSONResponse:
    """The operating report for ?period=day|week|month&date=YYYY-MM-DD (default: today)."""
    web = web_of(request)
    dashboard = web.dashboard
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
    report = report_from_tallies(kind, day, tallies, dashboard.category_names, staff_names, target)
    scope = departments_of(request)          # a lead: the hall's totals, but only their windows and people
    report["by_window"] = keep(scope, report["by_window"], window_departments(config), "window")
    report["by_staff"] = keep(scope, report["by_staff"], staff_departments(config), "staff")
    return report


@router.get("/api/reports/hall")
def hall_report_api(request: Request, period: str = Query("day", description="day | week | month"),
                    date: str | None = Query(None, description="YYYY-MM-DD (default: today)"),
                    format: str = Query("json", description="json | csv | xlsx")) -> Response:
    """运行报表 as JSON, or ?format=csv / xlsx for Excel."""
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


@router.get("/reports", response_class=HTMLResponse)
def reports_page(request: Request, period: str = Query("day", description="day | week | month"),
                 date: str | None = Query(None, description="YYYY-MM-DD (default: today)")) -> Response:
    """报表: the operating report with its charts, the other reports and the exports."""
    web = web_of(request)
    dashboard = web.dashboard
    report = hall_report_of(request)
    if isinstance(report, JSONResponse):
        return report
    query_string = f"period={report['period']}&date={request.query_params.get('date') or report['from']}"
    return TEMPLATES.TemplateResponse(request, "reports.html", {
        "hall": dashboard.hall_name, "r": report, "charts": report_charts(report), "periods": PERIODS,
        "date": request.query_params.get("date") or hall_day(dashboard.clock).isoformat(),
        "query": query_string, "manager": request.state.manager})


@router.get("/reports/people", response_class=HTMLResponse)
def reports_people(request: Request, period: str = Query("day", description="day | week | month"),
                   date: str | None = Query(None, description="YYYY-MM-DD (default: today)"),
                   format: str = Query("html", description="html | json | csv | xlsx")) -> Response:
    """The report's people part for the same ?period=&date=: 按期办结率 per department, 考勤
    per person, AB岗 coverage per post, charts and tables (the report page loads it after it
    shows; ?format=json for the figures). Computed here, off the writer thread."""
    web = web_of(request)
    dashboard, query = web.dashboard, web.query

    params = request.query_params
    chosen = report_period(request)
    if isinstance(chosen, JSONResponse):
        return chosen
    kind, day = chosen
    if query is None:
        return unavailable()
    first, last, label = period_bounds(kind, day)
    processor = query(lambda p: p)
    desk = processor.attendance
    minutes = {**dashboard.store.load_coverage_minutes(first), **dict(desk.watch.minutes)}   # memory is newer
    by_category = {**dashboard.store.load_category_minutes(first), **dict(desk.watch.category_minutes)}
    scope = departments_of(request)                  # a lead: their departments' cases, people and posts
    posts, categories = posts_in_scope(dashboard.config, scope)
    attendance = desk.period(first, last, processor.clock.tz, hall_day(dashboard.clock))
    cases = processor.case_report(first, last, departments=scope)
    figures = {
        "period": kind, "from": first.isoformat(), "to": last.isoformat(), "label": label,
        "departments": department_rows(cases), "kinds": kind_rows(cases),
        "attendance": attendance_rows([r for r in attendance if in_scope(scope, r["department"])]),
        "coverage": coverage_rows(minutes, [p for p in desk.posts if posts is None or p.id in posts], first, last),
        "category_coverage": category_coverage_rows(
            {k: v for k, v in by_category.items() if categories is None or k[1] in categories},
            dashboard.category_names, first, last)}
    name = f"people-{kind}-{first}"
    match params.get("format", "html"):
        case "json":
            return JSONResponse(figures)
        case "csv":
            return Response(tables_csv(people_tables(figures)), media_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
        case "xlsx":
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
