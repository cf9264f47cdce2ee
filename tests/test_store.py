"""The store on real SQLite and PostgreSQL: schema from migrations, atomic saves, restart."""
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from hallserver.bootstrap import build_engine
from hallserver.domain.clock import SimClock
from hallserver.store import Store, redact_url
from hallserver.store.tables import commands, metadata, tickets

TZ = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def store(db_url):
    s = Store(db_url)
    s.migrate()
    yield s
    s.close()


def test_the_migrations_build_exactly_the_tables_the_code_uses(store):
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), metadata)
    assert diff == []


def test_migrating_twice_is_harmless(store):
    store.migrate()


def test_a_command_is_saved_whole_and_the_engine_resumes_from_it(store, config):
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = build_engine(config, clock, store)
    e.issue("social", "kiosk-1")
    e.issue("social", "kiosk-1")
    store.save(e.take_changes(), "kiosk-1", "c1", "ticket.issue", "{}", clock.now())
    e.login("w1", "s001")
    e.call_next("w1")
    store.save(e.take_changes(), "counter-1", "c2", "window.call_next", '{"ok": true}', clock.now())

    again = build_engine(config, clock, store)
    w1 = again.windows["w1"]
    assert w1.staff == "s001" and w1.ticket.number == "A001"
    assert [t.number for t in again.waiting["social"]] == ["A002"]
    assert again.issue("social", "kiosk-1").number == "A003"     # no number issued twice
    assert store.find_reply("counter-1", "c2") == '{"ok": true}'
    assert store.find_reply("counter-2", "c2") is None            # ids are per device


def test_a_failed_save_leaves_nothing_behind(store, config):
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = build_engine(config, clock, store)
    e.issue("social", "kiosk-1")
    store.save(e.take_changes(), "kiosk-1", "same-id", "ticket.issue", "{}", clock.now())
    e.issue("social", "kiosk-1")
    with pytest.raises(IntegrityError):     # the same command id again: the command log refuses it
        store.save(e.take_changes(), "kiosk-1", "same-id", "ticket.issue", "{}", clock.now())
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tickets)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(commands)).scalar() == 1


def test_times_come_back_timezone_aware_and_equal(store, config):
    clock = SimClock(datetime(2026, 11, 23, 9, 30, 15, 123000, tzinfo=TZ))
    e = build_engine(config, clock, store)
    t = e.issue("business", "kiosk-1")
    store.save(e.take_changes(), "kiosk-1", "c1", "ticket.issue", "{}", clock.now())
    (back,) = store.all_tickets()
    assert back.issued_at == t.issued_at and back.issued_at.tzinfo is not None


def test_passwords_never_reach_a_summary():
    assert redact_url("postgresql+psycopg://hall:s3cret@db:5432/hall") == "postgresql+psycopg://hall:***@db:5432/hall"
    assert "s3cret" not in redact_url("postgresql://u:s3cret@h/d")


def test_numbers_and_the_days_figures_restart_after_midnight_in_the_halls_time_zone(store, config):
    # 23:59 in Beijing is still Monday; one minute later is Tuesday (UTC is still Monday then)
    clock = SimClock(datetime(2026, 11, 23, 23, 59, tzinfo=TZ))
    e = build_engine(config, clock, store)
    e.login("w1", "s001")
    e.issue("social", "kiosk-1")
    e.call_next("w1")
    e.complete("w1")
    e.rate("w1", 5)
    store.save(e.take_changes(), "kiosk-1", "c1", "ticket.issue", "{}", clock.now())
    clock.set(datetime(2026, 11, 24, 0, 1, tzinfo=TZ))
    e = build_engine(config, clock, store)          # a restart just after midnight
    t = e.issue("social", "kiosk-1")
    store.save(e.take_changes(), "kiosk-1", "c2", "ticket.issue", "{}", clock.now())
    assert t.number == "A001"
    tuesday = store.summary(clock.now(), clock.now().date())
    monday = store.summary(clock.now(), datetime(2026, 11, 23).date())
    assert (tuesday.tickets_issued, tuesday.tickets_served, tuesday.ratings) == (1, 0, 0)
    assert (monday.tickets_issued, monday.tickets_served, monday.ratings) == (1, 1, 1)


