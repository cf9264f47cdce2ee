"""Shared fixtures: real brokers (Mosquitto and the embedded amqtt) and real databases.

Every service a test needs is started by the tests themselves: Mosquitto on a free port with
the project's config, and a PostgreSQL cluster of this run's own in a temporary folder from
Debian's PostgreSQL binaries (pytest-postgresql's executor), unless HALL_TEST_PG_URL points
at a server to use instead. A missing service fails the test with what to install; nothing
is ever skipped (`make test` installs the packages first, scripts/setup-system.sh).
"""
from __future__ import annotations

import glob
import os
import pwd
import shlex
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from pytest_postgresql.executors import PostgreSQLExecutor
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from govhall.config import Config
from govhall.link import DeviceLink
from hallserver.broker import EmbeddedBroker, MosquittoProcess, free_port
from hallserver.server import HallServer
from lab.demo import demo_config

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")   # no screen here; Qt draws into memory
PG_URL = os.environ.get("HALL_TEST_PG_URL")
SETUP = "scripts/setup-system.sh (make test runs it)"


def missing(what: str) -> None:
    """A service or tool a test needs is not here: the test fails and says what to install."""
    pytest.fail(f"{what} is needed and not available: run {SETUP}", pytrace=False)


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


def _newest_pg_ctl() -> str | None:
    """Debian keeps each PostgreSQL version's server binaries under /usr/lib/postgresql/N/bin."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"), key=lambda p: int(Path(p).parts[-3]))
    return found[-1] if found else shutil.which("pg_ctl")


def _unprivileged_user() -> pwd.struct_passwd:
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("no user 'postgres' or 'nobody' to run PostgreSQL as (it refuses to run as root)")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database: HALL_TEST_PG_URL when given,
    else a cluster of this run's own (trust auth on 127.0.0.1, a free port), stopped and
    removed at the end. PostgreSQL will not run as root, so under root pg_ctl runs as the
    user postgres (or nobody) in a folder that user owns."""
    if PG_URL:
        yield PG_URL
        return
    pg_ctl = _newest_pg_ctl()
    if pg_ctl is None:
        missing("PostgreSQL's server binaries (Debian package postgresql)")
    workdir = Path(tempfile.mkdtemp(prefix="govhall-pg-"))
    executable = pg_ctl
    if os.geteuid() == 0:
        user = _unprivileged_user()
        os.chown(workdir, user.pw_uid, user.pw_gid)
        wrapper = workdir / "pg_ctl"
        wrapper.write_text(f'#!/bin/sh\nexec runuser -u {user.pw_name} -- {shlex.quote(pg_ctl)} "$@"\n')
        wrapper.chmod(0o755)
        executable = str(wrapper)
    port = free_port()
    executor = PostgreSQLExecutor(
        executable=executable, host="127.0.0.1", port=port, datadir=str(workdir / "data"),
        unixsocketdir=str(workdir), logfile=str(workdir / "postgresql.log"), startparams="-w",
        dbname="postgres", user="postgres",
        # a test cluster: nothing in it outlives the run, so no need to wait for the disk
        postgres_options="-c fsync=off -c synchronous_commit=off -c full_page_writes=off")
    try:
        executor.start()
    except Exception:
        log_file = workdir / "postgresql.log"
        print(log_file.read_text(errors="replace")[-3000:] if log_file.exists() else "(no log)")
        shutil.rmtree(workdir, ignore_errors=True)
        raise
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        executor.stop()
        shutil.rmtree(workdir, ignore_errors=True)


@pytest.fixture(scope="session")
def pg_database(pg_server) -> Iterator[str]:
    """A fresh PostgreSQL database for this test run, dropped at the end."""
    admin_url = make_url(pg_server)
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


# `make test-fast` (pytest -m fast): the edit loop's tier, in well under 30 seconds. The tests of
# these modules that need no broker, database, Qt or browser: the pure domain rules, the wire
# contract, the config and the docs. A test here that asks for a service is left to the full run.
FAST_MODULES = {"test_queue_engine", "test_workdays", "test_hours", "test_estimate", "test_cases",
                "test_appointments", "test_attendance", "test_rectification", "test_complaints", "test_evaluation",
                "test_hall_reports",
                "test_contract", "test_config", "test_docs", "test_overview", "test_layers", "test_device_commands"}
SERVICE_FIXTURES = {"mosquitto", "embedded_broker", "broker_url", "pg_server", "pg_database", "db_url",
                    "sqlite_url", "browser", "hall", "qtbot", "tmp_path"}


def pytest_configure(config) -> None:   # noqa: ANN001 - pytest's Config
    config.addinivalue_line("markers", "fast: the quick tier (make test-fast): no broker, database, Qt or browser")


def pytest_collection_modifyitems(config, items) -> None:   # noqa: ANN001 - pytest's objects
    for item in items:
        module = item.module.__name__.rsplit(".", 1)[-1] if getattr(item, "module", None) else ""
        if module in FAST_MODULES and not SERVICE_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.fast)
