"""What `hall demo` prints while the simulated day runs: one live status line, the notable
moments as they happen (a late start, B covering A (AB岗), 前台断档, a 差评, a red case), and
the closing summary, in the dashboard's words and units (minutes, %).

On a terminal the status line is redrawn in place; into a pipe or a file it is printed every
half hour of simulated time instead, so a log of the run stays readable.
"""
from __future__ import annotations

import sys
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TextIO

from govhall.config import Config

LEVEL_NAMES = {5: "非常满意", 4: "满意", 3: "基本满意", 2: "不满意", 1: "非常不满意"}
WEEKDAYS = "一二三四五六日"
PIPE_STATUS_EVERY = timedelta(minutes=30)     # simulated time between status lines into a pipe (ours)
ALERT_SHOWN_AFTER = timedelta(minutes=1)      # a 前台断档 shorter than this is a login's moment, not news


def minutes_text(seconds: float | None) -> str:
    """As the dashboard says a wait: "<1 分钟", "12 分钟", "—"."""
    if seconds is None:
        return "—"
    return "<1 分钟" if seconds < 60 else f"{round(seconds / 60)} 分钟"


def percent_text(value: float | None) -> str:
    return "—" if value is None else f"{value:.1f}%"


class DemoConsole:
    """Thread-safe: events arrive on the broker's thread, the status from the main thread."""

    def __init__(self, config: Config, now: Callable[[], datetime], out: TextIO | None = None,
                 tty: bool | None = None) -> None:
        self.config, self.now = config, now
        self.out = out or sys.stdout
        self.tty = self.out.isatty() if tty is None else tty
        self.lock = threading.Lock()
        self.categories = {c.id: c.name for c in config.categories}
        self.windows = {w.id: w.name for w in config.windows}
        self.staff = {s.id: s.name for s in config.staff}
        self.posts = {p.id: p.name for p in config.posts}
        self.status_line = ""
        self.last_status_at: datetime | None = None
        self.open_alerts: dict[str, tuple[datetime, bool]] = {}   # category -> (since, told)
        self.posts_away: set[str] = set()
        self.counts = {"late_start": 0, "b_covers": 0, "front_desk": 0, "bad_rating": 0, "red_case": 0}

    # ------------------------------------------------------------------ output
    def say(self, line: str) -> None:
        """A line above the status line."""
        with self.lock:
            if self.tty:
                self.out.write("\r\033[K" + line + "\n" + self.status_line)
            else:
                self.out.write(line + "\n")
            self.out.flush()

    def _event_line(self, at: datetime, what: str, text: str) -> str:
        return f"  {at.astimezone(self.now().tzinfo).strftime('%H:%M')}  {what}  {text}"

    # ------------------------------------------------------------------ the live status
    def status(self, figures: dict[str, Any]) -> None:
        now = self.now()
        self._tell_lasting_alerts(now)
        line = (f"  ⏱ {now.strftime('%H:%M')}  今日取号 {figures['tickets_issued']}"
                f" · 已办结 {figures['tickets_served']} · 正在等候 {figures['tickets_waiting']}"
                f" · 平均等候 {minutes_text(figures['avg_wait_s'])}")
        with self.lock:
            self.status_line = line
            if self.tty:
                self.out.write("\r\033[K" + line)
                self.out.flush()
                return
            if self.last_status_at is None or now - self.last_status_at >= PIPE_STATUS_EVERY:
                self.last_status_at = now
                self.out.write(line + "\n")
                self.out.flush()

    def end_status(self) -> None:
        with self.lock:
            if self.tty and self.status_line:
                self.out.write("\n")
                self.out.flush()
            self.status_line = ""

    # ------------------------------------------------------------------ the notable moments
    def event(self, kind: str, data: dict) -> None:
        handler = getattr(self, "_on_" + kind.replace(".", "_"), None)
        if handler is not None:
            handler(data)

    def _on_late_start(self, data: dict) -> None:
        self.counts["late_start"] += 1
        who = self.staff.get(data["staff"], data["staff"])
        where = self.windows.get(data["window"], data["window"])
        self.say(self._event_line(data["at"], "迟到", f"{who}（{where}）晚 {data['minutes']} 分钟上岗"))

    def _on_post_coverage(self, data: dict) -> None:
        post = self.posts.get(data["post"], data.get("name", data["post"]))
        a, b = self.staff.get(data["a"], data["a"]), self.staff.get(data["b"], data["b"])
        if data["state"] == "b":
            self.counts["b_covers"] += 1
            self.posts_away.add(data["post"])
            where = self.windows.get(data.get("window") or "", "")
            self.say(self._event_line(self.now(), "AB岗", f"{post}：A岗 {a} 不在岗，B岗 {b} 在{where}顶岗"))
        elif data["state"] == "uncovered":
            self.posts_away.add(data["post"])
            self.say(self._event_line(self.now(), "AB岗", f"{post}：A岗 {a}、B岗 {b} 都不在岗"))
        elif data["post"] in self.posts_away:
            self.posts_away.discard(data["post"])
            self.say(self._event_line(self.now(), "AB岗", f"{post}：A岗 {a} 回岗"))

    def _on_coverage_alert(self, data: dict) -> None:
        category = data["category"]
        since = datetime.fromisoformat(data["since"]) if isinstance(data["since"], str) else data["since"]
        if data["open"]:
            with self.lock:
                self.open_alerts[category] = (since, False)
            return
        with self.lock:
            _since, told = self.open_alerts.pop(category, (since, False))
        if data.get("minutes"):
            if not told:
                self.counts["front_desk"] += 1
            self.say(self._event_line(self.now(), "前台断档结束",
                                      f"{self.categories.get(category, category)} 空岗 {data['minutes']} 分钟"))

    def _tell_lasting_alerts(self, now: datetime) -> None:
        with self.lock:
            due = [(c, since) for c, (since, told) in self.open_alerts.items()
                   if not told and now - since >= ALERT_SHOWN_AFTER]
            for category, since in due:
                self.open_alerts[category] = (since, True)
        for category, since in due:
            self.counts["front_desk"] += 1
            self.say(self._event_line(since, "前台断档", f"{self.categories.get(category, category)} 无人受理"))

    def _on_rating_recorded(self, data: dict) -> None:
        if data["level"] > 2:
            return
        self.counts["bad_rating"] += 1
        ticket = data.get("ticket") or {}
        self.say(self._event_line(self.now(), "差评", f"{self.windows.get(data['window'], data['window'])} "
                                  f"{self.staff.get(data['staff'], data['staff'])}（{ticket.get('number', '')}）："
                                  f"{LEVEL_NAMES.get(data['level'], data['level'])}"))

    def _on_case_colour(self, data: dict) -> None:
        if data["colour"] != "red" or data.get("finished"):
            return
        self.counts["red_case"] += 1
        due = datetime.fromisoformat(data["due"]) if isinstance(data["due"], str) else data["due"]
        where = self.windows.get(data["window"]) or "网上申报"
        who = self.staff.get(data["staff"], "")
        self.say(self._event_line(self.now(), "红灯办件", f"{data['matter']}（{where}{' ' + who if who else ''}）"
                                  f"已超期，承诺 {due.month}月{due.day}日 办结"))

    # ------------------------------------------------------------------ the closing summary
    def summary(self, result: dict[str, Any], day: datetime, dashboard_url: str | None) -> list[str]:
        end = day + timedelta(minutes=result["minutes"])
        target_s = self.config.rules.wait_target_minutes * 60
        gaps = [a for a in result["front_desk_alerts"] if a["minutes"]]
        gap_text = "、".join(f"{self.categories.get(a['category'], a['category'])} {a['minutes']} 分钟" for a in gaps)
        covered = {post: m.get("B", 0) for post, m in result["post_minutes"].items() if m.get("B", 0) > 0}
        cover_text = "、".join(f"{self.posts.get(p, p)} {m} 分钟" for p, m in covered.items())
        colours = result.get("cases_by_colour") or {}
        bad = sum(n for level, n in result["ratings_by_level"].items() if int(level) <= 2)
        lines = [
            f"{result['hall']} · {day.date().isoformat()}（星期{WEEKDAYS[day.weekday()]}）"
            f"{day.strftime('%H:%M')}–{end.strftime('%H:%M')} 模拟运行小结",
            f"  今日取号 {result['tickets_issued']} · 已办结 {result['tickets_served']} · "
            f"正在等候 {result['tickets_waiting']} · 过号 {result['tickets_skipped']}",
            f"  平均等候 {minutes_text(result['avg_wait_s'])}（目标 {minutes_text(target_s)}）· "
            f"最长等候 {minutes_text(result['max_wait_s'])}",
            f"  评价 {result['ratings']} · 好评率 {percent_text(result['satisfaction_percent'])} · 差评 {bad}",
            f"  绿色通道 {result['green_tickets']} · 预约 {result['appointments_booked']}"
            f"（按时签到 {result['appointments_on_time']}，迟到 {result['appointments_late']}）· "
            f"转移 {result['transfers']} · 过号重排 {result['requeues']}",
            f"  前台断档 {len(gaps)} 次{'：' + gap_text if gaps else ''}",
            f"  AB岗顶岗 {len(covered)} 个岗位{'：' + cover_text if covered else ''}",
            f"  办件 今日受理 {result.get('cases_accepted', 0)} · 在办 红灯 {colours.get('red', 0)} · "
            f"黄灯 {colours.get('yellow', 0)} · 绿灯 {colours.get('green', 0)}",
        ]
        if dashboard_url:
            lines.append(f"  看板 {dashboard_url}")
        return lines
