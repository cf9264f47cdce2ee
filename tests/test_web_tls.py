"""The dashboard over HTTPS: served by the hall server itself with the hall's certificate, or by a
reverse proxy on the same machine that terminates TLS. Either way the session cookies are
Secure and browsers are told to keep to HTTPS (HSTS)."""
from __future__ import annotations

import ssl
import subprocess

import httpx
import pytest

from govhall.config import ConfigError, ManagerConfig, parse_config
from hallserver.broker import free_port
from hallserver.passwords import hash_password
from tests.conftest import running_hall


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    """A self-signed certificate for 127.0.0.1, made with the machine's openssl."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=60)
    return cert, key


@pytest.fixture(scope="module")
def manager_hash():
    return hash_password("manager-pass-2026")


def test_the_hall_server_serves_the_dashboard_over_https(config, embedded_broker, sqlite_url, certificate,
                                                         manager_hash):
    cert, key = certificate
    config.http.tls_cert, config.http.tls_key = str(cert), str(key)
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=manager_hash)]
    port = free_port()
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", port)) as (server, _):
        assert server.dashboard_url == f"https://127.0.0.1:{port}/"
        client = httpx.Client(base_url=server.dashboard_url, verify=ssl.create_default_context(cafile=str(cert)),
                              timeout=10)
        login = client.post("/login", data={"manager": "m001", "password": "manager-pass-2026"})
        assert login.status_code == 303
        cookies = login.headers.get_list("set-cookie")
        assert all("Secure" in c for c in cookies) and any(c.startswith("govhall_session=") for c in cookies)
        page = client.get("/")
        assert page.status_code == 200 and page.headers["strict-transport-security"] == "max-age=31536000"
        with pytest.raises(httpx.HTTPError):                         # no plain HTTP on the same port
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).raise_for_status()
        with pytest.raises(httpx.ConnectError):                      # nor a client that does not trust it
            httpx.get(server.dashboard_url + "healthz", timeout=5)


def test_behind_a_tls_proxy_on_the_same_machine_the_cookies_are_secure(config, embedded_broker, sqlite_url,
                                                                       manager_hash):
    config.managers = [ManagerConfig(id="m001", name="陈主任", password_hash=manager_hash)]
    with running_hall(config, embedded_broker.url, sqlite_url, http=("127.0.0.1", free_port())) as (server, _):
        form = {"manager": "m001", "password": "manager-pass-2026"}
        proxied = httpx.post(server.dashboard_url + "login", data=form, timeout=10,
                             headers={"X-Forwarded-Proto": "https", "X-Forwarded-For": "10.0.0.8"})
        assert all("Secure" in c for c in proxied.headers.get_list("set-cookie"))
        assert proxied.headers["strict-transport-security"] == "max-age=31536000"
        direct = httpx.post(server.dashboard_url + "login", data=form, timeout=10)     # plain HTTP on the LAN
        assert not any("Secure" in c for c in direct.headers.get_list("set-cookie"))
        assert "strict-transport-security" not in direct.headers


def test_a_certificate_needs_its_key():
    raw = {"hall": {"id": "h"}, "categories": [{"id": "a", "name": "A", "prefix": "A"}],
           "windows": [{"id": "w1", "number": 1, "categories": ["a"]}], "http": {"tls_cert": "cert.pem"}}
    with pytest.raises(ConfigError, match="tls_cert and tls_key go together"):
        parse_config(raw)
