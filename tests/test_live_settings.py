"""Settings saved in the dashboard take effect in the running hall at once, with nothing lost:
the queue, the numbering, the service under way and the front-desk watch carry on."""
import json
import uuid
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from govhall.config import PostConfig, ShiftConfig
from hallserver.domain.clock import SimClock
from hallserver.processor import CommandProcessor
from hallserver.store import Store

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def hall(config, db_url):
    store = Store(db_url)
    store.migrate()
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    yield CommandProcessor(config, store, clock), clock
    store.close()


def send(proc, device, **command):
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command).encode())
    return next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device))


def retained(out, topic):
    return next(json.loads(o.payload) for o in out if o.topic == topic and o.retain)


def test_a_renamed_category_and_a_window_given_it_apply_with_the_queue_and_numbering_kept(hall, config):
    proc, clock = hall
    numbers = [send(proc, "kiosk-1", type="ticket.issue", category="social")["result"]["ticket"]["number"]
               for _ in range(3)]
    assert numbers == ["A001", "A002", "A003"]
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    assert send(proc, "counter-1", type="window.call_next", window="w1")["result"]["ticket"]["number"] == "A001"
    clock.advance(180)

    new = config.model_copy(deep=True)
    new.categories[0].name = "社保医保服务"
    new.windows[1].categories = ["business", "social"]       # window 2 now also calls 社保
    out = proc.apply_config(new)

    queue = retained(out, proc.topics.queue_state)
    social = next(x for x in queue["categories"] if x["category"] == "social")
    assert social["name"] == "社保医保服务" and social["waiting"] == 2
    w1 = retained(out, proc.topics.window_state("w1"))
    assert w1["status"] == "serving" and w1["ticket"]["number"] == "A001" and w1["staff"]["id"] == "s001"
    # numbering goes on, the waiting citizens keep their places, and window 2 now calls them
    assert send(proc, "kiosk-1", type="ticket.issue", category="social")["result"]["ticket"]["number"] == "A004"
    send(proc, "counter-2", type="window.login", window="w2", staff="s002")
    assert send(proc, "counter-2", type="window.call_next", window="w2")["result"]["ticket"]["number"] == "A002"
    assert send(proc, "counter-1", type="window.complete", window="w1")["ok"]


def test_a_new_front_desk_post_opens_its_alert_and_removing_it_closes_the_alert(hall, config):
    proc, clock = hall
    base = config.model_copy(deep=True)
    base.posts = []
    proc.apply_config(base)                                   # no front desk at all
    assert not proc.attendance.watch.open

    with_post = base.model_copy(deep=True)
    with_post.posts = [PostConfig(id="front-social", name="社保受理岗", a="s001", b="s002", categories=["social"],
                                  front_desk=True)]
    out = proc.apply_config(with_post)                          # nobody at a social window: 前台断档 at once
    alerts = [json.loads(o.payload) for o in out if o.topic == proc.topics.event("coverage.alert")]
    assert [(a["category"], a["open"]) for a in alerts] == [("social", True)]

    clock.advance(240)
    out = proc.apply_config(base)                               # the post removed: the alert closes
    alerts = [json.loads(o.payload) for o in out if o.topic == proc.topics.event("coverage.alert")]
    assert [(a["category"], a["open"], a["minutes"]) for a in alerts] == [("social", False, 4)]
    assert not proc.attendance.watch.open


def test_new_shifts_and_thresholds_apply_to_the_day_figures(hall, config):
    proc, clock = hall
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")      # 09:00: on time for 09:00
    new = config.model_copy(deep=True)
    new.shifts = [ShiftConfig(name="早班", start="08:50", end="12:00")]
    new.attendance.grace_minutes = 5
    proc.apply_config(new)
    day = {row["staff"]: row for row in proc.attendance.day(clock.now().date(), TZ)}
    assert day["s001"]["late_min"] == 10 and day["s001"]["shifts"][0]["shift"] == "早班"
    new.attendance.grace_minutes = 10
    proc.apply_config(new)                                       # 10 minutes late is now within the grace
    day = {row["staff"]: row for row in proc.attendance.day(clock.now().date(), TZ)}
    assert day["s001"]["late_min"] == 0


def test_another_halls_config_is_refused_and_nothing_changes(hall, config):
    proc, _ = hall
    other = config.model_copy(deep=True)
    other.hall.id = "another-hall"
    with pytest.raises(ValueError):
        proc.apply_config(other)
    assert proc.config is config
