"""Managers log in to the dashboard and its HTTP API; citizens' pages stay public; every
state-changing request carries the session's CSRF token; security headers everywhere."""
import statistics
import threading
import time

import httpx
import pytest

from govhall.config import ManagerConfig
from hallserver.broker import free_port
from hallserver.domain.login_throttle import LoginThrottle
from hallserver.passwords import hash_password
from hallserver.web.auth import Sessions
from tests.conftest import running_hall


@pytest.fixture(scope="module")
def manager_hash():
    return hash_password("manager-pass-2026")


@pytest.fixture
def web(config, embedded_broker, sqlite_url, manager_hash):
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=manager_hash)]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        yield server, device, server.dashboard_url


def login(base, password="manager-pass-2026", who="m001"):
    client = httpx.Client(base_url=base, timeout=5)
    r = client.post("/login", data={"manager": who, "password": password})
    return client, r


def test_the_dashboard_and_its_api_need_a_manager(web):
    _, _, base = web
    page = httpx.get(base, timeout=5)
    assert page.status_code == 303 and page.headers["location"] == "/login"
    assert httpx.get(base + "api/overview", timeout=5).status_code == 401
    assert httpx.get(base + "api/reports/ratings", timeout=5).status_code == 401
    assert httpx.post(base + "api/leaves", json={}, timeout=5).status_code == 401
    assert httpx.get(base + "healthz", timeout=5).status_code == 200                 # public
    assert "管理员账号" in httpx.get(base + "login", timeout=5).text
    assert page.headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in \
        page.headers["Content-Security-Policy"]


def test_a_manager_logs_in_and_acts_with_the_csrf_token(web):
    server, device, base = web
    client, r = login(base, "wrong")
    assert r.status_code == 401 and "账号或密码错误" in r.text
    client, r = login(base)
    assert r.status_code == 303 and "govhall_session" in client.cookies
    cookie = next(c for c in client.cookies.jar if c.name == "govhall_session")
    assert cookie.has_nonstandard_attr("HttpOnly") and client.cookies["govhall_csrf"]
    assert client.get("/").status_code == 200 and client.get("/api/overview").status_code == 200
    body = {"window": "w1", "points": 5, "reason": "表扬信", "by": "someone-else"}
    assert client.post("/api/ranking/adjustments", json=body).status_code == 403          # no CSRF token
    ok = client.post("/api/ranking/adjustments", json=body, headers={"X-CSRF-Token": client.cookies["govhall_csrf"]})
    assert ok.status_code == 201
    assert server.store.score_adjustments()[0]["by"] == "m001"                         # the one logged in
    client.post("/logout", headers={"X-CSRF-Token": client.cookies["govhall_csrf"]})
    assert client.get("/api/overview").status_code == 401


def login_from(base, address, password="manager-pass-2026", who="m001"):
    """A login as if through the reverse proxy on this machine, for a client at `address`."""
    with httpx.Client(base_url=base, timeout=30, headers={"X-Forwarded-For": address}) as client:
        started = time.monotonic()
        r = client.post("/login", data={"manager": who, "password": password})
        return r, time.monotonic() - started


def small_throttle(server, **options):
    """The login throttle with small bounds (ours are seconds and minutes), set on the running web."""
    throttle = LoginThrottle(**{"free_failures": 3, "base_delay_s": 0.2, "address_cap_s": 60.0,
                                "account_cap_s": 1.0, "alert_failures": 6, **options})
    server.web.app.state.web.login_throttle = throttle
    return throttle


