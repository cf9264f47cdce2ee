"""The hall server's 万众评股室 desk: `evaluation.act` on the one command path — campaigns opened and
closed, score sheets from paper or a rater group's QR form, the leading group's adjustments, the 整改 of
the opinions — and the views the dashboard shows. Called only on the writer thread. docs/evaluation.md.
"""
from __future__ import annotations

import secrets
from datetime import datetime, tzinfo
from decimal import Decimal

from govhall import contract as c
from govhall.config import Config
from hallserver.domain.evaluation import (
    DEFAULT_GROUPS,
    DEFAULT_INDICATORS,
    Campaign,
    EvaluationBook,
    EvaluationError,
    Indicator,
    RaterGroup,
    SheetRecord,
    normalised_weights,
    sheet_total,
)
from hallserver.domain.queue import DomainError
from hallserver.reports.evaluation import result_rows
from hallserver.store import Store

ERRORS = {"not_found": c.ErrorCode.NOT_FOUND, "forbidden": c.ErrorCode.FORBIDDEN}


def hall_units(config: Config) -> list[str]:
    """The units a campaign rates when it names none: the hall's departments (windows, staff, matters)."""
    return sorted({x.department for x in (*config.windows, *config.staff, *config.matters) if x.department})


def sheet_of(config: Config) -> tuple[tuple[Indicator, ...], tuple[RaterGroup, ...]]:
    """The score sheet and rater groups a new campaign takes: `[evaluation]`'s, else the source's (004)."""
    section = config.evaluation
    indicators = tuple(Indicator(i.key, i.system, i.name, i.points) for i in section.indicators) or DEFAULT_INDICATORS
    groups = tuple(RaterGroup(g.key, g.name, g.weight) for g in section.groups) or DEFAULT_GROUPS
    return indicators, groups


def _require(value: object, what: str) -> None:
    if value is None or value == "":
        raise EvaluationError("invalid", f"请填写{what}")


class EvaluationDesk:
    def __init__(self, config: Config, store: Store) -> None:
        self.store = store
        self.set_config(config)
        self.reload()

    def set_config(self, config: Config) -> None:
        self.config = config

    def reload(self) -> None:
        self.book = EvaluationBook(*self.store.evaluation_items())

    # ------------------------------------------------------------------ commands
    def dispatch(self, cmd: c.EvaluationAction, now: datetime) -> Campaign | SheetRecord:
        try:
            return self._act(cmd, now)
        except EvaluationError as exc:
            self.book.take_changed()
            raise DomainError(ERRORS.get(exc.code, c.ErrorCode.INVALID), exc.detail) from None

    def _act(self, cmd: c.EvaluationAction, now: datetime) -> Campaign | SheetRecord:
        if cmd.action == "rectify":
            _require(cmd.sheet, "评分表")
            return self.book.rectify(cmd.sheet, cmd.note, cmd.by or "manager", now)
        if cmd.action == "open":
            _require(cmd.name, "评议名称")
            _require(cmd.starts, "开始日期")
            _require(cmd.ends, "结束日期")
            indicators, groups = sheet_of(self.config)
            tokens = {g.key: secrets.token_urlsafe(18) for g in groups}
            return self.book.open(cmd.name or "", cmd.starts, cmd.ends, cmd.units or hall_units(self.config),
                                  indicators, groups, tokens, cmd.by or "manager", now)
        _require(cmd.campaign, "评议")
        campaign = self.book.campaign(cmd.campaign or 0)
        if cmd.action == "close":
            return self.book.close(campaign.id, cmd.by or "manager", now)
        _require(cmd.unit, "被评股室")
        if cmd.action == "adjust":
            _require(cmd.points, "加减分")
            self.book.adjust(campaign.id, cmd.unit or "", Decimal(cmd.points or "0"), cmd.reason, cmd.by or "manager",
                             now)
            return campaign
        _require(cmd.group, "参评者类别")
        if cmd.token is not None:
            if self.book.group_of_token(campaign.id, cmd.token) != cmd.group:
                raise EvaluationError("forbidden", "评议二维码无效")
            source, by = "qr", "qr"
        else:
            _require(cmd.by, "录入人")
            source, by = "paper", cmd.by or ""
        scores = {k: Decimal(v) for k, v in cmd.scores.items()}
        return self.book.add_sheet(campaign.id, cmd.unit or "", cmd.group or "", scores, cmd.opinion, source, by, now)

    # ------------------------------------------------------------------ views
    def find_token(self, token: str) -> tuple[Campaign, str] | None:
        """The open campaign and the rater group of a QR form's token, or None."""
        for x in self.book.campaigns.values():
            group = self.book.group_of_token(x.id, token)
            if group is not None and x.status == "评议中":
                return x, group
        return None

    def campaigns(self) -> list[Campaign]:
        return sorted(self.book.campaigns.values(), key=lambda x: -x.id)

    def campaign_view(self, x: Campaign, tz: tzinfo) -> dict:
        shares = normalised_weights(x.groups)
        return {"id": x.id, "name": x.name, "starts": x.starts.isoformat(), "ends": x.ends.isoformat(),
                "status": x.status, "units": list(x.units), "opened_by": x.opened_by,
                "opened_at": x.opened_at.astimezone(tz).isoformat(),
                "closed_at": x.closed_at.astimezone(tz).isoformat() if x.closed_at else None,
                "sheet_total": f"{sheet_total(x.indicators):.2f}",
                "indicators": [{"key": i.key, "system": i.system, "name": i.name, "points": str(i.points)}
                               for i in x.indicators],
                "groups": [{"key": g.key, "name": g.name, "source_percent": f"{g.weight * 100:.2f}",
                            "counted_percent": f"{shares[g.key] * 100:.2f}"} for g in x.groups],
                "tokens": dict(x.tokens),
                "sheets": sum(1 for s in self.book.sheets.values() if s.campaign == x.id)}

    def result_view(self, x: Campaign) -> list[dict]:
        return result_rows(self.book.results(x.id), x.groups, {})

    def adjustments_view(self, x: Campaign, tz: tzinfo) -> list[dict]:
        return [{"id": a.id, "unit": a.unit, "points": f"{a.points:.2f}", "reason": a.reason, "by": a.by,
                 "at": a.at.astimezone(tz).isoformat()}
                for a in sorted(self.book.adjustments.values(), key=lambda a: -a.id) if a.campaign == x.id]

    def opinions_view(self, x: Campaign, tz: tzinfo) -> list[dict]:
        names = {g.key: g.name for g in x.groups}
        return [{"sheet": s.id, "unit": s.unit, "group": s.group, "group_name": names.get(s.group, s.group),
                 "opinion": s.opinion, "status": s.opinion_status, "note": s.rectified_note,
                 "rectified_by": s.rectified_by, "at": s.at.astimezone(tz).isoformat(),
                 "rectified_at": s.rectified_at.astimezone(tz).isoformat() if s.rectified_at else None}
                for s in sorted(self.book.sheets.values(), key=lambda s: -s.id) if s.campaign == x.id and s.opinion]

    def unit_of_sheet(self, sheet_id: int) -> str | None:
        s = self.book.sheets.get(sheet_id)
        return s.unit if s is not None else None

    def view(self, item: Campaign | SheetRecord, tz: tzinfo) -> dict:
        if isinstance(item, Campaign):
            return {"campaign": self.campaign_view(item, tz)}
        return {"sheet": {"id": item.id, "campaign": item.campaign, "unit": item.unit, "group": item.group,
                          "total": f"{item.sheet.total:.2f}", "source": item.source,
                          "opinion_status": item.opinion_status}}
