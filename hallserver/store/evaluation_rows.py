"""万众评股室 rows: campaigns, sheets and adjustments to their rows and back (Decimals as text, exact)."""
from __future__ import annotations

import json
from decimal import Decimal

from hallserver.domain.evaluation import Adjustment, Campaign, Indicator, RaterGroup, SheetRecord


def campaign_row(x: Campaign) -> dict:
    return {"name": x.name, "starts": x.starts, "ends": x.ends, "units": json.dumps(list(x.units), ensure_ascii=False),
            "indicators": json.dumps([[i.key, i.system, i.name, str(i.points)] for i in x.indicators],
                                     ensure_ascii=False),
            "groups": json.dumps([[g.key, g.name, str(g.weight)] for g in x.groups], ensure_ascii=False),
            "tokens": json.dumps(dict(x.tokens)), "opened_by": x.opened_by, "opened_at": x.opened_at,
            "status": x.status, "closed_by": x.closed_by, "closed_at": x.closed_at}


def campaign_from_row(row: dict) -> Campaign:
    indicators = tuple(Indicator(k, s, n, Decimal(p)) for k, s, n, p in json.loads(row["indicators"]))
    groups = tuple(RaterGroup(k, n, Decimal(w)) for k, n, w in json.loads(row["groups"]))
    return Campaign(row["id"], row["name"], row["starts"], row["ends"], tuple(json.loads(row["units"])), indicators,
                    groups, json.loads(row["tokens"]), row["opened_by"], row["opened_at"], row["status"],
                    row["closed_by"], row["closed_at"])


def sheet_row(x: SheetRecord) -> dict:
    return {"campaign": x.campaign, "unit": x.unit, "rater_group": x.group,
            "scores": json.dumps({k: str(v) for k, v in x.scores.items()}), "opinion": x.opinion,
            "source": x.source, "entered_by": x.by, "at": x.at, "opinion_status": x.opinion_status,
            "rectified_note": x.rectified_note, "rectified_by": x.rectified_by, "rectified_at": x.rectified_at}


def sheet_from_row(row: dict) -> SheetRecord:
    scores = {k: Decimal(v) for k, v in json.loads(row["scores"]).items()}
    return SheetRecord(row["id"], row["campaign"], row["unit"], row["rater_group"], scores, row["opinion"],
                       row["source"], row["entered_by"], row["at"], row["opinion_status"], row["rectified_note"],
                       row["rectified_by"], row["rectified_at"])


def adjustment_row(x: Adjustment) -> dict:
    return {"campaign": x.campaign, "unit": x.unit, "points": str(x.points), "reason": x.reason,
            "entered_by": x.by, "at": x.at}


def adjustment_from_row(row: dict) -> Adjustment:
    return Adjustment(row["id"], row["campaign"], row["unit"], Decimal(row["points"]), row["reason"],
                      row["entered_by"], row["at"])
