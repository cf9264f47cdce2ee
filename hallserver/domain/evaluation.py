"""万众评股室: a campaign's score sheets, the rater groups' weights, the leading group's points, the ranking.

Source: /work/shared/rules/004 (海丰县“万众评股室”活动工作方案, 海委办〔2013〕13号). What it says:

- 表一 《万众评股室工作评分表》: five systems of 18 points each, 90 in all, item by item
  (`DEFAULT_INDICATORS`, the items and points as printed; item 13 is four parts of 2.5).
- Five groups of raters, each group's sheets counting for its share: 四套班子 15 %, 县直机关 15 %,
  镇党委政府 15 %, 代表委员 20 %, 社会各界/服务对象 30 % (`DEFAULT_GROUPS`).
- "评议总分为100分，其中评分表90分制，另抽出10分为评议领导小组可控分": the leading group may add or
  take off up to 10 points, each with 充分的理由和依据.
- The units are ranked (列序); the top 10 are commended, the bottom 10 criticised (后10至7, 后6至4,
  后3至1 with rising consequences).

Ours (docs/evaluation.md says why):

- The shares add up to 95 %, not 100 %. The missing 5 % is not the leading group's part (that is
  10 points on top of the 90-point sheet, not a share of it), so the weighted score is the
  weighted mean over the weights themselves: Σ wᵍ·avgᵍ / Σ wᵍ — the shares normalised to 100 %
  (15/95 = 15.79 % …, 30/95 = 31.58 %). A unit rated 90 by everyone scores 90, not 85.5.
- A group without a sheet for a unit is left out and the others are normalised over their own
  weights; a unit with no sheet at all has no score and no rank.
- A group's average is the mean of its sheets' totals. Every figure is exact (Decimal, no float);
  the weighted and final scores are rounded once, to 2 places half-up, and ranked on that.
- The final score is weighted + adjustment, never below 0 (90 + 10 = 100 is the top).
- Ties share a rank (1, 1, 3). Top and bottom: k = 10 when there are 20 units or more, else
  half of them rounded down, so no unit is in both; a tie across the line takes every tied unit
  in. Where ties span the middle a unit could be both: it is neither (the sheets tell it apart
  from nobody).

Pure: no clock, no database.
"""
from __future__ import annotations

import hmac
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

TWO_PLACES = Decimal("0.01")
MAX_ADJUSTMENT = Decimal(10)
MAX_SCORE_PLACES = 2          # a score per indicator: at most 2 decimals (4.5, 2.25)
FLAG_COUNT = 10               # 前10位 and 后10位
REASON_MAX = 500


