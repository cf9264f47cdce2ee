"""好差评 statistics and the ranking of windows.

Per window, staff member, department, matter and channel: the number of ratings, the count
and rate of each level, satisfaction (非常满意 + 满意 + 基本满意 over all), the 差评 count and
the rectification rate (差评 rectified or appealed successfully, over all 差评).

Follow-up ratings (追评, after a 差评 was rectified) are no second service (一次一评): they are
counted apart (`follow_up_statistics`: per window and department, the count, each level and the
追评满意率), never in the figures above nor in the ranking.

The ranking of windows (as in 万众评股室) is a weighted score: each rater group (a rating
channel: the hall tablet, the QR phone page, …) gives its satisfaction, weighted by
`ratings.group_weights`; a manager-adjusted share (`ratings.manager_share`) comes from a
manager score that starts at 100 and moves only by recorded adjustments, each with its reason.
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

LEVELS = (5, 4, 3, 2, 1)
CHANNELS = {1: "PC端", 2: "移动端", 3: "二维码", 4: "评价器", 5: "其他终端", 6: "短信", 7: "系统默认"}


@dataclass
class Figures:
    count: int = 0
    by_level: dict[int, int] = field(default_factory=lambda: {lv: 0 for lv in LEVELS})
    bad: int = 0
    rectified: int = 0

    def add(self, level: int, rectified: bool) -> None:
        self.count += 1
        self.by_level[level] += 1
        if level <= 2:
            self.bad += 1
            self.rectified += rectified

    @property
    def satisfaction(self) -> float | None:
        return round(100 * sum(self.by_level[lv] for lv in (5, 4, 3)) / self.count, 1) if self.count else None

    def as_dict(self) -> dict:
        return {"count": self.count, "by_level": {str(k): v for k, v in self.by_level.items()},
                "rate_by_level": {str(k): round(100 * v / self.count, 1) if self.count else None
                                  for k, v in self.by_level.items()},
                "satisfaction": self.satisfaction, "bad": self.bad,
                "rectification_rate": round(100 * self.rectified / self.bad, 1) if self.bad else None}


def rating_statistics(rows: list[dict]) -> dict:
    """`rows` as rating_export.rating_rows gives them."""
    groups = {"window": defaultdict(Figures), "staff": defaultdict(Figures), "department": defaultdict(Figures),
              "matter": defaultdict(Figures), "channel": defaultdict(Figures)}
    total = Figures()
    for r in rows:
        done = r["rectification"] in ("已整改", "申诉成立")
        total.add(r["level"], done)
        for key, value in (("window", r["window"]), ("staff", r["staff"]), ("department", r["department"] or "—"),
                           ("matter", r["matter"]), ("channel", CHANNELS.get(r["channel"], str(r["channel"])))):
            groups[key][value].add(r["level"], done)
    return {"total": total.as_dict(),
            **{f"by_{k}": {name: f.as_dict() for name, f in sorted(v.items())} for k, v in groups.items()}}


def follow_up_statistics(rows: list[dict]) -> dict:
    """追评 apart from the first ratings: `rows` as rating_export.follow_up_rows gives them; per window
    and department the count, each level's count, and 追评满意率 (基本满意 or better over all follow-ups)."""
    total, groups = Figures(), {"window": defaultdict(Figures), "department": defaultdict(Figures)}
    for r in rows:
        total.add(r["level"], False)
        groups["window"][r["window"]].add(r["level"], False)
        groups["department"][r["department"] or "—"].add(r["level"], False)

    def shown(f: Figures) -> dict:
        return {"count": f.count, "by_level": {str(k): v for k, v in f.by_level.items()},
                "satisfaction": f.satisfaction}
    return {"total": shown(total), **{f"by_{k}": {name: shown(f) for name, f in sorted(v.items())}
                                      for k, v in groups.items()}}


def window_ranking(rows: list[dict], adjustments: list[dict], weights: dict[int, float], manager_share: float,
                   windows: list[str]) -> list[dict]:
    """Windows by weighted score, best first. `adjustments` are {window, points, reason, by, at}."""
    by_group: dict[str, dict[int, Figures]] = defaultdict(lambda: defaultdict(Figures))
    for r in rows:
        by_group[r["window"]][r["channel"]].add(r["level"], False)
    manager: dict[str, float] = defaultdict(lambda: 100.0)
    notes: dict[str, list[dict]] = defaultdict(list)
    for a in adjustments:
        manager[a["window"]] = min(100.0, max(0.0, manager[a["window"]] + a["points"]))
        notes[a["window"]].append(a)
    out = []
    for w in windows:
        groups = {ch: f for ch, f in by_group[w].items() if f.count and weights.get(ch, 0) > 0}
        weight = sum(weights[ch] for ch in groups)
        raters = sum(weights[ch] * f.satisfaction for ch, f in groups.items()) / weight if weight else None
        score = None if raters is None else round((1 - manager_share) * raters + manager_share * manager[w], 2)
        out.append({"window": w, "score": score, "raters": None if raters is None else round(raters, 2),
                    "manager": manager[w], "ratings": sum(f.count for f in by_group[w].values()),
                    "adjustments": notes[w]})
    out.sort(key=lambda x: (x["score"] is None, -(x["score"] or 0), x["window"]))
    for rank, row in enumerate(out, start=1):
        row["rank"] = rank if row["score"] is not None else None
    return out
