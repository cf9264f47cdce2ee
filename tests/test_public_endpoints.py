"""The citizens' public endpoints against an anonymous attacker, over real HTTP on a running
hall: the window's static rating QR needs the 评价码 its tablet showed; 预约 and 网上申报 are
real-name and limited per ID number, phone and client address; a tablet's rating carries only
the hall's own reasons."""
from __future__ import annotations

import queue
import random
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

import httpx
import paho.mqtt.client as mqtt
import pytest

from govhall.config import ManagerConfig
from govhall.contract import Role, Topics
from hallserver.broker import free_port
from hallserver.broker_security import READS, acl_text
from hallserver.domain.identity import check_char
from hallserver.passwords import hash_password
from tests.conftest import running_hall

TZ = ZoneInfo("Asia/Shanghai")


def id_number(seq: int, birth: str = "19800101", region: str = "110105") -> str:
    first17 = f"{region}{birth}{seq % 1000:03d}"
    return first17 + check_char(first17)


def phone(n: int) -> str:
    return f"139{n:08d}"


@pytest.fixture
def hall(config, embedded_broker, sqlite_url):
    config.ratings.secret = "a-hall-secret-of-some-length"
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        yield server, device, server.dashboard_url


class Codes:
    """What the window's tablet hears on its own topic: the 评价码 of each service completed there
    (the broker keeps the last one retained: one an earlier test left is cleared first)."""

    def __init__(self, link) -> None:
        self.heard: queue.Queue = queue.Queue()
        self.by_number: dict[str, dict] = {}
        topic = link.topics.tablet_rating("w1")
        link.client.publish(topic, b"", qos=1, retain=True).wait_for_publish(5)   # an earlier test's: gone
        link.subscribe(topic, lambda _topic, data: self.heard.put(data))

    def of(self, number: str) -> dict:
        while number not in self.by_number:
            data = self.heard.get(timeout=5)
            if "ticket" in data:
                self.by_number[data["ticket"]] = data
        return self.by_number[number]


def serve(kiosk, counter, n: int) -> list[str]:
    numbers = [kiosk.request({"type": "ticket.issue", "category": "social"})["result"]["ticket"]["number"]
               for _ in range(n)]
    for _ in numbers:
        counter.request({"type": "window.call_next", "window": "w1"})
        counter.request({"type": "window.complete", "window": "w1"})
    return numbers


def from_address(address: str) -> httpx.Client:
    """A client connecting from another loopback address (the server sees that address)."""
    return httpx.Client(transport=httpx.HTTPTransport(local_address=address), timeout=5)


# --------------------------------------------------------------------------- 好差评: the static QR
def test_walking_ticket_numbers_without_the_code_finds_nothing_and_rates_nothing(hall):
    server, device, base = hall
    kiosk, counter, tablet = device("kiosk-1"), device("counter-1"), device("tablet-1")
    codes = Codes(tablet)
    counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
    numbers = serve(kiosk, counter, 3)
    heard = [codes.of(n) for n in numbers]
    assert [h["ticket"] for h in heard] == numbers and all(len(h["code"]) == 6 for h in heard)
    url = base + "w/w1/rate"
    # the attack as it was found: every number, no code
    for n in range(1, 60):
        r = httpx.post(url, data={"number": f"A{n:03d}"}, timeout=5)
        assert r.status_code == 400 and "/t/" not in r.headers.get("location", "")
    # with guessed codes: nothing found, then held back; never a page, never a rating
    real = {h["code"] for h in heard}
    guesses = [g for g in (f"{random.randrange(10**6):06d}" for _ in range(20)) if g not in real][:14]
    answers = [httpx.post(url, data={"number": numbers[i % 3], "code": g}, timeout=5) for i, g in enumerate(guesses)]
    statuses = [a.status_code for a in answers]
    assert statuses[:10] == [404] * 10 and set(statuses[10:]) == {429}
    assert httpx.post(url, data={"number": numbers[0], "code": heard[0]["code"]}, timeout=5).status_code == 429
    assert "秒后再试" in answers[-1].text and "号票上的二维码" in answers[-1].text
    assert server.store.rating_records() == []
    wrong = [a for a in server.store.audit_records() if a["action"] == "rating.window_qr"]
    assert len(wrong) == 10 and all(a["outcome"] == "wrong_code" for a in wrong)
    # the genuine citizen's tablet rating is not blocked by any of it
    reply = tablet.request({"type": "rating.submit", "window": "w1", "level": 5})
    assert reply["ok"], reply
    assert [r["level"] for r in server.store.rating_records()] == [5]


