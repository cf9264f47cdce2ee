"""万众评股室 over real HTTP: a manager's campaign, sheets and adjustments (CSRF), a lead's and an auditor's
view, the CSV, the page, and the rater groups' public QR form with its token and per-address limit."""
import httpx
import pytest

from govhall.config import EvaluationConfig, ManagerConfig
from hallserver.broker import free_port
from hallserver.domain.evaluation import DEFAULT_INDICATORS
from hallserver.passwords import hash_password
from tests.conftest import running_hall

UNITS = ["人社局", "税务局", "社保股"]


@pytest.fixture(scope="module")
def manager_hash():
    return hash_password("manager-pass-2026")


@pytest.fixture
def hall(config, embedded_broker, sqlite_url, manager_hash):
    config.evaluation = EvaluationConfig(public_per_address_per_day=2)
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=manager_hash),
                       ManagerConfig(id="a001", name="审计员", password_hash=manager_hash, role="auditor"),
                       ManagerConfig(id="l001", name="人社局刘科长", password_hash=manager_hash, role="lead",
                                     departments=["人社局"])]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, _):
        yield server.dashboard_url


def login(base, who="m001"):
    client = httpx.Client(base_url=base, timeout=10)
    assert client.post("/login", data={"manager": who, "password": "manager-pass-2026"}).status_code in (200, 303)
    return client, {"X-CSRF-Token": client.cookies["govhall_csrf"]}


def full(**changed):
    return {**{i.key: str(i.points) for i in DEFAULT_INDICATORS}, **changed}


def open_campaign(client, csrf):
    r = client.post("/api/evaluation/campaigns", json={"name": "2026 年第四季度", "starts": "2026-10-01",
                                                       "ends": "2026-12-31", "units": UNITS}, headers=csrf)
    assert r.status_code == 201, r.text
    return r.json()["campaign"]


def test_a_manager_runs_a_campaign_a_lead_sees_their_own_an_auditor_reads(hall):
    manager, csrf = login(hall)
    assert manager.post("/api/evaluation/campaigns", json={"name": "x", "starts": "2026-10-01",
                                                           "ends": "2026-12-31"}).status_code == 403   # no CSRF
    c = open_campaign(manager, csrf)
    sheets = f"/api/evaluation/campaigns/{c['id']}/sheets"
    ok = manager.post(sheets, json={"unit": "人社局", "group": "public", "scores": full(), "opinion": "午间无人"},
                      headers=csrf)
    assert ok.status_code == 201 and ok.json()["sheet"]["total"] == "90.00"
    assert manager.post(sheets, json={"unit": "税务局", "group": "deputies", "scores": full(**{"9": "6"}),
                                      "opinion": "=HYPERLINK(\"x\")"}, headers=csrf).status_code == 201
    over = manager.post(sheets, json={"unit": "税务局", "group": "public", "scores": full(**{"1": "4.6"})},
                        headers=csrf)
    assert over.status_code == 400 and "0–4.5" in over.json()["error"]["message"]
    assert manager.post(sheets, json={"unit": "税务局", "group": "public", "scores": full(**{"1": "abc"})},
                        headers=csrf).status_code == 400
    assert manager.post(sheets, json={"unit": "税务局", "group": "nobody", "scores": full()},
                        headers=csrf).status_code == 400
    adjust = f"/api/evaluation/campaigns/{c['id']}/adjustments"
    assert manager.post(adjust, json={"unit": "税务局", "points": "10.5", "reason": "过多"},
                        headers=csrf).status_code == 400
    assert manager.post(adjust, json={"unit": "税务局", "points": "10", "reason": "代表建议办理好"},
                        headers=csrf).status_code == 201
    assert manager.post(adjust, json={"unit": "税务局", "points": "abc", "reason": "x"},
                        headers=csrf).status_code == 422
    detail = manager.get(f"/api/evaluation/{c['id']}").json()
    rows = {r["unit"]: r for r in detail["result"]}
    assert rows["税务局"]["weighted"] == "87.00" and rows["税务局"]["final"] == "97.00" and rows["税务局"]["rank"] == 1
    assert rows["人社局"]["rank"] == 2 and rows["社保股"]["rank"] is None and detail["campaign"]["tokens"]
    assert manager.get("/api/evaluation/99").status_code == 404
    csv = manager.get(f"/api/evaluation/{c['id']}?format=csv")
    assert csv.status_code == 200 and "前10位" in csv.text and "31.58" in csv.text
    page = manager.get(f"/evaluation?campaign={c['id']}")
    assert page.status_code == 200 and "万众评股室" in page.text and "好差评实时排名（按评价渠道加权）" in page.text
    assert "/e/" + c["tokens"]["public"] in page.text and "录入纸质评分表" in page.text

    lead, lead_csrf = login(hall, "l001")
    assert lead.post("/api/evaluation/campaigns", json={"name": "x", "starts": "2026-10-01", "ends": "2026-12-31"},
                     headers=lead_csrf).status_code == 403
    assert lead.post(adjust, json={"unit": "人社局", "points": "10", "reason": "自评"},
                     headers=lead_csrf).status_code == 403
    seen = lead.get(f"/api/evaluation/{c['id']}").json()
    assert [r["unit"] for r in seen["result"]] == ["人社局"] and "tokens" not in seen["campaign"]
    mine = next(o for o in seen["opinions"] if o["unit"] == "人社局")
    theirs = next(o for o in detail["opinions"] if o["unit"] == "税务局")
    assert theirs["opinion"].startswith("=HYPERLINK")
    assert lead.post(f"/api/evaluation/opinions/{theirs['sheet']}/rectify", json={"note": "不是我的"},
                     headers=lead_csrf).status_code == 403
    assert lead.post(f"/api/evaluation/opinions/{mine['sheet']}/rectify", json={"note": "已安排午间轮岗"},
                     headers=lead_csrf).status_code == 200
    assert "录入纸质评分表" not in lead.get(f"/evaluation?campaign={c['id']}").text

    auditor, auditor_csrf = login(hall, "a001")
    assert auditor.get(f"/api/evaluation/{c['id']}").status_code == 200
    assert auditor.post(f"/api/evaluation/opinions/{theirs['sheet']}/rectify", json={"note": "审计"},
                        headers=auditor_csrf).status_code == 403
    assert manager.post(f"/api/evaluation/campaigns/{c['id']}/close", headers=csrf).status_code == 200
    assert manager.post(sheets, json={"unit": "税务局", "group": "public", "scores": full()},
                        headers=csrf).status_code == 400