def test_the_wait_estimate_survives_a_restart(store, config):
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = build_engine(config, clock, store)
    e.login("w1", "s001")
    for minutes in (3, 5, 7):
        e.issue("social", "kiosk-1")
        e.call_next("w1")
        clock.advance(minutes * 60)
        e.complete("w1")
    waiting = e.issue("social", "kiosk-1")
    store.save(e.take_changes(), "kiosk-1", "c1", "ticket.issue", "{}", clock.now())
    again = build_engine(config, clock, store)
    assert again.estimator.service_time("social") == e.estimator.service_time("social") == 300
    assert again.estimated_wait_s(again.waiting["social"][0]) == e.estimated_wait_s(waiting) == 0


def test_green_transferred_and_requeued_tickets_come_back_the_same_after_a_restart(store, config):
    from datetime import date

    from govhall.contract import GreenReason, TicketClass
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = build_engine(config, clock, store)
    e.login("w1", "s001")
    e.login("w3", "s003")
    skipped = e.issue("social", "kiosk-1")
    others = [e.issue("social", "kiosk-1") for _ in range(4)]
    elder = e.issue("residence", "kiosk-1", birth_date=date(1950, 1, 1))
    e.call_next("w1")                        # the elder first: 绿色通道
    e.transfer("w1", "需综合窗口办理", to_window="w3")
    e.call_next("w1")
    e.skip("w1")                             # skipped: the first social ticket
    e.requeue(skipped.number)
    store.save(e.take_changes(), "kiosk-1", "c1", "ticket.issue", "{}", clock.now())

    again = build_engine(config, clock, store)
    t = next(x for x in again.all_waiting() if x.id == elder.id)
    assert (t.priority, t.green_reason, t.transferred_from, t.transfer_to_window, t.transfer_reason) == \
        (TicketClass.GREEN, GreenReason.ELDERLY, "w1", "w3", "需综合窗口办理")
    back = next(x for x in again.all_waiting() if x.id == skipped.id)
    assert back.requeued and back.callback_seq == skipped.callback_seq and back.requeue_after_id == others[2].id
    for w in ("w1", "w3"):
        assert again.next_for(again.windows[w]).id == e.next_for(e.windows[w]).id
    assert again.last_callback_seq == e.last_callback_seq


def test_quotas_count_the_tickets_issued_before_a_restart(store):
    import copy

    from govhall.config import parse_config
    from govhall.contract import ErrorCode
    from hallserver.domain.queue import DomainError
    from lab.demo import DEMO_CONFIG
    raw = copy.deepcopy(DEMO_CONFIG)
    raw["hours"] = {"sessions": [["09:00", "12:00"], ["13:30", "17:00"]]}
    raw["categories"][0]["session_quota"] = 2
    config = parse_config(raw, "<test>")
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = build_engine(config, clock, store)
    e.issue("social", "kiosk-1")
    e.issue("social", "kiosk-1")
    store.save(e.take_changes(), "kiosk-1", "c1", "ticket.issue", "{}", clock.now())
    again = build_engine(config, clock, store)
    with pytest.raises(DomainError) as info:
        again.issue("social", "kiosk-1")
    assert info.value.code == ErrorCode.QUOTA_FULL
    assert info.value.next_open == datetime(2026, 11, 23, 13, 30, tzinfo=TZ)


