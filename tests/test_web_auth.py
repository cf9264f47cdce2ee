"""Managers log in to the dashboard and its HTTP API; citizens' pages stay public; every
state-changing request carries the session's CSRF token; security headers everywhere."""
import time

import httpx
import pytest

from govhall.config import ManagerConfig
from hallserver.broker import free_port
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


def test_five_wrong_passwords_lock_the_account(web):
    _, _, base = web
    for _ in range(5):
        login(base, "guess-guess")
    _, r = login(base)
    assert r.status_code == 401 and "次数过多" in r.text


def test_citizens_pages_and_requests_stay_public(web):
    server, device, base = web
    url = device("kiosk-1").request({"type": "ticket.issue", "category": "social"})["result"]["page_url"]
    assert httpx.get(url, timeout=5).status_code == 200
    assert httpx.get(base + "w/w1/rate", timeout=5).status_code == 200
    assert httpx.post(base + "api/cases", json={"matter": "business-licence", "received": {}},
                      timeout=5).status_code == 201


def test_sessions_expire_when_idle():
    sessions = Sessions(idle_s=0.2, max_s=10)
    token, _ = sessions.open("m001")
    assert sessions.get(token).manager == "m001"
    time.sleep(0.3)
    assert sessions.get(token) is None and sessions.get("made-up") is None
