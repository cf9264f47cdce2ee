"""追评: the one follow-up rating of a 差评 after its 整改 (DESIGN: "at most one follow-up rating
after a fix"), linked to the first, through the command path on a real store (SQLite and
PostgreSQL), over HTTP on the ticket's phone page and the dashboard's 回访 entry; its own hash
chain, the statistics that do not count it twice, the export that links it, its migration."""
import csv
import json
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import create_engine, text

from hallserver.broker import free_port
from hallserver.domain.clock import SimClock
from hallserver.processor import CommandProcessor
from hallserver.rating_chain import verify, verify_follow_ups
from hallserver.reports.rating_export import export_ratings, follow_up_rows, rating_rows
from hallserver.reports.ratings import follow_up_statistics, rating_statistics
from hallserver.store import Store
from tests.conftest import running_hall

TZ = ZoneInfo("Asia/Shanghai")
SECRET = "a-hall-secret-kept-out-of-the-db"


@pytest.fixture
def proc(config, db_url):
    config.windows[0].department = "人社局"
    store = Store(db_url)
    store.rating_secret = SECRET
    store.migrate()
    yield CommandProcessor(config, store, SimClock(datetime(2025, 11, 17, 9, 0, tzinfo=TZ)))
    store.close()


def send(proc, device, **command):
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command, ensure_ascii=False).encode())
    return next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device))


def web(proc, **command):
    reply, _ = proc.handle_local(json.dumps({"id": uuid.uuid4().hex, **command}, ensure_ascii=False).encode())
    return reply


def serve_and_rate(proc, level, phone=""):
    """A service at w1 rated on the tablet: its ticket's token."""
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    send(proc, "kiosk-1", type="ticket.issue", category="social")
    send(proc, "counter-1", type="window.call_next", window="w1")
    send(proc, "counter-1", type="window.complete", window="w1")
    reply = send(proc, "tablet-1", type="rating.submit", window="w1", level=level,
                 reasons=["效率"] if level <= 2 else [], phone=phone)
    assert reply["ok"], reply
    return next(t.token for t in reversed(proc.store.all_tickets()) if t.number == reply["result"]["ticket"])


def rectify(proc, rid):
    assert web(proc, type="rectification.act", rectification=rid, action="verify", by="m001", note="已回访",
               reached=True)["ok"]
    assert web(proc, type="rectification.act", rectification=rid, action="rectify", by="m001",
               note="高峰时段增开窗口")["ok"]


def follow_up(proc, **fields):
    return web(proc, type="rating.follow_up", **fields)


def test_a_follow_up_only_after_the_fix_once_linked_to_the_first(proc):
    token = serve_and_rate(proc, 2, phone="13800138000")
    (item,) = proc.rectification_list()
    refused = follow_up(proc, token=token, level=4)
    assert refused["error"]["code"] == "not_rectified"
    assert refused["error"]["message"] == "该差评尚未整改完成，整改完成后才能追评"
    assert web(proc, type="rectification.act", rectification=item["id"], action="verify", by="m001", note="已回访",
               reached=True)["ok"]
    assert follow_up(proc, token=token, level=4)["error"]["code"] == "not_rectified"       # verified, not fixed
    assert web(proc, type="rectification.act", rectification=item["id"], action="rectify", by="m001",
               note="增开窗口")["ok"]
    done = follow_up(proc, token=token, level=4, reasons=[], comment="这次很快")
    assert done["ok"], done
    given = done["result"]["follow_up"]
    assert (given["rating_id"], given["level"], given["channel"], given["entered_by"]) == (1, 4, 3, "")
    again = follow_up(proc, token=token, level=5)
    assert again["error"]["code"] == "already_followed_up"
    assert again["error"]["message"] == "本次服务已追评，每次服务只能追评一次"
    assert follow_up(proc, rectification=item["id"], by="m001", level=5)["error"]["code"] == "already_followed_up"
    (shown,) = proc.rectification_list()
    assert shown["status"] == "已整改"
    assert (shown["follow_up"]["level"], shown["follow_up"]["level_name"]) == (4, "满意")
    rebuilt = CommandProcessor(proc.config, proc.store, proc.clock)                       # after a restart
    assert follow_up(rebuilt, token=token, level=5)["error"]["code"] == "already_followed_up"
    assert rebuilt.rectification_list()[0]["follow_up"]["level"] == 4
    assert [r["level"] for r in proc.store.rating_records()] == [2]                       # the first never changes
    assert [(f["rating_id"], f["level"], f["comment"]) for f in proc.store.follow_up_records()] == [(1, 4, "这次很快")]


