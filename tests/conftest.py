"""Shared fixtures: real brokers (Mosquitto and the embedded amqtt) and real databases.

With HALL_REQUIRE_SERVICES=1 (set by CI) a missing broker or database fails the run
instead of skipping the tests that need it.
"""
from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from govhall.config import Config
from govhall.link import DeviceLink
from hallserver.broker import EmbeddedBroker, MosquittoProcess
from hallserver.demo import demo_config
from hallserver.server import HallServer

REQUIRE = os.environ.get("HALL_REQUIRE_SERVICES") == "1"
PG_URL = os.environ.get("HALL_TEST_PG_URL")


def missing(what: str) -> None:
    if REQUIRE:
        pytest.fail(f"{what} is required (HALL_REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


@pytest.fixture(scope="session")
def mosquitto() -> Iterator[MosquittoProcess]:
    if not (shutil.which("mosquitto") or os.path.exists("/usr/sbin/mosquitto")):
        missing("the mosquitto binary")
    broker = MosquittoProcess().start()
    yield broker
    broker.stop()


@pytest.fixture(scope="session")
def embedded_broker() -> Iterator[EmbeddedBroker]:
    broker = EmbeddedBroker().start()
    yield broker
    broker.stop()


@pytest.fixture(params=["mosquitto", "embedded"])
def broker_url(request) -> str:
    return request.getfixturevalue("mosquitto" if request.param == "mosquitto" else "embedded_broker").url


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    if not PG_URL:
        missing("PostgreSQL (HALL_TEST_PG_URL)")
    admin_url = make_url(PG_URL)
    name = f"govhall_test_{uuid.uuid4().hex[:10]}"
    try:
        admin = create_engine(admin_url, isolation_level="AUTOCOMMIT")
        with admin.connect() as conn:
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    except Exception as exc:   # server down or URL wrong
        missing(f"PostgreSQL at {admin_url.render_as_string(hide_password=True)} ({exc.__class__.__name__})")
    yield admin_url.set(database=name).render_as_string(hide_password=False)
    with admin.connect() as conn:
        conn.execute(text(f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{name}'"))
        conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    admin.dispose()


def _fresh_pg(url: str) -> str:
    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request, tmp_path) -> str:
    """Each test gets an empty database: a new SQLite file, or an emptied PostgreSQL schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'hall.db'}"
    return _fresh_pg(request.getfixturevalue("pg_database"))


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'hall.db'}"


@pytest.fixture
def config() -> Config:
    """The demo hall without opening hours: tests on the real clock must not depend on the time of day."""
    return demo_config(with_hours=False)


@contextmanager
def running_hall(config: Config, broker_url: str, database_url: str, **options: Any) -> Iterator[tuple]:
    """A started hall server and a factory of connected devices; all closed at the end."""
    server = HallServer(config, broker_url=broker_url, database_url=database_url, **options).start()
    links: list[DeviceLink] = []

    def device(device_id: str) -> DeviceLink:
        links.append(DeviceLink(config.hall.id, device_id, broker_url).connect())
        return links[-1]

    try:
        yield server, device
    finally:
        for link in links:
            link.close()
        server.stop()


class PtyDevice:
    """A simulated serial device on the master side of a real pty pair; the driver under test
    opens the slave (`name`) with pyserial. `respond(bytes) -> bytes` is the device."""

    def __init__(self, respond) -> None:   # noqa: ANN001 - a callable
        import threading
        self.respond = respond
        self.master, self.slave = os.openpty()
        self.name = os.ttyname(self.slave)
        self.running = True
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        import select
        while self.running:
            ready, _, _ = select.select([self.master], [], [], 0.05)
            if ready:
                try:
                    data = os.read(self.master, 4096)
                except OSError:
                    return
                reply = self.respond(data)
                if reply:
                    os.write(self.master, reply)

    def close(self) -> None:
        self.running = False
        self.thread.join(2)
        os.close(self.master)
        os.close(self.slave)