def test_appointments_and_their_check_ins_survive_a_restart(store, config):
    from govhall.contract import ErrorCode, TicketClass
    from hallserver.domain.queue import DomainError
    clock = SimClock(datetime(2026, 11, 23, 8, 0, tzinfo=TZ))
    e = build_engine(config, clock, store)
    slot = datetime(2026, 11, 23, 9, 30, tzinfo=TZ)
    booked = [e.book("social", slot, "王丽", f"1380000000{n}", f"{n:064x}") for n in range(4)]
    store.save(e.take_changes(), "@web", "b1", "appointment.book", "{}", clock.now())
    clock.set(datetime(2026, 11, 23, 9, 20, tzinfo=TZ))
    t, _ = e.check_in(booked[0].code, "kiosk-1")
    store.save(e.take_changes(), "kiosk-1", "c1", "appointment.check_in", "{}", clock.now())

    again = build_engine(config, clock, store)
    with pytest.raises(DomainError) as info:
        again.book("social", slot)                                     # still full after the restart
    assert info.value.code == ErrorCode.SLOT_FULL
    with pytest.raises(DomainError) as info:                           # the ID's keyed hash is kept too
        again.book("social", datetime(2026, 11, 23, 10, 0, tzinfo=TZ), "王丽", "13900000009", f"{1:064x}")
    assert info.value.code == ErrorCode.ALREADY_BOOKED
    with pytest.raises(DomainError) as info:
        again.check_in(booked[0].code, "kiosk-1")
    assert info.value.code == ErrorCode.ALREADY_CHECKED_IN
    t2, a2 = again.check_in(booked[1].code, "kiosk-1")
    assert t2.priority == TicketClass.APPOINTMENT and a2.slot_start == slot
    assert again.all_waiting()[0].id == t.id


def test_pause_time_is_recorded_per_staff_and_reason_for_attendance(store, config):
    from govhall.contract import PauseReason
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = build_engine(config, clock, store)
    e.login("w1", "s001")
    e.pause("w1", PauseReason.MEAL)
    store.save(e.take_changes(), "counter-1", "p1", "window.pause", "{}", clock.now())
    clock.advance(20 * 60)
    e.resume("w1")
    store.save(e.take_changes(), "counter-1", "p2", "window.resume", "{}", clock.now())
    e.pause("w1", PauseReason.MEETING)
    store.save(e.take_changes(), "counter-1", "p3", "window.pause", "{}", clock.now())
    clock.advance(5 * 60)
    e2 = build_engine(config, clock, store)                  # a restart while paused
    clock.advance(5 * 60)
    e2.logout("w1")                                          # logging out ends the pause too
    store.save(e2.take_changes(), "counter-1", "p4", "window.logout", "{}", clock.now())
    day = (datetime(2026, 11, 23, tzinfo=TZ), datetime(2026, 11, 24, tzinfo=TZ))
    assert store.pause_minutes(clock.now(), *day) == {"s001": {"meal": 20.0, "meeting": 10.0}}


def test_an_open_pause_counts_up_to_now(store, config):
    from govhall.contract import PauseReason
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = build_engine(config, clock, store)
    e.login("w2", "s002")
    e.pause("w2", PauseReason.AWAY)
    store.save(e.take_changes(), "counter-2", "p1", "window.pause", "{}", clock.now())
    clock.advance(7 * 60)
    day = (datetime(2026, 11, 23, tzinfo=TZ), datetime(2026, 11, 24, tzinfo=TZ))
    assert store.pause_minutes(clock.now(), *day) == {"s002": {"away": 7.0}}


def test_the_completed_time_of_existing_cases_is_filled_in_by_its_migration(db_url):
    import json

    from alembic import command as alembic_command
    from alembic.config import Config as AlembicConfig
    from sqlalchemy import text

    from hallserver.store.repository import MIGRATIONS
    s = Store(db_url)
    cfg = AlembicConfig()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with s.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        alembic_command.upgrade(cfg, "0015")
    steps = [{"step": "受理", "at": "2026-11-20T01:00:00+00:00", "staff": "s001", "note": ""},
             {"step": "办结", "at": "2026-11-21T07:30:00+00:00", "staff": "s002", "note": ""}]
    with s.engine.begin() as conn:
        for i, st in ((1, steps), (2, steps[:1])):
            conn.execute(text("INSERT INTO cases (id, code, token, matter, \"window\", accepted_at, accepted_by, step, "
                              "received, missing, steps, pauses, extensions, finished) VALUES (:id, :code, :token, "
                              "'m', 'w1', :at, 's001', 'x', '{}', '[]', :steps, '[]', '[]', :f)"),
                         {"id": i, "code": f"C{i}", "token": f"t{i}", "at": datetime(2026, 11, 20, 1),
                          "steps": json.dumps(st, ensure_ascii=False), "f": False})
    s.migrate()
    with s.engine.connect() as conn:
        done = dict(conn.execute(text("SELECT id, completed_at FROM cases ORDER BY id")).all())
    assert done[2] is None and str(done[1]).startswith("2026-11-21 07:30")
    s.close()


