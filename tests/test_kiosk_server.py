"""What the hall server does for kiosks beyond issuing: cancel an unprinted ticket, device
alerts (paper near end), each category's wait on the buttons, the phone page's outlook."""
import json
import uuid
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest

from govhall import contract as c
from hallserver.broker import free_port
from hallserver.domain.clock import SimClock
from hallserver.processor import CommandProcessor
from hallserver.store import Store
from tests.conftest import running_hall

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    s.migrate()
    yield s
    s.close()


@pytest.fixture
def proc(config, store):
    return CommandProcessor(config, store, SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ)))


def send(proc, device, **command):
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command).encode())
    reply = next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device))
    events = {o.topic.rsplit("/", 1)[1]: json.loads(o.payload) for o in out if "/event/" in o.topic}
    return reply, events


def test_a_kiosk_cancels_its_unprinted_ticket_and_the_number_leaves_the_queue(proc, store):
    send(proc, "kiosk-1", type="ticket.issue", category="social")
    send(proc, "kiosk-1", type="ticket.issue", category="social")
    reply, events = send(proc, "kiosk-1", type="ticket.cancel", number="A002", reason="print_failed")
    assert reply["ok"] and reply["result"]["ticket"]["status"] == "cancelled"
    assert events["ticket.cancelled"]["reason"] == "print_failed"
    assert proc.engine.waiting_count("social") == 1
    assert store.summary(proc.clock.now(), proc.clock.now().date()).tickets_cancelled == 1
    # the next number is A003: a cancelled number is never handed out again
    reply, _ = send(proc, "kiosk-1", type="ticket.issue", category="social")
    assert reply["result"]["ticket"]["number"] == "A003"


def test_only_the_issuing_kiosk_cancels_and_only_a_ticket_never_called(proc):
    send(proc, "kiosk-1", type="ticket.issue", category="social")
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    send(proc, "counter-1", type="window.call_next", window="w1")
    reply, _ = send(proc, "kiosk-1", type="ticket.cancel", number="A001", reason="print_failed")
    assert reply["error"]["code"] == "ticket_not_found"           # called already: stays served
    send(proc, "kiosk-1", type="ticket.issue", category="social")
    reply, _ = send(proc, "counter-1", type="ticket.cancel", number="A002", reason="abandoned")
    assert reply["error"]["code"] == "forbidden"                  # a counter may not cancel
    reply, _ = send(proc, "kiosk-1", type="ticket.cancel", number="A009", reason="print_failed")
    assert reply["error"]["code"] == "ticket_not_found"


def test_a_cancelled_ticket_gives_its_quota_place_back(demo_hours_proc):
    proc = demo_hours_proc
    quota = proc.config.category("business").daily_quota
    numbers = [send(proc, "kiosk-1", type="ticket.issue", category="business")[0]["result"]["ticket"]["number"]
               for _ in range(quota)]
    refused, _ = send(proc, "kiosk-1", type="ticket.issue", category="business")
    assert refused["error"]["code"] == "quota_full"
    send(proc, "kiosk-1", type="ticket.cancel", number=numbers[-1], reason="print_failed")
    again, _ = send(proc, "kiosk-1", type="ticket.issue", category="business")
    assert again["ok"]
    # and after a restart the store agrees
    rebuilt = CommandProcessor(proc.config, proc.store, proc.clock)
    assert rebuilt.engine.issuing_refusal("business").reason == "quota_full"


@pytest.fixture
def demo_hours_proc(store):
    from lab.demo import demo_config
    config = demo_config(with_hours=True)
    config.categories[1].daily_quota = 3
    monday_morning = datetime(2026, 11, 23, 9, 30, tzinfo=TZ)
    return CommandProcessor(config, store, SimClock(monday_morning))


