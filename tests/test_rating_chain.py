"""好差评 records: one per service, append-only in the database, signed into a hash chain that
`hall ratings verify` checks — a changed or removed record is found and named."""
import json
import subprocess
import sys
import uuid
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import create_engine, text

from hallserver.domain.clock import SimClock
from hallserver.processor import CommandProcessor
from hallserver.rating_chain import verify
from hallserver.store import Store

TZ = ZoneInfo("Asia/Shanghai")
SECRET = "a-hall-secret-kept-out-of-the-db"


@pytest.fixture
def proc(config, db_url):
    store = Store(db_url)
    store.rating_secret = SECRET
    store.migrate()
    yield CommandProcessor(config, store, SimClock(datetime(2025, 11, 17, 9, 0, tzinfo=TZ)))
    store.close()


def send(proc, device, **command):
    command.setdefault("id", uuid.uuid4().hex)
    out = proc.handle(proc.topics.command(device), json.dumps(command, ensure_ascii=False).encode())
    return next(json.loads(o.payload) for o in out if o.topic == proc.topics.reply(device))


def rate_three(proc):
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    for level, phone in ((5, ""), (2, "13800138000"), (4, "")):
        send(proc, "kiosk-1", type="ticket.issue", category="social")
        send(proc, "counter-1", type="window.call_next", window="w1")
        send(proc, "counter-1", type="window.complete", window="w1")
        reply = send(proc, "tablet-1", type="rating.submit", window="w1", level=level, reasons=["效率"] if level < 3
                     else [], comment="等太久" if level < 3 else "", phone=phone)
        assert reply["ok"], reply


def test_the_chain_holds_and_names_a_changed_or_missing_record(proc, db_url):
    rate_three(proc)
    records = proc.store.rating_records()
    assert verify(records, SECRET).ok and verify(records, SECRET).checked == 3
    assert records[0]["prev_hash"] == "0" * 64
    assert records[1]["phone"] == "" and proc.store.rating_phone(2) == "13800138000"   # beside the record
    assert not verify(records, "another-key-entirely").ok             # the key matters
    changed = [dict(r) for r in records]
    changed[1]["level"] = 5                                            # someone "improves" a 差评
    assert verify(changed, SECRET).problem == "rating 2 was changed after it was recorded"
    removed = [records[0], records[2]]
    assert verify(removed, SECRET).problem.startswith("rating 2 is missing")
    last_gone = records[:2]
    assert verify(last_gone, SECRET).ok                                # (a cut tail needs the count kept elsewhere)


def test_the_database_refuses_to_change_or_delete_a_rating(proc, db_url):
    rate_three(proc)
    engine = create_engine(db_url)
    for statement in ("UPDATE ratings SET level = 5 WHERE id = 2", "DELETE FROM ratings WHERE id = 2"):
        with pytest.raises(Exception, match="append-only"):
            with engine.begin() as conn:
                conn.execute(text(statement))
    engine.dispose()
    assert [r["level"] for r in proc.store.rating_records()] == [5, 2, 4]


def test_hall_ratings_verify_and_export(proc, db_url, tmp_path, config):
    import csv
    rate_three(proc)
    toml = tmp_path / "hall.toml"
    example = (Path(__file__).parent.parent / "examples" / "hall.toml").read_text("utf-8")
    toml.write_text(example + f'\n[ratings]\nsecret = "{SECRET}"\n', encoding="utf-8")
    run = [sys.executable, "-m", "hall.cli", "ratings"]
    ok = subprocess.run([*run, "verify", "--config", str(toml), "--database", db_url], capture_output=True, text=True)
    assert ok.returncode == 0 and "3 records, chain intact" in ok.stdout
    out = tmp_path / "ratings.csv"
    subprocess.run([*run, "export", "--config", str(toml), "--database", db_url, "--out", str(out)], check=True,
                   capture_output=True)
    rows = list(csv.DictReader(out.read_text(encoding="utf-8-sig").splitlines()))
    assert [r["level_name"] for r in rows] == ["非常满意", "不满意", "满意"]
    assert rows[1]["reasons"] == "效率" and rows[1]["text"] == "等太久" and rows[1]["channel"] == "4"
    assert rows[1]["rectification"] == "待核实" and rows[0]["rectification"] == "无需整改"
    assert rows[0]["ticket_number"] == "A001"
    wrong = subprocess.run([*run, "verify", "--config", str(tmp_path / "nope.toml"), "--database", db_url],
                           capture_output=True, text=True)
    assert wrong.returncode != 0


def test_staff_cannot_rate_and_a_tablet_rates_only_its_own_window(proc):
    send(proc, "counter-1", type="window.login", window="w1", staff="s001")
    send(proc, "kiosk-1", type="ticket.issue", category="social")
    send(proc, "counter-1", type="window.call_next", window="w1")
    send(proc, "counter-1", type="window.complete", window="w1")
    assert send(proc, "counter-1", type="rating.submit", window="w1", level=5)["error"]["code"] == "forbidden"
    assert send(proc, "tablet-2", type="rating.submit", window="w1", level=5)["error"]["code"] == "forbidden"
    assert send(proc, "tablet-2", type="rating.submit", window="w2", level=5)["error"]["code"] == "nothing_to_rate"
    assert send(proc, "tablet-1", type="rating.submit", window="w1", level=5)["ok"]
    assert proc.store.rating_records()[0]["window"] == "w1"


def test_phone_numbers_are_masked_after_the_retention_period_and_the_chain_still_holds(proc):
    from datetime import timedelta
    rate_three(proc)
    assert proc.store.mask_old_phones(proc.clock.now() - timedelta(days=1)) == 0      # too recent
    assert proc.store.mask_old_phones(proc.clock.now() + timedelta(seconds=1)) == 1
    assert proc.store.rating_phone(2) == "138****8000"
    assert proc.store.rectification_items()[0].phone == "138****8000"                  # still a real-name 差评
    assert verify(proc.store.rating_records(), SECRET).ok
    assert proc.store.mask_old_phones(proc.clock.now() + timedelta(seconds=1)) == 0     # once