def test_the_public_qr_form_its_token_and_its_limit(hall):
    manager, csrf = login(hall)
    c = open_campaign(manager, csrf)
    token = c["tokens"]["public"]
    public = httpx.Client(base_url=hall, timeout=10)
    form = public.get(f"/e/{token}")
    assert form.status_code == 200 and "社会各界人士、服务对象" in form.text and "首问负责制" in form.text
    assert public.get("/e/" + "x" * 24).status_code == 404
    assert public.get("/e/short").status_code == 404
    assert public.post("/e/" + "x" * 24, json={"unit": "人社局", "scores": full()}).status_code == 404
    assert public.post(f"/e/{token}", json={"unit": "人社局", "scores": full(**{"13-1": "3"})}).status_code == 400
    assert public.post(f"/e/{token}", json={"unit": "人社局", "scores": full(**{"13-1": "-1"})}).status_code == 400
    assert public.post(f"/e/{token}", json={"unit": "人社局", "scores": {"1": "4"}}).status_code == 400
    assert public.post(f"/e/{token}", json={"unit": "人社局", "scores": full(), "extra": 1}).status_code == 422
    first = public.post(f"/e/{token}", json={"unit": "人社局", "scores": full(**{"1": "4"}), "opinion": "好"})
    assert first.status_code == 201 and first.json()["total"] == "89.50"
    assert public.post(f"/e/{token}", json={"unit": "税务局", "scores": full()}).status_code == 201
    limited = public.post(f"/e/{token}", json={"unit": "税务局", "scores": full()})
    assert limited.status_code == 429 and "纸质" in limited.json()["error"]["message"]
    detail = manager.get(f"/api/evaluation/{c['id']}").json()
    rows = {r["unit"]: r for r in detail["result"]}
    assert rows["人社局"]["group_averages"]["public"] == "89.50" and rows["人社局"]["sheets"] == 1
    assert manager.post(f"/api/evaluation/campaigns/{c['id']}/close", headers=csrf).status_code == 200
    assert public.get(f"/e/{token}").status_code == 404                     # a closed campaign takes no more