def test_no_follow_up_of_a_good_rating_an_unrated_service_or_an_upheld_appeal(proc):
    good = serve_and_rate(proc, 5)
    refused = follow_up(proc, token=good, level=1)
    assert refused["error"]["code"] == "follow_up_not_allowed"
    assert refused["error"]["message"] == "只有差评（不满意、非常不满意）在整改完成后可以追评"
    send(proc, "kiosk-1", type="ticket.issue", category="social")
    unrated = proc.store.all_tickets()[-1].token
    assert follow_up(proc, token=unrated, level=3)["error"]["code"] == "follow_up_not_allowed"
    assert follow_up(proc, token="A" * 16, level=3)["error"]["code"] == "ticket_not_found"
    appealed = serve_and_rate(proc, 1)
    (item,) = proc.rectification_list()
    assert web(proc, type="rectification.act", rectification=item["id"], action="appeal", by="s001",
               note="录像显示已一次性告知")["ok"]
    assert web(proc, type="rectification.act", rectification=item["id"], action="decide", by="m001", upheld=True,
               note="属实")["ok"]
    assert follow_up(proc, token=appealed, level=3)["error"]["code"] == "not_rectified"    # no fix, no follow-up
    assert proc.store.follow_up_records() == []


def test_a_manager_enters_the_callbacks_follow_up_validated_like_any_rating(proc):
    serve_and_rate(proc, 1)
    rid = proc.rectification_list()[0]["id"]
    assert follow_up(proc, rectification=rid, by="m001", level=4)["error"]["code"] == "not_rectified"
    rectify(proc, rid)
    for bad in ({"level": 6}, {"level": 0}, {"level": "4"}, {"level": 4, "comment": "x" * 501},
                {"level": 4, "reasons": ["x" * 33]}, {"level": 4, "token": "A" * 16},     # both sources
                {"level": 4, "by": None}, {"level": 4, "by": "m 1"}):
        fields = {"rectification": rid, "by": "m001", **bad}
        assert follow_up(proc, **{k: v for k, v in fields.items() if v is not None})["error"]["code"] == "invalid"
    assert follow_up(proc, level=4)["error"]["code"] == "invalid"                           # neither source
    assert follow_up(proc, token="A" * 16, by="m001", level=4)["error"]["code"] == "invalid"
    assert follow_up(proc, rectification=rid, by="m001", level=2, reasons=["乱写"])["error"]["code"] == "unknown_reason"
    assert follow_up(proc, rectification=rid, by="s001", level=5)["error"]["code"] == "forbidden"   # the one rated
    assert follow_up(proc, rectification=99, by="m001", level=5)["error"]["code"] == "not_found"
    assert send(proc, "tablet-1", type="rating.follow_up", rectification=rid, by="m001",
                level=5)["error"]["code"] == "forbidden"                                  # only the server's web side
    done = follow_up(proc, rectification=rid, by="m001", level=2, reasons=["效率", "效率"], comment="仍嫌慢")
    given = done["result"]["follow_up"]
    assert (given["level"], given["reasons"], given["channel"], given["entered_by"]) == (2, ["效率"], 5, "m001")
    assert proc.store.follow_up_records()[0]["by"] == "m001"


def test_the_follow_up_is_open_for_the_configured_days_after_the_fix(proc):
    proc.config.ratings.phone_valid_days = 2
    token = serve_and_rate(proc, 2)
    proc.clock.advance(3 * 86400)                  # the first rating's days are over; the 整改 comes now
    rectify(proc, proc.rectification_list()[0]["id"])
    proc.clock.advance(2 * 86400)
    later = serve_and_rate(proc, 2)
    rectify(proc, proc.rectification_list()[1]["id"])
    assert follow_up(proc, token=token, level=4)["ok"]             # two days after its 整改: open
    proc.clock.advance(3 * 86400)
    expired = follow_up(proc, token=later, level=4)
    assert expired["error"]["code"] == "rating_expired"