class EvaluationError(ValueError):
    """A refused sheet, adjustment or setting: its error code and an English detail."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code
        self.detail = detail


@dataclass(frozen=True)
class Indicator:
    key: str            # "1" … "17", "13-1" … "13-4"
    system: str         # 首问负责制 …
    name: str
    points: Decimal


@dataclass(frozen=True)
class RaterGroup:
    key: str
    name: str
    weight: Decimal     # the source's share, 0.15 …


def _ind(key: str, system: str, name: str, points: str) -> Indicator:
    return Indicator(key, system, name, Decimal(points))


DEFAULT_INDICATORS: tuple[Indicator, ...] = (
    _ind("1", "首问负责制", "职责范围内能解决的及时处理、热情解答", "4.5"),
    _ind("2", "首问负责制", "不属本人职责但属本单位的，告知并指引到责任股室、介绍责任人", "4.5"),
    _ind("3", "首问负责制", "不属本单位职责的，耐心解释并指引到相关部门", "4.5"),
    _ind("4", "首问负责制", "文明礼貌、热情大方，不冷漠、不推诿", "4.5"),
    _ind("5", "岗位责任制", "依“三定”方案在职责范围内依法行政，不越位、缺位", "4.5"),
    _ind("6", "岗位责任制", "职责分解到岗位，各司其职、各负其责", "4.5"),
    _ind("7", "岗位责任制", "设AB岗，A岗离岗由B岗履职，工作不停滞", "4.5"),
    _ind("8", "岗位责任制", "“一岗双责”，严格自律，不以权谋私", "4.5"),
    _ind("9", "服务承诺制", "服务内容、程序、时限、标准向社会公开承诺", "9"),
    _ind("10", "服务承诺制", "按程序、按时限办结，规范用语，廉洁办事，不能办理及时告知", "9"),
    _ind("11", "政务公示制", "有专职人员负责政务公示日常工作", "4"),
    _ind("12", "政务公示制", "建立和完善行政审批电子监察系统", "4"),
    _ind("13-1", "政务公示制", "公示机构设置、位置分布、行政职能", "2.5"),
    _ind("13-2", "政务公示制", "公示办事条件、办事程序、收费标准、办理时限", "2.5"),
    _ind("13-3", "政务公示制", "公示股室工作人员的相片、名字、部门、职务、职责", "2.5"),
    _ind("13-4", "政务公示制", "公示规范性文件、行政处罚决定及复议决定", "2.5"),
    _ind("14", "限时办结制", "科学、合理确定办理时限，或严格执行文件规定的时限", "4.5"),
    _ind("15", "限时办结制", "手续完备、材料齐全的，严格按时限办理，不拖延、推诿、刁难", "4.5"),
    _ind("16", "限时办结制", "即时审核材料，出具收件回执（材料、页数、取件时间、经办人）", "4.5"),
    _ind("17", "限时办结制", "无正当理由不延时；确需延时的报批并告知理由", "4.5"),
)

DEFAULT_GROUPS: tuple[RaterGroup, ...] = (
    RaterGroup("leaders", "县四套班子领导", Decimal("0.15")),
    RaterGroup("county_organs", "县直（含垂直）机关副科以上单位", Decimal("0.15")),
    RaterGroup("towns", "各镇（场）党委、政府", Decimal("0.15")),
    RaterGroup("deputies", "县以上党代表、人大代表、政协委员", Decimal("0.20")),
    RaterGroup("public", "社会各界人士、服务对象", Decimal("0.30")),
)


@dataclass(frozen=True)
class Sheet:
    """One 评分表: one rater group's scores of one unit, indicator key → points given."""
    unit: str
    group: str
    scores: Mapping[str, Decimal]

    @property
    def total(self) -> Decimal:
        return sum(self.scores.values(), Decimal(0))


@dataclass(frozen=True)
class UnitResult:
    unit: str
    sheets: int
    group_averages: Mapping[str, Decimal | None]   # group key → mean of its sheets' totals, None without
    weighted: Decimal | None                        # 0 … sheet total, 2 places; None without sheets
    adjustment: Decimal                             # the leading group's −10 … +10
    final: Decimal | None
    rank: int | None
    top: bool
    bottom: bool
    bottom_rank: int | None                         # 1 = the last; the source's 后3至1 … 后10至7


def sheet_total(indicators: Sequence[Indicator]) -> Decimal:
    return sum((i.points for i in indicators), Decimal(0))


def check_indicators(indicators: Sequence[Indicator]) -> None:
    """Unique keys, points above 0 with at most 2 decimals; at least one."""
    if not indicators:
        raise EvaluationError("invalid_field", "the score sheet needs at least one indicator")
    keys = [i.key for i in indicators]
    if len(set(keys)) != len(keys):
        raise EvaluationError("invalid_field", "indicator keys must be unique")
    for indicator in indicators:
        if not indicator.key or not indicator.name:
            raise EvaluationError("invalid_field", "an indicator needs a key and a name")
        _check_amount(indicator.points, f"indicator {indicator.key}'s points")
        if indicator.points <= 0:
            raise EvaluationError("invalid_field", f"indicator {indicator.key}'s points must be above 0")


def check_groups(groups: Sequence[RaterGroup]) -> None:
    """Unique keys, weights above 0 and at most 1 (they need not add up to 1: see the module)."""
    if not groups:
        raise EvaluationError("invalid_field", "at least one rater group is needed")
    keys = [g.key for g in groups]
    if len(set(keys)) != len(keys):
        raise EvaluationError("invalid_field", "rater group keys must be unique")
    for group in groups:
        if not group.key or not group.name:
            raise EvaluationError("invalid_field", "a rater group needs a key and a name")
        if not group.weight.is_finite() or group.weight <= 0 or group.weight > 1:
            raise EvaluationError("invalid_field", f"group {group.key}'s weight must be above 0 and at most 1")