def test_an_attacker_hammering_an_account_cannot_keep_its_manager_out(web):
    """Many addresses guess m001's password without pause, the whole time; m001 logs in from
    their own address at once anyway — held at most the account's bound (1 s here), never locked."""
    server, _, base = web
    small_throttle(server)
    stop, tries = threading.Event(), []

    def hammer(n: int) -> None:
        i = 0
        while not stop.is_set():
            r, _ = login_from(base, f"10.66.{n}.{i % 250}", "guess-guess")
            tries.append(r.status_code)
            i += 1

    attackers = [threading.Thread(target=hammer, args=(n,)) for n in range(4)]
    for t in attackers:
        t.start()
    try:
        while len(tries) < 12:
            time.sleep(0.05)
        results = [login_from(base, "10.0.0.7") for _ in range(3)]
    finally:
        stop.set()
        for t in attackers:
            t.join()
    assert set(tries) <= {401, 429} and tries.count(401) >= 12              # all the while refused
    for r, took in results:
        assert r.status_code == 303 and "govhall_session" in r.cookies       # in, every time
        assert took < 1.0 + 5.0                                              # the 1 s hold, plus argon2 under load


def test_the_attacking_address_is_throttled_with_retry_after(web):
    server, _, base = web
    small_throttle(server, base_delay_s=30.0)
    for _ in range(3):
        r, _ = login_from(base, "10.0.0.66", "guess-guess")
        assert r.status_code == 401 and "账号或密码错误" in r.text
    r, took = login_from(base, "10.0.0.66")                                 # even the right password: not checked
    retry = int(r.headers["Retry-After"])
    assert r.status_code == 429 and 20 <= retry <= 30 and f"请 {retry} 秒后再试" in r.text
    assert "govhall_session" not in r.cookies and took < 0.5
    r, _ = login_from(base, "10.0.0.66", who="m-nobody")                    # nor any other account from there
    assert r.status_code == 429
    r, _ = login_from(base, "10.0.0.7")                                     # m001 from elsewhere: in
    assert r.status_code == 303
    outcomes = [x["outcome"] for x in server.store.audit_records() if x["action"] == "manager.login"]
    assert outcomes == ["bad_password"] * 3 + ["throttled", "throttled", "ok"]


def test_an_x_forwarded_for_from_anyone_but_the_local_proxy_is_not_believed(web):
    """A client connecting from another address (127.0.0.2 here) cannot pick its address with the
    header: its failures all count against it, whatever it claims."""
    server, _, base = web
    small_throttle(server, base_delay_s=5.0)
    transport = httpx.HTTPTransport(local_address="127.0.0.2")
    with httpx.Client(base_url=base, timeout=10, transport=transport) as client:
        codes = [client.post("/login", data={"manager": "m001", "password": "guess"},
                             headers={"X-Forwarded-For": f"10.9.9.{i}"}).status_code for i in range(5)]
    assert codes == [401, 401, 401, 429, 429]
    clients = {x["detail"] for x in server.store.audit_records() if x["action"] == "manager.login"}
    assert clients == {"127.0.0.2"}


def test_an_unknown_account_is_answered_like_a_wrong_password_and_as_slowly(web):
    server, _, base = web
    small_throttle(server, free_failures=1000)
    wrong, unknown = [], []
    for i in range(5):
        wrong.append(login_from(base, f"10.0.1.{i}", "guess-guess"))
        unknown.append(login_from(base, f"10.0.2.{i}", "guess-guess", who="m999"))
    assert {r.status_code for r, _ in wrong + unknown} == {401}
    assert {r.text for r, _ in wrong} == {r.text for r, _ in unknown}       # word for word the same page
    real, ghost = statistics.median(t for _, t in wrong), statistics.median(t for _, t in unknown)
    assert ghost > 0.5 * real, (ghost, real)                                 # argon2 either way (not a timing race)


def test_an_attacked_account_is_an_alert_on_the_other_managers_board(config, embedded_broker, sqlite_url,
                                                                    manager_hash):
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=manager_hash),
                       ManagerConfig(id="m002", name="李主任", password_hash=manager_hash)]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, _):
        base = server.dashboard_url
        small_throttle(server, free_failures=1000, alert_failures=4)
        other, _ = login(base, who="m002")
        assert not [a for a in other.get("/api/overview").json()["alerts"] if a["kind"] == "login_attack"]
        for i in range(4):
            login_from(base, f"10.0.0.{66 + i % 2}", "guess-guess")
        (alert,) = [a for a in other.get("/api/overview").json()["alerts"] if a["kind"] == "login_attack"]
        assert alert["level"] == "red" and alert["key"] == "login:m001"
        assert "m001（陈主任）" in alert["text"] and "4 次" in alert["text"]
        assert "10.0.0.66" in alert["text"] and "10.0.0.67" in alert["text"]
        page = other.get("/")
        assert "登录异常" in page.text and "10.0.0.67" in page.text
        csrf = {"X-CSRF-Token": other.cookies["govhall_csrf"]}
        acked = other.post("/api/alerts/ack", json={"key": alert["key"], "since": alert["since"]}, headers=csrf)
        assert acked.status_code == 200


