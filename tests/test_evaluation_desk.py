"""万众评股室 on the command path: evaluation.act on a real store (SQLite, PostgreSQL), a SimClock, a restart."""
import json
import uuid
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from hallserver.domain.clock import SimClock
from hallserver.domain.evaluation import DEFAULT_INDICATORS
from hallserver.processor import CommandProcessor
from hallserver.store import Store

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def proc(config, db_url):
    config.windows[0].department = "人社局"
    store = Store(db_url)
    store.migrate()
    yield CommandProcessor(config, store, SimClock(datetime(2026, 12, 1, 9, tzinfo=TZ)))
    store.close()


def act(proc, **fields):
    command = {"id": uuid.uuid4().hex, "type": "evaluation.act", **fields}
    reply, _ = proc.handle_local(json.dumps(command, ensure_ascii=False).encode())
    return reply


def full(fraction="1"):
    return {i.key: str(i.points * Decimal(fraction)) for i in DEFAULT_INDICATORS}


def opened(proc, units=("不动产登记股", "社保股", "税务股")):
    reply = act(proc, action="open", name="2026 年第四季度", starts="2026-10-01", ends="2026-12-31",
                units=list(units), by="m001")
    assert reply["ok"], reply
    return reply["result"]["campaign"]


def test_a_campaign_its_sheets_adjustments_and_opinions_kept_across_a_restart(proc):
    x = opened(proc)
    assert x["sheet_total"] == "90.00" and len(x["indicators"]) == 20
    assert [g["counted_percent"] for g in x["groups"]] == ["15.79", "15.79", "15.79", "21.05", "31.58"]
    assert len(set(x["tokens"].values())) == 5 and all(len(t) >= 16 for t in x["tokens"].values())
    cid = x["id"]
    sheet = act(proc, action="sheet", campaign=cid, unit="社保股", group="public", scores=full(), by="m001",
                opinion="窗口午间无人值守")
    assert sheet["ok"] and sheet["result"]["sheet"]["total"] == "90.00"
    assert sheet["result"]["sheet"]["opinion_status"] == "待整改"
    assert act(proc, action="sheet", campaign=cid, unit="税务股", group="leaders", scores=full("0.5"),
               token=x["tokens"]["leaders"])["ok"]
    wrong_token = act(proc, action="sheet", campaign=cid, unit="税务股", group="public", scores=full(),
                      token=x["tokens"]["leaders"])
    assert wrong_token["error"]["code"] == "forbidden"
    over = act(proc, action="sheet", campaign=cid, unit="税务股", group="public", by="m001",
               scores={**full(), "1": "4.6"})
    assert over["error"]["code"] == "invalid" and "0–4.5" in over["error"]["detail"]
    assert act(proc, action="sheet", campaign=cid, unit="农业股", group="public", by="m001",
               scores=full())["error"]["code"] == "invalid"
    assert act(proc, action="adjust", campaign=cid, unit="社保股", points="10.5", reason="x",
               by="m001")["error"]["code"] == "invalid"
    assert act(proc, action="adjust", campaign=cid, unit="社保股", points="-10", reason="群众投诉查实",
               by="m001")["ok"]
    assert act(proc, action="adjust", campaign=cid, unit="社保股", points="3", reason="",
               by="m001")["error"]["code"] == "invalid"
    assert act(proc, action="adjust", campaign=99, unit="社保股", points="3", reason="x",
               by="m001")["error"]["code"] == "not_found"

    rebuilt = CommandProcessor(proc.config, proc.store, proc.clock)          # a restart: from the database
    rows = {r["unit"]: r for r in rebuilt.evaluation.result_view(rebuilt.evaluation.book.campaign(cid))}
    assert rows["社保股"]["weighted"] == "90.00" and rows["社保股"]["final"] == "80.00" and rows["社保股"]["rank"] == 1
    assert rows["税务股"]["final"] == "45.00" and rows["税务股"]["rank"] == 2
    assert rows["不动产登记股"]["final"] == "" and rows["不动产登记股"]["rank"] is None
    (opinion,) = rebuilt.evaluation.opinions_view(rebuilt.evaluation.book.campaign(cid), TZ)
    assert act(rebuilt, action="rectify", sheet=opinion["sheet"], note="x", by="m001")["error"]["code"] == "invalid"
    assert act(rebuilt, action="rectify", sheet=opinion["sheet"], note="已安排午间轮岗", by="m001")["ok"]
    assert act(rebuilt, action="rectify", sheet=opinion["sheet"], note="再次", by="m001")["error"]["code"] == "invalid"
    assert act(rebuilt, action="close", campaign=cid, by="m001")["result"]["campaign"]["status"] == "已结束"
    assert act(rebuilt, action="sheet", campaign=cid, unit="税务股", group="public", by="m001",
               scores=full())["error"]["code"] == "invalid"                # closed: no more sheets
    again = CommandProcessor(proc.config, proc.store, proc.clock)
    (opinion,) = again.evaluation.opinions_view(again.evaluation.book.campaign(cid), TZ)
    assert opinion["status"] == "已整改" and opinion["note"] == "已安排午间轮岗"
    audit = [(a["action"], a["outcome"]) for a in proc.store.audit_records()]
    assert ("evaluation.act", "ok") in audit and ("evaluation.act", "invalid") in audit