def test_group_commits_keep_the_audit_and_rating_chains_whole(store, config):
    """Commands committed together (group commit) carry the chains' last link along instead of
    reading it back; a batch that fails must not leave its links behind for the next one."""
    from hallserver.rating_chain import verify, verify_audit
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = build_engine(config, clock, store)
    e.login("w1", "s001")
    store.save(e.take_changes(), "counter-1", "login", "window.login", '{"ok":true}', clock.now())

    def serve_and_rate(first: int, n: int) -> None:
        for i in range(first, first + n):
            e.issue("social", "kiosk-1")
            store.save(e.take_changes(), "kiosk-1", f"i{i}", "ticket.issue", '{"ok":true}', clock.now())
            e.call_next("w1")
            e.complete("w1")
            store.save(e.take_changes(), "counter-1", f"c{i}", "window.complete", '{"ok":true}', clock.now())
            e.rate("w1", 5 - i % 5)
            store.save(e.take_changes(), "tablet-1", f"r{i}", "rating.submit", '{"ok":true}', clock.now())

    with store.batch():
        serve_and_rate(0, 3)
    store.audit(clock.now(), "manager", "login", "ok")          # the web side, between two batches
    with pytest.raises(IntegrityError), store.batch():
        serve_and_rate(3, 1)
        store.save(e.take_changes(), "kiosk-1", "i0", "ticket.issue", "{}", clock.now())   # a repeated id
    e = build_engine(config, clock, store)                       # as the bus does after a failed batch
    with store.batch():
        serve_and_rate(3, 2)

    audit, ratings = store.audit_records(), store.rating_records()
    assert verify_audit(audit, None).ok and verify(ratings, None).ok
    assert [r["level"] for r in ratings] == [5, 4, 3, 2, 1]       # the failed batch's rating is not there
    assert [a["id"] for a in audit] == list(range(1, len(audit) + 1))


def test_a_batch_sends_its_rows_together_and_every_read_inside_sees_them(store, config):
    """Group commit holds the common rows back and writes them together at the end: a read in
    the middle of the batch (a repeated command id) still finds them, and a window never saved
    before is inserted, not lost in an update that matched nothing."""
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = build_engine(config, clock, store)
    with store.batch():
        e.issue("social", "kiosk-1")
        store.save(e.take_changes(), "kiosk-1", "k1", "ticket.issue", '{"id":"k1","ok":true}', clock.now())
        assert store.find_reply("kiosk-1", "k1") == '{"id":"k1","ok":true}'      # a repeat in the same batch
        e.login("w2", "s002")                                                   # a window without a row yet
        e.issue("business", "kiosk-1")
        store.save(e.take_changes(), "kiosk-1", "k2", "ticket.issue", '{"ok":true}', clock.now())
    again = build_engine(config, clock, store)
    assert [t.number for t in again.waiting["social"]] == ["A001"]
    assert [t.number for t in again.waiting["business"]] == ["B001"] and again.windows["w2"].staff == "s002"
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(commands)).scalar() == 2
        from hallserver.store.tables import windows
        assert conn.execute(select(windows.c.id)).scalars().all() == ["w2"]