def normalised_weights(groups: Sequence[RaterGroup]) -> dict[str, Decimal]:
    """Each group's share of the weighted score, over the weights' sum (the page shows both)."""
    total = sum((g.weight for g in groups), Decimal(0))
    return {g.key: g.weight / total for g in groups}


def _check_amount(value: Decimal, what: str) -> None:
    if not isinstance(value, Decimal) or not value.is_finite():
        raise EvaluationError("invalid_field", f"{what}须为数字")
    exponent = value.normalize().as_tuple().exponent
    if isinstance(exponent, int) and exponent < -MAX_SCORE_PLACES:
        raise EvaluationError("invalid_field", f"{what}最多 {MAX_SCORE_PLACES} 位小数")


def check_sheet(sheet: Sheet, indicators: Sequence[Indicator], groups: Sequence[RaterGroup],
                units: Iterable[str]) -> None:
    """A sheet scores every indicator once, each 0 … its points; its group and unit are known."""
    if sheet.unit not in set(units):
        raise EvaluationError("unknown_unit", f"“{sheet.unit}”不是本次评议的被评股室")
    if sheet.group not in {g.key for g in groups}:
        raise EvaluationError("unknown_group", f"没有参评者类别“{sheet.group}”")
    expected = {i.key: i for i in indicators}
    if set(sheet.scores) != set(expected):
        missing = sorted(set(expected) - set(sheet.scores))
        extra = sorted(set(sheet.scores) - set(expected))
        raise EvaluationError("invalid_field", f"评分表须逐项打分（缺 {'、'.join(missing) or '无'}，"
                                               f"多 {'、'.join(extra) or '无'}）")
    for key, score in sheet.scores.items():
        _check_amount(score, f"第 {key} 项的得分")
        if score < 0 or score > expected[key].points:
            raise EvaluationError("score_out_of_range",
                                  f"第 {key} 项得分应在 0–{expected[key].points} 分之间，不能是 {score}")


def check_adjustment(points: Decimal, reason: str) -> None:
    """The leading group's points: −10 … +10, at most 2 decimals, with a reason."""
    _check_amount(points, "领导小组加减分")
    if abs(points) > MAX_ADJUSTMENT:
        raise EvaluationError("adjustment_out_of_range", f"领导小组加减分最多 ±10 分，"
                                                         f"不能是 {points}")
    if not reason.strip():
        raise EvaluationError("reason_required", "加减分须写明充分的理由和依据")
    if len(reason) > REASON_MAX:
        raise EvaluationError("invalid_field", f"理由最多 {REASON_MAX} 字")


def _round(value: Decimal) -> Decimal:
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def group_averages(sheets: Sequence[Sheet], groups: Sequence[RaterGroup]) -> dict[str, Decimal | None]:
    """Each group's mean sheet total (exact), None for a group without a sheet."""
    averages: dict[str, Decimal | None] = {}
    for group in groups:
        totals = [s.total for s in sheets if s.group == group.key]
        averages[group.key] = sum(totals, Decimal(0)) / len(totals) if totals else None
    return averages


def weighted_score(averages: Mapping[str, Decimal | None], groups: Sequence[RaterGroup]) -> Decimal | None:
    """Σ wᵍ·avgᵍ / Σ wᵍ over the groups with sheets, rounded to 2 places; None without any."""
    present = [g for g in groups if averages.get(g.key) is not None]
    if not present:
        return None
    weight = sum((g.weight for g in present), Decimal(0))
    total = sum((g.weight * averages[g.key] for g in present), Decimal(0))  # type: ignore[operator]
    return _round(total / weight)


def final_score(weighted: Decimal | None, adjustment: Decimal) -> Decimal | None:
    if weighted is None:
        return None
    return max(Decimal(0), _round(weighted + adjustment))


def flag_count(ranked_units: int) -> int:
    """10 each when there are 20 or more ranked units, else half of them (no unit in both)."""
    return FLAG_COUNT if ranked_units >= 2 * FLAG_COUNT else ranked_units // 2


