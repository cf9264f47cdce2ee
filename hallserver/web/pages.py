"""The dashboard's templates, their filters and the words its pages share."""
from __future__ import annotations

from datetime import datetime
from pathlib import Path

from fastapi.templating import Jinja2Templates

TEMPLATES = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
POLL_S = 0.2            # how often an open event stream looks for a change
KEEPALIVE_S = 15.0      # a comment line this often keeps proxies from closing the stream

STATUS_LABELS = {"closed": "未开窗", "idle": "空闲", "serving": "办理中", "paused": "暂停服务", "offline": "离线"}
ROLE_LABELS = {"manager": "大厅管理员", "lead": "部门负责人", "auditor": "审计（只读）"}


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
