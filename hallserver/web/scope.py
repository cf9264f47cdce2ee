"""A department lead's scope (部门负责人): the departments of `[[managers]] departments`. A lead
sees only those departments' cases (by the matter's department), leave and attendance (by the
staff member's), rectifications and ratings (by the window's), and is refused with 403 when
acting on another department's item by its id. Managers and auditors see everything (scope None)."""
from __future__ import annotations

from collections.abc import Iterable

from fastapi import Request
from fastapi.responses import JSONResponse

from govhall.config import Config
from hallserver.web.context import role_of, web_of

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