def test_the_follow_ups_chain_holds_the_database_refuses_changes_and_verify_names_one(proc, db_url, tmp_path):
    for level in (2, 1, 5):
        serve_and_rate(proc, level)
    for item in proc.rectification_list():
        rectify(proc, item["id"])
        assert follow_up(proc, rectification=item["id"], by="m001", level=4)["ok"]
    ratings, records = proc.store.rating_records(), proc.store.follow_up_records()
    assert verify(ratings, SECRET).ok and verify(ratings, SECRET).checked == 3          # the old chain, unchanged
    ids = {r["id"] for r in ratings}
    assert verify_follow_ups(records, SECRET, ids).ok and verify_follow_ups(records, SECRET, ids).checked == 2
    assert records[0]["prev_hash"] == "0" * 64 and records[1]["prev_hash"] == records[0]["hash"]
    assert not verify_follow_ups(records, "another-key", ids).ok
    changed = [dict(r) for r in records]
    changed[0]["level"] = 5
    assert verify_follow_ups(changed, SECRET, ids).problem == "follow-up 1 was changed after it was recorded"
    moved = [dict(r) for r in records]
    moved[1]["rating_id"] = 3                          # hung on another rating
    assert not verify_follow_ups(moved, SECRET, ids).ok
    assert verify_follow_ups(records[1:], SECRET, ids).problem.startswith("follow-up 2 does not follow")
    engine = create_engine(db_url)
    for statement in ("UPDATE rating_follow_ups SET level = 5 WHERE id = 1", "DELETE FROM rating_follow_ups"):
        with pytest.raises(Exception, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))
    toml = tmp_path / "hall.toml"
    example = (Path(__file__).parent.parent / "examples" / "hall.toml").read_text("utf-8")
    toml.write_text(example + f'\n[ratings]\nsecret = "{SECRET}"\n', encoding="utf-8")
    run = [sys.executable, "-m", "hall.cli", "ratings", "verify", "--config", str(toml), "--database", db_url]
    ok = subprocess.run(run, capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr
    assert "3 records, chain intact" in ok.stdout and "follow-ups (追评): 2 records, chain intact" in ok.stdout
    with engine.begin() as conn:                       # someone with the database's owner rights goes round the trigger
        if engine.dialect.name == "postgresql":
            conn.execute(text("ALTER TABLE rating_follow_ups DISABLE TRIGGER rating_follow_ups_no_update"))
        else:
            conn.execute(text("DROP TRIGGER rating_follow_ups_no_update"))
        conn.execute(text("UPDATE rating_follow_ups SET level = 5 WHERE id = 1"))
    engine.dispose()
    broken = subprocess.run(run, capture_output=True, text=True)
    assert broken.returncode == 1 and "follow-up 1 was changed after it was recorded" in broken.stderr


def test_statistics_count_a_follow_up_apart_and_the_export_links_it(proc, tmp_path):
    serve_and_rate(proc, 5)
    token = serve_and_rate(proc, 2)
    rectify(proc, proc.rectification_list()[0]["id"])
    assert follow_up(proc, token=token, level=5)["ok"]
    firsts = rating_rows(proc.store, proc.config)
    stats = rating_statistics(firsts)
    assert (stats["total"]["count"], stats["total"]["satisfaction"], stats["total"]["bad"]) == (2, 50.0, 1)
    assert stats["by_window"]["w1"]["count"] == 2 and stats["by_channel"]["评价器"]["count"] == 2
    follow = follow_up_statistics(follow_up_rows(proc.store, firsts))
    assert follow["total"] == {"count": 1, "by_level": {"5": 1, "4": 0, "3": 0, "2": 0, "1": 0}, "satisfaction": 100.0}
    assert follow["by_window"]["w1"]["count"] == 1 and follow["by_department"]["人社局"]["satisfaction"] == 100.0
    day = proc.store.summary(proc.clock.now(), proc.clock.now().date())
    assert day.ratings == 2 and day.ratings_by_level == {2: 1, 5: 1}                       # the day's report too
    assert proc.engine.staff_day("s001").ratings == 2                                       # and the counter's figures
    out = export_ratings(proc.store, proc.config, tmp_path / "ratings.csv")
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert [(r["kind"], r["rating_id"], r["first_rating_id"], r["level"]) for r in rows] == [
        ("first", "1", "", "5"), ("first", "2", "", "2"), ("follow_up", "1", "2", "5")]
    follow_row = rows[2]
    assert follow_row["ticket_number"] == rows[1]["ticket_number"] == "A002" and follow_row["channel"] == "3"
    assert follow_row["rectification"] == "已整改" and follow_row["hash"] == proc.store.follow_up_records()[0]["hash"]
    xlsx = export_ratings(proc.store, proc.config, tmp_path / "ratings.xlsx")
    from openpyxl import load_workbook
    sheet = load_workbook(xlsx).active
    header = [c.value for c in sheet[1]]
    assert header[:3] == ["rating_id", "kind", "first_rating_id"] and sheet.max_row == 4
    assert [c.value for c in sheet[4]][:3] == [1, "follow_up", 2]


def test_a_formula_in_a_follow_ups_words_is_exported_as_text(proc, tmp_path):
    token = serve_and_rate(proc, 2)
    rectify(proc, proc.rectification_list()[0]["id"])
    assert follow_up(proc, token=token, level=3, comment='=HYPERLINK("http://x","点此")')["ok"]
    out = export_ratings(proc.store, proc.config, tmp_path / "ratings.csv")
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert rows[1]["text"] == '\'=HYPERLINK("http://x","点此")'


def test_the_phone_page_offers_the_follow_up_once_after_the_fix(config, embedded_broker, sqlite_url):
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        kiosk, counter = device("kiosk-1"), device("counter-1")
        url = kiosk.request({"type": "ticket.issue", "category": "social"})["result"]["page_url"]
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        counter.request({"type": "window.call_next", "window": "w1"})
        counter.request({"type": "window.complete", "window": "w1"})
        done = httpx.post(url + "/rating", data={"level": "2", "reason": ["效率"]}, timeout=5, follow_redirects=True)
        assert "您已评价：不满意" in done.text and "追评" not in done.text
        early = httpx.post(url + "/follow-up", data={"level": "4"}, timeout=5)
        assert early.status_code == 409 and "尚未整改完成" in early.text
        base = server.dashboard_url
        (item,) = httpx.get(base + "api/rectifications", timeout=5).json()["rectifications"]
        assert item["follow_up"] is None
        for action in ("verify", "rectify"):
            assert httpx.post(base + f"api/rectifications/{item['id']}/{action}",
                              json={"by": "m001", "note": "已处理", "reached": True}, timeout=5).status_code == 200
        page = httpx.get(url, timeout=5).text
        assert "您的意见已整改，欢迎再次评价（追评）" in page and 'action="/t/' in page and "/follow-up" in page
        assert all(name in page for name in ("非常满意", "基本满意", "非常不满意"))
        assert all(f'value="{r}"' in page for r in config.ratings.reasons)                  # the hall's reasons
        assert httpx.post(url + "/follow-up", data={"level": "9"}, timeout=5).status_code == 400
        forged = httpx.post(url + "/follow-up", data={"level": "4", "reason": ["乱写"]}, timeout=5)
        assert forged.status_code == 400
        given = httpx.post(url + "/follow-up", data={"level": "4", "comment": "快多了"}, timeout=5,
                           follow_redirects=True)
        assert given.status_code == 200 and "您已评价：不满意" in given.text and "您的追评：满意" in given.text
        assert "/follow-up" not in given.text                                              # no second form
        again = httpx.post(url + "/follow-up", data={"level": "1"}, timeout=5, follow_redirects=True)
        assert "您的追评：满意" in again.text
        entered = httpx.post(base + f"api/rectifications/{item['id']}/follow-up", json={"by": "m001", "level": 1},
                             timeout=5)
        assert entered.status_code == 409 and entered.json()["error"]["code"] == "already_followed_up"
        assert [f["level"] for f in server.store.follow_up_records()] == [4]
        (item,) = httpx.get(base + "api/rectifications", timeout=5).json()["rectifications"]
        assert item["follow_up"]["level"] == 4 and item["follow_up"]["channel"] == 3
        report = httpx.get(base + "api/reports/ratings", timeout=5).json()
        assert report["total"]["count"] == 1 and report["total"]["satisfaction"] == 0.0
        assert report["follow_ups"]["total"]["count"] == 1 and report["follow_ups"]["total"]["satisfaction"] == 100.0


def test_the_dashboard_enters_a_callbacks_follow_up(config, embedded_broker, sqlite_url):
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        kiosk, counter, tablet = device("kiosk-1"), device("counter-1"), device("tablet-1")
        url = kiosk.request({"type": "ticket.issue", "category": "social"})["result"]["page_url"]
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        counter.request({"type": "window.call_next", "window": "w1"})
        counter.request({"type": "window.complete", "window": "w1"})
        tablet.request({"type": "rating.submit", "window": "w1", "level": 1})
        base = server.dashboard_url
        (item,) = httpx.get(base + "api/rectifications", timeout=5).json()["rectifications"]
        path = base + f"api/rectifications/{item['id']}/follow-up"
        early = httpx.post(path, json={"by": "m001", "level": 4}, timeout=5)
        assert early.status_code == 409 and early.json()["error"]["code"] == "not_rectified"
        for action in ("verify", "rectify"):
            httpx.post(base + f"api/rectifications/{item['id']}/{action}", json={"by": "m001", "note": "已处理"},
                       timeout=5)
        assert httpx.post(path, json={"by": "m001", "level": 7}, timeout=5).status_code == 422
        assert httpx.post(path, json={"by": "m001", "level": 4, "extra": 1}, timeout=5).status_code == 422
        assert httpx.post(path, json={"by": "m001", "level": 4, "reasons": ["乱写"]}, timeout=5).status_code == 400
        assert httpx.post(base + "api/rectifications/99/follow-up", json={"by": "m001", "level": 4},
                          timeout=5).status_code == 404
        done = httpx.post(path, json={"by": "m001", "level": 4, "reasons": [], "comment": "回访：满意"}, timeout=5)
        assert done.status_code == 201 and done.json()["follow_up"]["channel"] == 5
        assert "您的追评：满意" in httpx.get(url, timeout=5).text                             # the phone shows both


def test_the_migration_keeps_old_ratings_and_their_chain_and_adds_an_append_only_table(db_url, config):
    from alembic import command as alembic_command
    from alembic.config import Config as AlembicConfig

    from hallserver.store.repository import MIGRATIONS
    store = Store(db_url)
    store.rating_secret = SECRET
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))

    def to(revision, down=False):
        with store.engine.begin() as conn:
            cfg.attributes["connection"] = conn
            (alembic_command.downgrade if down else alembic_command.upgrade)(cfg, revision)
    store.migrate()
    proc = CommandProcessor(config, store, SimClock(datetime(2025, 11, 17, 9, 0, tzinfo=TZ)))
    serve_and_rate(proc, 2)
    serve_and_rate(proc, 4)
    before = store.rating_records()
    to("0023", down=True)                             # a database of before the follow-ups, with its ratings
    to("head")
    assert store.rating_records() == before and verify(before, SECRET).ok
    assert store.follow_up_records() == []
    engine = create_engine(db_url)
    with pytest.raises(Exception, match="append-only"):           # the ratings' own triggers are still there
        with engine.begin() as conn:
            conn.execute(text("UPDATE ratings SET level = 5 WHERE id = 1"))
    engine.dispose()
    proc = CommandProcessor(config, store, proc.clock)
    rectify(proc, proc.rectification_list()[0]["id"])
    assert follow_up(proc, rectification=1, by="m001", level=3)["ok"]
    assert verify_follow_ups(store.follow_up_records(), SECRET, {1, 2}).ok
    store.close()


