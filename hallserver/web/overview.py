"""The live hall overview (大厅实时概况) the dashboard and the 大屏 show.

Plain functions of what the live view holds, the day's figures from the store and the hall's
config: per-category rows measured against the wait target, one card per window with its
state, and the alerts, newest first, each with a stable key so that a manager can acknowledge
it (告警确认). An acknowledged alert stays listed while its condition holds, marked with who
acknowledged it; when the condition ends and comes back, it is a new alert.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from govhall.config import Config
from hallserver.domain.login_throttle import Attack

PAUSE_LABELS = {"away": "离开", "meeting": "会议", "meal": "用餐", "other": "其他"}
COMPONENT_LABELS = {"printer": "打印机", "id_reader": "身份证阅读器", "led_port": "LED 屏串口", "screen": "屏幕",
                    "keypad": "呼叫器"}
CONDITION_LABELS = {"paper_near_end": "纸将用完，请及时换纸", "paper_out": "缺纸，已暂停出票", "cover_open": "机盖打开",
                    "offline": "离线", "fault": "故障"}
ROLE_LABELS = {"kiosk": "取号机", "counter": "窗口终端", "tablet": "评价器", "led-bridge": "LED 屏网关",
               "screen": "综合屏", "keypad-bridge": "呼叫器网关", "attendance": "考勤机"}


@dataclass
class Alert:
    key: str             # stable while the condition lasts: what is acknowledged
    kind: str            # wait, front_desk, post, unserved, case, rating, device, offline, calendar, server,
                         # login_attack
    level: str           # red or amber
    text: str
    since: str           # ISO time the condition began ("" when unknown)
    acked_by: str | None = None
    acked_at: str | None = None

    def view(self) -> dict[str, Any]:
        return {"key": self.key, "kind": self.kind, "level": self.level, "text": self.text, "since": self.since,
                "acked_by": self.acked_by, "acked_at": self.acked_at}


def hhmm(value: str | datetime | None) -> str:
    if not value:
        return ""
    try:
        at = value if isinstance(value, datetime) else datetime.fromisoformat(value)
    except ValueError:
        return ""
    return at.strftime("%H:%M")


def _when(value: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        return datetime.min.replace(tzinfo=UTC)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def category_rows(queue: list[dict], figures: dict[str, dict], target_s: float) -> list[dict]:
    """排队: per category the waiting count, longest current wait and today's average against
    the target (over: the average is above it)."""
    rows = []
    for q in queue:
        f = figures.get(q["category"], {})
        avg = f.get("avg_wait_s")
        rows.append({**q, "longest_wait_s": f.get("longest_wait_s") if q["waiting"] else None,
                     "avg_wait_s": avg, "issued": f.get("issued", 0), "served": f.get("served", 0),
                     "over_target": avg is not None and avg > target_s})
    return rows


def window_cards(windows: list[dict], config: Config | None, offline: dict[str, str], posts_away: list[dict],
                 now: datetime) -> list[dict]:
    """One card per window: 办理中 (whom, for how long), 空闲, 暂停 (why, how long), 离线 (its
    counter is gone while the window is open), 未开窗; who is there and whether as A or B."""
    counters: dict[str, list[str]] = {}
    posts_a: dict[str, list[str]] = {}
    if config is not None:
        for d in config.devices:
            if d.role.value == "counter" and d.window:
                counters.setdefault(d.window, []).append(d.id)
        for p in config.posts:
            posts_a.setdefault(p.a, []).append(p.name)
    covering = {x["window"]: x for x in posts_away if x["state"] == "b" and x.get("window")}
    cards = []
    for w in windows:
        since = datetime.fromisoformat(w["since"]) if w.get("since") else None
        state = w["status"]
        off = [offline[d] for d in counters.get(w["window"], []) if d in offline]
        if off and state != "closed":
            state = "offline"
        duty = ""
        staff = w.get("staff") or {}
        cover = covering.get(w["window"])
        if cover is not None and staff.get("id") == cover["b"]:
            duty = f"B岗顶岗：{cover['name']}"
        elif staff.get("id") in posts_a:
            duty = "A岗：" + "、".join(posts_a[staff["id"]])
        cards.append({
            "window": w["window"], "number": w["number"], "name": w["name"], "state": state,
            "staff": staff.get("name"), "duty": duty, "ticket": (w.get("ticket") or {}).get("number"),
            "category": (w.get("ticket") or {}).get("category_name"),
            "pause_reason": PAUSE_LABELS.get(w.get("pause_reason") or "", ""),
            "for_s": (now - since).total_seconds() if since is not None else None,
            "offline_since": hhmm(min(off)) if off else "",
            "served": (w.get("staff_today") or {}).get("served"),
        })
    return cards


def device_alert_text(a: dict[str, Any]) -> str:
    if a["component"] == "calendar":
        return (f"尚未导入 {a.get('detail') or '下一'} 年法定节假日安排（国务院办公厅通知），"
                "办结时限无法跨年计算，该年开放时间与考勤暂按每周开放日（不知法定节假日与调休），"
                "请在 系统设置 → 节假日安排 录入（docs/deadlines.md）")
    what = COMPONENT_LABELS.get(a["component"], a["component"])
    why = CONDITION_LABELS.get(a["condition"], a["condition"])
    return f"设备 {a['device']} {what}：{why}（{hhmm(a.get('since'))} 起）"


ONLINE_WINDOW = "online"      # the window of a case applied for online (网上申报)


def case_alert_text(x: dict[str, Any], window_names: dict[str, str] | None = None) -> str:
    due = datetime.fromisoformat(x["due"])
    where = "网上申报" if x["window"] == ONLINE_WINDOW else (window_names or {}).get(x["window"], f"窗口 {x['window']}")
    if x["colour"] == "red":
        return f"办件 {x['case']} {x['matter']}：已超过承诺时限（{due:%m-%d %H:%M}），{where}"
    return f"办件 {x['case']} {x['matter']}：临近承诺时限（{due:%m-%d %H:%M}），{where}"


def hall_alerts(snap: dict[str, Any], rows: list[dict], config: Config | None, now: datetime,
                names: dict[str, str]) -> list[Alert]:
    """Every condition a manager should see now, newest first (red before amber at the same time)."""
    long_s = (config.rules.long_wait_minutes if config is not None else 30.0) * 60
    window_names = {w.id: w.name for w in config.windows} if config is not None else {}
    staff_names = {m.id: m.name for m in config.staff} if config is not None else {}
    alerts: list[Alert] = []
    if not snap["server"].get("online"):
        alerts.append(Alert("server", "server", "red", "大厅服务器离线：窗口和取号机暂停服务", ""))
    for q in rows:
        if q["waiting"] and q["longest_wait_s"] is not None and q["longest_wait_s"] > long_s:
            began = now - timedelta(seconds=q["longest_wait_s"] - long_s)
            alerts.append(Alert(f"wait:{q['category']}", "wait", "red",
                                f"{q['name']}：有群众已等候 {round(q['longest_wait_s'] / 60)} 分钟"
                                f"（超过 {round(long_s / 60)} 分钟）", began.isoformat(timespec="minutes")))
        if q["waiting"] > 0 and q["open_windows"] == 0:
            alerts.append(Alert(f"unserved:{q['category']}", "unserved", "red",
                                f"{q['name']}：{q['waiting']} 人等候，没有开放的窗口受理", ""))
    for x in snap["front_desk_uncovered"]:
        alerts.append(Alert(f"front:{x['category']}", "front_desk", "red",
                            f"前台断档：{names.get(x['category'], x['category'])} 自 {hhmm(x['since'])} 起没有在岗窗口",
                            x["since"]))
    for x in snap["posts_away"]:
        a, b = staff_names.get(x["a"], x["a"]), staff_names.get(x["b"], x["b"])
        text = f"AB岗：{x['name']} A角（{a}）不在岗，" + (
            f"由 B角（{b}）在 {window_names.get(x['window'], x['window'])} 顶岗" if x["state"] == "b"
            else "B角也不在岗，无人顶岗")
        alerts.append(Alert(f"post:{x['post']}:{x['state']}", "post", "red" if x["state"] == "uncovered" else "amber",
                            text, x.get("seen") or ""))
    for x in snap["cases_slipping"]:
        alerts.append(Alert(f"case:{x['case']}:{x['colour']}", "case", "red" if x["colour"] == "red" else "amber",
                            case_alert_text(x, window_names),
                            x["due"] if x["colour"] == "red" else x.get("seen") or ""))
    for r in snap["bad_ratings"]:
        ticket = r.get("ticket") or {}
        alerts.append(Alert(f"rating:{r['rating_id']}", "rating", "amber",
                            f"差评：{window_names.get(r['window'], r['window'] + ' 窗口')} {ticket.get('number', '')}"
                            f"（{r['level']} 星），已生成整改单",
                            r.get("seen") or ""))
    for x in snap.get("complaints_overdue", []):
        due = datetime.fromisoformat(x["due"])
        where = "、".join(v for v in (x["department"], window_names.get(x["window"], x["window"])) if v) or "未分派"
        alerts.append(Alert(f"complaint:{x['complaint']}", "complaint", "red",
                            f"投诉 {x['complaint']}：已超过办结时限（{due:%m-%d %H:%M}），{where}", x["due"]))
    for a in snap["device_alerts"]:
        kind = "calendar" if a["component"] == "calendar" else "device"
        alerts.append(Alert(f"device:{a['device']}:{a['component']}:{a['condition']}", kind,
                            "red" if a["condition"] in ("paper_out", "offline", "fault") else "amber",
                            device_alert_text(a), a.get("since", "")))
    roles = {d.id: d.role.value for d in config.devices} if config is not None else {}
    for device, since in snap["devices_offline"].items():
        role = ROLE_LABELS.get(roles.get(device, ""), "设备")
        alerts.append(Alert(f"offline:{device}", "offline", "red", f"{role} {device} 离线（{hhmm(since)} 起）", since))
    alerts.sort(key=lambda a: (a.kind == "server", _when(a.since), a.level == "red"), reverse=True)
    return alerts


def scoped(snap: dict[str, Any], config: Config | None, departments: frozenset[str] | None) -> dict[str, Any]:
    """What a department lead sees of the live hall: the hall itself (windows, queues, devices)
    whole, but only their departments' slipping cases (the matter's department), 差评 (the
    window's) and 每日通报 rows. `departments` None: everything (a manager, an auditor)."""
    if departments is None:
        return snap
    matters = {m.name: m.department for m in config.matters} if config is not None else {}
    windows = {w.id: w.department for w in config.windows} if config is not None else {}
    digest = snap.get("case_digest")
    if digest is not None:
        digest = {**digest, "departments": {d: v for d, v in digest.get("departments", {}).items() if d in departments}}
    return {**snap, "case_digest": digest,
            "cases_slipping": [x for x in snap["cases_slipping"] if matters.get(x["matter"]) in departments],
            "bad_ratings": [r for r in snap["bad_ratings"] if windows.get(r["window"]) in departments],
            "complaints_overdue": [x for x in snap.get("complaints_overdue", []) if x["department"] in departments]}


def login_attack_alerts(attacks: list[Attack], names: dict[str, str], tz) -> list[Alert]:   # noqa: ANN001
    """登录异常: a manager account guessed at from outside, with the addresses (the throttle is on)."""
    alerts = []
    for x in attacks:
        where = "、".join(x.addresses) + ("等" if x.other_failures else "")
        since = x.since.astimezone(tz)
        alerts.append(Alert(f"login:{x.account}", "login_attack", "red",
                            f"登录异常：管理员账号 {x.account}（{names.get(x.account, '?')}）自 {since:%H:%M} 起"
                            f"密码错误 {x.failures} 次，来自 {where}；已自动限速，请核实",
                            since.isoformat(timespec="seconds")))
    return alerts


def mark_acknowledged(alerts: list[Alert], acks: dict[tuple[str, str], dict], tz) -> list[Alert]:   # noqa: ANN001
    for a in alerts:
        ack = acks.get((a.key, a.since))
        if ack is not None:
            a.acked_by, a.acked_at = ack["by"], ack["at"].astimezone(tz).strftime("%H:%M")
    return alerts