def test_the_audit_chains_known_end_is_forgotten_when_another_writer_got_there_first(store, config, db_url):
    """The server keeps the audit chain's last link in memory between transactions. Should
    anything else append to the chain meanwhile, the next line takes an id already used: that
    write fails whole, the known end is forgotten, and the command sent again chains on the
    real end. The chain never forks."""
    from hallserver.rating_chain import verify_audit
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = build_engine(config, clock, store)
    e.issue("social", "kiosk-1")
    store.save(e.take_changes(), "kiosk-1", "k1", "ticket.issue", '{"ok":true}', clock.now())
    other = Store(db_url)
    other.audit(clock.now(), "someone-else", "manager.login", "ok")
    other.close()
    e.issue("social", "kiosk-1")
    changes = e.take_changes()
    with pytest.raises(IntegrityError):
        store.save(changes, "kiosk-1", "k2", "ticket.issue", '{"ok":true}', clock.now())
    store.save(changes, "kiosk-1", "k2", "ticket.issue", '{"ok":true}', clock.now())
    lines = store.audit_records()
    assert verify_audit(lines, None).ok
    assert [x["actor"] for x in lines] == ["kiosk-1", "someone-else", "kiosk-1"]


def test_sqlite_is_checkpointed_beside_the_writer(tmp_path, config, monkeypatch):
    """The hall server's SQLite log is copied back into the database file by a thread of its own
    (store/wal.py), not inside a command's commit: the file alone soon holds what was committed."""
    import shutil
    import sqlite3
    import time

    from hallserver.store import wal
    monkeypatch.setattr(wal, "EVERY_S", 0.1)
    url = f"sqlite:///{tmp_path / 'hall.db'}"
    store = Store(url)
    store.migrate()
    store.checkpoint_in_background()
    try:
        clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
        e = build_engine(config, clock, store)
        for i in range(50):                           # far below the automatic checkpoint's mark
            e.issue("social", "kiosk-1")
            store.save(e.take_changes(), "kiosk-1", f"k{i}", "ticket.issue", '{"ok":true}', clock.now())
        done = store._checkpointer.checkpoints
        deadline = time.monotonic() + 10
        while store._checkpointer.checkpoints < done + 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        shutil.copy(tmp_path / "hall.db", tmp_path / "file-only.db")     # the database file without its log
        copy = sqlite3.connect(tmp_path / "file-only.db")
        assert copy.execute("SELECT count(*) FROM tickets").fetchone() == (50,)
        copy.close()
    finally:
        store.close()
    assert store._checkpointer is None


def test_a_failed_write_inside_a_batch_rolls_the_whole_batch_back_even_if_its_caller_went_on(store, config):
    """The batch's waiting rows go out before any other read or write in it. If that fails and
    the caller only logs it (a presence message does), the batch must not commit the rest: it
    is refused whole at its end, and the bus runs its commands again one by one."""
    from hallserver.rating_chain import verify_audit
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))
    e = build_engine(config, clock, store)
    e.issue("social", "kiosk-1")
    store.save(e.take_changes(), "kiosk-1", "k1", "ticket.issue", '{"ok":true}', clock.now())
    with pytest.raises(RuntimeError, match="none of it is kept"), store.batch():
        e.issue("social", "kiosk-1")
        store.save(e.take_changes(), "kiosk-1", "k2", "ticket.issue", '{"ok":true}', clock.now())
        e.issue("social", "kiosk-1")
        store.save(e.take_changes(), "kiosk-1", "k1", "ticket.issue", '{"ok":true}', clock.now())   # a used id
        try:
            store.counter_online("counter-1", clock.now())       # sends the waiting rows: they fail
        except IntegrityError:
            pass                                                  # as on_presence does: logged, not raised
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tickets)).scalar() == 1
        assert conn.execute(select(func.count()).select_from(commands)).scalar() == 1
    e = build_engine(config, clock, store)                        # as the bus does, then one at a time
    e.issue("social", "kiosk-1")
    store.save(e.take_changes(), "kiosk-1", "k2", "ticket.issue", '{"ok":true}', clock.now())
    assert verify_audit(store.audit_records(), None).ok
    assert [t.number for t in build_engine(config, clock, store).waiting["social"]] == ["A001", "A002"]