def test_citizens_pages_and_requests_stay_public(web):
    server, device, base = web
    url = device("kiosk-1").request({"type": "ticket.issue", "category": "social"})["result"]["page_url"]
    assert httpx.get(url, timeout=5).status_code == 200
    assert httpx.get(base + "w/w1/rate", timeout=5).status_code == 200
    assert httpx.post(base + "api/cases/online", json={"matter": "business-licence", "received": {}, "name": "王丽",
                                                       "id_number": "11010519491231002X", "phone": "13800138000"},
                      timeout=5).status_code == 201                  # real-name; a manager's own entry is not public
    assert httpx.post(base + "api/cases", json={"matter": "business-licence", "received": {}},
                      timeout=5).status_code == 401


def test_sessions_expire_when_idle():
    sessions = Sessions(idle_s=0.2, max_s=10)
    token, _ = sessions.open("m001")
    assert sessions.get(token).manager == "m001"
    time.sleep(0.3)
    assert sessions.get(token) is None and sessions.get("made-up") is None


def test_a_session_outlives_a_restart_of_the_server_but_not_its_limits_or_a_logout(config, embedded_broker,
                                                                                   sqlite_url, manager_hash):
    """The hall server restarts (an update, a crash): the manager on the dashboard stays logged
    in. The database holds the token only as its hash; idle and old sessions still end."""
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=manager_hash),
                       ManagerConfig(id="m002", name="李主任", password_hash=manager_hash)]
    port = free_port()
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", port)) as (server, _):
        client, _ = login(server.dashboard_url)
        other, _ = login(server.dashboard_url, who="m002")
        token = client.cookies["govhall_session"]
        from sqlalchemy import create_engine, text
        with create_engine(sqlite_url).connect() as conn:
            stored = conn.execute(text("select token_hash, manager from web_sessions")).all()
        assert len(stored) == 2 and token not in repr(stored)                      # only the hash is kept
    config.managers = config.managers[:1]                                       # m002 is no longer a manager
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", port)) as (server, _):
        assert client.get("/api/overview").status_code == 200                   # still logged in
        body = {"window": "w1", "points": 1, "reason": "重启后", "by": "m001"}
        assert client.post("/api/ranking/adjustments", json=body,
                           headers={"X-CSRF-Token": client.cookies["govhall_csrf"]}).status_code == 201
        assert other.get("/api/overview").status_code == 401                    # removed from the config
        client.post("/logout", headers={"X-CSRF-Token": client.cookies["govhall_csrf"]})
        assert client.get("/api/overview").status_code == 401
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", port)) as (server, _):
        assert client.get("/api/overview").status_code == 401                   # logged out stays logged out
    from hallserver.store import Store
    store = Store(sqlite_url)
    old = Sessions(idle_s=0.2, max_s=10, store=store)
    token, _ = old.open("m001")
    time.sleep(0.3)
    assert Sessions(idle_s=0.2, max_s=10, store=store).get(token) is None       # idle, even after a restart
    store.close()