def test_a_campaign_without_units_rates_the_hall_s_departments_and_bad_commands_are_refused(proc):
    reply = act(proc, action="open", name="2026 年度", starts="2026-01-01", ends="2026-12-31", by="m001")
    assert reply["ok"] and "人社局" in reply["result"]["campaign"]["units"]
    assert act(proc, action="open", name="倒置", starts="2026-12-31", ends="2026-01-01",
               by="m001")["error"]["code"] == "invalid"
    assert act(proc, action="open", name="重复", starts="2026-01-01", ends="2026-01-02", units=["a", "a"],
               by="m001")["error"]["code"] == "invalid"
    assert act(proc, action="adjust", campaign=1, unit="人社局", points="1.005", reason="x",
               by="m001")["error"]["code"] == "invalid"                    # the contract: 2 decimals
    assert act(proc, action="sheet", campaign=1, unit="人社局", group="public", scores=full())["error"]["code"] == \
        "invalid"                                                          # paper needs who entered it
    assert act(proc, action="frobnicate")["error"]["code"] == "invalid"


def test_a_hall_s_own_sheet_and_groups_from_the_config_for_new_campaigns(proc):
    from govhall.config import EvaluationConfig
    config = proc.config.model_copy(update={"evaluation": EvaluationConfig.model_validate({
        "indicators": [{"key": "a", "system": "服务", "name": "态度", "points": 60},
                       {"key": "b", "system": "服务", "name": "效率", "points": 40}],
        "groups": [{"key": "staff", "name": "干部职工", "weight": 0.4},
                   {"key": "public", "name": "群众", "weight": 0.6}]})})
    old = opened(proc)                                                        # before: the 004 sheet
    proc.evaluation.set_config(config)
    new = opened(proc)
    assert new["sheet_total"] == "100.00" and [g["counted_percent"] for g in new["groups"]] == ["40.00", "60.00"]
    assert act(proc, action="sheet", campaign=new["id"], unit="社保股", group="staff", scores={"a": "60", "b": "30"},
               by="m001")["ok"]
    assert act(proc, action="sheet", campaign=new["id"], unit="社保股", group="staff", scores={"a": "61", "b": "30"},
               by="m001")["error"]["code"] == "invalid"
    assert len(proc.evaluation.book.campaign(old["id"]).indicators) == 20     # the old campaign keeps its sheet
    with pytest.raises(ValueError):
        EvaluationConfig.model_validate({"groups": [{"key": "g", "name": "G", "weight": 0.5},
                                                    {"key": "g", "name": "H", "weight": 0.5}]})