def test_the_manager_logged_in_is_recorded_and_a_lead_only_enters_their_departments(config, embedded_broker,
                                                                                     sqlite_url):
    from govhall.config import ManagerConfig
    from hallserver.passwords import hash_password
    from tests.test_web_auth import lead_hall
    from tests.test_web_auth import serve_and_rate as serve_over_mqtt
    config, secret = lead_hall(config), hash_password("manager-pass-2026")
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=secret),
                       ManagerConfig(id="l001", name="人社局刘科长", password_hash=secret, role="lead",
                                     departments=["人社局"])]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        base = server.dashboard_url
        serve_over_mqtt(device, "w1", "s001", "social", 1)
        serve_over_mqtt(device, "w2", "s002", "business", 2)

        def logged_in(who):
            client = httpx.Client(base_url=base, timeout=5)
            client.post("/login", data={"manager": who, "password": "manager-pass-2026"})
            return client, {"X-CSRF-Token": client.cookies["govhall_csrf"]}
        manager, csrf = logged_in("m001")
        ids = {r["window"]: r["id"] for r in manager.get("/api/rectifications").json()["rectifications"]}
        for rid in ids.values():
            for action in ("verify", "rectify"):
                assert manager.post(f"/api/rectifications/{rid}/{action}", json={"by": "m001", "note": "已处理"},
                                    headers=csrf).status_code == 200
        assert httpx.post(base + f"api/rectifications/{ids['w1']}/follow-up", json={"by": "m001", "level": 4},
                          timeout=5).status_code == 401                                    # no session
        lead, lead_csrf = logged_in("l001")
        other = lead.post(f"/api/rectifications/{ids['w2']}/follow-up", json={"by": "l001", "level": 4},
                          headers=lead_csrf)
        assert other.status_code == 403 and "只能处理本部门的整改单" in other.json()["error"]["message"]
        mine = lead.post(f"/api/rectifications/{ids['w1']}/follow-up", json={"by": "s001", "level": 4},
                         headers=lead_csrf)
        assert mine.status_code == 201 and mine.json()["follow_up"]["entered_by"] == "l001"    # the session's
        done = manager.post(f"/api/rectifications/{ids['w2']}/follow-up", json={"by": "x9", "level": 3},
                            headers=csrf)
        assert done.status_code == 201 and done.json()["follow_up"]["entered_by"] == "m001"
        report = lead.get("/api/reports/ratings").json()["follow_ups"]
        assert report["total"]["count"] == 1 and set(report["by_department"]) == {"人社局"}
        assert manager.get("/api/reports/ratings").json()["follow_ups"]["total"]["count"] == 2