def test_every_command_and_login_is_in_the_hash_chained_audit_log(web, tmp_path):
    import subprocess
    import sys

    from hallserver.rating_chain import verify_audit
    server, device, base = web
    device("kiosk-1").request({"type": "ticket.issue", "category": "social"})
    device("kiosk-1").request({"type": "ticket.issue", "category": "nope"})
    login(base, "wrong")
    login(base)
    lines = server.store.audit_records()
    assert verify_audit(lines, None).ok
    assert all(x["outcome"] == "ok" for x in lines if x["actor"] in ("hall-server", "@server"))
    lines = [x for x in lines if x["actor"] not in ("hall-server", "@server")]   # the server's own checks
    assert [(x["actor"], x["action"], x["outcome"]) for x in lines] == [
        ("kiosk-1", "ticket.issue", "ok"), ("kiosk-1", "ticket.issue", "unknown_category"),
        ("m001", "manager.login", "bad_password"), ("m001", "manager.login", "ok")]
    changed = [dict(x) for x in server.store.audit_records()]
    changed[-2]["outcome"] = "ok"
    assert verify_audit(changed, None).problem == f"audit line {changed[-2]['id']} was changed, or a line before it was"
    from sqlalchemy import create_engine, text
    engine = create_engine(server.store.url)
    with pytest.raises(Exception, match="append-only"):
        with engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_log WHERE id = 1"))
    engine.dispose()
    from pathlib import Path
    example = (Path(__file__).parent.parent / "examples" / "hall.toml").read_text("utf-8")
    (tmp_path / "hall.toml").write_text(example, encoding="utf-8")
    run = subprocess.run([sys.executable, "-m", "hall.cli", "audit", "verify", "--config",
                          str(tmp_path / "hall.toml"), "--database", server.store.url], capture_output=True, text=True)
    assert run.returncode == 0 and "lines, chain intact" in run.stdout


def test_the_public_pages_are_rate_limited_per_client():
    from hallserver.web.auth import RateLimit
    limit = RateLimit(per_minute=5)
    assert [limit.allow("1.2.3.4") for _ in range(6)] == [True] * 5 + [False]
    assert limit.allow("5.6.7.8")                                   # another phone is not held up


def test_roles_an_auditor_reads_only_and_a_lead_does_not_move_the_ranking(config, embedded_broker, sqlite_url,
                                                                           manager_hash):
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=manager_hash),
                       ManagerConfig(id="a001", name="审计员", password_hash=manager_hash, role="auditor"),
                       ManagerConfig(id="l001", name="人社局刘科长", password_hash=manager_hash, role="lead")]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        base = server.dashboard_url
        device("kiosk-1").request({"type": "device.report", "component": "printer", "condition": "paper_near_end"})
        auditor, _ = login(base, who="a001")
        page = auditor.get("/")
        assert page.status_code == 200 and "纸将用完" in page.text and "审计（只读）" in page.text
        assert 'class="ack"' not in page.text                                       # nothing to press
        alert = next(a for a in auditor.get("/api/overview").json()["alerts"] if a["kind"] == "device")
        csrf = {"X-CSRF-Token": auditor.cookies["govhall_csrf"]}
        refused = auditor.post("/api/alerts/ack", json={"key": alert["key"], "since": alert["since"]}, headers=csrf)
        assert refused.status_code == 403 and "只能查看" in refused.json()["error"]["message"]
        assert auditor.get("/api/reports/hall").status_code == 200 and auditor.get("/reports").status_code == 200
        lead, _ = login(base, who="l001")
        csrf = {"X-CSRF-Token": lead.cookies["govhall_csrf"]}
        body = {"window": "w1", "points": 5, "reason": "表扬信", "by": "l001"}
        assert lead.post("/api/ranking/adjustments", json=body, headers=csrf).status_code == 403
        ok = lead.post("/api/alerts/ack", json={"key": alert["key"], "since": alert["since"]}, headers=csrf)
        assert ok.status_code == 200 and ok.json()["by"] == "l001"
        gone = lead.post("/api/alerts/ack", json={"key": "device:nope", "since": ""}, headers=csrf)
        assert gone.status_code == 404
        assert lead.post("/api/alerts/ack", json={"key": "x" * 500, "since": ""}, headers=csrf).status_code == 422
        acked = next(a for a in lead.get("/api/overview").json()["alerts"] if a["key"] == alert["key"])
        assert acked["acked_by"] == "l001"
        assert [a["action"] for a in server.store.audit_records()].count("alert.ack") == 1