def test_a_device_report_opens_and_closes_one_alert_and_survives_a_restart(proc, store):
    reply, events = send(proc, "kiosk-1", type="device.report", component="printer", condition="paper_near_end")
    assert reply["result"] == {"open": True, "changed": True}
    assert events["device.alert"]["open"] and events["device.alert"]["condition"] == "paper_near_end"
    again, events = send(proc, "kiosk-1", type="device.report", component="printer", condition="paper_near_end")
    assert again["result"]["changed"] is False and not events           # the same news twice: nothing new
    assert [(a.device, a.condition) for a in store.open_device_alerts()] == [("kiosk-1", "paper_near_end")]
    restarted = CommandProcessor(proc.config, store, proc.clock)
    assert [a.condition for a in restarted.devices.open_alerts()] == ["paper_near_end"]
    proc.clock.advance(20 * 60)
    _, events = send(restarted, "kiosk-1", type="device.report", component="printer", condition="paper_out")
    assert events["device.alert"]["condition"] == "paper_out"
    _, events = send(restarted, "kiosk-1", type="device.report", component="printer", condition="ok")
    assert events["device.alert"]["open"] is False
    assert store.open_device_alerts() == []
    history = store.device_alert_history(proc.clock.now() - timedelta(hours=1))
    assert [(h["condition"], h["closed_at"] is not None) for h in history] == [("paper_out", True),
                                                                              ("paper_near_end", True)]


@pytest.mark.parametrize("bad", [
    {"component": "printer", "condition": "on_fire"},
    {"component": "toaster", "condition": "ok"},
    {"component": "printer", "condition": "ok", "detail": "x" * 201},
    {"component": "printer"},
])
def test_bad_device_reports_are_refused_and_change_nothing(proc, store, bad):
    reply, events = send(proc, "kiosk-1", type="device.report", **bad)
    assert reply["error"]["code"] == "invalid" and not events
    assert store.open_device_alerts() == []


def test_queue_state_carries_each_categorys_wait_for_a_ticket_taken_now(proc):
    state = proc.queue_state()
    assert all(q.estimated_wait_s is None for q in state.categories)      # no window open
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    for _ in range(4):
        send(proc, "kiosk-1", type="ticket.issue", category="social")
    proc.refresh_estimates()
    by_cat = {q.category: q.estimated_wait_s for q in proc.queue_state().categories}
    # one window, 4 people waiting, 8 minutes each by default: the fifth waits about 32 minutes
    assert by_cat["social"] == 4 * 8 * 60
    assert by_cat["residence"] == 4 * 8 * 60   # w1 takes social first (its category order)
    assert by_cat["business"] is None
    # time alone does not change the estimate of an idle hall, so the tick stays quiet
    assert proc.tick() != [] and proc.tick() == []


def test_the_phone_page_counts_priority_tickets_that_will_go_first(config, embedded_broker, sqlite_url):
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        kiosk, counter = device("kiosk-1"), device("counter-1")
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        url = kiosk.request({"type": "ticket.issue", "category": "social"})["result"]["page_url"]
        page = httpx.get(url, timeout=5).text
        assert "前面没有人等候" in page
        kiosk.request({"type": "ticket.issue", "category": "social", "green_reason": "disabled"})
        page = httpx.get(url, timeout=5).text
        # the green ticket taken later will be called first: the phone says so, with the wait
        assert "前面还有 <b>1</b> 人等候" in page and "预计等候约 <b>8</b> 分钟" in page


def test_the_dashboard_shows_a_device_alert_until_it_is_cleared(config, embedded_broker, sqlite_url):
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        kiosk = device("kiosk-1")
        kiosk.request({"type": "device.report", "component": "printer", "condition": "paper_near_end"})
        alerts = httpx.get(server.dashboard_url + "api/overview", timeout=5).json()["alerts"]
        assert any("kiosk-1" in a["text"] and "纸将用完" in a["text"] for a in alerts)
        kiosk.request({"type": "device.report", "component": "printer", "condition": "ok"})
        alerts = httpx.get(server.dashboard_url + "api/overview", timeout=5).json()["alerts"]
        assert not any("kiosk-1" in a["text"] for a in alerts)