def results(units: Sequence[str], sheets: Sequence[Sheet], groups: Sequence[RaterGroup],
            adjustments: Mapping[str, Decimal]) -> list[UnitResult]:
    """Every unit's figures, in ranking order (the unranked last, in the given order)."""
    by_unit: dict[str, list[Sheet]] = {}
    for s in sheets:
        by_unit.setdefault(s.unit, []).append(s)
    partial = []
    for unit in units:
        own = by_unit.get(unit, [])
        averages = group_averages(own, groups)
        weighted = weighted_score(averages, groups)
        adjustment = adjustments.get(unit, Decimal(0))
        partial.append((unit, len(own), averages, weighted, adjustment, final_score(weighted, adjustment)))
    finals = [p[5] for p in partial if p[5] is not None]
    k = flag_count(len(finals))
    out = []
    for unit, count, averages, weighted, adjustment, final in partial:
        rank = bottom_rank = None
        top = bottom = False
        if final is not None:
            rank = 1 + sum(1 for f in finals if f > final)
            bottom_rank = 1 + sum(1 for f in finals if f < final)
            top, bottom = rank <= k, bottom_rank <= k
            if top and bottom:
                top = bottom = False
        out.append(UnitResult(unit, count, averages, weighted, adjustment, final, rank, top, bottom,
                              bottom_rank))
    return sorted(out, key=lambda r: (r.rank is None, r.rank or 0))


def bottom_tier(bottom_rank: int | None, bottom: bool) -> str:
    """The source's tiers of the last 10: 后3至1, 后6至4, 后10至7; "" for a unit not in the bottom."""
    if not bottom or bottom_rank is None:
        return ""
    if bottom_rank <= 3:
        return "后3至1"
    if bottom_rank <= 6:
        return "后6至4"
    return "后10至7"


# --------------------------------------------------------------------------- the campaign's book
OPEN, CLOSED = "评议中", "已结束"
TO_RECTIFY, RECTIFIED = "待整改", "已整改"
NAME_MAX, UNIT_MAX, UNITS_MAX, OPINION_MAX = 60, 40, 500, 500


@dataclass
class Campaign:
    """One 评议 (a quarter, a year): its units, and the sheet and groups fixed when it opened."""
    id: int
    name: str
    starts: date
    ends: date
    units: tuple[str, ...]
    indicators: tuple[Indicator, ...]
    groups: tuple[RaterGroup, ...]
    tokens: Mapping[str, str]          # group key → the QR form's token
    opened_by: str
    opened_at: datetime
    status: str = OPEN
    closed_by: str = ""
    closed_at: datetime | None = None


@dataclass
class SheetRecord:
    """A sheet as received: its scores, the 征求意见 text and that opinion's 整改."""
    id: int
    campaign: int
    unit: str
    group: str
    scores: Mapping[str, Decimal]
    opinion: str
    source: str                        # paper (entered by `by`) or qr (the group's form)
    by: str
    at: datetime
    opinion_status: str = ""           # "" without an opinion, else 待整改 / 已整改
    rectified_note: str = ""
    rectified_by: str = ""
    rectified_at: datetime | None = None

    @property
    def sheet(self) -> Sheet:
        return Sheet(self.unit, self.group, self.scores)


@dataclass(frozen=True)
class Adjustment:
    """The leading group's points for a unit; the latest per unit counts, every one is kept."""
    id: int
    campaign: int
    unit: str
    points: Decimal
    reason: str
    by: str
    at: datetime