def lead_hall(config):
    """The demo hall with departments: window 1 and 王丽 人社局, window 2 and 李强 市场监管局, window 3
    and 张敏 公安局 (the matters already have theirs); a hall manager and a lead of 人社局."""
    for window, staff, department in (("w1", "s001", "人社局"), ("w2", "s002", "市场监管局"), ("w3", "s003", "公安局")):
        config.window(window).department = department
        next(s for s in config.staff if s.id == staff).department = department
    return config


def serve_and_rate(device, window, staff, category, level):
    counter = device(f"counter-{window[1:]}")
    counter.request({"type": "window.login", "window": window, "staff": staff})
    device("kiosk-1").request({"type": "ticket.issue", "category": category})
    counter.request({"type": "window.call_next", "window": window})
    counter.request({"type": "window.complete", "window": window})
    device(f"tablet-{window[1:]}").request({"type": "rating.submit", "window": window, "level": level})
    return counter


def case_waiting_for_extension(counter, window, matter, materials):
    case = counter.request({"type": "case.accept", "window": window, "matter": matter,
                            "received": {m: 1 for m in materials}})["result"]["case"]
    counter.request({"type": "case.request_extension", "window": window, "case": case["code"], "days": 2,
                     "reason": "需现场核查"})
    return case["code"]