def test_rows_sent_together_in_a_batch_are_stored_as_rows_saved_alone(store, config):
    """A group commit hands its common rows to the driver itself (store/bulk.py), each value
    through its column type: a ticket, a window, a rating, the command log and the audit
    line read back the same whether they were saved alone (through SQLAlchemy) or in a batch
    — times in UTC, the day, empty fields, flags and the hash chains."""
    from hallserver.rating_chain import verify, verify_audit
    from hallserver.store.tables import audit_log, ratings, windows
    clock = SimClock(datetime(2026, 11, 23, 9, 0, tzinfo=TZ))

    def one_service(e, tag: str) -> None:
        e.login("w1", "s001")
        store.save(e.take_changes(), "counter-1", f"l{tag}", "window.login", '{"ok":true}', clock.now())
        e.issue("social", "kiosk-1")
        store.save(e.take_changes(), "kiosk-1", f"i{tag}", "ticket.issue", '{"ok":true}', clock.now())
        e.call_next("w1")
        store.save(e.take_changes(), "counter-1", f"c{tag}", "window.call_next", '{"ok":true}', clock.now())
        e.complete("w1")
        e.rate("w1", 4)
        store.save(e.take_changes(), "counter-1", f"d{tag}", "window.complete", '{"ok":true}', clock.now())
        e.logout("w1")
        store.save(e.take_changes(), "counter-1", f"o{tag}", "window.logout", '{"ok":true}', clock.now())

    one_service(build_engine(config, clock, store), "alone")
    with store.batch():
        one_service(build_engine(config, clock, store), "batch")

    def rows(table, order) -> list[dict]:
        with store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(select(table).order_by(order)).mappings()]
    alone, batch = rows(tickets, tickets.c.id)
    assert alone["issued_at"] == batch["issued_at"] == clock.now()      # aware, the same instant
    assert alone["day"] == batch["day"] == clock.now().date()
    differ = {"id", "seq", "number", "token"}                             # the second ticket's own
    assert {k: v for k, v in alone.items() if k not in differ} == {k: v for k, v in batch.items() if k not in differ}
    assert alone["requeued"] is False and alone["transferred_from"] is None
    (w1,) = rows(windows, windows.c.id)
    assert w1["last_served_id"] == batch["id"] and w1["staff"] is None
    r_alone, r_batch = rows(ratings, ratings.c.id)
    assert (r_alone["level"], r_alone["at"], r_alone["window"]) == (r_batch["level"], r_batch["at"], r_batch["window"])
    with store.engine.connect() as conn:
        logged = conn.execute(select(commands.c.id, commands.c.at).order_by(commands.c.at, commands.c.id)).all()
    assert sorted(i for i, _ in logged) == sorted(f"{k}{t}" for k in "licdo" for t in ("alone", "batch"))
    assert all(at == clock.now() for _, at in logged)
    assert verify_audit(rows(audit_log, audit_log.c.id), None).ok and verify(store.rating_records(), None).ok


def test_a_bulk_statement_refuses_rows_it_cannot_send_whole(store):
    """Rows without a column SQLAlchemy would fill in (a default), or with a key that is no
    column, are refused when the statement is prepared, before anything is sent."""
    from sqlalchemy import insert

    from hallserver.store.bulk import BulkStatement
    bulk = BulkStatement(insert(commands), store.engine.dialect)
    with store.engine.begin() as conn, pytest.raises(ValueError, match="not the rows' keys"):
        bulk.execute(conn, [{"device": "d", "id": "1", "type": "x", "reply": "{}", "at": datetime.now(TZ),
                             "colour": "red"}])
    bulk = BulkStatement(insert(tickets), store.engine.dialect)
    with store.engine.begin() as conn, pytest.raises(ValueError, match="defaults"):
        bulk.execute(conn, [{"id": 1, "day": datetime.now(TZ).date(), "category": "social", "seq": 1,
                             "number": "A001", "status": "waiting", "issued_at": datetime.now(TZ),
                             "issued_by": "kiosk-1"}])                   # no recalls: its default is 0
    from sqlalchemy import Column, Integer, MetaData, Table
    odd = Table("odd", MetaData(), Column("a b", Integer), Column("c%d", Integer))
    with store.engine.begin() as conn, pytest.raises(ValueError, match="escaped names"):
        BulkStatement(insert(odd), store.engine.dialect).execute(conn, [{"a b": 1, "c%d": 2}])
    with store.engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(tickets)).scalar() == 0