def test_the_citizen_with_number_and_code_rates_and_a_mistype_or_two_still_gets_in(hall):
    server, device, base = hall
    kiosk, counter, tablet = device("kiosk-1"), device("counter-1"), device("tablet-1")
    codes = Codes(tablet)
    counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
    first, second = serve(kiosk, counter, 2)
    code_first, code_second = codes.of(first)["code"], codes.of(second)["code"]
    url = base + "w/w1/rate"
    assert "评价码" in httpx.get(url, timeout=5).text
    with from_address("127.0.0.2") as phone_client:
        typo = f"{(int(code_first) + 1) % 10**6:06d}"
        assert phone_client.post(url, data={"number": first, "code": typo}).status_code == 404   # mistyped once
        assert phone_client.post(url, data={"number": second, "code": code_first}).status_code == 404  # not its own
        found = phone_client.post(url, data={"number": first.lower(), "code": f" {code_first} "})
        assert found.status_code == 303 and found.headers["location"].startswith("/t/")
        token = found.headers["location"].rsplit("/", 1)[1]
        rated = phone_client.post(base + f"t/{token}/rating", data={"level": "2", "reason": "效率"})
        assert rated.status_code == 303
    (record,) = server.store.rating_records()
    assert (record["level"], record["channel"], record["reasons"]) == (2, 3, '["效率"]')
    # the tablet still rates the service in front of it (the second); the first is not rated twice
    assert tablet.request({"type": "rating.submit", "window": "w1", "level": 4})["ok"]
    again = httpx.post(url, data={"number": second, "code": code_second}, timeout=5)
    assert again.status_code == 303                                         # its page says it is rated
    assert "已评价" in httpx.get(base + again.headers["location"].lstrip("/"), timeout=5).text
    assert [r["level"] for r in server.store.rating_records()] == [2, 4]


def test_a_phone_rating_and_the_tablet_rating_are_one_per_service_whichever_comes_first(hall):
    server, device, base = hall
    kiosk, counter, tablet = device("kiosk-1"), device("counter-1"), device("tablet-1")
    codes = Codes(tablet)
    counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
    (number,) = serve(kiosk, counter, 1)
    found = httpx.post(base + "w/w1/rate", data={"number": number, "code": codes.of(number)["code"]}, timeout=5)
    token = found.headers["location"].rsplit("/", 1)[1]
    assert httpx.post(base + f"t/{token}/rating", data={"level": "5"}, timeout=5).status_code == 303
    late = tablet.request({"type": "rating.submit", "window": "w1", "level": 1})
    assert late["error"]["code"] == "already_rated"
    (next_number,) = serve(kiosk, counter, 1)
    assert tablet.request({"type": "rating.submit", "window": "w1", "level": 4})["ok"]     # the next service: free
    found = httpx.post(base + "w/w1/rate", data={"number": next_number, "code": codes.of(next_number)["code"]},
                       timeout=5)
    token = found.headers["location"].rsplit("/", 1)[1]
    httpx.post(base + f"t/{token}/rating", data={"level": "1"}, timeout=5)
    assert [r["level"] for r in server.store.rating_records()] == [5, 4]                  # 一次一评


def test_only_the_windows_own_tablet_may_read_its_rating_code(config):
    for d in config.devices:
        d.password = "x" * 16
    topic = Topics(config.hall.id).tablet_rating("w1")
    acl = acl_text(config)
    for d in config.devices:
        block = acl.split(f"user {d.id}\n")[1].split("\n\n")[0]
        readable = [line.split(" ", 2)[2] for line in block.splitlines() if line.startswith("topic read ")]
        allowed = any(mqtt.topic_matches_sub(pattern, topic) for pattern in readable)
        assert allowed == (d.role == Role.TABLET and d.window == "w1"), d.id
    assert "tablet/{window}/rating" in READS[Role.TABLET]


# --------------------------------------------------------------------------- 好差评: the tablet's reasons
def test_a_tablet_rating_with_a_reason_the_hall_does_not_offer_is_refused(hall):
    server, device, _ = hall
    kiosk, counter, tablet = device("kiosk-1"), device("counter-1"), device("tablet-1")
    counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
    serve(kiosk, counter, 1)
    for reasons in (["<script>alert(1)</script>"], ["效率", "工作人员收红包"], ["态度 "]):
        reply = tablet.request({"type": "rating.submit", "window": "w1", "level": 1, "reasons": reasons})
        assert reply["error"]["code"] == "unknown_reason" and "原因列表" in reply["error"]["message"], reply
    assert server.store.rating_records() == []                 # refused whole: the service is still to rate
    reply = tablet.request({"type": "rating.submit", "window": "w1", "level": 1, "reasons": ["效率", "态度", "效率"]})
    assert reply["ok"]
    (record,) = server.store.rating_records()
    assert record["reasons"] == '["效率", "态度"]'