class EvaluationBook:
    """Every campaign, sheet and adjustment; what changed is taken by the store (`take_changed`)."""

    def __init__(self, campaigns: Iterable[Campaign] = (), sheets: Iterable[SheetRecord] = (),
                 adjustments: Iterable[Adjustment] = ()) -> None:
        self.campaigns = {x.id: x for x in campaigns}
        self.sheets = {x.id: x for x in sheets}
        self.adjustments = {x.id: x for x in adjustments}
        self._changed: list[Campaign | SheetRecord | Adjustment] = []

    def take_changed(self) -> list[Campaign | SheetRecord | Adjustment]:
        changed, self._changed = self._changed, []
        return changed

    def campaign(self, campaign_id: int) -> Campaign:
        x = self.campaigns.get(campaign_id)
        if x is None:
            raise EvaluationError("not_found", f"no campaign {campaign_id}")
        return x

    def _open_campaign(self, campaign_id: int) -> Campaign:
        x = self.campaign(campaign_id)
        if x.status != OPEN:
            raise EvaluationError("invalid", "评议已结束，不能再录入或调整")
        return x

    def open(self, name: str, starts: date, ends: date, units: Sequence[str], indicators: Sequence[Indicator],
             groups: Sequence[RaterGroup], tokens: Mapping[str, str], by: str, now: datetime) -> Campaign:
        name, units = name.strip(), tuple(u.strip() for u in units)
        if not name or len(name) > NAME_MAX:
            raise EvaluationError("invalid", f"评议名称须为 1–{NAME_MAX} 字")
        if starts > ends:
            raise EvaluationError("invalid", "评议开始日期不能晚于结束日期")
        if not units or len(units) > UNITS_MAX or any(not u or len(u) > UNIT_MAX for u in units):
            raise EvaluationError("invalid", f"被评股室须为 1–{UNITS_MAX} 个，名称 1–{UNIT_MAX} 字")
        if len(set(units)) != len(units):
            raise EvaluationError("invalid", "被评股室不能重复")
        check_indicators(indicators)
        check_groups(groups)
        if set(tokens) != {g.key for g in groups} or len(set(tokens.values())) != len(tokens):
            raise EvaluationError("invalid", "each rater group needs its own token")
        x = Campaign(max(self.campaigns, default=0) + 1, name, starts, ends, units, tuple(indicators),
                     tuple(groups), dict(tokens), by, now)
        self.campaigns[x.id] = x
        self._changed.append(x)
        return x

    def close(self, campaign_id: int, by: str, now: datetime) -> Campaign:
        x = self._open_campaign(campaign_id)
        x.status, x.closed_by, x.closed_at = CLOSED, by, now
        self._changed.append(x)
        return x

    def group_of_token(self, campaign_id: int, token: str) -> str | None:
        x = self.campaigns.get(campaign_id)
        if x is None:
            return None
        return next((g for g, t in x.tokens.items() if hmac.compare_digest(t, token)), None)

    def add_sheet(self, campaign_id: int, unit: str, group: str, scores: Mapping[str, Decimal], opinion: str,
                  source: str, by: str, now: datetime) -> SheetRecord:
        x = self._open_campaign(campaign_id)
        opinion = opinion.strip()
        if len(opinion) > OPINION_MAX:
            raise EvaluationError("invalid", f"意见建议最多 {OPINION_MAX} 字")
        check_sheet(Sheet(unit, group, scores), x.indicators, x.groups, x.units)
        record = SheetRecord(max(self.sheets, default=0) + 1, x.id, unit, group, dict(scores), opinion, source, by,
                             now, TO_RECTIFY if opinion else "")
        self.sheets[record.id] = record
        self._changed.append(record)
        return record

    def adjust(self, campaign_id: int, unit: str, points: Decimal, reason: str, by: str,
               now: datetime) -> Adjustment:
        x = self._open_campaign(campaign_id)
        if unit not in x.units:
            raise EvaluationError("unknown_unit", f"“{unit}”不是本次评议的被评股室")
        check_adjustment(points, reason)
        record = Adjustment(max(self.adjustments, default=0) + 1, x.id, unit, points, reason.strip(), by, now)
        self.adjustments[record.id] = record
        self._changed.append(record)
        return record

    def rectify(self, sheet_id: int, note: str, by: str, now: datetime) -> SheetRecord:
        record = self.sheets.get(sheet_id)
        if record is None or not record.opinion:
            raise EvaluationError("not_found", f"no opinion on sheet {sheet_id}")
        if record.opinion_status == RECTIFIED:
            raise EvaluationError("invalid", "该意见已整改")
        note = note.strip()
        if len(note) < 2 or len(note) > OPINION_MAX:
            raise EvaluationError("invalid", f"请写明整改情况（2–{OPINION_MAX} 字）")
        record.opinion_status, record.rectified_note, record.rectified_by, record.rectified_at = (
            RECTIFIED, note, by, now)
        self._changed.append(record)
        return record

    def latest_adjustments(self, campaign_id: int) -> dict[str, Decimal]:
        """unit → the points of its latest adjustment in the campaign."""
        latest: dict[str, Decimal] = {}
        for a in sorted(self.adjustments.values(), key=lambda a: a.id):
            if a.campaign == campaign_id:
                latest[a.unit] = a.points
        return latest

    def results(self, campaign_id: int) -> list[UnitResult]:
        x = self.campaign(campaign_id)
        sheets = [s.sheet for s in self.sheets.values() if s.campaign == campaign_id]
        return results(x.units, sheets, x.groups, self.latest_adjustments(campaign_id))