def test_a_lead_sees_and_acts_on_their_departments_only(config, embedded_broker, sqlite_url, manager_hash):
    config = lead_hall(config)
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=manager_hash),
                       ManagerConfig(id="l001", name="人社局刘科长", password_hash=manager_hash, role="lead",
                                     departments=["人社局"])]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        base = server.dashboard_url
        mine_counter = serve_and_rate(device, "w1", "s001", "social", 1)
        other_counter = serve_and_rate(device, "w2", "s002", "business", 2)
        mine_case = case_waiting_for_extension(mine_counter, "w1", "pension-transfer",
                                               ["转移申请表", "身份证复印件", "参保缴费凭证"])
        other_case = case_waiting_for_extension(other_counter, "w2", "business-licence",
                                                ["登记申请书", "经营者身份证明", "经营场所证明"])
        manager, _ = login(base)
        csrf = {"X-CSRF-Token": manager.cookies["govhall_csrf"]}
        leave = {"kind": "事假", "reason": "家中有事", "start": "2027-03-01T09:00:00+08:00",
                 "end": "2027-03-01T12:00:00+08:00"}
        mine_leave = manager.post("/api/leaves", json={**leave, "staff": "s001"}, headers=csrf).json()["leave"]["id"]
        other_leave = manager.post("/api/leaves", json={**leave, "staff": "s002"}, headers=csrf).json()["leave"]["id"]
        rectifications = {r["window"]: r["id"] for r in manager.get("/api/rectifications").json()["rectifications"]}
        assert set(rectifications) == {"w1", "w2"}

        lead, _ = login(base, who="l001")
        lead_csrf = {"X-CSRF-Token": lead.cookies["govhall_csrf"]}
        # lists: only 人社局's rows
        listed = lead.get("/api/rectifications").json()["rectifications"]
        assert [(r["window"], r["department"]) for r in listed] == [("w1", "人社局")]
        assert [x["staff"] for x in lead.get("/api/leaves").json()["leaves"]] == ["s001"]
        assert {x["staff"] for x in manager.get("/api/leaves").json()["leaves"]} == {"s001", "s002"}
        report = lead.get("/api/reports/cases").json()
        assert set(report["by_department"]) == {"人社局"} and set(manager.get("/api/reports/cases").json()[
            "by_department"]) == {"人社局", "市场监管局"}
        assert set(lead.get("/api/cases/digest").json()["departments"]) == {"人社局"}
        assert set(manager.get("/api/cases/digest").json()["departments"]) == {"人社局", "市场监管局"}
        assert {r["staff"] for r in lead.get("/api/attendance/day").json()["staff"]} == {"s001"}
        assert {r["staff"] for r in lead.get("/api/attendance/month").json()["staff"]} == {"s001"}
        refused = lead.get("/api/attendance/month", params={"department": "市场监管局", "format": "csv"})
        assert refused.status_code == 403 and "只能处理本部门的考勤表" in refused.json()["error"]["message"]
        ratings = lead.get("/api/reports/ratings").json()
        assert set(ratings["by_window"]) == {"w1"} and [r["window"] for r in ratings["ranking"]] == ["w1"]
        people = lead.get("/reports/people", params={"format": "json"}).json()
        assert [d["department"] for d in people["departments"]] == ["人社局"]
        assert {r["staff"] for r in people["attendance"]} == {"s001"}
        hall = lead.get("/api/reports/hall").json()
        assert [r["window"] for r in hall["by_window"]] == ["w1"] and [r["staff"] for r in hall["by_staff"]] == ["s001"]
        assert hall["totals"]["issued"] == 2                                      # the hall's own figures stay whole
        assert {r["window"] for r in manager.get("/api/reports/hall").json()["by_window"]} == {"w1", "w2"}
        page = lead.get("/reports")
        assert page.status_code == 200 and "王丽" in page.text and "李强" not in page.text      # 按人员
        assert "李强" in manager.get("/reports").text
        board = lead.get("/").text
        assert "差评：1号窗口" in board and "差评：2号窗口" not in board             # the lead's board, scoped
        assert "差评：2号窗口" in manager.get("/").text
        # acting on another department's item by its id: 403, said in Chinese
        for url, body, what in ((f"/api/cases/{other_case}/extension/approve", {"manager": "l001"}, "办件"),
                                (f"/api/leaves/{other_leave}/decide", {"approve": True}, "请假"),
                                (f"/api/rectifications/{rectifications['w2']}/verify",
                                 {"by": "l001", "note": "已核实", "reached": True}, "整改单"),
                                ("/api/leaves", {**leave, "staff": "s002"}, "请假"),
                                ("/api/cases", {"matter": "business-licence", "received": {}}, "办件"),
                                ("/api/attendance/corrections", {"staff": "s002", "kind": "in", "reason": "忘打卡",
                                                                 "at": "2026-12-01T09:00:00+08:00"}, "考勤")):
            r = lead.post(url, json=body, headers=lead_csrf)
            assert r.status_code == 403 and r.json()["error"]["message"] == f"只能处理本部门的{what}", (url, r.text)
        # their own department's: done
        assert lead.post("/api/cases", json={"matter": "pension-transfer", "received": {}},
                         headers=lead_csrf).status_code == 201
        ok = lead.post(f"/api/cases/{mine_case}/extension/approve", json={"manager": "l001"}, headers=lead_csrf)
        assert ok.status_code == 200 and ok.json()["case"]["extensions"][0]["approved"]
        ok = lead.post(f"/api/leaves/{mine_leave}/decide", json={"approve": True}, headers=lead_csrf)
        assert ok.status_code == 200 and ok.json()["leave"]["decided_by"] == "l001"
        ok = lead.post(f"/api/rectifications/{rectifications['w1']}/verify",
                       json={"by": "x", "note": "已回访", "reached": True}, headers=lead_csrf)
        assert ok.status_code == 200
        # the hall manager still acts on every department's
        ok = manager.post(f"/api/cases/{other_case}/extension/approve", json={"manager": "m001"}, headers=csrf)
        assert ok.status_code == 200
        assert manager.post(f"/api/leaves/{other_leave}/decide", json={"approve": True},
                            headers=csrf).status_code == 200
        assert manager.post(f"/api/rectifications/{rectifications['w2']}/verify",
                            json={"by": "x", "note": "已回访", "reached": True}, headers=csrf).status_code == 200
        assert lead.post(f"/api/leaves/{other_leave}/end", json={}, headers=lead_csrf).status_code == 403
        assert lead.post("/api/leaves/99999/decide", json={"approve": True}, headers=lead_csrf).status_code == 404