def test_a_phone_rating_with_a_reason_the_hall_does_not_offer_is_refused(hall):
    server, device, base = hall
    kiosk, counter = device("kiosk-1"), device("counter-1")
    counter.request({"type": "window.login", "window": "w1", "staff": "s001"})
    token = kiosk.request({"type": "ticket.issue", "category": "social"})["result"]["page_url"].rsplit("/", 1)[1]
    counter.request({"type": "window.call_next", "window": "w1"})
    counter.request({"type": "window.complete", "window": "w1"})
    page = httpx.get(base + f"t/{token}", timeout=5).text
    assert all(f'value="{reason}"' in page for reason in server.config.ratings.reasons)
    forged = httpx.post(base + f"t/{token}/rating", data={"level": "1", "reason": ["效率", "收红包"]}, timeout=5)
    assert forged.status_code == 400 and "原因列表" in forged.text and server.store.rating_records() == []
    assert httpx.post(base + f"t/{token}/rating", data={"level": "1", "reason": "效率"}, timeout=5).status_code == 303
    assert [r["reasons"] for r in server.store.rating_records()] == ['["效率"]']


# --------------------------------------------------------------------------- 预约, real-name
def tomorrow_at(server, hh: int, mm: int = 0) -> str:
    day = server.clock.now().astimezone(TZ).date() + timedelta(days=1)
    return datetime.combine(day, time(hh, mm), TZ).isoformat()


def test_one_address_cannot_fill_a_slot_or_the_week(hall):
    server, _, base = hall
    url = base + "api/appointments"
    made = []
    for n in range(14):
        body = {"category": "social", "slot_start": tomorrow_at(server, 9 + n // 8, 30 * (n // 4 % 2)), "name": "张三",
                "id_number": id_number(n), "phone": phone(n)}
        made.append(httpx.post(url, json=body, timeout=5))
    assert [r.status_code for r in made] == [201] * 10 + [429] * 4, [r.text for r in made]
    assert made[-1].json()["error"]["message"] == "本网络地址预约次数过多，请稍后再试"
    with from_address("127.0.0.2") as another:                # another citizen elsewhere still books
        body = {"category": "social", "slot_start": tomorrow_at(server, 14), "name": "李四",
                "id_number": id_number(500), "phone": phone(500)}
        assert another.post(url, json=body).status_code == 201
    limited = [a for a in server.store.audit_records() if a["outcome"] == "rate_limited"]
    assert len(limited) == 4 and all(a["actor"] == "@web 127.0.0.1" for a in limited)


def test_a_bad_id_number_or_phone_is_refused_in_chinese_and_no_id_number_is_kept(hall):
    server, _, base = hall
    url = base + "api/appointments"
    good = {"category": "social", "slot_start": tomorrow_at(server, 10), "name": "王丽",
            "id_number": "11010519491231002X", "phone": "13800138000"}
    cases = [({"id_number": "110105194912310021"}, "id_number", "校验位"),
             ({"id_number": "11010519491231002"}, "id_number", "18 位"),
             ({"id_number": id_number(1, birth="19990230")}, "id_number", "出生日期"),
             ({"phone": "12345678901"}, "phone", "手机号码"),
             ({"name": "王"}, "name", "姓名")]
    for change, field, words in cases:
        r = httpx.post(url, json={**good, **change}, timeout=5)
        assert r.status_code == 400 and r.json()["error"]["field"] == field and words in r.json()["error"]["message"]
    missing = httpx.post(url, json={k: v for k, v in good.items() if k != "id_number"}, timeout=5)
    assert missing.status_code == 422
    ok = httpx.post(url, json={**good, "id_number": "11010519491231002x"}, timeout=5)   # lowercase x
    assert ok.status_code == 201, ok.text
    bad = [a for a in server.store.audit_records() if a["outcome"] == "bad_identity"]
    assert [a["detail"] for a in bad] == ["id_number", "id_number", "id_number", "phone", "name"]
    with server.store._read() as conn:                      # noqa: SLF001 - the test reads every table
        from sqlalchemy import MetaData, select
        meta = MetaData()
        meta.reflect(conn)
        for table in meta.sorted_tables:
            for row in conn.execute(select(table)):
                assert "11010519491231002" not in " ".join(str(v) for v in row), table.name


def test_the_same_id_number_books_a_category_once_a_day_and_a_few_to_come(hall):
    server, _, base = hall
    url = base + "api/appointments"
    me = {"category": "social", "name": "王丽", "id_number": id_number(7), "phone": "13800138000"}
    assert httpx.post(url, json={**me, "slot_start": tomorrow_at(server, 10)}, timeout=5).status_code == 201
    twice = httpx.post(url, json={**me, "slot_start": tomorrow_at(server, 15)}, timeout=5)
    assert twice.status_code == 409 and twice.json()["error"]["code"] == "already_booked"
    assert "当天已预约" in twice.json()["error"]["message"]
    written_otherwise = {**me, "id_number": me["id_number"].lower(), "phone": "13900000001"}
    assert httpx.post(url, json={**written_otherwise, "slot_start": tomorrow_at(server, 15)},
                      timeout=5).status_code == 409
    other_category = {**me, "category": "residence", "slot_start": tomorrow_at(server, 10)}
    assert httpx.post(url, json=other_category, timeout=5).status_code == 201
    third = {**me, "category": "business", "slot_start": tomorrow_at(server, 11)}
    assert httpx.post(url, json=third, timeout=5).status_code == 201
    day_after = datetime.fromisoformat(tomorrow_at(server, 10)) + timedelta(days=1)
    fourth = httpx.post(url, json={**me, "slot_start": day_after.isoformat()}, timeout=5)
    assert fourth.status_code == 429 and fourth.json()["error"]["code"] == "booking_limit"
    same_phone = {**me, "id_number": id_number(8), "slot_start": day_after.isoformat()}
    assert httpx.post(url, json=same_phone, timeout=5).json()["error"]["code"] == "booking_limit"


# --------------------------------------------------------------------------- 网上申报
@pytest.fixture
def hall_with_managers(config, embedded_broker, sqlite_url):
    config.ratings.secret = "a-hall-secret-of-some-length"
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=hash_password("manager-pass-2026"))]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, device):
        yield server, server.dashboard_url


