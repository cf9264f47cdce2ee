"""Schemathesis against the hall server's own OpenAPI description: every operation, called by a
logged-in manager with generated parameters and bodies (valid and invalid), never answers with
a server error. The real server, on a real broker and database, as in production."""
from __future__ import annotations

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from govhall.config import ManagerConfig
from hallserver.broker import EmbeddedBroker, free_port
from hallserver.passwords import hash_password
from hallserver.server import HallServer
from lab.demo import demo_config

STREAMS = ("/events", "/t/{token}/events")      # server-sent events: a response that never ends
SKIPPED = (*STREAMS, "/logout")                 # logging out would end the run's own session


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    """A running hall with one manager, logged in: (base URL, requests session with its CSRF token)."""
    config = demo_config(with_hours=False)
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=hash_password("manager-pass-2026"))]
    broker = EmbeddedBroker(port=free_port()).start()
    database = f"sqlite:///{tmp_path_factory.mktemp('schemathesis') / 'hall.db'}"
    server = HallServer(config, broker_url=broker.url, database_url=database, http=("127.0.0.1", free_port())).start()
    session = requests.Session()
    session.post(server.dashboard_url + "login", data={"manager": "m001", "password": "manager-pass-2026"},
                 allow_redirects=False, timeout=10)
    session.headers["X-CSRF-Token"] = session.cookies["govhall_csrf"]
    yield server.dashboard_url, session
    server.stop()
    broker.stop()


def test_no_operation_answers_with_a_server_error(api):
    """Each operation gets generated calls — valid data, then data that breaks the schema — with
    the session's cookie and CSRF token. (Schemathesis's own pytest wrapper does not run on
    pytest 9: the operations are driven here with Hypothesis directly.)"""
    from hypothesis import given
    from hypothesis.errors import Unsatisfiable
    from schemathesis import GenerationMode
    base, session = api
    schema = schemathesis.openapi.from_url(base + "openapi.json", headers=dict(session.headers),
                                           cookies=session.cookies.get_dict())
    failures, tried = [], []
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path in SKIPPED:
            continue
        tried.append(operation.label)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            @given(case=operation.as_strategy(generation_mode=mode))
            @settings(max_examples=25, deadline=None, derandomize=True, database=None,
                      suppress_health_check=list(HealthCheck))
            def call(case):
                case.call_and_validate(base_url=base.rstrip("/"), session=session, timeout=20,
                                       checks=[not_a_server_error, response_schema_conformance])
            try:
                call()
            except Unsatisfiable:                    # nothing in its description to break (no parameters)
                continue
            except Exception as exc:                 # noqa: BLE001 - every operation's failure, listed at the end
                failures.append(f"{operation.label} ({mode.value}): {str(exc).splitlines()[0][:300]}")
    assert len(tried) >= 30, tried                   # the description lists the routes (not an empty schema)
    assert not failures, "\n".join(failures)