def test_the_phone_page_stays_open_for_the_follow_up_after_the_tickets_own_days(config, embedded_broker, sqlite_url):
    config.ratings.phone_valid_days = 1
    clock = SimClock(datetime(2025, 11, 17, 9, 0, tzinfo=TZ))
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port()),
                      clock=clock) as (server, device):
        kiosk, counter = device("kiosk-1"), device("counter-1")
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        urls = [kiosk.request({"type": "ticket.issue", "category": "social"})["result"]["page_url"] for _ in range(2)]
        for url, level in zip(urls, ("2", "1"), strict=True):
            counter.request({"type": "window.call_next", "window": "w1"})
            counter.request({"type": "window.complete", "window": "w1"})
            httpx.post(url + "/rating", data={"level": level, "reason": ["态度"]}, timeout=5)
        clock.advance(3 * 86400)                       # the tickets' own days are over
        assert all("这张号票已过期" in httpx.get(url, timeout=5).text for url in urls)
        base = server.dashboard_url
        first = httpx.get(base + "api/rectifications", timeout=5).json()["rectifications"][0]
        for action in ("verify", "rectify"):
            httpx.post(base + f"api/rectifications/{first['id']}/{action}", json={"by": "m001", "note": "已处理"},
                       timeout=5)
        assert "欢迎再次评价（追评）" in httpx.get(urls[0], timeout=5).text                # rectified: open again
        assert "这张号票已过期" in httpx.get(urls[1], timeout=5).text                      # not rectified: still not
        clock.advance(2 * 86400)                       # a day after the 整改 + 1 day: over
        assert "这张号票已过期" in httpx.get(urls[0], timeout=5).text
        late = httpx.post(urls[0] + "/follow-up", data={"level": "4"}, timeout=5)
        assert late.status_code == 409 and "已超过评价期限" in late.text


def test_follow_ups_committed_together_keep_their_chain_and_one_per_rating(proc):
    """Group commit (the bus's batches): the follow-ups' last link is carried along inside the batch,
    and a second follow-up of the same rating in the same batch is refused, not a failed commit."""
    for level in (1, 2):
        serve_and_rate(proc, level)
    rids = [item["id"] for item in proc.rectification_list()]
    for rid in rids:
        rectify(proc, rid)
    with proc.store.batch():
        replies = [follow_up(proc, rectification=rid, by="m001", level=level)
                   for rid, level in ((rids[0], 3), (rids[0], 5), (rids[1], 4))]
    assert [r["ok"] for r in replies] == [True, False, True]
    assert replies[1]["error"]["code"] == "already_followed_up"
    records = proc.store.follow_up_records()
    assert [(f["rating_id"], f["level"]) for f in records] == [(1, 3), (2, 4)]
    assert verify_follow_ups(records, SECRET, {1, 2}).ok
    assert follow_up(proc, rectification=rids[1], by="m001", level=1)["error"]["code"] == "already_followed_up"