def test_anonymous_case_creation_is_refused_and_a_real_name_intake_works_within_limits(hall_with_managers):
    server, base = hall_with_managers
    application = {"matter": "business-licence", "received": {"登记申请书": 1}}
    anonymous = httpx.post(base + "api/cases", json=application, timeout=5)
    assert anonymous.status_code == 401 and server.store.case_rows() == []
    me = {**application, "name": "王丽", "id_number": id_number(9), "phone": "13800138000"}
    url = base + "api/cases/online"
    bad = httpx.post(url, json={**me, "id_number": me["id_number"][:-1] + ("0" if me["id_number"][-1] != "0"
                                                                            else "1")}, timeout=5)
    assert bad.status_code == 400 and "校验位" in bad.json()["error"]["message"]
    made = [httpx.post(url, json=me, timeout=5) for _ in range(4)]
    assert [r.status_code for r in made] == [201, 201, 201, 429]
    assert made[-1].json()["error"]["code"] == "application_limit"
    (row, *_) = server.store.case_rows()
    assert '"name": "王丽"' in row["applicant"] and me["id_number"] not in row["applicant"]
    for n in range(10, 20):                                     # other people, from the same address
        httpx.post(url, json={**me, "id_number": id_number(n), "phone": phone(n)}, timeout=5)
    assert len(server.store.case_rows()) == 10                  # the address's ten a day
    more = httpx.post(url, json={**me, "id_number": id_number(30), "phone": phone(30)}, timeout=5)
    assert more.status_code == 429 and more.json()["error"]["code"] == "too_many"
    # a manager who is logged in enters a case without an applicant's ID
    client = httpx.Client(base_url=base, timeout=5)
    client.post("/login", data={"manager": "m001", "password": "manager-pass-2026"})
    entered = client.post("/api/cases", json=application, headers={"X-CSRF-Token": client.cookies["govhall_csrf"]})
    assert entered.status_code == 201, entered.text
    outcomes = {(a["action"], a["outcome"]) for a in server.store.audit_records()}
    assert ("case.apply_online", "application_limit") in outcomes and ("case.apply_online", "rate_limited") in outcomes
