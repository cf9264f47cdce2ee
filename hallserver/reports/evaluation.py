"""万众评股室's result as a table and CSV: per unit the group averages, weighted, adjustment, final, rank, flags.

The arithmetic is the domain's (hallserver/domain/evaluation.py); this only lays it out. Every CSV
cell goes through the safe writer (a unit's name or a reason never runs as a formula).
"""
from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from decimal import Decimal

from hallserver.domain.evaluation import RaterGroup, UnitResult, bottom_tier, normalised_weights
from hallserver.reports.cells import SafeCsvWriter


def _text(value: Decimal | None) -> str:
    return "" if value is None else f"{value:.2f}"


def _number(value: Decimal | None) -> Decimal | str:
    """A CSV number cell (a Decimal stays a number: "-2.50" is no formula), "" for none."""
    return "" if value is None else value.quantize(Decimal("0.01"))


def _flag(r: UnitResult) -> str:
    if r.top:
        return "前10位"
    return bottom_tier(r.bottom_rank, r.bottom)


def weights_table(groups: Sequence[RaterGroup]) -> list[dict]:
    """Each group's share as the source gives it and as it counts (normalised over their sum)."""
    shares = normalised_weights(groups)
    return [{"group": g.key, "name": g.name, "source_percent": f"{g.weight * 100:.2f}",
             "counted_percent": f"{shares[g.key] * 100:.2f}"} for g in groups]


def result_rows(rows: Sequence[UnitResult], groups: Sequence[RaterGroup],
                unit_names: Mapping[str, str]) -> list[dict]:
    """The result as JSON-ready rows (numbers as text with 2 places, so nothing is lost to float)."""
    return [{"unit": r.unit, "name": unit_names.get(r.unit, r.unit), "sheets": r.sheets,
             "group_averages": {g.key: _text(r.group_averages.get(g.key)) for g in groups},
             "weighted": _text(r.weighted), "adjustment": _text(r.adjustment), "final": _text(r.final),
             "rank": r.rank, "top": r.top, "bottom": r.bottom, "bottom_rank": r.bottom_rank,
             "flag": _flag(r)} for r in rows]


def result_csv(rows: Sequence[UnitResult], groups: Sequence[RaterGroup], unit_names: Mapping[str, str]) -> str:
    """The result as CSV (UTF-8 with a BOM for Excel): one line per unit, then the weights."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = SafeCsvWriter(out)
    writer.writerow(["名次", "股室", "名称", "评分表份数", *(f"{g.name}均分" for g in groups),
                     "加权得分（90分制）", "领导小组加减分", "最终得分", "标记"])
    for r in rows:
        writer.writerow([r.rank or "", r.unit, unit_names.get(r.unit, r.unit), r.sheets,
                         *(_number(r.group_averages.get(g.key)) for g in groups),
                         _number(r.weighted), _number(r.adjustment), _number(r.final), _flag(r)])
    writer.writerow([])
    writer.writerow(["【参评者权重】", "原文占比 %", "计分占比 %（按合计 95% 归一）"])
    for w in weights_table(groups):
        writer.writerow([w["name"], w["source_percent"], w["counted_percent"]])
    return out.getvalue()
