"""The manager dashboard, served by the hall server: real HTTP and a real event stream."""
from __future__ import annotations

import json
import threading
import time

import httpx
import pytest

from hallserver.broker import free_port
from tests.conftest import running_hall


@pytest.fixture
def hall_with_web(config, embedded_broker, sqlite_url):
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as hall:
        yield hall


def test_the_dashboard_shows_windows_queue_and_todays_figures(hall_with_web):
    server, device = hall_with_web
    kiosk, counter = device("kiosk-1"), device("counter-1")
    for cat in ("social", "social", "business"):
        kiosk.request({"type": "ticket.issue", "category": cat})
    counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
    counter.request({"type": "window.call_next", "window": "w1"})
    deadline = time.monotonic() + 5               # the queue summary is at most a quarter second behind
    while time.monotonic() < deadline and {q["category"]: q["waiting"] for q in httpx.get(
            server.dashboard_url + "api/overview", timeout=5).json()["queue"]} != {"social": 1, "business": 1,
                                                                                 "residence": 0}:
        time.sleep(0.05)

    page = httpx.get(server.dashboard_url, timeout=5)
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    html = page.text
    assert "示范县政务服务中心" in html and "王丽" in html and "A001" in html and "办理中" in html
    # business has a waiting citizen and no open window: the manager is told
    assert "企业开办：1 人等候，没有开放的窗口受理" in html

    data = httpx.get(server.dashboard_url + "api/overview", timeout=5).json()
    assert data["today"]["tickets_issued"] == 3 and data["today"]["tickets_waiting"] == 2
    w1 = next(w for w in data["windows"] if w["window"] == "w1")
    assert w1["status"] == "serving" and w1["ticket"]["number"] == "A001"
    assert {q["category"]: q["waiting"] for q in data["queue"]} == {"social": 1, "business": 1, "residence": 0}
    assert data["recent_calls"][0]["ticket"]["number"] == "A001"
    assert httpx.get(server.dashboard_url + "healthz", timeout=5).json() == {"ok": True, "online": True}


def test_the_event_stream_pushes_the_board_when_the_hall_changes(hall_with_web):
    server, device = hall_with_web
    boards: list[str] = []
    got_first, got_call = threading.Event(), threading.Event()

    def listen() -> None:
        with httpx.stream("GET", server.dashboard_url + "events", timeout=10) as r:
            assert r.headers["content-type"].startswith("text/event-stream")
            event, data = None, []
            for line in r.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: "):
                    data.append(line[6:])
                elif line == "" and event == "board":
                    boards.append("\n".join(data))
                    got_first.set()
                    if "B001" in boards[-1]:
                        got_call.set()
                        return
                    event, data = None, []

    t = threading.Thread(target=listen, daemon=True)
    t.start()
    assert got_first.wait(5), "no board on connect"
    assert "B001" not in boards[0]
    device("kiosk-1").request({"type": "ticket.issue", "category": "business"})
    counter = device("counter-2")
    counter.request({"type": "window.login", "window": "w2", "staff": "s002"})
    counter.request({"type": "window.call_next", "window": "w2"})
    assert got_call.wait(5), "the call never reached the dashboard"
    assert "李强" in boards[-1]


def test_unknown_paths_and_methods_get_clean_errors(hall_with_web):
    server, _ = hall_with_web
    assert httpx.get(server.dashboard_url + "nope", timeout=5).status_code == 404
    assert httpx.post(server.dashboard_url + "api/overview", timeout=5).status_code == 405


def test_the_phone_page_follows_the_ticket_from_waiting_to_called_to_done(hall_with_web):
    server, device = hall_with_web
    kiosk, counter = device("kiosk-1"), device("counter-1")
    kiosk.request({"type": "ticket.issue", "category": "social"})
    reply = kiosk.request({"type": "ticket.issue", "category": "social"})
    url = reply["result"]["page_url"]
    assert url.startswith(server.dashboard_url + "t/") and len(url.rsplit("/", 1)[1]) == 16
    page = httpx.get(url, timeout=5)
    assert page.status_code == 200 and "A002" in page.text and "前面还有 <b>1</b> 人等候" in page.text
    counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
    counter.request({"type": "window.call_next", "window": "w1"})
    counter.request({"type": "window.call_next", "window": "w1"})
    assert "请到 1 号窗口办理" in httpx.get(url, timeout=5).text
    counter.request({"type": "window.complete", "window": "w1"})
    assert "业务已办结" in httpx.get(url, timeout=5).text
    # the token is the only key: a made-up or malformed one finds nothing, and events never carry it
    token = url.rsplit("/", 1)[1]
    assert httpx.get(server.dashboard_url + "t/" + "A" * 16, timeout=5).status_code == 404
    assert httpx.get(server.dashboard_url + "t/../../etc", timeout=5).status_code == 404
    assert token not in json.dumps(server.view.snapshot(), ensure_ascii=False)


def test_the_phone_page_goes_live_over_server_sent_events(hall_with_web):
    server, device = hall_with_web
    url = device("kiosk-1").request({"type": "ticket.issue", "category": "business"})["result"]["page_url"]
    got = threading.Event()

    def listen() -> None:
        with httpx.stream("GET", url + "/events", timeout=10) as r:
            for line in r.iter_lines():
                if "请到 2 号窗口办理" in line:
                    got.set()
                    return

    threading.Thread(target=listen, daemon=True).start()
    counter = device("counter-2")
    counter.request({"type": "window.login", "window": "w2", "staff": "s002"})
    counter.request({"type": "window.call_next", "window": "w2"})
    assert got.wait(5), "the call never reached the phone"


def test_a_device_that_goes_away_is_an_alert_and_a_window_whose_counter_goes_is_offline(hall_with_web):
    import time
    server, device = hall_with_web
    counter, tablet = device("counter-1"), device("tablet-1")
    counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
    tablet.close()                                       # a clean close says offline (a crash: its last will)
    counter.close()

    def overview():
        return httpx.get(server.dashboard_url + "api/overview", timeout=5).json()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and len([a for a in overview()["alerts"] if a["kind"] == "offline"]) < 2:
        time.sleep(0.05)
    data = overview()
    texts = [a["text"] for a in data["alerts"] if a["kind"] == "offline"]
    assert any("评价器 tablet-1 离线" in t for t in texts) and any("窗口终端 counter-1 离线" in t for t in texts)
    assert next(c for c in data["window_cards"] if c["window"] == "w1")["state"] == "offline"
    device("tablet-1")                                   # back: the alert goes by itself
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and any("tablet-1" in a["text"] for a in overview()["alerts"]):
        time.sleep(0.05)
    assert not any("tablet-1" in a["text"] for a in overview()["alerts"])


def test_the_reports_api_checks_its_parameters(hall_with_web):
    server, _ = hall_with_web
    base = server.dashboard_url
    assert httpx.get(base + "api/reports/hall?period=year", timeout=5).status_code == 400
    assert httpx.get(base + "api/reports/hall?date=2026-13-01", timeout=5).status_code == 400
    assert httpx.get(base + "api/reports/hall?date=1900-01-01", timeout=5).status_code == 400
    assert httpx.get(base + "api/reports/hall?format=pdf", timeout=5).status_code == 400
    csv_text = httpx.get(base + "api/reports/hall?period=week&format=csv", timeout=5)
    assert csv_text.status_code == 200 and csv_text.text.startswith("\ufeff【汇总】")
    assert "attachment" in csv_text.headers["content-disposition"]
    assert httpx.get(base + "reports?period=month", timeout=5).status_code == 200