def test_contract_names_the_new_messages():
    assert "ticket.cancel" in c.ROLE_COMMANDS[c.Role.KIOSK]
    assert "ticket.cancel" not in c.ROLE_COMMANDS[c.Role.COUNTER]
    assert all("device.report" in c.ROLE_COMMANDS[r] for r in c.Role if r != c.Role.WEB)


def test_the_manager_previews_the_halls_ticket_template(config, embedded_broker, sqlite_url):
    import io

    from PIL import Image
    config.ticket.notice = "过号作废"
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, _):
        r = httpx.get(server.dashboard_url + "api/ticket/preview.png", timeout=10)
        assert r.status_code == 200 and r.headers["content-type"] == "image/png"
        image = Image.open(io.BytesIO(r.content)).convert("L")
        assert image.width == 384 and image.height > 400
        assert image.getextrema()[0] < 50          # ink on the paper


def test_a_citizen_rates_their_own_service_once_from_the_phone_page(config, embedded_broker, sqlite_url):
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        kiosk, counter, tablet = device("kiosk-1"), device("counter-1"), device("tablet-1")
        url = kiosk.request({"type": "ticket.issue", "category": "social"})["result"]["page_url"]
        early = httpx.post(url + "/rating", data={"level": "5"}, timeout=5)
        assert early.status_code == 409 and "没有可评价的服务" in early.text        # not served yet
        counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
        counter.request({"type": "window.call_next", "window": "w1"})
        counter.request({"type": "window.complete", "window": "w1"})
        page = httpx.get(url, timeout=5).text
        assert "非常满意" in page and 'action="/t/' in page
        bad = httpx.post(url + "/rating", data={"level": "9"}, timeout=5)
        assert bad.status_code == 400
        forged = httpx.post(url + "/rating", data={"level": "2", "reason": ["效率", "乱写"]}, timeout=5)
        assert forged.status_code == 400                        # a reason not of the hall's list: refused whole
        done = httpx.post(url + "/rating", data={"level": "2", "reason": ["效率"], "comment": "等太久"},
                          timeout=5, follow_redirects=True)
        assert done.status_code == 200 and "您已评价：不满意" in done.text
        (rating,) = server.store.summary(server.clock.now(), server.clock.now().date()).ratings_by_level.items()
        assert rating == (2, 1)
        # the same service cannot be rated again, on the phone or on the window's tablet
        again = httpx.post(url + "/rating", data={"level": "5"}, timeout=5, follow_redirects=True)
        assert "您已评价：不满意" in again.text
        assert tablet.request({"type": "rating.submit", "window": "w1", "level": 5})["error"]["code"] == "already_rated"
        assert server.store.rating_of(server.store.all_tickets()[0].id) == 2


def test_a_tablet_rating_first_closes_the_phone_rating(proc):
    send(proc, "kiosk-1", type="ticket.issue", category="social")
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    send(proc, "counter-1", type="window.call_next", window="w1")
    send(proc, "counter-1", type="window.complete", window="w1")
    reply, _ = send(proc, "tablet-1", type="rating.submit", window="w1", level=5)
    assert reply["ok"]
    token = proc.store.all_tickets()[0].token
    reply, _ = send(proc, "tablet-1", type="rating.submit_by_token", token=token, level=1)
    assert reply["error"]["code"] == "forbidden"              # only the server's own HTTP side may send it
    reply, _ = proc.handle_local(json.dumps({"id": "r1", "type": "rating.submit_by_token", "token": token,
                                             "level": 1}).encode())
    assert reply["error"]["code"] == "already_rated"
    # and after a restart the engine still knows
    rebuilt = CommandProcessor(proc.config, proc.store, proc.clock)
    reply, _ = rebuilt.handle_local(json.dumps({"id": "r2", "type": "rating.submit_by_token", "token": token,
                                                "level": 1}).encode())
    assert reply["error"]["code"] == "already_rated"
