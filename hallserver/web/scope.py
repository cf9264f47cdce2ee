"""A department lead's scope (部门负责人): the departments of `[[managers]] departments`. A lead
sees only those departments' cases (by the matter's department), leave and attendance (by the
staff member's), rectifications and ratings (by the window's), and is refused with 403 when
acting on another department's item by its id. Managers and auditors see everything (scope None)."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

from fastapi import Request
from fastapi.responses import JSONResponse

from govhall.config import Config
from hallserver.web.context import role_of, unavailable, web_of

log = logging.getLogger("hallserver.web")

Scope = frozenset[str] | None        # the departments a request may see; None: every one


def departments_of(request: Request) -> Scope:
    """The logged-in lead's departments; None for a hall manager, an auditor or an open hall."""
    if role_of(request) != "lead":
        return None
    return frozenset(web_of(request).managers[request.state.manager].departments)


def in_scope(scope: Scope, department: str | None) -> bool:
    return scope is None or department in scope


def other_department(what: str) -> JSONResponse:
    """403 for an item of another department, in the words the pages show."""
    return JSONResponse({"error": {"code": "forbidden", "message": f"只能处理本部门的{what}"}}, status_code=403)


def item_refusal(request: Request, what: str, department_of: Callable) -> JSONResponse | None:
    """For a lead acting on an item by its id: 403 when the item belongs to another department
    (`department_of(processor)` reads its department on the writer's thread; None: no such item,
    left to the command path's 404), 503 when it cannot be read. None: go on."""
    scope = departments_of(request)
    if scope is None:
        return None
    web = web_of(request)
    if web.query is None:
        return unavailable()
    try:
        department = web.query(department_of)
    except Exception:                        # the writer is stuck or gone: say so
        log.exception("could not look up the department of a %s", what)
        return unavailable("系统繁忙，请稍后再试")
    if department is not None and department not in scope:
        return other_department(what)
    return None


def staff_departments(config: Config | None) -> dict[str, str]:
    return {s.id: s.department for s in config.staff} if config is not None else {}


def window_departments(config: Config | None) -> dict[str, str]:
    return {w.id: w.department for w in config.windows} if config is not None else {}


def matter_departments(config: Config | None) -> dict[str, str]:
    """A matter's department by its id and by its name (a case's colour event names the matter)."""
    if config is None:
        return {}
    return {**{m.name: m.department for m in config.matters}, **{m.id: m.department for m in config.matters}}


def staff_in_scope(scope: Scope, config: Config | None) -> set[str] | None:
    """The staff numbers a scope covers; None: everyone."""
    if scope is None:
        return None
    return {s for s, d in staff_departments(config).items() if d in scope}


def keep(scope: Scope, rows: Iterable[dict], department_of: dict[str, str], key: str) -> list[dict]:
    """The rows whose `key` (a window, staff number or matter) belongs to the scope's departments."""
    if scope is None:
        return list(rows)
    return [r for r in rows if department_of.get(r.get(key) or "") in scope]


def posts_in_scope(config: Config | None, scope: frozenset[str] | None) -> tuple[set[str] | None, set[str] | None]:
    """AB岗 posts with an A or B of a lead's departments, and those posts' categories; None: all."""
    if scope is None:
        return None, None
    people = staff_in_scope(scope, config) or set()
    posts = [p for p in (config.posts if config is not None else []) if p.a in people or p.b in people]
    return {p.id for p in posts}, {cat for p in posts for cat in p.categories}
